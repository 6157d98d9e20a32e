import { expect } from "chai";
import type { ClipProducer } from "../src/data/clip.js";
import { ClipSource } from "../src/data/clip-source.js";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec, MovingMnistDataSpec } from "../src/data/data-spec.js";
import { loadMnistDigits, MNIST_SIDE, resizeSquare } from "../src/data/mnist-digits.js";
import { createMovingMnist } from "../src/data/moving-mnist.js";
import type { ClipBatch, DataSource } from "../src/data/source.js";
import { DataError } from "../src/errors.js";
import { Rng } from "../src/util/rng.js";

const ctx = (size: number, classes: number, seed = 3, channels = 1): DataContext => ({
  input: { channels, height: size, width: size }, classes, seed, baseDir: ".", cacheDir: "unused",
});

async function firstBatch(source: DataSource, batchSize: number): Promise<ClipBatch> {
  const r = await source.trainBatches(batchSize).next();
  if (r.done) throw new Error("no batch");
  return r.value;
}

/** Mean absolute difference between consecutive frames over a batch. */
function consecutiveFrameMad(b: ClipBatch): number {
  const [n, t, c, h, w] = b.dims;
  const f = c * h * w;
  let sum = 0;
  for (let i = 0; i < n; i++) for (let k = 1; k < t; k++) {
    for (let p = 0; p < f; p++) sum += Math.abs(b.clips[(i * t + k) * f + p]! - b.clips[(i * t + k - 1) * f + p]!);
  }
  return sum / (n * (t - 1) * f);
}

function frame(b: ClipBatch, clip: number, t: number): Float32Array {
  const [, T, c, h, w] = b.dims;
  const f = c * h * w;
  return b.clips.subarray((clip * T + t) * f, (clip * T + t + 1) * f);
}


/** A frame's pixels back as the uint8 levels they were made from (clips hold level/255 in float32). */
const levels = (f: Float32Array): number[] => Array.from(f, (v) => Math.round(v * 255));

/**
 * Independent reference for sub-pixel placement: a side x side digit whose top-left corner sits at
 * (x, y) of an h x w frame, each digit pixel splatted onto the four frame pixels around its shifted
 * position with the tent (bilinear) kernel. Unrounded levels.
 */
function shiftedDigit(img: Uint8Array, side: number, x: number, y: number, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  for (let py = 0; py < side; py++) for (let px = 0; px < side; px++) {
    const v = img[py * side + px]!;
    if (v === 0) continue;
    const [X, Y] = [px + x, py + y];
    const [x0, y0] = [Math.floor(X), Math.floor(Y)];
    for (const [xx, wx] of [[x0, 1 - (X - x0)], [x0 + 1, X - x0]] as const) {
      for (const [yy, wy] of [[y0, 1 - (Y - y0)], [y0 + 1, Y - y0]] as const) if (wx * wy > 0) out[yy * w + xx] += v * wx * wy;
    }
  }
  return out;
}

/** Centre of mass (x, y) of a w-wide image. */
function centreOfMass(img: ArrayLike<number>, w: number): [number, number] {
  let m = 0, x = 0, y = 0;
  for (let p = 0; p < img.length; p++) { m += img[p]!; x += img[p]! * (p % w); y += img[p]! * Math.floor(p / w); }
  return [x / m, y / m];
}

/**
 * A generator whose every draw is `c` (forks too): int(n) = floor(c n), uniform(lo, hi) = lo + c (hi - lo).
 * Whatever order moving-mnist draws in, the digit's class, sample and position are then known.
 */
class ConstantRng extends Rng {
  constructor(private readonly draw: number) {
    super(0);
  }
  override next(): number {
    return this.draw;
  }
  override fork(): Rng {
    return new ConstantRng(this.draw);
  }
}

describe("data: moving-mnist", function () {
  this.timeout(20_000);

  it("gives identical bytes for the same seed and different clips for another", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 6, digits: 2 });
    const a = await firstBatch(await createDataSource(spec, ctx(32, 10, 5)), 4);
    const b = await firstBatch(await createDataSource(spec, ctx(32, 10, 5)), 4);
    const c = await firstBatch(await createDataSource(spec, ctx(32, 10, 6)), 4);
    expect(Buffer.from(a.clips.buffer).equals(Buffer.from(b.clips.buffer))).to.equal(true);
    expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
    expect(Buffer.from(a.clips.buffer).equals(Buffer.from(c.clips.buffer))).to.equal(false);
    expect(a.dims).to.deep.equal([4, 6, 1, 32, 32]);
  });

  it("keeps every digit whole inside the frame, bouncing or not", async () => {
    for (const bounce of [true, false]) {
      // Fast digits with a large stride bounce often; bounce: false must pick starts that fit.
      const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 8, frame_stride: bounce ? 5 : 1, speed: [1.5, 2], bounce, digit_size: 12 });
      const b = await firstBatch(await createDataSource(spec, ctx(32, 10)), 24);
      const [n, t, , h, w] = b.dims;
      for (let i = 0; i < n; i++) {
        const masses: number[] = [];
        for (let k = 0; k < t; k++) {
          const f = frame(b, i, k);
          let mass = 0, minX = w, maxX = -1, minY = h, maxY = -1;
          f.forEach((v, p) => {
            if (v === 0) return;
            mass += v;
            minX = Math.min(minX, p % w); maxX = Math.max(maxX, p % w);
            minY = Math.min(minY, Math.floor(p / w)); maxY = Math.max(maxY, Math.floor(p / w));
          });
          // A digit cut by an edge (or wrapped to the next row) would change its box or its mass.
          expect(maxX - minX, `clip ${i} frame ${k} box width`).to.be.at.most(12);
          expect(maxY - minY, `clip ${i} frame ${k} box height`).to.be.at.most(12);
          masses.push(mass);
        }
        // Sub-pixel placement redistributes intensity bilinearly; uint8 rounding of ~170 pixels
        // moves the mass by at most 170 * 0.5/255 = 0.33, well under 2% of a digit's mass (> 20).
        for (const m of masses) expect(Math.abs(m - masses[0]!) / masses[0]!).to.be.below(0.02);
      }
    }
  });

  it("labels the first digit's class (task digit): a nearest-centroid classifier agrees", async () => {
    const size = 14;
    const pools = await loadMnistDigits();
    const centroids = pools.train.map((samples) => {
      const sum = new Float64Array(size * size);
      for (const s of samples) resizeSquare(s, MNIST_SIDE, size).forEach((v, i) => (sum[i] += v));
      return sum.map((v) => v / samples.length);
    });
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 2, speed: [0, 0], digit_size: size });
    const b = await firstBatch(await createDataSource(spec, ctx(28, 10, 11)), 200);
    // MNIST digits are centred by centre of mass, so compare windows centred on the ink's centre.
    const centreOf = (img: ArrayLike<number>, w: number) => {
      let m = 0, x = 0, y = 0;
      for (let p = 0; p < img.length; p++) { m += img[p]!; x += img[p]! * (p % w); y += img[p]! * Math.floor(p / w); }
      return [Math.round(x / m), Math.round(y / m)] as const;
    };
    const window = (img: ArrayLike<number>, w: number, scale: number) => {
      const [cx, cy] = centreOf(img, w);
      const out: number[] = [];
      for (let dy = -7; dy < 7; dy++) for (let dx = -7; dx < 7; dx++) {
        const x = cx + dx, y = cy + dy;
        out.push(x >= 0 && y >= 0 && x < w && y < w ? img[y * w + x]! * scale : 0);
      }
      return out;
    };
    const centroidWindows = centroids.map((c) => window(c, size, 1));
    let agree = 0;
    for (let i = 0; i < 200; i++) {
      const crop = window(frame(b, i, 0), 28, 255);
      let best = -1, bestDist = Infinity;
      centroidWindows.forEach((cen, k) => {
        const d = cen.reduce((acc, v, j) => acc + (v - crop[j]!) ** 2, 0);
        if (d < bestDist) { bestDist = d; best = k; }
      });
      if (best === b.labels[i]) agree++;
    }
    // Nearest centroid reaches about 80% on MNIST; random labels would agree about 10% of the time.
    expect(agree / 200).to.be.above(0.6);
  });

  it("labels the motion direction bucket (task direction) and uses 4 classes", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", task: "direction", clip_length: 8, speed: [1, 2] });
    const b = await firstBatch(await createDataSource(spec, ctx(48, 4, 2)), 40);
    const [n, t, , , w] = b.dims;
    const centre = (f: Float32Array) => {
      let m = 0, x = 0, y = 0;
      f.forEach((v, p) => { m += v; x += v * (p % w); y += v * Math.floor(p / w); });
      return [x / m, y / m] as const;
    };
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const [x0, y0] = centre(frame(b, i, 0));
      const [x1, y1] = centre(frame(b, i, t - 1));
      const angle = Math.atan2(y1 - y0, x1 - x0);
      const bucket = ((Math.round(angle / (Math.PI / 2)) % 4) + 4) % 4;
      expect(bucket, `clip ${i}`).to.equal(b.labels[i]);
      seen.add(bucket);
    }
    expect(seen.size).to.equal(4);
  });

  it("is far smoother frame to frame than its shuffled-frames control, and shuffling only permutes", async () => {
    const make = (shuffle_frames: boolean) =>
      createDataSource(DataSpec.parse({ kind: "moving-mnist", clip_length: 16, speed: [0.5, 1], shuffle_frames }), ctx(64, 10, 9));
    const smooth = await firstBatch(await make(false), 8);
    const shuffled = await firstBatch(await make(true), 8);
    // Measured ratio is about 0.3; a smooth source must at least halve the shuffled difference.
    expect(consecutiveFrameMad(smooth)).to.be.below(0.5 * consecutiveFrameMad(shuffled));
    const key = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
    for (let i = 0; i < 8; i++) {
      const original = Array.from({ length: 16 }, (_, k) => key(frame(smooth, i, k))).sort();
      const permuted = Array.from({ length: 16 }, (_, k) => key(frame(shuffled, i, k))).sort();
      expect(permuted).to.deep.equal(original);
    }
  });

  it("trains and evaluates on disjoint MNIST digits", async () => {
    const pools = await loadMnistDigits();
    const trainImages = new Set(pools.train.flat().map((img) => Buffer.from(img).toString("base64")));
    const evalImages = pools.eval.flat();
    expect(trainImages.size + evalImages.length).to.be.at.least(9_900);
    const shared = evalImages.filter((img) => trainImages.has(Buffer.from(img).toString("base64")));
    expect(shared.length).to.equal(0);
  });

  it("draws evaluation clips' digits from the held-out pool and training clips' from the training pool (no test-set leakage)", async () => {
    const pools = await loadMnistDigits();
    const size = 32;
    // One still 28-pixel digit (not resized): every frame is one pool image at a sub-pixel offset.
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 1, speed: [0, 0], digit_size: MNIST_SIDE });
    const source = await createDataSource(spec, ctx(size, 10, 4));
    const centres = { train: pools.train.map((c) => c.map((img) => centreOfMass(img, MNIST_SIDE))), eval: pools.eval.map((c) => c.map((img) => centreOfMass(img, MNIST_SIDE))) };
    /**
     * The image of the labelled class, from either pool, that best explains a frame: each candidate
     * is placed where its centre of mass lands on the frame's (bilinear shifting moves the centre of
     * mass by exactly the offset) and compared with the frame, as mean absolute difference in levels.
     */
    const bestMatch = (f: Float32Array, label: number) => {
      const frame = levels(f);
      const [fx, fy] = centreOfMass(frame, size);
      const ranked: { pool: "train" | "eval"; mad: number }[] = [];
      for (const pool of ["train", "eval"] as const) {
        pools[pool][label]!.forEach((img, k) => {
          const [ix, iy] = centres[pool][label]![k]!;
          const [x, y] = [fx - ix, fy - iy];
          if (x < 0 || y < 0 || x > size - MNIST_SIDE || y > size - MNIST_SIDE) return; // the digit would not fit: not this one
          const ref = shiftedDigit(img, MNIST_SIDE, x, y, size, size);
          let mad = 0;
          for (let p = 0; p < frame.length; p++) mad += Math.abs(Math.round(ref[p]!) - frame[p]!);
          ranked.push({ pool, mad: mad / frame.length });
        });
      }
      return ranked.sort((a, b) => a.mad - b.mad);
    };
    const clips = 12;
    const streams: [string, ClipBatch][] = [["train", await firstBatch(source, clips)]];
    for await (const b of source.evalBatches(clips, clips)) streams.push(["eval", b]);
    for (const [stream, b] of streams) {
      for (let i = 0; i < clips; i++) {
        const [best, next] = bestMatch(frame(b, i, 0), b.labels[i]!);
        // The digit itself matches to within the uint8 rounding and the centre-of-mass estimate
        // (measured: at most 0.05 levels on average); any other handwritten digit, even of the same
        // class, differs by more (measured: 1.5 levels or more, most above 5), so the match is the digit.
        expect(best!.mad, `${stream} clip ${i}: no pool image explains the frame`).to.be.below(0.25);
        expect(next!.mad, `${stream} clip ${i}: the runner-up is as close as the match`).to.be.above(1);
        expect(best!.pool, `${stream} clip ${i}'s digit`).to.equal(stream);
      }
    }
  });

  it("shifts a digit by its fractional position with bilinear weights, along the right axis", async () => {
    const pools = await loadMnistDigits();
    const spec = MovingMnistDataSpec.parse({ kind: "moving-mnist", clip_length: 1, speed: [0, 0], digit_size: MNIST_SIDE });
    const [h, w] = [32, 34]; // free room: 4 pixels down, 6 across, so one draw c gives different x and y fractions
    // c = 0.25: digit class 2 at (x, y) = (1.5, 1), half a pixel across and whole down; c = 0.125:
    // class 1 at (0.75, 0.5). Weights that are multiples of 1/8 make both sides exact in float64,
    // so the rounded levels must agree exactly.
    for (const c of [0.25, 0.125]) {
      const rng = new ConstantRng(c);
      const producer = await createMovingMnist(spec, { frames: 1, channels: 1, height: h, width: w }, 10, rng, rng);
      const digitClass = Math.floor(10 * c);
      const [x, y] = [c * (w - MNIST_SIDE), c * (h - MNIST_SIDE)];
      for (const stream of ["train", "eval"] as const) {
        const { pixels, label } = stream === "train" ? await producer.trainClip(0) : await producer.evalClip(0, 1);
        expect(label).to.equal(digitClass);
        // Evaluation clips draw from the held-out pool (mnist-digits.ts), training clips from the other.
        const pool = pools[stream][digitClass]!;
        const expected = shiftedDigit(pool[Math.floor(c * pool.length)]!, MNIST_SIDE, x, y, h, w);
        let worst = 0;
        expected.forEach((v, p) => (worst = Math.max(worst, Math.abs(Math.round(v) - pixels[p]!))));
        expect(worst, `c=${c} ${stream}: largest level difference from the bilinear shift to (${x}, ${y})`).to.equal(0);
      }
    }
  });

  it("draws the digits after the first at distractor_intensity", async () => {
    // The same seed draws the same digits and paths whatever their brightness, and the first
    // digit is drawn first, so one digit alone (L) and both at full brightness (F) tell where the
    // distractor shows and its full level; at intensity k it must show at k times that.
    const k = 0.3;
    const make = async (raw: object) => firstBatch(await createDataSource(DataSpec.parse({ kind: "moving-mnist", clip_length: 3, ...raw }), ctx(32, 10, 8)), 16);
    const alone = await make({ digits: 1 });
    const full = await make({ digits: 2, distractor_intensity: 1 });
    const dim = await make({ digits: 2, distractor_intensity: k });
    const [L, F, D] = [levels(alone.clips), levels(full.clips), levels(dim.clips)];
    let shown = 0;
    for (let p = 0; p < L.length; p++) {
      // Where the distractor is not above the labelled digit at full brightness, it is not above it dimmed.
      if (F[p]! <= L[p]!) {
        expect(D[p], `pixel ${p}`).to.equal(L[p]);
        continue;
      }
      if (F[p]! >= 20) shown++;
      // round(k v) against round(k round(v)): k <= 1 keeps the two within 1 level.
      expect(Math.abs(D[p]! - Math.max(L[p]!, Math.round(k * F[p]!))), `pixel ${p}: ${F[p]} at intensity ${k}`).to.be.at.most(1);
    }
    // The check above must have seen distractors (16 clips x 3 frames, ~100 inked pixels each).
    expect(shown).to.be.above(1000);
  });

  it("task direction: the first digit's angle lies within the middle half of its bucket, and uses all of it", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", task: "direction", digits: 1, clip_length: 8, speed: [1, 2] });
    const b = await firstBatch(await createDataSource(spec, ctx(48, 4, 12)), 200);
    const [n, t, , , w] = b.dims;
    const bucket = 90; // degrees, 4 directions
    let widest = 0;
    for (let i = 0; i < n; i++) {
      const [x0, y0] = centreOfMass(frame(b, i, 0), w);
      const [x1, y1] = centreOfMass(frame(b, i, t - 1), w);
      const angle = (Math.atan2(y1 - y0, x1 - x0) * 180) / Math.PI;
      const off = ((angle - b.labels[i]! * bucket + 540) % 360) - 180; // signed degrees from the bucket's centre
      widest = Math.max(widest, Math.abs(off));
      // The digit moves 7 to 14 pixels; uint8 rounding moves its centre of mass by ~0.01 pixel,
      // under 0.1 degree: 0.5 degrees of slack.
      expect(Math.abs(off), `clip ${i}: ${angle.toFixed(1)} degrees, bucket ${b.labels[i]}`).to.be.at.most(bucket / 4 + 0.5);
    }
    // Uniform within +-22.5 degrees: 200 clips all within 20 degrees has chance (20/22.5)^200 < 1e-10.
    expect(widest).to.be.above(20);
  });

  it("rejects a class count, a path that cannot fit, or a frame size that do not match the model", async () => {
    const tryCreate = (raw: object, c: DataContext) => createDataSource(DataSpec.parse(raw), c).then(() => null, (e: unknown) => e);
    const wrongClasses = await tryCreate({ kind: "moving-mnist" }, ctx(32, 5));
    expect(wrongClasses).to.be.instanceOf(DataError);
    expect((wrongClasses as DataError).message).to.match(/10 classes.*model has 5/);
    const tooFast = await tryCreate({ kind: "moving-mnist", task: "direction", speed: [3, 4] }, ctx(32, 4));
    expect((tooFast as DataError).keyPath).to.equal("data.speed");
    const wrongSize = await tryCreate({ kind: "moving-mnist", frame_size: [64, 64] }, ctx(32, 10));
    expect((wrongSize as DataError).keyPath).to.equal("data.frame_size");
    const badNorm = await tryCreate({ kind: "shapes", normalize: { mean: [0.5, 0.5], std: [1, 1] } }, ctx(32, 4));
    expect((badNorm as DataError).message).to.match(/one per input channel \(1\)/);
  });

  it("task direction without motion (speed [0, 0], 1-frame clips) is an error: no clip would show its label", async () => {
    const tryCreate = (raw: object, c: DataContext) => createDataSource(DataSpec.parse(raw), c).then(() => null, (e: unknown) => e);
    const still = await tryCreate({ kind: "moving-mnist", task: "direction", speed: [0, 0], clip_length: 8 }, ctx(32, 4));
    expect(still).to.be.instanceOf(DataError);
    expect((still as DataError).keyPath).to.equal("data.speed");
    expect((still as DataError).message).to.include("speed [0, 0] never moves the digits");
    const oneFrame = await tryCreate({ kind: "moving-mnist", task: "direction", clip_length: 1 }, ctx(32, 4));
    expect((oneFrame as DataError).keyPath).to.equal("data.clip_length");
    // Still digits are fine for task digit (static clips: the Sideways = BP check), and some motion for direction.
    expect(await tryCreate({ kind: "moving-mnist", speed: [0, 0], clip_length: 8 }, ctx(32, 10))).to.equal(null);
    expect(await tryCreate({ kind: "moving-mnist", task: "direction", speed: [0, 1], clip_length: 2 }, ctx(32, 4))).to.equal(null);
  });
});

describe("data: shapes, normalisation and prefetch", function () {
  this.timeout(20_000);

  it("normalises per channel as (x - mean) / std", async () => {
    const raw = await firstBatch(await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 3 }), ctx(16, 4, 1, 3)), 2);
    const norm = await firstBatch(
      await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 3, normalize: { mean: [0.1, 0.2, 0.3], std: [0.5, 2, 4] } }), ctx(16, 4, 1, 3)),
      2,
    );
    const plane = 16 * 16;
    raw.clips.forEach((v, i) => {
      const c = Math.floor(i / plane) % 3;
      // float32 arithmetic on values in [0, 1]: a few ulps, far below 1e-6.
      expect(norm.clips[i]).to.be.closeTo((v - [0.1, 0.2, 0.3][c]!) / [0.5, 2, 4][c]!, 1e-6);
    });
    expect(Math.max(...raw.clips)).to.be.at.most(1);
    expect(Math.min(...raw.clips)).to.equal(0);
  });

  it("uses the first `classes` shape kinds, all of them appearing, and keeps clips distinct", async () => {
    const b = await firstBatch(await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 2 }), ctx(16, 3)), 60);
    expect(new Set(b.labels)).to.deep.equal(new Set([0, 1, 2]));
    expect(Buffer.from(frame(b, 0, 0).buffer.slice(0)).equals(Buffer.from(frame(b, 1, 0).slice().buffer))).to.equal(false);
  });

  it("prefetches: the next batch is ready before the consumer asks for it", async () => {
    const source = await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 4, prefetch: 2 }), ctx(16, 4));
    const it = source.trainBatches(4);
    await it.next();
    // Stand-in for a training step: yield to the event loop long enough for the loader to work.
    await new Promise((r) => setTimeout(r, 150));
    let settled = false;
    const pending = it.next().then((r) => ((settled = true), r));
    // A prefetched batch is an already-resolved promise: it settles within one microtask turn,
    // before any timer or I/O callback could run a producer.
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled, "second batch was prepared during the step").to.equal(true);
    await pending;
    expect(source.stats!().batches).to.equal(2);
  });

  it("counts the step's thread's time on data: batches made between its awaits, not only the waits for them", async () => {
    // A producer that spends 2 ms of this thread on every clip, as a generated kind does; the
    // "training step" in between only yields, so without the made time the waits would be ~0
    // (the prefetcher makes the next batches inside the step's awaits).
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const [B, clipMs, steps] = [3, 2, 6];
    const producer: ClipProducer = {
      description: "spinning",
      trainClip: async () => (spin(clipMs), { pixels: new Uint8Array(2 * 4 * 4), label: 0 }),
      evalCount: (n) => n,
      evalClip: async () => ({ pixels: new Uint8Array(2 * 4 * 4), label: 0 }),
      skippedFiles: () => [],
      evalIsTrain: false,
      uint8Pixels: true,
      synchronous: true,
      close: async () => undefined,
    };
    const source = new ClipSource(producer, { frames: 2, channels: 1, height: 4, width: 4 }, 1, { shuffleFrames: false, normalize: null, rng: new Rng(0), evalRng: new Rng(0) }, 2);
    const it = source.trainBatches(B);
    const started = performance.now();
    let counted = 0;
    for (let step = 0; step < steps; step++) {
      const before = source.stats().dataS;
      await it.next();
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      counted += source.stats().dataS - before;
    }
    const elapsed = (performance.now() - started) / 1000;
    // Every consumed batch was made on this thread inside the loop: at least steps x B x 2 ms; all
    // but the first outside a wait (a busy-wait is a lower bound on wall time, however loaded).
    expect(counted).to.be.at.least((steps * B * clipMs) / 1000);
    expect(counted - source.stats().waitS, "made outside the waits").to.be.at.least(((steps - 1) * B * clipMs) / 1000);
    expect(counted, "no time counted twice").to.be.at.most(elapsed);
  });

  it("counts only the assembly of clips that an asynchronous producer (files, workers) awaits", async () => {
    const [B, clipMs] = [3, 5];
    const producer: ClipProducer = {
      description: "reading",
      trainClip: () => new Promise((r) => setTimeout(() => r({ pixels: new Uint8Array(2 * 4 * 4), label: 0 }), clipMs)),
      evalCount: (n) => n,
      evalClip: async () => ({ pixels: new Uint8Array(2 * 4 * 4), label: 0 }),
      skippedFiles: () => [],
      evalIsTrain: false,
      uint8Pixels: true,
      close: async () => undefined,
    };
    const source = new ClipSource(producer, { frames: 2, channels: 1, height: 4, width: 4 }, 1, { shuffleFrames: false, normalize: null, rng: new Rng(0), evalRng: new Rng(0) }, 2);
    const it = source.trainBatches(B);
    for (let step = 0; step < 4; step++) {
      await it.next();
      await new Promise((r) => setTimeout(r, 3 * clipMs)); // a "step" long enough for the next batches' reads
    }
    // 5 or more batches read, each over 5 ms of timers; the thread only assembled them (tiny).
    // Counting the timers would give at least 5 x 5 ms; half that leaves room for a GC pause or a
    // preemption inside the tiny timed sections on a loaded machine.
    const made = source.stats().dataS - source.stats().waitS;
    expect(made).to.be.below((2.5 * clipMs) / 1000);
  });

  it("gives evaluation clips that differ from training clips and are the same on every pass", async () => {
    const source = await createDataSource(DataSpec.parse({ kind: "shapes", clip_length: 2 }), ctx(16, 4));
    const collect = async () => {
      const out: ClipBatch[] = [];
      for await (const b of source.evalBatches(5, 2)) out.push(b);
      return out;
    };
    const first = await collect();
    const second = await collect();
    expect(first.map((b) => b.dims[0])).to.deep.equal([2, 2, 1]);
    first.forEach((b, i) => expect(Array.from(b.clips)).to.deep.equal(Array.from(second[i]!.clips)));
    const train = await firstBatch(source, 2);
    expect(Array.from(train.clips)).to.not.deep.equal(Array.from(first[0]!.clips));
  });
});

describe("data: eval_seed holds the evaluation clips fixed across run seeds", function () {
  this.timeout(30_000);
  /** Every evaluation clip and label of a source, in order. */
  async function evalSet(source: DataSource): Promise<number[][]> {
    const out: number[][] = [];
    for await (const b of source.evalBatches(6, 4)) out.push(Array.from(b.clips), Array.from(b.labels));
    return out;
  }
  for (const base of [
    { kind: "moving-mnist", clip_length: 4, shuffle_frames: true, classes: 10 },
    { kind: "shapes", clip_length: 4, shuffle_frames: true, classes: 4 },
  ]) {
    const { classes, ...data } = base;
    it(`${base.kind}: with eval_seed two run seeds share the evaluation clips (frame order too) and still differ in training clips; without it they differ`, async () => {
      const withKey = DataSpec.parse({ ...data, eval_seed: 7 });
      const [a, b] = [await createDataSource(withKey, ctx(32, classes, 1, 1)), await createDataSource(withKey, ctx(32, classes, 2, 1))];
      expect(await evalSet(a)).to.deep.equal(await evalSet(b));
      expect(Array.from((await firstBatch(a, 2)).clips)).to.not.deep.equal(Array.from((await firstBatch(b, 2)).clips));
      const plain = DataSpec.parse(data);
      expect(await evalSet(await createDataSource(plain, ctx(32, classes, 1, 1)))).to.not.deep.equal(await evalSet(await createDataSource(plain, ctx(32, classes, 2, 1))));
      // eval_seed equal to the run seed is the run seed's own evaluation set: without the key,
      // runs keep the clips (and, the key being absent from their config, the ids) they had.
      const same = await createDataSource(DataSpec.parse({ ...data, eval_seed: 1 }), ctx(32, classes, 1, 1));
      expect(await evalSet(same)).to.deep.equal(await evalSet(await createDataSource(plain, ctx(32, classes, 1, 1))));
      expect(plain).to.not.have.property("eval_seed");
    });
  }
});
