import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../src/errors.js";
import {
  float32Tensor,
  parseSafetensors,
  readSafetensorsMetadata,
  safetensorsDamage,
  serializeSafetensors,
  toFloat32,
  type RawTensor,
} from "../src/model/safetensors.js";

/** Little-endian bytes of typed values. */
function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
function u16(...values: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(values).buffer);
}
function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
/** [u64 LE length][header text padded with spaces to `paddedLength`][data], by hand. */
function fileBytes(header: string, paddedLength: number, data: Uint8Array): Uint8Array {
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(paddedLength), true);
  const text = Buffer.from(header + " ".repeat(paddedLength - header.length), "latin1");
  return concat(length, text, data);
}

// As safetensors.torch.save_file({"0.weight": w, "0.bias": b, "10.bias": c}, path,
// metadata={"format": "pt"}) writes it: compact JSON, "__metadata__" first, tensors sorted by
// name (all F32), keys dtype/shape/data_offsets, 214 bytes padded with 2 spaces to 216.
const PY_HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
  '"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},' +
  '"10.bias":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}}';
const PY_FILE = fileBytes(PY_HEADER, 216, concat(f32(0.5, -0.25), f32(1, 2, 3, 4, 5, 6), f32(3)));

// Mixed dtypes: the Rust core sorts by descending dtype alignment (I64 > F64 > BF16 > F16), then
// by name; 219 header bytes padded with 5 spaces to 224.
const MIXED_HEADER =
  '{"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
  '"c":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},' +
  '"d":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},' +
  '"a":{"dtype":"F16","shape":[2],"data_offsets":[18,22]}}';
const MIXED_FILE = fileBytes(
  MIXED_HEADER,
  224,
  concat(
    new Uint8Array(new BigInt64Array([7n]).buffer),
    new Uint8Array(new Float64Array([0.1]).buffer),
    u16(0x3f80), // bf16 1.0
    u16(0x3c00, 0xc000), // f16 1.0, -2.0
  ),
);

describe("safetensors", () => {
  it("reads a file laid out as the Python package writes it: names, dtypes, shapes, values", () => {
    const { tensors, metadata } = parseSafetensors(PY_FILE, "py.safetensors");
    expect(metadata).to.deep.equal({ format: "pt" });
    expect([...tensors.keys()]).to.deep.equal(["0.bias", "0.weight", "10.bias"]);
    expect(tensors.get("0.weight")!.dtype).to.equal("F32");
    expect(tensors.get("0.weight")!.shape).to.deep.equal([2, 3]);
    expect(tensors.get("10.bias")!.shape).to.deep.equal([1]);
    expect([...toFloat32("0.weight", tensors.get("0.weight")!, "py")]).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect([...toFloat32("0.bias", tensors.get("0.bias")!, "py")]).to.deep.equal([0.5, -0.25]);
  });

  it("writes exactly the Python package's bytes, whatever the insertion order", () => {
    const tensors = new Map<string, RawTensor>([
      ["10.bias", float32Tensor([1], new Float32Array([3]))],
      ["0.weight", float32Tensor([2, 3], new Float32Array([1, 2, 3, 4, 5, 6]))],
      ["0.bias", float32Tensor([2], new Float32Array([0.5, -0.25]))],
    ]);
    expect(Buffer.from(serializeSafetensors({ tensors, metadata: { format: "pt" } })).equals(PY_FILE)).to.equal(true);
  });

  it("orders mixed dtypes by descending alignment then name, and converts floats to float32", () => {
    const parsed = parseSafetensors(MIXED_FILE, "mixed.safetensors");
    expect(parsed.metadata).to.equal(null);
    expect([...parsed.tensors.values()].map((t) => t.dtype)).to.deep.equal(["I64", "F64", "BF16", "F16"]);
    expect(Buffer.from(serializeSafetensors(parsed)).equals(MIXED_FILE)).to.equal(true);
    expect([...toFloat32("a", parsed.tensors.get("a")!, "m")]).to.deep.equal([1, -2]);
    expect([...toFloat32("d", parsed.tensors.get("d")!, "m")]).to.deep.equal([1]);
    expect(toFloat32("c", parsed.tensors.get("c")!, "m")[0]).to.equal(Math.fround(0.1));
    expect(() => toFloat32("b", parsed.tensors.get("b")!, "mixed.safetensors")).to.throw(
      InputError,
      /mixed\.safetensors: tensor "b" has dtype I64, expected a floating-point dtype/,
    );
  });

  it("converts float16 subnormals, infinities and NaN", () => {
    const half: RawTensor = { dtype: "F16", shape: [5], bytes: u16(0x0001, 0x7c00, 0xfc00, 0x7e00, 0x3555) };
    const values = toFloat32("h", half, "h");
    expect(values[0]).to.equal(2 ** -24);
    expect(values[1]).to.equal(Infinity);
    expect(values[2]).to.equal(-Infinity);
    expect(Number.isNaN(values[3])).to.equal(true);
    expect(values[4]).to.be.closeTo(1 / 3, 2 ** -11); // 0x3555 is float16's nearest to 1/3
  });

  it("round-trips byte for byte, including empty and multi-dimensional tensors", () => {
    const values = Float32Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => Math.sin(i) * 1e-3);
    const content = {
      tensors: new Map<string, RawTensor>([
        ["0.weight", float32Tensor([2, 3, 3, 3], values)],
        ["0.bias", float32Tensor([2], new Float32Array([Number.MIN_VALUE, -0]))],
        ["empty", float32Tensor([0, 4], new Float32Array(0))],
        ["é-unicode", float32Tensor([1], new Float32Array([1e30]))],
      ]),
      metadata: { step: "100", note: 'quotes " and \\ and \n' },
    };
    const bytes = serializeSafetensors(content);
    const header = new DataView(bytes.buffer).getBigUint64(0, true);
    expect(Number(header) % 8).to.equal(0);
    const parsed = parseSafetensors(bytes, "rt");
    expect(parsed.metadata).to.deep.equal(content.metadata);
    expect([...toFloat32("0.weight", parsed.tensors.get("0.weight")!, "rt")]).to.deep.equal([...values]);
    expect(Object.is(toFloat32("0.bias", parsed.tensors.get("0.bias")!, "rt")[1], -0)).to.equal(true);
    expect(Buffer.from(serializeSafetensors(parsed)).equals(Buffer.from(bytes))).to.equal(true);
    expect(Buffer.from(serializeSafetensors(parseSafetensors(PY_FILE, "py"))).equals(PY_FILE)).to.equal(true);
  });

  it("rejects every truncation of a valid file, naming the file", () => {
    for (const cut of [0, 4, 7, 8, 100, 223, 224 + 8, PY_FILE.length - 1]) {
      const bytes = PY_FILE.subarray(0, Math.min(cut, PY_FILE.length - 1));
      expect(() => parseSafetensors(bytes, "cut.safetensors"), `cut at ${cut}`).to.throw(InputError, /^cut\.safetensors: /);
    }
    expect(() => parseSafetensors(PY_FILE.subarray(0, PY_FILE.length - 1), "t")).to.throw(/tensor "10\.bias".*truncated/);
    expect(() => parseSafetensors(PY_FILE.subarray(0, 100), "t")).to.throw(/runs past the end/);
  });

  it("reads the metadata from the header alone, and rejects a file cut inside its header", () => {
    const dir = mkdtempSync(join(tmpdir(), "safetensors-"));
    try {
      const path = join(dir, "w.safetensors");
      // Cut after the header, inside the tensors: the header still reads whole.
      writeFileSync(path, PY_FILE.subarray(0, 8 + 216 + 4));
      expect(readSafetensorsMetadata(path)).to.deep.equal({ format: "pt" });
      writeFileSync(path, MIXED_FILE);
      expect(readSafetensorsMetadata(path)).to.equal(null);
      for (const cut of [0, 7, 100]) {
        writeFileSync(path, PY_FILE.subarray(0, cut));
        expect(() => readSafetensorsMetadata(path), `cut at ${cut}`).to.throw(InputError, /w\.safetensors: not a valid safetensors file: /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("safetensorsDamage: a whole file is null; cut short, with trailing bytes, cut in its header or missing, each said", () => {
    const dir = mkdtempSync(join(tmpdir(), "safetensors-"));
    try {
      const path = join(dir, "w.safetensors");
      writeFileSync(path, PY_FILE);
      expect(safetensorsDamage(path)).to.equal(null);
      writeFileSync(path, PY_FILE.subarray(0, PY_FILE.length - 1));
      expect(safetensorsDamage(path)).to.equal(`${path} is truncated: ${PY_FILE.length - 1} bytes, expected ${PY_FILE.length} (8 + a 216-byte header + ${PY_FILE.length - 224} bytes of tensors)`);
      writeFileSync(path, concat(PY_FILE, new Uint8Array(4)));
      expect(safetensorsDamage(path)).to.match(/is damaged: \d+ bytes, expected \d+/);
      writeFileSync(path, PY_FILE.subarray(0, 100));
      expect(safetensorsDamage(path)).to.match(/w\.safetensors: not a valid safetensors file: header length 216 runs past the end of the file/);
      rmSync(path);
      expect(safetensorsDamage(path)).to.equal(`${path} is missing`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const corrupt: Array<[string, Uint8Array, RegExp]> = [
    ["trailing bytes", concat(PY_FILE, new Uint8Array(4)), /data section has 40 bytes but the tensors cover 36/],
    ["invalid JSON", fileBytes('{"a":', 8, new Uint8Array(0)), /header is not valid JSON/],
    ["JSON array", fileBytes("[]", 8, new Uint8Array(0)), /header is not a JSON object/],
    ["unknown dtype", fileBytes('{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', 64, new Uint8Array(16)), /tensor "w": dtype "F128", expected one of BOOL, /],
    ["wrong byte count", fileBytes('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 56, new Uint8Array(8)), /tensor "w": data_offsets \[0, 8\] hold 8 bytes, expected 12 for F32 \[3\]/],
    ["gap between tensors", fileBytes('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 56, new Uint8Array(8)), /tensor "w": data_offsets begin at 4, expected 0/],
    ["negative shape", fileBytes('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}', 56, new Uint8Array(0)), /tensor "w": shape \[-1\], expected an array of non-negative integers/],
    ["non-string metadata", fileBytes('{"__metadata__":{"step":3}}', 32, new Uint8Array(0)), /"__metadata__" entry "step" is 3, expected a string/],
    ["huge header length", concat(new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127]), new Uint8Array(8)), /its first 8 bytes give a header length of \d+ bytes, over the 100000000 a header may have \(expected a weights file such as a run's final\.safetensors\)/],
    ["invalid UTF-8", fileBytes("{}", 8, new Uint8Array(0)).map((b, i) => (i === 9 ? 0xff : b)), /not valid UTF-8/],
  ];
  for (const [name, bytes, message] of corrupt) {
    it(`rejects a corrupt file: ${name}`, () => {
      expect(() => parseSafetensors(bytes, "bad.safetensors")).to.throw(InputError, /^bad\.safetensors: not a valid safetensors file: /);
      expect(() => parseSafetensors(bytes, "bad.safetensors")).to.throw(message);
    });
  }
});
