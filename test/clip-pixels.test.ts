/**
 * Clips as 8-bit pixels (ClipBatch.pixels, src/data/clip.ts assembleBatch): the float clips a
 * batch carries are exactly fround(fround(pixel * scale[c]) + shift[c]), the float32 Mul and Add a
 * device step computes from the pixels, so the two inputs train bit for bit alike
 * (test/device-step.test.ts); and they mean (pixel / 255 - mean) / std up to float32 rounding.
 */
import { expect } from "chai";
import { assembleBatch, type Preprocess, type RawClip } from "../src/data/clip.js";
import { createDataSource } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import { deviceStepClipInput } from "../src/train/run-experiment.js";
import { Rng } from "../src/util/rng.js";
import { randomByteClips } from "./helpers/tiny-models.js";

const shape = { frames: 4, channels: 3, height: 5, width: 6 };
const clipSize = shape.frames * shape.channels * shape.height * shape.width;
const pre = (normalize: Preprocess["normalize"], shuffleFrames = true): Preprocess => ({ shuffleFrames, normalize, rng: new Rng(4), evalRng: new Rng(5) });

/** Random 8-bit clips with the extremes 0 and 255 at every 97th pixel. */
function byteClips(n: number, seed: number): RawClip[] {
  const clips = randomByteClips(n, clipSize, seed, n);
  for (const { pixels } of clips) for (let i = 0; i < clipSize; i += 97) pixels[i] = 255 * (i % 2);
  return clips;
}

describe("clips as 8-bit pixels", () => {
  for (const normalize of [null, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }]) {
    it(`the float clips are the float32 Mul and Add of the pixels, exactly (${normalize ? "normalised" : "no normalisation"}, shuffled frames)`, () => {
      const raw = byteClips(3, 1);
      const batch = assembleBatch(raw, shape, pre(normalize), "train", 7);
      const { data, scale, shift } = batch.pixels!;
      expect(data.length).to.equal(batch.clips.length);
      const plane = shape.height * shape.width;
      let checked = 0;
      batch.clips.forEach((v, i) => {
        const c = Math.floor(i / plane) % shape.channels;
        const f32 = Math.fround(Math.fround(data[i]! * scale[c]!) + shift[c]!);
        expect(Object.is(v, f32), `element ${i}: ${v} against ${f32}`).to.equal(true);
        // What they mean: (pixel / 255 - mean) / std, to float32 rounding (two roundings, 2.4e-7 relative to the range).
        const m = normalize?.mean[c] ?? 0;
        const s = normalize?.std[c] ?? 1;
        expect(v).to.be.closeTo((data[i]! / 255 - m) / s, 2.4e-7 * (1 + Math.abs(m / s) + 1 / s));
        checked++;
      });
      expect(checked).to.equal(3 * clipSize);
      // The pixels follow the clips' frame order: each pixel frame is one of its raw clip's frames.
      const frameSize = clipSize / shape.frames;
      for (let b = 0; b < 3; b++) {
        const frames = Array.from({ length: shape.frames }, (_, t) => Buffer.from(raw[b]!.pixels.subarray(t * frameSize, (t + 1) * frameSize) as Uint8Array).toString("hex"));
        for (let t = 0; t < shape.frames; t++) {
          const at = (b * shape.frames + t) * frameSize;
          expect(frames).to.include(Buffer.from(data.subarray(at, at + frameSize)).toString("hex"));
        }
      }
    });
  }

  it("unshuffled 8-bit clips land in the batch in order, whatever memory they share, in new memory and in a reused batch's", () => {
    // Clips as separate arrays, views of one buffer back to back (one run, as a data worker's
    // share), views of it with a gap, a view of it repeated, and views in reverse order.
    const one = new Uint8Array(6 * clipSize).map((_, i) => (i * 7 + 3) % 256);
    const view = (k: number) => one.subarray(k * clipSize, (k + 1) * clipSize);
    const separate = byteClips(2, 9).map((c) => c.pixels as Uint8Array);
    const layouts: Record<string, Uint8Array[]> = {
      "separate arrays": separate,
      "back to back": [view(0), view(1), view(2), view(3)],
      "with a gap": [view(0), view(1), view(3), view(4)],
      "a clip twice": [view(2), view(2), view(3)],
      "reversed": [view(4), view(3), view(2)],
      "mixed": [view(1), separate[0]!, view(2), view(3), separate[1]!],
    };
    for (const [name, pixels] of Object.entries(layouts)) {
      const raw = pixels.map((p, i) => ({ pixels: p, label: i }));
      const want = Buffer.concat(pixels);
      const reused = new Uint8Array(want.length).fill(0xff); // a byte left unwritten shows
      for (const [memory, batch] of [["new", assembleBatch(raw, shape, pre(null, false), "train", 0)], ["reused", assembleBatch(raw, shape, pre(null, false), "train", 0, reused)]] as const) {
        expect(Buffer.from(batch.pixels!.data).equals(want), `${name}, ${memory} memory`).to.equal(true);
        expect(Array.from(batch.labels), `${name} labels`).to.deep.equal(raw.map((c) => c.label));
      }
      expect(assembleBatch(raw, shape, pre(null, false), "train", 0, reused).pixels!.data.buffer, "the reused memory itself").to.equal(reused.buffer);
    }
    expect(() => assembleBatch(byteClips(2, 1), shape, pre(null, false), "train", 0, new Uint8Array(clipSize))).to.throw(/BUG: reused pixel memory of \d+ bytes for a batch of \d+/);
  });

  it("an 8-bit batch makes its float clips on first read only, once, and a spread or a structured clone carries them", () => {
    const batch = assembleBatch(byteClips(2, 3), shape, pre(null), "train", 0);
    // Only a build on first read sees a pixel changed before that read.
    const pixels = batch.pixels!.data;
    pixels[0] = pixels[0] === 255 ? 0 : 255;
    const first = batch.clips;
    expect(first[0]).to.equal(Math.fround(Math.fround(pixels[0]! * batch.pixels!.scale[0]!) + batch.pixels!.shift[0]!));
    expect(batch.clips, "the same array on every read").to.equal(first);
    expect({ ...batch }.clips).to.equal(first);
    expect(Array.from(structuredClone(batch).clips)).to.deep.equal(Array.from(first));
  });

  it("float32 raw clips give no pixels, and their values as before: (x - mean) / std", () => {
    const raw: RawClip[] = [{ pixels: Float32Array.from({ length: clipSize }, (_, i) => (i % 13) / 13), label: 0 }];
    const normalize = { mean: [0.5, 0.25, 0], std: [2, 0.5, 1] };
    const batch = assembleBatch(raw, shape, pre(normalize, false), "train", 0);
    expect(batch.pixels).to.equal(undefined);
    const plane = shape.height * shape.width;
    batch.clips.forEach((v, i) => {
      const c = Math.floor(i / plane) % shape.channels;
      expect(v).to.equal(Math.fround(raw[0]!.pixels[i]! * (1 / normalize.std[c]!) - normalize.mean[c]! * (1 / normalize.std[c]!)));
    });
  });

  it("moving-mnist and shapes sources carry the pixels of every training batch", async () => {
    const ctx = { input: { channels: 1, height: 32, width: 32 }, classes: 10, seed: 3, baseDir: ".", cacheDir: "unused" };
    for (const spec of [{ kind: "moving-mnist", clip_length: 3, digits: 1 }, { kind: "shapes", clip_length: 3 }]) {
      const source = await createDataSource(DataSpec.parse(spec), spec.kind === "shapes" ? { ...ctx, classes: 4 } : ctx);
      try {
        expect(source.pixelClips, spec.kind).to.equal(true);
        const { value } = await source.trainBatches(2).next();
        expect(value.pixels, spec.kind).to.not.equal(undefined);
        expect(value.pixels.data.length).to.equal(value.clips.length);
      } finally {
        await source.close();
      }
    }
  });

  it("a run's device step takes the pixels on CUDA only, where the source has them", () => {
    expect(deviceStepClipInput({ provider: "cuda" }, { pixelClips: true })).to.equal("uint8");
    expect(deviceStepClipInput({ provider: "cuda" }, { pixelClips: false })).to.equal("float32");
    expect(deviceStepClipInput({ provider: "cuda" }, {})).to.equal("float32");
    expect(deviceStepClipInput({ provider: "webgpu" }, { pixelClips: true })).to.equal("float32");
    expect(deviceStepClipInput({ provider: "cpu", threads: 1 }, { pixelClips: true })).to.equal("float32");
  });
});
