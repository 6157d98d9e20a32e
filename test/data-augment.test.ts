/**
 * data.augment (src/data/augment.ts): each training clip mirrored and shifted by one draw shared
 * by all its frames, evaluation clips untouched. The transform is checked against an independent
 * formulation (pad the plane with zeros, take the window, reverse its rows' order of columns),
 * the draws by their counts, and the sources by recovering each clip's draw from the clips
 * without augmentation: exactly one draw must explain every frame of a clip.
 */
import { expect } from "chai";
import { clipAugment, drawTransform, transformClip, type ClipTransform } from "../src/data/augment.js";
import { assembleBatch, type Preprocess, type RawClip } from "../src/data/clip.js";
import type { ClipSource } from "../src/data/clip-source.js";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import type { ClipBatch, DataSource } from "../src/data/source.js";
import { DataError } from "../src/errors.js";
import { Rng } from "../src/util/rng.js";

/**
 * The reference, written another way than the code under test: mirror the whole plane, pad it
 * with `fill` on every side, and take the height x width window at (pad + dy, pad + dx), as
 * torchvision's RandomHorizontalFlip then RandomCrop(padding=pad) would (the same draws as crop
 * then flip, with dx negated).
 */
function reference(plane: number[][], pad: number, t: ClipTransform, fill: number): number[][] {
  const h = plane.length;
  const w = plane[0]!.length;
  const mirrored = t.flip ? plane.map((row) => [...row].reverse()) : plane;
  const padded = Array.from({ length: h + 2 * pad }, (_, y) =>
    Array.from({ length: w + 2 * pad }, (_, x) => mirrored[y - pad]?.[x - pad] ?? fill),
  );
  return padded.slice(pad + t.dy, pad + t.dy + h).map((row) => row.slice(pad + t.dx, pad + t.dx + w));
}

function planesOf(data: ArrayLike<number>, planes: number, h: number, w: number): number[][][] {
  return Array.from({ length: planes }, (_, p) => Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => data[p * h * w + y * w + x]!)));
}

/** Every draw (flip, dy, dx) with |dy|, |dx| <= pad that turns `plain`'s planes into `augmented`'s. */
function drawsExplaining(plain: ArrayLike<number>, augmented: ArrayLike<number>, planes: number, h: number, w: number, pad: number, fill: (p: number) => number): ClipTransform[] {
  const before = planesOf(plain, planes, h, w);
  const after = planesOf(augmented, planes, h, w);
  const found: ClipTransform[] = [];
  for (const flip of [false, true]) {
    for (let dy = -pad; dy <= pad; dy++) {
      for (let dx = -pad; dx <= pad; dx++) {
        const t = { flip, dy, dx };
        if (before.every((plane, p) => JSON.stringify(reference(plane, pad, t, fill(p))) === JSON.stringify(after[p]))) found.push(t);
      }
    }
  }
  return found;
}

describe("data.augment", () => {
  describe("transformClip", () => {
    const [h, w, planes, pad] = [5, 7, 3, 2];
    for (const kind of ["8-bit", "float"] as const) {
      it(`equals the padded-window reference for every draw with |dy|, |dx| <= ${pad}, mirrored or not (${kind}, ${h}x${w}, ${planes} planes, a fill per plane)`, () => {
        const rng = new Rng(1);
        const values = Array.from({ length: planes * h * w }, () => (kind === "8-bit" ? 1 + rng.int(255) : rng.normal()));
        const fill = (p: number) => (kind === "8-bit" ? 0 : -0.25 * (p + 1));
        for (const flip of [false, true]) {
          for (let dy = -pad; dy <= pad; dy++) {
            for (let dx = -pad; dx <= pad; dx++) {
              const t = { flip, dy, dx };
              // The clip sits between 4 values of other clips on each side: only its own planes may change.
              const data = kind === "8-bit" ? Uint8Array.from([9, 9, 9, 9, ...values, 9, 9, 9, 9]) : Float32Array.from([9, 9, 9, 9, ...values, 9, 9, 9, 9]);
              transformClip(data, 4, planes, h, w, t, fill);
              expect(Array.from(data.subarray(0, 4))).to.deep.equal([9, 9, 9, 9]);
              expect(Array.from(data.subarray(4 + planes * h * w))).to.deep.equal([9, 9, 9, 9]);
              const stored = Array.from(kind === "8-bit" ? values : Float32Array.from(values));
              const want = planesOf(stored, planes, h, w).map((plane, p) => reference(plane, pad, t, Math.fround(fill(p))));
              expect(planesOf(data.subarray(4, 4 + planes * h * w), planes, h, w), JSON.stringify(t)).to.deep.equal(want);
            }
          }
        }
      });
    }
  });

  describe("drawTransform", () => {
    it("mirrors about half the clips and draws every shift in [-pad, pad], the same draw for the same clip index", () => {
      const aug = clipAugment({ flip: true, pad_crop: 3 }, new Rng(7))!;
      const n = 4000;
      const draws = Array.from({ length: n }, (_, i) => drawTransform(aug, i));
      const flips = draws.filter((d) => d.flip).length;
      // Binomial(4000, 1/2): sd 31.6; 5 sd either side is wrong for a fair coin with probability below 1e-6.
      expect(flips).to.be.within(n / 2 - 158, n / 2 + 158);
      for (const key of ["dy", "dx"] as const) {
        const counts = new Map<number, number>();
        for (const d of draws) counts.set(d[key], (counts.get(d[key]) ?? 0) + 1);
        expect([...counts.keys()].sort((a, b) => a - b), key).to.deep.equal([-3, -2, -1, 0, 1, 2, 3]);
        // Each value: Binomial(4000, 1/7), mean 571, sd 22; 6 sd either side.
        for (const c of counts.values()) expect(c, key).to.be.within(571 - 133, 571 + 133);
      }
      // dy and dx are drawn independently, not one value twice.
      expect(draws.filter((d) => d.dy === d.dx).length).to.be.below(n / 3);
      expect(drawTransform(aug, 123)).to.deep.equal(draws[123]);
    });

    it("asks for nothing it was not given: no mirror without flip, no shift without pad_crop, no augmentation for {} or absent", () => {
      const flipOnly = clipAugment({ flip: true, pad_crop: 0 }, new Rng(1))!;
      const shiftOnly = clipAugment({ flip: false, pad_crop: 2 }, new Rng(1))!;
      for (let i = 0; i < 200; i++) {
        expect(drawTransform(flipOnly, i)).to.include({ dy: 0, dx: 0 });
        expect(drawTransform(shiftOnly, i).flip).to.equal(false);
      }
      expect(clipAugment({ flip: false, pad_crop: 0 }, new Rng(1))).to.equal(null);
      expect(clipAugment(undefined, new Rng(1))).to.equal(null);
    });
  });

  describe("on a data source", () => {
    const ctx: DataContext = { input: { channels: 1, height: 16, width: 16 }, classes: 10, seed: 3, baseDir: ".", cacheDir: "unused" };
    const base = { kind: "moving-mnist", clip_length: 3, digits: 2, shuffle_frames: true };

    async function firstBatches(spec: object): Promise<{ train: ClipBatch; evaluation: ClipBatch; source: DataSource }> {
      const source = await createDataSource(DataSpec.parse(spec), ctx);
      try {
        const train = (await source.trainBatches(6, 1).next()).value as ClipBatch;
        let evaluation: ClipBatch | undefined;
        for await (const b of source.evalBatches(6, 6)) evaluation = b;
        return { train, evaluation: evaluation!, source };
      } finally {
        await source.close();
      }
    }

    it("training clips are their unaugmented selves under one draw for all their frames, some mirrored and some shifted; evaluation clips are untouched", async () => {
      const pad = 3;
      const plain = await firstBatches(base);
      const augmented = await firstBatches({ ...base, augment: { flip: true, pad_crop: pad } });
      expect(Array.from(augmented.train.labels)).to.deep.equal(Array.from(plain.train.labels));
      const [, frames, , height, width] = plain.train.dims;
      const clipSize = frames * height * width;
      const draws: ClipTransform[] = [];
      for (let b = 0; b < 6; b++) {
        const clip = (batch: ClipBatch) => batch.pixels!.data.subarray(b * clipSize, (b + 1) * clipSize);
        const found = drawsExplaining(clip(plain.train), clip(augmented.train), frames, height, width, pad, () => 0);
        // A digit clip could be explained by two draws only if it were symmetric or blank; these are not.
        expect(found, `clip ${b}`).to.have.length(1);
        draws.push(found[0]!);
      }
      expect(draws.some((d) => d.flip) && draws.some((d) => d.dy !== 0 || d.dx !== 0), JSON.stringify(draws)).to.equal(true);
      expect(augmented.evaluation.pixels!.data).to.deep.equal(plain.evaluation.pixels!.data);
      expect(augmented.source.description).to.match(/; training clips mirrored at random and shifted up to 3 px \(data\.augment\)$/);
      expect((plain.source as ClipSource).description).not.to.include("augment");
    });

    it("float clips (npy) are augmented after normalisation with the normalised 0 coming in, as 8-bit clips before it", () => {
      const shape = { frames: 2, channels: 2, height: 4, width: 5 };
      const size = 2 * 2 * 4 * 5;
      const rng = new Rng(2);
      const bytes: RawClip[] = Array.from({ length: 3 }, (_, i) => ({ pixels: Uint8Array.from({ length: size }, () => 1 + rng.int(255)), label: i }));
      const floats: RawClip[] = bytes.map((c) => ({ pixels: Float32Array.from(c.pixels, (v) => v / 255), label: c.label }));
      const pre = (augment: boolean): Preprocess => ({
        shuffleFrames: false,
        normalize: { mean: [0.5, 0.25], std: [0.5, 2] },
        rng: new Rng(0),
        evalRng: new Rng(0),
        augment: augment ? clipAugment({ flip: true, pad_crop: 2 }, new Rng(11)) : null,
      });
      const fromBytes = assembleBatch(bytes, shape, pre(true), "train", 4).clips;
      const fromFloats = assembleBatch(floats, shape, pre(true), "train", 4).clips;
      // The same picture either way: 8-bit pixels pass v * (1 / (255 std)) - mean / std; float ones v / 255 first (a rounding apart).
      fromBytes.forEach((v, i) => expect(fromFloats[i]).to.be.closeTo(v, 1e-5));
      expect(Array.from(fromFloats)).to.not.deep.equal(Array.from(assembleBatch(floats, shape, pre(false), "train", 4).clips));
      expect(Array.from(assembleBatch(floats, shape, pre(true), "eval", 4).clips)).to.deep.equal(Array.from(assembleBatch(floats, shape, pre(false), "eval", 4).clips));
    });

    it("refuses a mirror on task direction and a shift past half the frame, naming the key", async () => {
      const direction = { kind: "moving-mnist", task: "direction", clip_length: 3, augment: { flip: true } };
      const err = await createDataSource(DataSpec.parse(direction), { ...ctx, classes: 4 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(DataError);
      expect((err as DataError).message).to.match(/^data\.augment\.flip: .*task direction/);
      // A shift alone keeps the direction of motion: allowed.
      const shifted = await createDataSource(DataSpec.parse({ ...direction, augment: { pad_crop: 2 } }), { ...ctx, classes: 4 });
      await shifted.close();
      const far = await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 2, augment: { pad_crop: 9 } }), { ...ctx, classes: 4 }).then(() => null, (e: unknown) => e);
      expect((far as DataError).message).to.match(/^data\.augment\.pad_crop: 9 pixels .*expected at most 8 \(half the smaller side\)/);
    });
  });
});
