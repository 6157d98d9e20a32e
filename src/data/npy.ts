/**
 * NumPy .npy files (format 1.0 and 2.0; 3.0 only differs by a UTF-8 header and is read too).
 *
 * Layout (numpy/lib/format.py): the magic `\x93NUMPY`, major and minor version bytes, the header
 * length (uint16 little-endian for 1.0, uint32 for 2.0/3.0), then an ASCII Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ending in
 * `\n` so that the data starts at a multiple of 64 bytes, then the raw array data.
 *
 * Supported here: little-endian (or byte-sized) numbers, C order. Fortran-order arrays and
 * big-endian or object dtypes are rejected with a DataError naming the file.
 */
import { readFile } from "node:fs/promises";
import { DataError } from "../errors.js";

export type NpyArrayData =
  | Float32Array | Float64Array
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigInt64Array | BigUint64Array;

export interface NpyArray {
  /** numpy dtype descriptor without the byte-order prefix, e.g. "f4", "u1", "i8". */
  dtype: NpyDtype;
  shape: number[];
  data: NpyArrayData;
}

type TypedArrayCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): NpyArrayData; BYTES_PER_ELEMENT: number };

const DTYPES = {
  f4: Float32Array, f8: Float64Array,
  u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array,
  u4: Uint32Array, i4: Int32Array, i8: BigInt64Array, u8: BigUint64Array,
} satisfies Record<string, TypedArrayCtor>;
export type NpyDtype = keyof typeof DTYPES;

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** `keyPath` (e.g. `data.labels`) is the experiment key that named the file, for its errors. */
export async function readNpy(file: string, keyPath?: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new DataError(`cannot read ${file}${keyPath === undefined ? "" : ` (${keyPath})`}: ${(err as Error).message}`, file, keyPath);
  }
  return parseNpy(bytes, file, keyPath);
}

/** Parses .npy bytes; `file` (and `keyPath`, the key that named it) only name the source in errors. */
export function parseNpy(bytes: Uint8Array, file: string, keyPath?: string): NpyArray {
  // Named as the npy source's other errors are: "clips.npy (data.clips): ...".
  const source = keyPath === undefined ? file : `${file} (${keyPath})`;
  const fail = (what: string) => new DataError(`${source}: not a readable .npy file: ${what}`, file, keyPath);
  if (bytes.length < 10 || !Buffer.from(bytes.subarray(0, 6)).equals(MAGIC)) {
    throw fail("missing the \\x93NUMPY magic (expected a file written by numpy.save)");
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw fail(`format version ${major}.${bytes[7]} (expected 1.0, 2.0 or 3.0)`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw fail(`header of ${headerLength} bytes runs past the end of the file`);
  const header = Buffer.from(bytes.subarray(headerStart, dataStart)).toString(major === 3 ? "utf8" : "latin1");

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fail(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  }
  if (fortran === "True") {
    throw new DataError(
      `${source}: array is in Fortran order; save it in C order (numpy.ascontiguousarray(x) before numpy.save)`,
      file, keyPath,
    );
  }
  const order = descr[0];
  const code = descr.slice(1);
  if (!(code in DTYPES) || order === ">" || (order !== "<" && order !== "|" && order !== "=")) {
    throw new DataError(
      `${source}: dtype '${descr}' is not supported (expected little-endian one of ${Object.keys(DTYPES).join(", ")}${order === ">" && code in DTYPES ? `; numpy: np.save(path, a.astype('<${code}'))` : ""})`,
      file, keyPath,
    );
  }
  const dtype = code as NpyDtype;
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const ctor: TypedArrayCtor = DTYPES[dtype];
  const byteLength = count * ctor.BYTES_PER_ELEMENT;
  if (dataStart + byteLength > bytes.length) {
    throw fail(
      `shape ${formatShape(shape)} of ${descr} needs ${byteLength} data bytes, the file has ${bytes.length - dataStart} (truncated?)`,
    );
  }
  // Copy into a fresh buffer: the data offset need not be aligned for the typed array.
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataStart, dataStart + byteLength));
  return { dtype, shape, data: new ctor(copy.buffer, 0, count) };
}

/**
 * A shape as numpy writes it (`np.load(f).shape`, and the .npy header): (24,) for one dimension,
 * (24, 8, 1, 32, 32) for more, () for a scalar. Every message about an .npy shape uses this, so
 * that "has shape (10,), expected (24,)" compares like with like.
 */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

function dtypeOf(data: NpyArrayData): NpyDtype {
  for (const [code, ctor] of Object.entries(DTYPES)) if (data instanceof ctor) return code as NpyDtype;
  throw new Error("BUG: unsupported typed array for .npy");
}

/** Encodes a C-order array as .npy bytes (format 1.0, or 2.0 when the header needs it). */
export function encodeNpy(data: NpyArrayData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`BUG: .npy shape ${formatShape(shape)} needs ${count} elements, data has ${data.length}`);
  }
  const dtype = dtypeOf(data);
  const order = dtype.endsWith("1") ? "|" : "<";
  const dict = `{'descr': '${order}${dtype}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  const prefixFor = (major: number) => (major === 1 ? 10 : 12);
  const major = prefixFor(1) + dict.length + 1 <= 65535 ? 1 : 2;
  const unpadded = prefixFor(major) + dict.length + 1;
  const headerLength = dict.length + 1 + ((64 - (unpadded % 64)) % 64);
  const header = Buffer.from(dict.padEnd(headerLength - 1, " ") + "\n", "latin1");

  const out = new Uint8Array(prefixFor(major) + headerLength + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(header, prefixFor(major));
  // Typed arrays use the host byte order: little-endian on every platform onnxruntime-node ships for.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefixFor(major) + headerLength);
  return out;
}
