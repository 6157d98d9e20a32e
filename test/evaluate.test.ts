/**
 * Evaluation (src/train/evaluate.ts) against the metrics recomputed from an independent float64
 * forward (test/reference/model-ref.ts): eval loss = mean cross-entropy over every frame, frame
 * top-1 = share of frames whose logits' argmax is the clip's label, clip top-1 = share of clips
 * whose argmax of the mean of the per-frame logits is the label (docs/design/sideways.md).
 */
import { expect } from "chai";
import type { ClipBatch } from "../src/data/source.js";
import { initWeights } from "../src/model/init.js";
import type { Weights } from "../src/model/model.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import { evaluate } from "../src/train/evaluate.js";
import { Rng } from "../src/util/rng.js";
import { refModelForward } from "./reference/model-ref.js";
import { fourBlockModel, randomClips } from "./helpers/tiny-models.js";

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** The gap between the largest entry and the next: how far float32 rounding is from flipping the argmax. */
function margin(a: ArrayLike<number>): number {
  const sorted = Array.from(a).sort((x, y) => y - x);
  return sorted[0] - sorted[1];
}

describe("evaluation metrics (clip top-1, frame top-1, eval loss, video top-1)", function () {
  this.timeout(60_000);

  const model = fourBlockModel();
  const K = model.classes;
  const T = 5;
  const clipsTotal = 24;
  const all = randomClips(model, clipsTotal, T, 3);
  const [, , C, H, W] = all.dims;
  const frameSize = C * H * W;

  /**
   * Init weights of `seed` times `scale`: larger weights make predictions differ from frame to
   * frame and clip to clip (a fresh init predicts almost the same class everywhere), so that the
   * clip and video rules are tested, not only the frame rule.
   */
  function scaledWeights(seed: number, scale: number) {
    const weights = initWeights(model, seed);
    for (const [name, w] of weights) weights.set(name, w.map((v) => v * scale));
    return weights;
  }

  /** Per-frame logits of every clip in float64, one clip at a time (no batch statistics here), and each clip's mean. */
  function referenceLogits(weights: Weights): { logits: Float64Array[][]; meanLogits: Float64Array[] } {
    const w64 = new Map([...weights].map(([n, w]) => [n, Float64Array.from(w)]));
    const logits: Float64Array[][] = [];
    for (let b = 0; b < clipsTotal; b++) {
      const x = { data: Float64Array.from(all.clips.subarray(b * T * frameSize, (b + 1) * T * frameSize)), dims: [T, C, H, W] };
      const acts = refModelForward(model, w64, x);
      const out = acts[acts.length - 1].data;
      logits.push(Array.from({ length: T }, (_, t) => out.subarray(t * K, (t + 1) * K)));
    }
    return { logits, meanLogits: logits.map((frames) => Float64Array.from({ length: K }, (_, k) => frames.reduce((s, f) => s + f[k], 0) / T)) };
  }

  /** The clips with `labels`, as batches of 10, 9 and 5 clips (the loss is a mean over frames, not over batches). */
  async function* batchesOf(labels: Int32Array): AsyncIterable<ClipBatch> {
    let first = 0;
    for (const B of [10, 9, 5]) {
      yield { clips: all.clips.slice(first * T * frameSize, (first + B) * T * frameSize), labels: labels.slice(first, first + B), dims: [B, T, C, H, W] };
      first += B;
    }
  }

  async function evaluated(weights: Weights, labels: Int32Array, videoOf?: (clip: number) => number) {
    const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model), { provider: "cpu", threads: 1 }, false);
    return evaluate(model, runner, batchesOf(labels), weights, videoOf).finally(() => runner.release());
  }

  it("equal the metrics recomputed from float64 per-frame logits, over batches of different sizes", async () => {
    const weights = scaledWeights(7, 3);
    const { logits, meanLogits } = referenceLogits(weights);
    // Labels: where the last frame's argmax differs from the mean's, the mean's (so a clip rule
    // that looked at one frame only would score differently); elsewhere random.
    const rng = new Rng(5);
    const labels = new Int32Array(clipsTotal);
    let lastDiffers = 0;
    for (let b = 0; b < clipsTotal; b++) {
      const m = argmax(meanLogits[b]);
      if (argmax(logits[b][T - 1]) !== m) {
        labels[b] = m;
        lastDiffers++;
      } else labels[b] = rng.int(K);
    }
    expect(lastDiffers, "clips whose last frame predicts another class than their mean").to.be.at.least(3);
    // float32 logits against float64 (relative 1e-6 or so, test/model-gradient.test.ts): every argmax
    // the metrics take must be further than that from a tie, or the comparison would be luck.
    for (let b = 0; b < clipsTotal; b++) {
      expect(margin(meanLogits[b]), `clip ${b}: mean's argmax margin`).to.be.above(1e-4);
      for (let t = 0; t < T; t++) expect(margin(logits[b][t]), `clip ${b} frame ${t}: argmax margin`).to.be.above(1e-4);
    }

    // The expected metrics, straight from the definitions.
    let lossSum = 0;
    let frameCorrect = 0;
    let clipCorrect = 0;
    let lastFrameCorrect = 0;
    for (let b = 0; b < clipsTotal; b++) {
      for (const f of logits[b]) {
        const max = Math.max(...f);
        const logSumExp = max + Math.log(f.reduce((s, v) => s + Math.exp(v - max), 0));
        lossSum += logSumExp - f[labels[b]];
        if (argmax(f) === labels[b]) frameCorrect++;
      }
      if (argmax(meanLogits[b]) === labels[b]) clipCorrect++;
      if (argmax(logits[b][T - 1]) === labels[b]) lastFrameCorrect++;
    }
    const expected = { loss: lossSum / (clipsTotal * T), clipTop1: clipCorrect / clipsTotal, frameTop1: frameCorrect / (clipsTotal * T) };
    // The data tells the rules apart: clip top-1 is neither frame top-1 nor the last frame's top-1.
    expect(expected.clipTop1).to.not.equal(lastFrameCorrect / clipsTotal);
    expect(expected.clipTop1).to.not.equal(expected.frameTop1);

    const r = await evaluated(weights, labels);
    expect(r.clips).to.equal(clipsTotal);
    // Counts of argmaxes away from ties: exact. The loss: float32 logits and a float32 softmax
    // against float64, a mean of 120 terms of order 1: 1.5e-10 relative measured, 1e-5 allowed.
    expect(r.clipTop1, "clip top-1").to.equal(expected.clipTop1);
    expect(r.frameTop1, "frame top-1").to.equal(expected.frameTop1);
    expect(r.loss, "eval loss").to.be.closeTo(expected.loss, 1e-5 * expected.loss);
  });

  it("video top-1: a video's clips vote by the mean of their mean logits, not by a majority of their picks (6 videos, float64 reference)", async () => {
    // Seed 13 at 10x: clips' means pick two classes (17 and 7 of 24), so a video's clips can disagree.
    const weights = scaledWeights(13, 10);
    const { meanLogits } = referenceLogits(weights);
    const picks = meanLogits.map((m) => argmax(m));
    const [a, b] = [0, 1, 2].sort((x, y) => picks.filter((p) => p === y).length - picks.filter((p) => p === x).length);
    const lead = (c: number) => meanLogits[c][b] - meanLogits[c][a];
    // Video 0: the three clips that pick a by the least and the one that picks b by the most, so
    // that its majority picks a and its mean picks b. The other clips go round the videos 1-5.
    const weakA = picks.map((_, c) => c).filter((c) => picks[c] === a).sort((x, y) => lead(y) - lead(x)).slice(0, 3);
    const strongB = picks.map((_, c) => c).filter((c) => picks[c] === b).sort((x, y) => lead(y) - lead(x))[0];
    const videos = 6;
    const video = new Array<number>(clipsTotal);
    for (const c of [...weakA, strongB]) video[c] = 0;
    picks.map((_, c) => c).filter((c) => video[c] === undefined).forEach((c, i) => (video[c] = 1 + (i % (videos - 1))));
    const videoMean = Array.from({ length: videos }, (_, v) => {
      const own = meanLogits.filter((_, c) => video[c] === v);
      return Float64Array.from({ length: K }, (_, k) => own.reduce((s, m) => s + m[k], 0) / own.length);
    });
    expect(argmax(videoMean[0]), "video 0's mean picks the minority's class").to.equal(b);
    for (const m of videoMean) expect(margin(m), "a video mean's argmax margin").to.be.above(1e-4);
    // Labels: each video's mean pick, but a class no rule picks for videos 4 and 5.
    const labelOf = videoMean.map((m, v) => (v < 4 ? argmax(m) : (argmax(m) + 1) % K));
    const labels = Int32Array.from({ length: clipsTotal }, (_, c) => labelOf[video[c]]);
    const expectedClip = labels.filter((l, c) => picks[c] === l).length / clipsTotal;
    expect(expectedClip, "clip top-1 differs from video top-1").to.not.equal(4 / 6);

    const r = await evaluated(weights, labels, (c) => video[c]);
    expect(r.videos).to.equal(videos);
    // A majority of picks would score video 0 wrong: 3 / 6.
    expect(r.videoTop1, "video top-1").to.equal(4 / 6);
    expect(r.clipTop1, "clip top-1, as without videos").to.equal(expectedClip);
    const alone = await evaluated(weights, labels);
    expect(alone.videoTop1, "no videos given: no video top-1").to.equal(undefined);
  });
});
