import { expect } from "chai";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import { EpochOrder } from "../src/data/epoch-order.js";
import { encodeNpy, parseNpy, readNpy } from "../src/data/npy.js";
import type { ClipBatch } from "../src/data/source.js";
import { DataError, DataSettingError } from "../src/errors.js";
import { Rng } from "../src/util/rng.js";

/** Bytes written by numpy 1.x `numpy.save` (the independent reference for the format). */
const NUMPY_SAVED = {
  // np.arange(6, dtype='<f4').reshape(2, 3) / 4
  float32x2x3: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPgAAAD8AAEA/AACAPwAAoD8=",
  // np.array([0, 128, 255], dtype=np.uint8)
  uint8x3: "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAgP8=",
  // np.array([3, 1, 2], dtype='<i8')
  int64x3: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoDAAAAAAAAAAEAAAAAAAAAAgAAAAAAAAA=",
};

describe("data: .npy files", () => {
  it("writes exactly the bytes numpy.save writes, and reads them back", () => {
    const cases = [
      { bytes: NUMPY_SAVED.float32x2x3, data: new Float32Array([0, 0.25, 0.5, 0.75, 1, 1.25]), shape: [2, 3], dtype: "f4" },
      { bytes: NUMPY_SAVED.uint8x3, data: new Uint8Array([0, 128, 255]), shape: [3], dtype: "u1" },
      { bytes: NUMPY_SAVED.int64x3, data: new BigInt64Array([3n, 1n, 2n]), shape: [3], dtype: "i8" },
    ];
    for (const c of cases) {
      const reference = Buffer.from(c.bytes, "base64");
      expect(Buffer.from(encodeNpy(c.data, c.shape)).equals(reference), c.dtype).to.equal(true);
      const parsed = parseNpy(reference, "ref.npy");
      expect(parsed.dtype).to.equal(c.dtype);
      expect(parsed.shape).to.deep.equal(c.shape);
      expect(Array.from(parsed.data as ArrayLike<unknown>)).to.deep.equal(Array.from(c.data as ArrayLike<unknown>));
    }
  });

  it("reads format 2.0 (uint32 header length)", () => {
    const v1 = Buffer.from(NUMPY_SAVED.uint8x3, "base64");
    const headerLength = v1.readUInt16LE(8);
    const v2 = Buffer.concat([v1.subarray(0, 6), Buffer.from([2, 0]), Buffer.alloc(4), v1.subarray(10)]);
    v2.writeUInt32LE(headerLength, 8);
    expect(Array.from(parseNpy(v2, "v2.npy").data as Uint8Array)).to.deep.equal([0, 128, 255]);
  });

  it("rejects Fortran order, big-endian data and truncated files with the file named", () => {
    const v1 = Buffer.from(NUMPY_SAVED.float32x2x3, "base64");
    const fortran = Buffer.from(v1.toString("latin1").replace("'fortran_order': False", "'fortran_order': True "), "latin1");
    expect(() => parseNpy(fortran, "f.npy")).to.throw(DataError, /f\.npy: array is in Fortran order/);
    const bigEndian = Buffer.from(v1.toString("latin1").replace("'<f4'", "'>f4'"), "latin1");
    expect(() => parseNpy(bigEndian, "be.npy")).to.throw(DataError, /be\.npy: dtype '>f4' is not supported/);
    expect(() => parseNpy(v1.subarray(0, v1.length - 3), "cut.npy")).to.throw(DataError, /cut\.npy.*truncated/);
    const cutVector = Buffer.from(NUMPY_SAVED.uint8x3, "base64");
    expect(() => parseNpy(cutVector.subarray(0, cutVector.length - 1), "cut3.npy")).to.throw(DataError, /cut3\.npy: .*shape \(3,\) of \|u1 needs 3 data bytes, the file has 2/);
    expect(() => parseNpy(Buffer.from("not numpy"), "x.npy")).to.throw(DataError, /magic/);
  });
});

describe("data: npy source", function () {
  this.timeout(20_000);
  let dir: string;
  const ctx = (classes = 3): DataContext => ({ input: { channels: 1, height: 2, width: 3 }, classes, seed: 0, baseDir: dir, cacheDir: "cache" });
  const N = 5, T = 4, FRAME = 6;
  /** The DataError making a source of `raw` ends in, or null when it makes one. */
  const fail = (raw: object, c = ctx()) => createDataSource(DataSpec.parse(raw), c).then(() => null, (e: DataError) => e);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-npy-"));
    // Clip n, frame t, pixel p holds 10n + t (float32) or 50n + 10t + p (uint8).
    const f32 = new Float32Array(N * T * FRAME).map((_, i) => 10 * Math.floor(i / (T * FRAME)) + (Math.floor(i / FRAME) % T));
    const u8 = new Uint8Array(N * T * FRAME).map((_, i) => 50 * Math.floor(i / (T * FRAME)) + 10 * (Math.floor(i / FRAME) % T) + (i % FRAME));
    writeFileSync(join(dir, "clips.npy"), encodeNpy(f32, [N, T, 1, 2, 3]));
    writeFileSync(join(dir, "u8.npy"), encodeNpy(u8, [N, T, 1, 2, 3]));
    writeFileSync(join(dir, "labels.npy"), encodeNpy(new BigInt64Array([0n, 1n, 2n, 0n, 1n]), [N]));
    writeFileSync(join(dir, "labels32.npy"), encodeNpy(new Int32Array([2, 2, 1, 1, 0]), [N]));
    writeFileSync(join(dir, "bad-labels.npy"), encodeNpy(new Uint8Array([0, 1, 7, 0, 1]), [N]));
    writeFileSync(join(dir, "three-labels.npy"), encodeNpy(new Uint8Array([0, 1, 2]), [3]));
    writeFileSync(join(dir, "labels-2d.npy"), encodeNpy(new Uint8Array(N), [N, 1]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const batches = async (raw: object, batchSize: number, count: number, c = ctx()): Promise<ClipBatch[]> => {
    const it = (await createDataSource(DataSpec.parse(raw), c)).trainBatches(batchSize);
    const out: ClipBatch[] = [];
    for (let i = 0; i < count; i++) out.push((await it.next()).value as ClipBatch);
    return out;
  };

  it("round-trips float32 clips and takes them in file order with shuffle: false, epoch after epoch", async () => {
    const bs = await batches({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, shuffle: false, clip_length: 2, frame_stride: 2 }, 2, 3);
    expect(bs.flatMap((b) => Array.from(b.labels))).to.deep.equal([0, 1, 2, 0, 1, 0]);
    // Clip 0 of batch 1 is file clip 2; frames 0 and 2 with stride 2.
    expect(Array.from(bs[1]!.clips.subarray(0, 2 * FRAME))).to.deep.equal([...Array(FRAME).fill(20), ...Array(FRAME).fill(22)]);
    expect(bs[2]!.clips[FRAME * 2]).to.equal(0); // after clip 4 the next epoch starts at clip 0
    expect(bs[0]!.dims).to.deep.equal([2, 2, 1, 2, 3]);
    expect(bs[0]!.pixels, "float32 clips have no 8-bit pixels").to.equal(undefined);
  });

  it("scales uint8 clips to [0, 1] and reads int32 labels", async () => {
    const [b] = await batches({ kind: "npy", clips: "u8.npy", labels: "labels32.npy", eval_on_train: true, shuffle: false, clip_length: 4 }, 1, 1);
    const expected = Array.from({ length: T * FRAME }, (_, i) => (10 * Math.floor(i / FRAME) + (i % FRAME)) / 255);
    // x / 255 computed as x * (1/255) in float32: within 1 ulp of 1 (6e-8).
    b!.clips.forEach((v, i) => expect(v).to.be.closeTo(expected[i]!, 1e-7));
    expect(Array.from(b!.labels)).to.deep.equal([2]);
    // The 8-bit pixels travel with the batch (a CUDA device step uploads those).
    expect(Array.from(b!.pixels!.data)).to.deep.equal(Array.from({ length: T * FRAME }, (_, i) => 10 * Math.floor(i / FRAME) + (i % FRAME)));
  });

  it("shuffles with the seed: every clip once per epoch, same order for the same seed", async () => {
    const spec = { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 1 };
    const first = await batches(spec, 5, 2);
    const again = await batches(spec, 5, 2);
    const clipIds = (b: ClipBatch) => Array.from({ length: 5 }, (_, i) => b.clips[i * FRAME]! / 10);
    expect(clipIds(first[0]!).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(clipIds(first[1]!).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(clipIds(first[0]!)).to.deep.equal(clipIds(again[0]!));
    // Shuffled, and anew each epoch (5 clips: 120 orders, so these hold for this seed, not by construction; the EpochOrder test below checks it broadly).
    expect(clipIds(first[0]!), "epoch 0 is shuffled").to.not.deep.equal([0, 1, 2, 3, 4]);
    expect(clipIds(first[1]!), "epoch 1 has its own order").to.not.deep.equal(clipIds(first[0]!));
  });

  it("evaluates on eval_clips in file order", async () => {
    const source = await createDataSource(
      DataSpec.parse({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_clips: "u8.npy", eval_labels: "labels32.npy", clip_length: 1 }),
      ctx(),
    );
    const labels: number[] = [];
    for await (const b of source.evalBatches(10, 2)) labels.push(...b.labels);
    expect(labels).to.deep.equal([2, 2, 1, 1, 0]);
  });

  it("notes float32 clips of whole numbers 0..255 (8-bit pixels not divided by 255), and no others", async () => {
    const write = (name: string, values: number[]) => writeFileSync(join(dir, name), encodeNpy(Float32Array.from({ length: N * T * FRAME }, (_, i) => values[i % values.length]!), [N, T, 1, 2, 3]));
    write("pixels-255.npy", [0, 17, 255, 128]); // what clips.astype(np.float32) of 8-bit frames holds
    write("scaled.npy", [0, 17 / 255, 1, 128 / 255]); // the same divided by 255
    write("standardised.npy", [-1.5, 0.25, 2.75, 0]); // (x - mean) / std
    write("mask.npy", [0, 1, 1, 0]); // whole numbers, none above 1
    write("beyond-255.npy", [0, 17, 300, 128]); // whole numbers, but no 8-bit range
    const notes = async (clips: string, extra: object = {}) =>
      (await createDataSource(DataSpec.parse({ kind: "npy", clips, labels: "labels.npy", eval_on_train: true, clip_length: 1, ...extra }), ctx())).notes ?? [];
    const noted = await notes("pixels-255.npy");
    expect(noted).to.have.length(1);
    expect(noted[0]).to.match(/^\S*pixels-255\.npy \(data\.clips\): float32 clips of whole numbers 0\.\.255 look like 8-bit pixels not divided by 255; .*save them as uint8 .*or set data\.normalize/);
    // Held-out clips are looked at too, each file named once.
    const heldOut = await (await createDataSource(DataSpec.parse({ kind: "npy", clips: "scaled.npy", labels: "labels.npy", eval_clips: "pixels-255.npy", eval_labels: "labels.npy", clip_length: 1 }), ctx())).notes ?? [];
    expect(heldOut.map((n) => n.slice(0, n.indexOf(" ")))).to.deep.equal([join(dir, "pixels-255.npy")]);
    expect(heldOut[0]).to.include("(data.eval_clips)");
    for (const quiet of ["scaled.npy", "standardised.npy", "mask.npy", "beyond-255.npy", "u8.npy"]) expect(await notes(quiet), quiet).to.deep.equal([]);
    // data.normalize states the scale: no note.
    expect(await notes("pixels-255.npy", { normalize: { mean: [128], std: [64] } })).to.deep.equal([]);
  });

  it("evaluating on the training clips is stated, not assumed: exit-2 DataError without eval_clips or eval_on_train", async () => {
    const silent = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", clip_length: 1 });
    expect(silent).to.be.instanceOf(DataError);
    expect(silent!.keyPath).to.equal("data.eval_on_train");
    expect(silent!.message).to.match(/without eval_clips, evaluation would use the training clips; give data\.eval_clips .* or set data\.eval_on_train: true/);
    const both = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_clips: "u8.npy", eval_labels: "labels32.npy", eval_on_train: true, clip_length: 1 });
    expect(both!.message).to.match(/data\.eval_on_train: expected false/);
    const stated = await createDataSource(DataSpec.parse({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 1 }), ctx());
    expect(stated.evalIsTrain).to.equal(true);
  });

  it("eval_clips naming the training clips (the same path, a link to it or a copy) is an exit-2 DataError, not held-out clips", async () => {
    copyFileSync(join(dir, "clips.npy"), join(dir, "clips-copy.npy"));
    symlinkSync(join(dir, "clips.npy"), join(dir, "clips-link.npy"));
    // A file of the same size but other values is held-out clips.
    const other = readFileSync(join(dir, "clips.npy"));
    other[other.length - 1] ^= 1;
    writeFileSync(join(dir, "clips-other.npy"), other);
    try {
      for (const evalClips of ["clips.npy", "./clips.npy", "clips-copy.npy", "clips-link.npy"]) {
        const err = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_clips: evalClips, eval_labels: "labels.npy", clip_length: 1 });
        expect(err, evalClips).to.be.instanceOf(DataError);
        expect(err!.keyPath).to.equal("data.eval_clips");
        // The experiment's setting is at fault, not a file: `run` and `validate` name the experiment file before it.
        expect(err!.file).to.equal(undefined);
        expect(err!.message).to.equal(
          `data.eval_clips: ${evalClips} holds the same clips as data.clips (clips.npy): evaluation would be on the training clips while the run records held-out ones; give held-out clips, or leave eval_clips and eval_labels out and set data.eval_on_train: true`,
        );
      }
      const held = await createDataSource(DataSpec.parse({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_clips: "clips-other.npy", eval_labels: "labels.npy", clip_length: 1 }), ctx());
      expect(held.evalIsTrain).to.equal(false);
    } finally {
      for (const f of ["clips-copy.npy", "clips-link.npy", "clips-other.npy"]) rmSync(join(dir, f));
    }
  });

  it("names the file and key for labels out of range, a shape mismatch and too few frames", async () => {
    const range = await fail({ kind: "npy", clips: "clips.npy", labels: "bad-labels.npy" , clip_length: 1 });
    expect(range!.message).to.match(/bad-labels\.npy \(data\.labels\): label 7 at index 2 is out of range, expected 0\.\.2/);
    const shape = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", clip_length: 1 }, { ...ctx(), input: { channels: 3, height: 2, width: 3 } });
    expect(shape!.message).to.match(/clips\.npy \(data\.clips\): frames are \[C=1, H=2, W=3\], the model input is \[3, 2, 3\]$/);
    // The file's [1, 2, 3] frames read as channels-last for a [3, 1, 2] model: said, with the transpose.
    const last = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", clip_length: 1 }, { ...ctx(), input: { channels: 3, height: 1, width: 2 } });
    expect(last!.message).to.include("the model input is [3, 1, 2]: the file looks channels-last [N, T, H, W, C]; expected [N, T, C, H, W] (numpy: clips.transpose(0, 1, 4, 2, 3))");
    // Both shapes in numpy's notation ((3,) as np.load(f).shape prints it), never "(3), expected (5,)".
    const count = await fail({ kind: "npy", clips: "clips.npy", labels: "three-labels.npy", clip_length: 1 });
    expect(count!.message).to.include("three-labels.npy (data.labels): labels have shape (3,), expected (5,) to match the clips");
    const rank = await fail({ kind: "npy", clips: "clips.npy", labels: "labels-2d.npy", clip_length: 1 });
    expect(rank!.message).to.include("labels-2d.npy (data.labels): labels have shape (5, 1), expected (5,) to match the clips");
    const flat = await fail({ kind: "npy", clips: "labels.npy", labels: "labels.npy", clip_length: 1 });
    expect(flat!.message).to.include("labels.npy (data.clips): clips have shape (5,), expected 5 dimensions");
    const frames = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", clip_length: 3, frame_stride: 2 });
    expect(frames!.keyPath).to.equal("data.clip_length");
    // The longest clip 4 frames hold at stride 2 is 2 frames ((2 - 1) x 2 + 1 = 3 <= 4; 3 frames would span 5);
    // 3 is no default, so the message ends there, while a user who never wrote clip_length learns its default.
    expect(frames!.message).to.match(new RegExp(
      "clips\\.npy \\(data\\.clips\\): clips have 4 frames; data\\.clip_length 3 with data\\.frame_stride 2 needs 5: " +
        "set data\\.clip_length to 2 or less, or a smaller data\\.frame_stride$",
    ));
    const unset = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy" });
    expect(unset!.message).to.include("clips have 4 frames; data.clip_length 16 with data.frame_stride 1 needs 16: set data.clip_length to 4 or less (16 is also data.clip_length's default, taken where the experiment does not set it)");
    const missing = await fail({ kind: "npy", clips: "nope.npy", labels: "labels.npy" });
    expect(missing).to.be.instanceOf(DataError);
    expect(missing!.file).to.equal(join(dir, "nope.npy"));
  });

  it("data.class_names names the classes by label, inline or from a file of one name a line (CRLF, a last line break, a BOM)", async () => {
    const base = { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 1 };
    const names = async (raw: object) => (await createDataSource(DataSpec.parse(raw), ctx())).classNames;
    expect(await names(base)).to.equal(undefined);
    expect(await names({ ...base, class_names: ["walk", "run", "jump"] })).to.deep.equal(["walk", "run", "jump"]);
    writeFileSync(join(dir, "names.txt"), "\uFEFFwalk\r\nrun fast\r\njump\r\n");
    expect(await names({ ...base, class_names: "names.txt" })).to.deep.equal(["walk", "run fast", "jump"]);
  });

  it("data.class_names: a count other than the model's classes, an empty name, a repeated one: exit-2 DataErrors naming the file or key, what was expected and found", async () => {
    const base = { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 1 };
    const short = await fail({ ...base, class_names: ["walk", "run"] });
    expect(short).to.be.instanceOf(DataError);
    expect(short!.keyPath).to.equal("data.class_names");
    expect(short!.message).to.equal("data.class_names: 2 class names, expected 3 (the model has 3 classes; label k's name is the (k+1)-th)");
    writeFileSync(join(dir, "four.txt"), "a\nb\nc\nd\n");
    const long = await fail({ ...base, class_names: "four.txt" });
    expect(long).to.be.instanceOf(DataSettingError);
    expect(long!.file).to.equal(join(dir, "four.txt"));
    expect(long!.message).to.equal(`${join(dir, "four.txt")} (data.class_names): 4 class names, expected 3 (the model has 3 classes; label k's name is the (k+1)-th)`);
    const empty = await fail({ ...base, class_names: ["walk", " ", "jump"] });
    expect(empty!.message).to.equal("data.class_names: data.class_names[1] (label 1) is an empty name, expected a name for every class");
    writeFileSync(join(dir, "blank.txt"), "walk\n\njump\n");
    expect((await fail({ ...base, class_names: "blank.txt" }))!.message).to.equal(`${join(dir, "blank.txt")} (data.class_names): line 2 (label 1) is an empty name, expected a name for every class`);
    writeFileSync(join(dir, "twice.txt"), "walk\nrun\nwalk\n");
    const twice = await fail({ ...base, class_names: "twice.txt" });
    expect(twice!.file).to.equal(join(dir, "twice.txt"));
    expect(twice!.message).to.equal(`${join(dir, "twice.txt")} (data.class_names): line 3 (label 2) repeats "walk", the name of line 1 (label 0); expected a different name for every class`);
    expect((await fail({ ...base, class_names: ["a", "b\nc", "d"] }))!.message).to.include("data.class_names[1] (label 1) spans lines");
  });

  it("names the key of a file that is no .npy file, as it does for the npy files it reads", async () => {
    writeFileSync(join(dir, "sheet.png"), Buffer.from("\x89PNG\r\n\x1a\n not numpy"));
    const labels = await fail({ kind: "npy", clips: "clips.npy", labels: "sheet.png", clip_length: 1 });
    expect(labels!.message).to.include("sheet.png (data.labels): not a readable .npy file: missing the \\x93NUMPY magic");
    expect(labels!.keyPath).to.equal("data.labels");
    const evalClips = await fail({ kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_clips: "sheet.png", eval_labels: "labels.npy", clip_length: 1 });
    expect(evalClips!.message).to.include("sheet.png (data.eval_clips): not a readable .npy file");
  });

  it("says the numpy conversion for float64 clips, float labels, big-endian files and grayscale clips without a channel axis", async () => {
    writeFileSync(join(dir, "clips-f8.npy"), encodeNpy(new Float64Array(N * T * FRAME), [N, T, 1, 2, 3]));
    writeFileSync(join(dir, "labels-f4.npy"), encodeNpy(new Float32Array(N), [N]));
    writeFileSync(join(dir, "clips-thw.npy"), encodeNpy(new Float32Array(N * T * FRAME), [N, T, 2, 3]));
    writeFileSync(join(dir, "clips-tw.npy"), encodeNpy(new Float32Array(N * T * 3), [N, T, 3]));
    const f8 = await fail({ kind: "npy", clips: "clips-f8.npy", labels: "labels.npy", clip_length: 1 });
    expect(f8!.message).to.include("clips-f8.npy (data.clips): dtype f8, expected float32 (f4) or uint8 (u1) (numpy: np.save(path, clips.astype(np.float32)))");
    const floatLabels = await fail({ kind: "npy", clips: "clips.npy", labels: "labels-f4.npy", clip_length: 1 });
    expect(floatLabels!.message).to.include("labels-f4.npy (data.labels): dtype f4, expected integers (int64, int32 or uint8) (numpy: np.save(path, labels.astype(np.int64)))");
    const thw = await fail({ kind: "npy", clips: "clips-thw.npy", labels: "labels.npy", clip_length: 1 });
    expect(thw!.message).to.include("clips have shape (5, 4, 2, 3), expected 5 dimensions [N, T, C, H, W] (the file looks like grayscale clips without a channel axis, [N, T, H, W]; numpy: clips[:, :, None] adds it)");
    // Four dimensions that are not [N, T, H, W] of the model's frames: no such hint.
    const tw = await fail({ kind: "npy", clips: "clips-tw.npy", labels: "labels.npy", clip_length: 1 });
    expect(tw!.message).to.match(/clips have shape \(5, 4, 3\), expected 5 dimensions \[N, T, C, H, W\]$/);
    const bigEndian = Buffer.from(Buffer.from(encodeNpy(new Float32Array(2), [2])).toString("latin1").replace("'<f4'", "'>f4'"), "latin1");
    expect(() => parseNpy(bigEndian, "be.npy")).to.throw(DataError, "be.npy: dtype '>f4' is not supported (expected little-endian one of f4, f8, u1, i1, u2, i2, u4, i4, i8, u8; numpy: np.save(path, a.astype('<f4')))");
  });

  it("reads back what it writes through the file system", async () => {
    const path = join(dir, "rt.npy");
    writeFileSync(path, encodeNpy(new Int32Array([5, -1]), [2]));
    const back = await readNpy(path);
    expect(back.dtype).to.equal("i4");
    expect(Array.from(back.data as Int32Array)).to.deep.equal([5, -1]);
  });
});

describe("data: epoch order", () => {
  const size = 40;
  const fileOrder = Array.from({ length: size }, (_, i) => i);
  const epochsOf = (order: EpochOrder, epochs: number) => Array.from({ length: epochs }, (_, e) => fileOrder.map((p) => order.at(e * size + p)));
  const agreeing = (a: number[], b: number[]) => a.filter((v, i) => v === b[i]).length;

  it("visits every item once per epoch, each epoch in a fresh seeded permutation: rng.fork(epoch)'s shuffle", () => {
    const rng = new Rng(7);
    const epochs = epochsOf(new EpochOrder(size, true, rng), 4);
    epochs.forEach((perm, e) => {
      expect([...perm].sort((a, b) => a - b), `epoch ${e} visits every item once`).to.deep.equal(fileOrder);
      // A uniform permutation of 40 leaves 1 item in place on average; 10 or more has chance
      // about 1e-7 (Poisson(1) tail). File order leaves all 40.
      expect(agreeing(perm, fileOrder), `epoch ${e}: items left in file order`).to.be.below(10);
      // The derivation (epoch-order.ts): epoch e is a Fisher-Yates shuffle by rng.fork(e), so a
      // run's data order is a function of its seed, the same in every version that keeps its id.
      expect(perm, `epoch ${e}`).to.deep.equal(rng.fork(e).shuffle([...fileOrder]));
    });
    // Two independent permutations agree in 1 position on average: one permutation reused for
    // every epoch would agree in all 40.
    for (let a = 0; a < epochs.length; a++) for (let b = a + 1; b < epochs.length; b++) {
      expect(agreeing(epochs[a]!, epochs[b]!), `epochs ${a} and ${b}: positions in the same order`).to.be.below(10);
    }
  });

  it("depends only on the seed and the index: a fresh order asked for a late item first agrees (as after a resume)", () => {
    const epochs = epochsOf(new EpochOrder(size, true, new Rng(7)), 4);
    const fresh = new EpochOrder(size, true, new Rng(7));
    expect([fresh.at(3 * size + 5), fresh.at(2 * size + 39), fresh.at(0)]).to.deep.equal([epochs[3]![5], epochs[2]![39], epochs[0]![0]]);
    expect(epochsOf(new EpochOrder(size, true, new Rng(8)), 1)[0], "another seed, another order").to.not.deep.equal(epochs[0]);
  });

  it("holds at most two epochs' permutations, also when asked as a data worker asks (every n-th batch, skipping epochs), and gives the same items", () => {
    // data.train_clips 5 and batches of 16 from 2 workers: a worker's batches are 32 clips (6 epochs) apart.
    const [clips, batch, workers] = [5, 16, 2];
    const worker = new EpochOrder(clips, true, new Rng(7));
    const oneThread = new EpochOrder(clips, true, new Rng(7));
    for (let b = 0; b < 200; b += workers) {
      for (let i = b * batch; i < (b + 1) * batch; i++) expect(worker.at(i), `clip ${i}`).to.equal(oneThread.at(i));
      expect(worker.heldPermutations, `after batch ${b}`).to.be.at.most(2);
    }
    expect(oneThread.heldPermutations).to.be.at.most(2);
  });

  it("shuffle: false is file order, epoch after epoch", () => {
    expect(epochsOf(new EpochOrder(size, false, new Rng(7)), 2)).to.deep.equal([fileOrder, fileOrder]);
  });
});
