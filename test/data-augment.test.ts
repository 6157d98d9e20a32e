/**
 * data.augment (src/data/augment.ts): each training clip mirrored and shifted by one draw shared
 * by all its frames, evaluation clips untouched. The transform is checked against an independent
 * formulation (pad the plane with zeros, take the window, reverse its rows' order of columns),
 * the draws by their counts, and the sources by recovering each clip's draw from the clips
 * without augmentation: exactly one draw must explain every frame of a clip. The resized crop
 * (scale) is checked against a per-output-pixel float64 formula and, where PyTorch is there,
 * against F.interpolate.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { clipAugment, cropScratch, drawTransform, transformClip, type ClipAugment, type ClipTransform, type CropWindow } from "../src/data/augment.js";
import { peerPython, torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { assembleBatch, type Preprocess, type RawClip } from "../src/data/clip.js";
import type { ClipSource } from "../src/data/clip-source.js";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import type { ClipBatch, DataSource } from "../src/data/source.js";
import { DataError } from "../src/errors.js";
import { Rng } from "../src/util/rng.js";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { main } from "../src/cli/main.js";
import { readCsv } from "../src/results/csv-read.js";
import { captureIo } from "./helpers/capture-io.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";
import { GOOD } from "./helpers/spec-fixtures.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

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


/**
 * The resized crop's reference, one output pixel at a time in float64, from the formula as
 * PyTorch documents bilinear interpolation with align_corners=False: output (y, x) reads the crop
 * at ((y + 0.5) ch / H - 0.5, (x + 0.5) cw / W - 0.5), each clamped to [0, size - 1], weighted by
 * its distance to the two neighbouring pixels. Unrounded.
 */
function resizedReference(plane: number[][], crop: CropWindow): number[][] {
  const [h, w] = [plane.length, plane[0]!.length];
  const at = (y: number, x: number) => plane[crop.top + y]![crop.left + x]!;
  const source = (i: number, from: number, to: number) => Math.min(Math.max((i + 0.5) * (from / to) - 0.5, 0), from - 1);
  return Array.from({ length: h }, (_, y) => {
    const sy = source(y, crop.height, h);
    const [y0, y1] = [Math.floor(sy), Math.ceil(sy)];
    return Array.from({ length: w }, (_, x) => {
      const sx = source(x, crop.width, w);
      const [x0, x1] = [Math.floor(sx), Math.ceil(sx)];
      const [fy, fx] = [sy - y0, sx - x0];
      return (1 - fy) * (1 - fx) * at(y0, x0) + (1 - fy) * fx * at(y0, x1) + fy * (1 - fx) * at(y1, x0) + fy * fx * at(y1, x1);
    });
  });
}

/** A crop window of `area` as drawTransform sizes it, at (top, left). */
function cropAt(h: number, w: number, area: number, top: number, left: number): CropWindow {
  return { area, top, left, height: Math.max(1, Math.round(h * Math.sqrt(area))), width: Math.max(1, Math.round(w * Math.sqrt(area))) };
}

/** drawTransform as it was before data.augment.scale existed (commit 26ea0af), kept to pin that configs without it draw the same. */
function drawBeforeScale(aug: ClipAugment, index: number): ClipTransform {
  const r = aug.rng.fork(index);
  const flip = aug.flip && r.int(2) === 1;
  const dy = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  const dx = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  return { flip, dy, dx };
}

/** Each crop of each plane resized to the plane's size by torch.nn.functional.interpolate (float64 in, float32 compute as our float path). */
function torchResized(python: string, planes: number[][][], crops: CropWindow[]): number[][][][] {
  const script = [
    "import json, sys, torch",
    "import torch.nn.functional as F",
    "job = json.load(sys.stdin)",
    "out = []",
    "for c in job['crops']:",
    "    x = torch.tensor(job['planes'], dtype=torch.float32)[:, c['top']:c['top'] + c['height'], c['left']:c['left'] + c['width']]",
    "    h, w = len(job['planes'][0]), len(job['planes'][0][0])",
    "    out.append(F.interpolate(x[None], size=(h, w), mode='bilinear', align_corners=False)[0].tolist())",
    "json.dump(out, sys.stdout)",
  ].join("\n");
  const r = spawnSync(python, ["-c", script], { input: JSON.stringify({ planes, crops }), encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${python}: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[][][][];
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


  describe("resized crop (scale)", () => {
    // Odd sizes, a frame wider than tall, and crops from the whole frame (s = 1) down to one pixel.
    const [h, w, planes] = [7, 9, 2];
    const crops: CropWindow[] = [
      cropAt(h, w, 1, 0, 0),
      cropAt(h, w, 0.5, 0, 0),
      cropAt(h, w, 0.5, 2, 3),
      cropAt(h, w, 0.3, 7 - 4, 9 - 5),
      cropAt(h, w, 0.08, 7 - 2, 9 - 3),
      cropAt(h, w, 0.01, 6, 8),
      ...Array.from({ length: 6 }, (_, i) => drawTransform(clipAugment({ flip: false, pad_crop: 0, scale: [0.1, 1] }, new Rng(5))!, i, h, w).crop!),
    ];
    const rng = new Rng(3);
    const bytes = Array.from({ length: planes * h * w }, () => rng.int(256));
    const floats = Array.from(Float32Array.from({ length: planes * h * w }, () => rng.normal()));

    it("crop sizes: round(side sqrt(s)), at least 1; the whole frame at s = 1; one pixel at s = 0.01", () => {
      expect(crops.slice(0, 6).map((c) => [c.height, c.width])).to.deep.equal([[7, 9], [5, 6], [5, 6], [4, 5], [2, 3], [1, 1]]);
    });

    for (const kind of ["8-bit", "float"] as const) {
      it(`equals the float64 per-pixel reference on every plane for ${crops.length} crops (${kind}, ${h}x${w}); s = 1 exactly the clip; then mirrors and shifts that`, () => {
        const values = kind === "8-bit" ? bytes : floats;
        for (const crop of crops) {
          const data = kind === "8-bit" ? Uint8Array.from([9, 9, ...values, 9, 9]) : Float32Array.from([9, 9, ...values, 9, 9]);
          transformClip(data, 2, planes, h, w, { flip: false, dy: 0, dx: 0, crop }, () => 0, cropScratch(h, w));
          expect([...data.subarray(0, 2), ...data.subarray(2 + planes * h * w)]).to.deep.equal([9, 9, 9, 9]);
          const got = planesOf(data.subarray(2), planes, h, w);
          const want = planesOf(values, planes, h, w).map((plane) => resizedReference(plane, crop));
          if (crop.height === h) expect(got, "s = 1: the clip itself").to.deep.equal(planesOf(values, planes, h, w));
          got.forEach((plane, p) =>
            plane.forEach((row, y) =>
              row.forEach((v, x) => {
                const ref = want[p]![y]![x]!;
                const where = `${JSON.stringify(crop)} plane ${p} (${y}, ${x})`;
                // 8-bit: rounded to nearest from the unrounded reference, so at most 0.5 away; the 1e-9 is
                // the two formulas' float64 rounding (values below 256) at an exact .5.
                if (kind === "8-bit") expect(Math.abs(v - ref), where).to.be.at.most(0.5 + 1e-9);
                // float: our float64 result rounded once to float32 (relative 6e-8), against the same in float64.
                else expect(Math.abs(v - ref), where).to.be.at.most(1e-6 * Math.max(1, Math.abs(ref)));
              }),
            ),
          );
        }
      });
    }

    it("8-bit: ties (an exact .5) round up, others to nearest", () => {
      // A 1 x 2 crop of [0, 1] resized to 4 wide reads the crop at 0, 0.25, 0.75 and 1 (clamped): 0, 0.25, 0.75, 1.
      // A 2 x 2 crop of [[0, 1], [1, 2]] to 4 x 4: row 1 column 1 reads (0.25, 0.25): 0.5, an exact tie.
      const data = Uint8Array.from([0, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      transformClip(data, 0, 1, 4, 4, { flip: false, dy: 0, dx: 0, crop: { area: 0.25, top: 0, left: 0, height: 2, width: 2 } }, () => 0, cropScratch(4, 4));
      // Reference values: [[0, .25, .75, 1], [.25, .5, 1, 1.25], [.75, 1, 1.5, 1.75], [1, 1.25, 1.75, 2]].
      expect(Array.from(data)).to.deep.equal([0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 2, 2, 1, 1, 2, 2]);
    });

    it("a crop together with a mirror and a shift: the resized crop first, then the padded-window reference of it", () => {
      const pad = 2;
      const crop = cropAt(h, w, 0.4, 1, 2);
      for (const t of [{ flip: true, dy: 1, dx: -2, crop }, { flip: false, dy: -2, dx: 1, crop }]) {
        const data = Float32Array.from(floats);
        transformClip(data, 0, planes, h, w, t, (p) => -1 - p, cropScratch(h, w));
        const want = planesOf(floats, planes, h, w).map((plane, p) => reference(resizedReference(plane, crop), pad, t, -1 - p));
        const got = planesOf(data, planes, h, w);
        got.forEach((plane, p) => plane.forEach((row, y) => row.forEach((v, x) => expect(v, `${JSON.stringify(t)} ${p} ${y} ${x}`).to.be.closeTo(want[p]![y]![x]!, 1e-6 * Math.max(1, Math.abs(want[p]![y]![x]!))))));
      }
    });

    describe("against PyTorch's F.interpolate(mode='bilinear', align_corners=False)", function () {
      this.timeout(120_000);
      const reason = torchUnavailableReason();
      before(function () {
        if (reason) skipBecause(this, `${reason} (${NEEDS_TORCH})`);
      });
      it(`the same crops resized the same way (float: 1e-5 of PyTorch's float32; 8-bit: within 0.5 of it)`, () => {
        const theirsFloat = torchResized(peerPython(), planesOf(floats, planes, h, w), crops);
        const theirsBytes = torchResized(peerPython(), planesOf(bytes, planes, h, w), crops);
        crops.forEach((crop, k) => {
          for (const [kind, values, theirs] of [["float", floats, theirsFloat[k]!], ["8-bit", bytes, theirsBytes[k]!]] as const) {
            const data = kind === "8-bit" ? Uint8Array.from(values) : Float32Array.from(values);
            transformClip(data, 0, planes, h, w, { flip: false, dy: 0, dx: 0, crop }, () => 0, cropScratch(h, w));
            planesOf(data, planes, h, w).forEach((plane, p) =>
              plane.forEach((row, y) =>
                row.forEach((v, x) => {
                  const t = theirs[p]![y]![x]!;
                  // PyTorch computes the source positions and weights in float32: a few ulps of 256 at most.
                  expect(Math.abs(v - t), `${kind} ${JSON.stringify(crop)} ${p} ${y} ${x}`).to.be.at.most(kind === "8-bit" ? 0.5 + 1e-4 : 1e-5 * Math.max(1, Math.abs(t)));
                }),
              ),
            );
          }
        });
      });
    });
  });

  describe("drawTransform", () => {
    it("mirrors about half the clips and draws every shift in [-pad, pad], the same draw for the same clip index", () => {
      const aug = clipAugment({ flip: true, pad_crop: 3 }, new Rng(7))!;
      const n = 4000;
      const draws = Array.from({ length: n }, (_, i) => drawTransform(aug, i, 32, 32));
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
      expect(drawTransform(aug, 123, 32, 32)).to.deep.equal(draws[123]);
    });

    it("scale: s in [min, max] spread over it, the crop's size from s, its corner anywhere the crop fits, each end reached", () => {
      const [h, w, lo, hi] = [10, 12, 0.25, 0.81];
      const aug = clipAugment({ flip: false, pad_crop: 0, scale: [lo, hi] }, new Rng(9))!;
      const n = 4000;
      const crops = Array.from({ length: n }, (_, i) => drawTransform(aug, i, h, w).crop!);
      let [atTop, atBottom, atLeft, atRight] = [0, 0, 0, 0];
      for (const c of crops) {
        expect(c.area).to.be.within(lo, hi);
        expect([c.height, c.width]).to.deep.equal([Math.round(h * Math.sqrt(c.area)), Math.round(w * Math.sqrt(c.area))]);
        expect(c.top).to.be.within(0, h - c.height);
        expect(c.left).to.be.within(0, w - c.width);
        atTop += c.top === 0 ? 1 : 0;
        atBottom += c.top === h - c.height ? 1 : 0;
        atLeft += c.left === 0 ? 1 : 0;
        atRight += c.left === w - c.width ? 1 : 0;
      }
      // Uniform s: mean 0.53, sd of the mean 0.56 / sqrt(12 n) = 0.0026; 6 sd either side. Some draw within
      // 0.01 of each end: missed with probability (1 - 0.01 / 0.56)^4000 < 1e-30.
      const areas = crops.map((c) => c.area);
      expect(areas.reduce((a, b) => a + b, 0) / n).to.be.closeTo((lo + hi) / 2, 0.0154);
      expect(Math.min(...areas)).to.be.below(lo + 0.01);
      expect(Math.max(...areas)).to.be.above(hi - 0.01);
      // The crop is at least 5 x 6 (s >= 0.25), so each end of either axis has probability >= 1/7 a draw
      // (571 expected of 4000, sd 22): at least 400.
      for (const [end, count] of Object.entries({ atTop, atBottom, atLeft, atRight })) expect(count, end).to.be.at.least(400);
      expect(drawTransform(aug, 77, h, w)).to.deep.equal(drawTransform(aug, 77, h, w));
    });

    it("scale is drawn after the mirror and the shift: those are the draws of the function before scale existed, with scale or without", () => {
      const plain = clipAugment({ flip: true, pad_crop: 3 }, new Rng(4))!;
      const zoomed = clipAugment({ flip: true, pad_crop: 3, scale: [0.5, 1] }, new Rng(4))!;
      for (let i = 0; i < 500; i++) {
        expect(drawTransform(plain, i, 16, 16), `clip ${i}`).to.deep.equal(drawBeforeScale(plain, i));
        const { crop, ...rest } = drawTransform(zoomed, i, 16, 16);
        expect(rest, `clip ${i}`).to.deep.equal(drawBeforeScale(plain, i));
        expect(crop, `clip ${i}`).to.not.equal(undefined);
      }
    });

    it("scale [1, 1] zooms nowhere: no crop drawn, the same augmentation as without the key (none at all alone)", () => {
      expect(clipAugment({ flip: false, pad_crop: 0, scale: [1, 1] }, new Rng(1))).to.equal(null);
      const flipOnly = clipAugment({ flip: true, pad_crop: 0, scale: [1, 1] }, new Rng(1))!;
      expect(flipOnly.scale).to.equal(null);
      for (let i = 0; i < 50; i++) expect(drawTransform(flipOnly, i, 8, 8)).to.deep.equal(drawBeforeScale(flipOnly, i));
      expect(clipAugment({ flip: false, pad_crop: 0, scale: [1, 1 - 1e-9] }, new Rng(1))).to.not.equal(null);
    });

    it("asks for nothing it was not given: no mirror without flip, no shift without pad_crop, no augmentation for {} or absent", () => {
      const flipOnly = clipAugment({ flip: true, pad_crop: 0 }, new Rng(1))!;
      const shiftOnly = clipAugment({ flip: false, pad_crop: 2 }, new Rng(1))!;
      for (let i = 0; i < 200; i++) {
        expect(drawTransform(flipOnly, i, 32, 32)).to.include({ dy: 0, dx: 0 });
        expect(drawTransform(shiftOnly, i, 32, 32).flip).to.equal(false);
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

    it("scale: 8-bit clips zoomed before normalisation, float clips after, the same picture within the 8-bit rounding; evaluation clips untouched", () => {
      const shape = { frames: 2, channels: 2, height: 6, width: 7 };
      const size = 2 * 2 * 6 * 7;
      const rng = new Rng(2);
      const bytes: RawClip[] = Array.from({ length: 4 }, (_, i) => ({ pixels: Uint8Array.from({ length: size }, () => rng.int(256)), label: i }));
      const floats: RawClip[] = bytes.map((c) => ({ pixels: Float32Array.from(c.pixels, (v) => v / 255), label: c.label }));
      const pre = (scale: [number, number] | undefined): Preprocess => ({
        shuffleFrames: false,
        normalize: { mean: [0.5, 0.25], std: [0.5, 2] },
        rng: new Rng(0),
        evalRng: new Rng(0),
        augment: clipAugment({ flip: true, pad_crop: 1, ...(scale ? { scale } : {}) }, new Rng(11)),
      });
      const fromBytes = assembleBatch(bytes, shape, pre([0.2, 0.7]), "train", 4).clips;
      const fromFloats = assembleBatch(floats, shape, pre([0.2, 0.7]), "train", 4).clips;
      // An 8-bit pixel rounded by at most 0.5 is 0.5 / 255 / std away after normalisation: 0.0039 at std 0.5.
      fromBytes.forEach((v, i) => expect(fromFloats[i], `value ${i}`).to.be.closeTo(v, 0.5 / 255 / 0.5 + 1e-5));
      expect(Array.from(fromFloats)).to.not.deep.equal(Array.from(assembleBatch(floats, shape, pre(undefined), "train", 4).clips));
      expect(Array.from(assembleBatch(bytes, shape, pre([0.2, 0.7]), "eval", 4).clips)).to.deep.equal(Array.from(assembleBatch(bytes, shape, pre(undefined), "eval", 4).clips));
    });

    it("scale on a data source: training clips zoomed, evaluation clips not, said in the description", async () => {
      const plain = await firstBatches({ kind: "moving-mnist", clip_length: 3, digits: 2 });
      const zoomed = await firstBatches({ kind: "moving-mnist", clip_length: 3, digits: 2, augment: { scale: [0.3, 0.6] } });
      expect(Array.from(zoomed.train.labels)).to.deep.equal(Array.from(plain.train.labels));
      expect(zoomed.train.pixels!.data).to.not.deep.equal(plain.train.pixels!.data);
      expect(zoomed.evaluation.pixels!.data).to.deep.equal(plain.evaluation.pixels!.data);
      expect(zoomed.source.description).to.match(/; training clips cropped to 30%-60% of their area and resized back \(data\.augment\)$/);
      const all = await firstBatches({ kind: "moving-mnist", clip_length: 3, digits: 2, augment: { scale: [0.125, 1], flip: true, pad_crop: 1 } });
      expect(all.source.description).to.match(/; training clips cropped to 12\.5%-100% of their area and resized back, mirrored at random and shifted up to 1 px \(data\.augment\)$/);
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

  describe("through the CLI", function () {
    this.timeout(120_000);
    let dir = "";
    inFreshFolderEachTest("sideways-augment-", (d) => (dir = d));

    it("a run with data.augment.scale trains on other batches than one without, and its config keeps the key; one without has no scale key", async () => {
      const lossesOf = async (overrides: string[]) => {
        const io = captureIo();
        expect(await main(["run", GOOD, "--quiet", ...overrides], io), io.stderr).to.equal(0);
        const runs = readdirSync(join(dir, "results", "good"));
        const id = runs.find((r) => !seen.has(r))!;
        seen.add(id);
        const config = parse(readFileSync(join(dir, "results", "good", id, "config.yaml"), "utf8"));
        return { config, losses: readCsv(join(dir, "results", "good", id, "metrics.csv")).rows.map((r) => r.train_loss as number) };
      };
      const seen = new Set<string>();
      const plain = await lossesOf([]);
      const zoomed = await lossesOf(["data.augment.scale=[0.2, 0.5]"]);
      expect(plain.config.data).to.not.have.property("augment");
      expect(zoomed.config.data.augment).to.deep.equal({ flip: false, pad_crop: 0, scale: [0.2, 0.5] });
      expect(zoomed.losses).to.have.length(3);
      for (const loss of zoomed.losses) expect(Number.isFinite(loss), String(loss)).to.equal(true);
      // The first step's loss is the initial weights' on the first batch: another value, another batch.
      expect(zoomed.losses[0]).to.not.equal(plain.losses[0]);
      // The clips as the trainer sees them (sideways data): the same labels, other pixels.
      for (const [out, overrides] of [["plain", []], ["zoomed", ["data.augment.scale=[0.2, 0.5]"]]] as const) {
        const io = captureIo();
        expect(await main(["data", GOOD, "--out", out, "--clips", "4", ...overrides], io), io.stderr).to.equal(0);
      }
      expect(readFileSync(join(dir, "zoomed", "labels.npy"))).to.deep.equal(readFileSync(join(dir, "plain", "labels.npy")));
      expect(readFileSync(join(dir, "zoomed", "clips.npy"))).to.not.deep.equal(readFileSync(join(dir, "plain", "clips.npy")));
    });
  });
});
