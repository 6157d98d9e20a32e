/**
 * The safetensors file format (https://github.com/huggingface/safetensors), read and written the
 * way the Python package's Rust core does it:
 *
 *   [8 bytes: header length N, unsigned 64-bit little-endian]
 *   [N bytes: UTF-8 JSON header, padded at the end with spaces (0x20) to a multiple of 8]
 *   [tensor data: each tensor's bytes, little-endian, C order, back to back]
 *
 * The header maps each tensor name to {"dtype","shape","data_offsets":[begin,end]} (offsets
 * relative to the start of the data section) and may hold "__metadata__": {string: string}.
 * The writer emits compact JSON (no spaces) with "__metadata__" first, then tensors sorted by
 * descending dtype alignment and then by name (byte-wise), each as
 * {"dtype":..,"shape":..,"data_offsets":[b,e]} in that key order, with data in the same order:
 * byte for byte what `safetensors.torch.save_file` writes. Metadata entries are written in the
 * object's key order (the Rust core writes a HashMap, so Python's order for several entries is
 * arbitrary); reading then writing any file with at most one metadata entry, or one we wrote,
 * gives identical bytes (JSON.parse keeps key order except for integer-like keys such as "7").
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { InputError } from "../errors.js";

/** dtypes of the format, in the Rust core's order (increasing alignment; the sort uses it). */
export const SAFETENSORS_DTYPES = [
  "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** Same limit as the Rust core: a larger header is treated as a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor as stored: its dtype, shape and raw little-endian bytes. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafetensorsContent {
  /** In file (data offset) order when parsed; any order when written (the writer sorts). */
  tensors: Map<string, RawTensor>;
  /** The "__metadata__" entry, or null when the file has none. */
  metadata: Record<string, string> | null;
}

/**
 * Parses a whole safetensors file. `source` (a path) names the file in errors. Checks what the
 * Rust core checks: header length within the file, valid UTF-8 JSON object, known dtypes,
 * integer shapes, offsets contiguous from 0 with `end - begin = product(shape) * dtype size`,
 * and the last offset exactly at the end of the file.
 */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsContent {
  const fail = (what: string): never => {
    throw new InputError(`${source}: not a valid safetensors file: ${what}`, source);
  };
  const n = headerLength(bytes.subarray(0, 8), bytes.length, fail);
  const { metadata, entries } = parseHeader(bytes.subarray(8, 8 + n), fail);

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  entries.sort((x, y) => x.info.begin - y.info.begin || x.info.end - y.info.end);
  const tensors = new Map<string, RawTensor>();
  let expectedBegin = 0;
  for (const { name, info } of entries) {
    const want = info.shape.reduce((p, d) => p * d, 1) * DTYPE_BYTES[info.dtype];
    if (info.begin !== expectedBegin) {
      fail(`tensor "${name}": data_offsets begin at ${info.begin}, expected ${expectedBegin} (tensors must be back to back)`);
    }
    if (info.end - info.begin !== want) {
      fail(`tensor "${name}": data_offsets [${info.begin}, ${info.end}] hold ${info.end - info.begin} bytes, ` +
        `expected ${want} for ${info.dtype} [${info.shape.join(", ")}]`);
    }
    if (info.end > dataLength) {
      fail(`tensor "${name}": data ends at byte ${info.end} of the data section, which has only ${dataLength} bytes (truncated?)`);
    }
    tensors.set(name, {
      dtype: info.dtype,
      shape: info.shape,
      bytes: bytes.slice(dataStart + info.begin, dataStart + info.end),
    });
    expectedBegin = info.end;
  }
  if (expectedBegin !== dataLength) {
    fail(`data section has ${dataLength} bytes but the tensors cover ${expectedBegin}`);
  }
  return { tensors, metadata };
}

/** The header's length N from the file's first 8 bytes, checked against the file's size. */
function headerLength(first8: Uint8Array, fileSize: number, fail: (what: string) => never): number {
  if (first8.length < 8) fail(`${fileSize} bytes, expected at least 8 (the header length)`);
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  // Any other file (a CSV, a YAML) given for weights reads as an absurd length: say what it should be.
  if (length > BigInt(MAX_HEADER_BYTES)) fail(`its first 8 bytes give a header length of ${length} bytes, over the ${MAX_HEADER_BYTES} a header may have (expected a weights file such as a run's final.safetensors)`);
  const n = Number(length);
  if (8 + n > fileSize) fail(`header length ${n} runs past the end of the file (${fileSize} bytes, truncated?)`);
  return n;
}

/** The header's metadata and tensor entries, checked (the header bytes only). */
function parseHeader(headerBytes: Uint8Array, fail: (what: string) => never): { metadata: Record<string, string> | null; entries: Array<{ name: string; info: RawTensorInfo }> } {
  let headerText: string;
  try {
    headerText = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");

  let metadata: Record<string, string> | null = null;
  const entries: Array<{ name: string; info: RawTensorInfo }> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(value, fail);
    } else {
      entries.push({ name, info: checkTensorInfo(name, value, fail) });
    }
  }
  return { metadata, entries };
}

/**
 * Only the "__metadata__" of a safetensors file, reading its header and not its tensors (a resume
 * checkpoint's step, for a listing of many runs whose weights may be hundreds of MB each).
 */
export function readSafetensorsMetadata(path: string): Record<string, string> | null {
  const fd = openSync(path, "r");
  try {
    return readHeaderOf(fd, path).metadata;
  } finally {
    closeSync(fd);
  }
}

/** The header of a safetensors file (its metadata, and each tensor's dtype and shape), reading it and not its tensors. */
export function readSafetensorsHeader(path: string): { metadata: Record<string, string> | null; tensors: Map<string, { dtype: SafetensorsDtype; shape: number[] }> } {
  const fd = openSync(path, "r");
  try {
    const { metadata, entries } = readHeaderOf(fd, path);
    return { metadata, tensors: new Map(entries.map(({ name, info }) => [name, { dtype: info.dtype, shape: info.shape }])) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a safetensors file cannot be whole, from its header alone (not its tensors: a listing of
 * many runs checks each run's final weights this way), or null when its size is what the header
 * says: 8 + the header's length + the largest tensor end offset. A file cut short (a full disk, a
 * copy stopped midway) is shorter than that; one that is missing, or whose header cannot be
 * read, is named as such.
 */
export function safetensorsDamage(path: string): string | null {
  if (!existsSync(path)) return `${path} is missing`;
  try {
    const fd = openSync(path, "r");
    try {
      const { size, n, entries } = readHeaderOf(fd, path);
      const dataEnd = entries.reduce((m, e) => Math.max(m, e.info.end), 0);
      const expected = 8 + n + dataEnd;
      if (size < expected) return `${path} is truncated: ${size} bytes, expected ${expected} (8 + a ${n}-byte header + ${dataEnd} bytes of tensors)`;
      if (size > expected) return `${path} is damaged: ${size} bytes, expected ${expected} (8 + a ${n}-byte header + ${dataEnd} bytes of tensors)`;
      return null;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return err instanceof InputError ? err.message : `${path} cannot be read (${(err as Error).message})`;
  }
}

/** The file's size, header length and parsed header, checked (InputError naming `path`). */
function readHeaderOf(fd: number, path: string): { size: number; n: number } & ReturnType<typeof parseHeader> {
  const fail = (what: string): never => {
    throw new InputError(`${path}: not a valid safetensors file: ${what}`, path);
  };
  const size = fstatSync(fd).size;
  const lengthBytes = new Uint8Array(8);
  readSync(fd, lengthBytes, 0, Math.min(8, size), 0);
  const n = headerLength(lengthBytes.subarray(0, Math.min(8, size)), size, fail);
  const header = Buffer.alloc(n);
  readSync(fd, header, 0, n, 8);
  return { size, n, ...parseHeader(header, fail) };
}

/** Serializes tensors (and optional metadata) exactly as the Python package would. */
export function serializeSafetensors(content: SafetensorsContent): Uint8Array {
  const order = (d: SafetensorsDtype) => SAFETENSORS_DTYPES.indexOf(d);
  const named = [...content.tensors.entries()].sort(
    ([nameA, a], [nameB, b]) => order(b.dtype) - order(a.dtype) || compareBytewise(nameA, nameB),
  );

  const parts: string[] = [];
  if (content.metadata !== null) parts.push(`"__metadata__":${JSON.stringify(content.metadata)}`);
  let offset = 0;
  for (const [name, t] of named) {
    const want = t.shape.reduce((p, d) => p * d, 1) * DTYPE_BYTES[t.dtype];
    if (t.bytes.length !== want) {
      throw new Error(`BUG: tensor "${name}" has ${t.bytes.length} bytes, expected ${want} for ${t.dtype} [${t.shape.join(", ")}]`);
    }
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + want] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += want;
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const padded = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const [, t] of named) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** An F32 tensor from values (copied, little-endian). */
export function float32Tensor(shape: number[], values: Float32Array): RawTensor {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { dtype: "F32", shape: [...shape], bytes };
}

/**
 * A tensor's values as float32. F32 is read as is; F16, BF16 and F64 are converted (as
 * PyTorch's load_state_dict into a float32 model would); integer, bool and FP8 dtypes are
 * rejected, since they cannot be weights of this framework's models.
 */
export function toFloat32(name: string, tensor: RawTensor, source: string): Float32Array {
  const count = tensor.shape.reduce((p, d) => p * d, 1);
  const view = new DataView(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.byteLength);
  const out = new Float32Array(count);
  switch (tensor.dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case "F64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case "F16":
      for (let i = 0; i < count; i++) out[i] = halfToNumber(view.getUint16(i * 2, true));
      return out;
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, true) << 16, false);
        out[i] = word.getFloat32(0, false);
      }
      return out;
    }
    default:
      throw notFloatError(name, tensor.dtype, source);
  }
}

/** The dtypes toFloat32 converts. */
export const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(["F32", "F64", "F16", "BF16"]);

/** toFloat32's refusal of a tensor of another dtype (also said from a file's header alone: checkpoint.ts). */
export function notFloatError(name: string, dtype: SafetensorsDtype, source: string): InputError {
  return new InputError(`${source}: tensor "${name}" has dtype ${dtype}, expected a floating-point dtype (F32, or F16/BF16/F64 converted to float32)`, source);
}

interface RawTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function checkMetadata(value: unknown, fail: (what: string) => never): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`"__metadata__" is not an object of strings`);
  for (const [k, v] of Object.entries(value as object)) {
    if (typeof v !== "string") fail(`"__metadata__" entry "${k}" is ${JSON.stringify(v)}, expected a string`);
  }
  return { ...(value as Record<string, string>) };
}

function checkTensorInfo(name: string, value: unknown, fail: (what: string) => never): RawTensorInfo {
  const where = `tensor "${name}"`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${where}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
    fail(`${where}: dtype ${JSON.stringify(dtype)}, expected one of ${SAFETENSORS_DTYPES.join(", ")}`);
  }
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${where}: shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[1] < offsets[0]) {
    fail(`${where}: data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as number[];
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: begin!, end: end! };
}

/** Rust's String ordering: by UTF-8 bytes (differs from JS `<` for characters beyond the BMP). */
function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** IEEE 754 binary16 to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
