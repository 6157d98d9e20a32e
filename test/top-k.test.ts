/**
 * Top-5 accuracy (src/train/top-k.ts, src/train/evaluate.ts): the rule on hand-built logits, ties
 * and NaN, no top-5 with 5 classes or fewer, and video top-5 on the sum of a video's clips' logits.
 * Evaluation runs a model whose logits are its input frame's pixels (flatten, then an identity
 * linear layer), so each clip's mean logits are written by hand.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClipBatch } from "../src/data/source.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import { VideoVotes, evaluate } from "../src/train/evaluate.js";
import { hasTopK, inTopK } from "../src/train/top-k.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { requestStop } from "../src/train/stop-signals.js";
import { freshFolderForAllTests } from "./helpers/temp-folder.js";
import { fourBlockSpec } from "./helpers/tiny-models.js";

/** Logits = the frame's K pixels: input 1x1xK, flatten, linear with the identity weight. */
function identityModel(K: number): { model: Model; weights: Weights } {
  const model = resolveModel({ name: `identity-${K}`, input: { channels: 1, height: 1, width: K }, classes: K, layers: [{ type: "flatten" }, { type: "linear", out_features: K }] }, `identity-${K}`);
  const eye = new Float32Array(K * K);
  for (let k = 0; k < K; k++) eye[k * K + k] = 1;
  return { model, weights: new Map([["1.weight", eye], ["1.bias", new Float32Array(K)]]) };
}

/** One batch of clips whose frames are `frames[clip][t]` (each K logits). */
async function* batchOf(frames: number[][][], labels: number[]): AsyncIterable<ClipBatch> {
  const [B, T, K] = [frames.length, frames[0].length, frames[0][0].length];
  yield { clips: Float32Array.from(frames.flat(2)), labels: Int32Array.from(labels), dims: [B, T, 1, 1, K] };
}

async function evaluated(K: number, frames: number[][][], labels: number[], videoOf?: (clip: number) => number) {
  const { model, weights } = identityModel(K);
  const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model), { provider: "cpu", threads: 1 }, false);
  return evaluate(model, runner, batchOf(frames, labels), weights, videoOf).finally(() => runner.release());
}

describe("top-5 accuracy", function () {
  this.timeout(60_000);

  it("inTopK: in when fewer than k logits are strictly greater than the label's; a tie with the k-th is in; NaN is out", () => {
    const logits = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3];
    expect([0, 1, 2, 3, 4, 5, 6].map((c) => inTopK(logits, 0, 7, c, 5))).to.deep.equal([true, true, true, true, true, false, false]);
    // Classes 4 and 5 tie for 5th place: both in (four are greater than each); 6 has five above it.
    const tied = [9, 8, 7, 6, 5, 5, 4];
    expect([4, 5, 6].map((c) => inTopK(tied, 0, 7, c, 5))).to.deep.equal([true, true, false]);
    // Every logit equal: no class is greater than any other, so every label is in.
    expect(inTopK([1, 1, 1, 1, 1, 1, 1], 0, 7, 6, 5)).to.equal(true);
    // The label's logit NaN: out, though no logit compares greater; another class's NaN is not above it.
    expect(inTopK([1, 2, 3, 4, 5, 6, NaN], 0, 7, 6, 5)).to.equal(false);
    expect(inTopK([NaN, 2, 3, 4, 5, 6, 1], 0, 7, 1, 5)).to.equal(true);
    // An offset into a longer array: the second row's.
    expect(inTopK([9, 9, 9, 1, 2, 3, 4, 5, 6, 7], 3, 7, 2, 5)).to.equal(true);
    expect(inTopK([9, 9, 9, 1, 2, 3, 4, 5, 6, 7], 3, 7, 1, 5)).to.equal(false);
    expect([5, 6].map((K) => hasTopK(K))).to.deep.equal([false, true]);
  });

  it("clip top-5 is on the mean of the frames' logits: a clip top-1 gets wrong can be right in top-5, one outside the five is wrong", async () => {
    // 7 classes, 2 frames a clip. Clip 0: label 3 ties for 2nd by the mean (top-1 wrong, top-5
    // right), though its first frame alone puts it last. Clip 1: label 6 is last (wrong in both).
    // Clip 2: label 0 first (right in both). Clip 3: label 2 tied with class 5 for 5th (in).
    const frames = [
      [[5, 4, 3, 0, 1, 2, 9], [5, 4, 3, 8, 1, 2, -9]], // mean [5, 4, 3, 4, 1, 2, 0]
      [[7, 6, 5, 4, 3, 2, 1], [7, 6, 5, 4, 3, 2, 1]],
      [[9, 1, 1, 1, 1, 1, 1], [9, 1, 1, 1, 1, 1, 1]],
      [[6, 5, 1, 4, 3, 1, 0], [6, 5, 1, 4, 3, 1, 0]], // four greater than 2 (and 5)
    ];
    const r = await evaluated(7, frames, [3, 6, 0, 2]);
    expect(r.clipTop1, "clip top-1").to.equal(1 / 4);
    expect(r.clipTop5, "clip top-5").to.equal(3 / 4);
    expect(r.videoTop5, "no videos given: no video top-5").to.equal(undefined);
  });

  it("with 5 classes or fewer there is no top-5 (it would be 1): clip and video top-5 absent", async () => {
    const frames = [[[1, 2, 3, 4, 5]], [[5, 4, 3, 2, 1]]];
    const r = await evaluated(5, frames, [0, 0], (c) => c);
    expect(r.clipTop1).to.equal(1 / 2);
    expect(r.videoTop1).to.equal(1 / 2);
    expect(r).to.not.have.any.keys("clipTop5", "videoTop5");
  });

  it("video top-5 ranks the sum of a video's clips' mean logits, not each clip's top-5", async () => {
    // 7 classes, label 6 everywhere, one frame a clip. Video 0: each clip has 6 in its top-5 (2 and
    // 3 greater), their sum [10, 10, 10, 10, 10, 0, 3] has five greater: out. Video 1: each clip
    // has five greater (out), their sum [-9, 2, 2, 2, 2, -9, 0] four: in.
    const frames = [
      [[10, 10, 0, 0, 0, 0, 1]],
      [[0, 0, 10, 10, 10, 0, 2]],
      [[1, 1, 1, 1, 1, -10, 0]],
      [[-10, 1, 1, 1, 1, 1, 0]],
    ];
    const r = await evaluated(7, frames, [6, 6, 6, 6], (c) => (c < 2 ? 0 : 1));
    expect(r.clipTop5, "clip top-5: the first two clips").to.equal(2 / 4);
    expect(r.videos).to.equal(2);
    expect(r.videoTop5, "video top-5: video 1 only").to.equal(1 / 2);
    expect(r.videoTop1, "video top-1: neither").to.equal(0);
  });

  it("VideoVotes: top-5 with the classes' count above five only, on the summed clip means", () => {
    const votes = new VideoVotes(6);
    votes.add(0, 2, [6, 5, 0, 4, 3, 2]);
    votes.add(0, 2, [6, 5, 9, 4, 3, 2]); // sum [12, 10, 9, 8, 6, 4]: 2 is 3rd
    votes.add(1, 0, [0, 1, 1, 1, 1, 1]); // 0 is last of six
    expect(votes.accuracy()).to.deep.equal({ top1: 0, top5: 1 / 2, videos: 2 });
    const few = new VideoVotes(5);
    few.add(0, 0, [0, 1, 1, 1, 1]);
    expect(few.accuracy()).to.deep.equal({ top1: 0, videos: 1 });
  });
});

describe("top-5 in a run's files", function () {
  this.timeout(120_000);
  let dir = "";
  freshFolderForAllTests("sideways-top5-", (d) => (dir = d));
  const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };

  /** The four-block test model with `classes` classes, on shapes (which has 6 kinds), 3 steps of BP, evaluated at each. */
  async function run(name: string, classes: number) {
    const layers = fourBlockSpec.layers.map((l, i) => (i === fourBlockSpec.layers.length - 1 ? { ...l, out_features: classes } : l));
    const spec = ExperimentSpec.parse({
      name: "top5",
      model: { ...fourBlockSpec, classes, layers },
      data: { kind: "shapes", clip_length: 2 },
      train: { method: "bp", batch_size: 4, steps: 3, optimizer: { kind: "sgd", lr: 0.1 } },
      eval: { every: 1, clips: 16 },
    });
    const runDir = join(dir, name);
    const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: name, progress: silent });
    expect(summary.status, summary.message).to.equal("completed");
    return { summary, eval: readCsv(join(runDir, "eval.csv")) };
  }

  it("6 classes: eval.csv's last column eval_clip_top5 (after every older column), at least clip top-1 each row; summary.json's final_eval_clip_top5 the last row's", async () => {
    const { summary, eval: csv } = await run("six", 6);
    expect(csv.columns).to.deep.equal(["step", "eval_loss", "eval_clip_top1", "eval_frame_top1", "eval_clips", "wall_s", "eval_on_train", "eval_clip_top5"]);
    expect(csv.rows.map((r) => r.step)).to.deep.equal([1, 2, 3]);
    for (const r of csv.rows) {
      expect(r.eval_clip_top5).to.be.a("number").within(r.eval_clip_top1 as number, 1);
      // A share of the 16 clips.
      expect(Number.isInteger((r.eval_clip_top5 as number) * 16)).to.equal(true);
    }
    expect(summary.final_eval_clip_top5).to.equal(csv.rows.at(-1)!.eval_clip_top5);
    // The best evaluation's top-5: the eval.csv row at best_eval_step.
    const best = csv.rows.find((r) => r.step === summary.best_eval_step);
    expect(best, "an eval.csv row at best_eval_step").to.not.equal(undefined);
    expect(summary.best_eval_clip_top5).to.be.a("number").and.equal(best!.eval_clip_top5);
    expect(summary).to.not.have.any.keys("final_eval_video_top5", "best_eval_video_top5");
  });

  it("3 classes: the eval_clip_top5 column is there but empty, and summary.json has no top-5", async () => {
    const { summary, eval: csv } = await run("three", 3);
    expect(csv.columns.at(-1)).to.equal("eval_clip_top5");
    expect(csv.rows.map((r) => r.eval_clip_top5)).to.deep.equal([null, null, null]);
    expect(JSON.parse(JSON.stringify(summary))).to.not.have.any.keys("final_eval_clip_top5", "final_eval_video_top5", "best_eval_clip_top5", "best_eval_video_top5");
  });

  it("a resumed attempt that logs no evaluation of its own keeps the top-5 read back from eval.csv in summary.json (final and best)", async () => {
    const layers = fourBlockSpec.layers.map((l, i) => (i === fourBlockSpec.layers.length - 1 ? { ...l, out_features: 6 } : l));
    const spec = ExperimentSpec.parse({
      name: "top5-resume",
      model: { ...fourBlockSpec, classes: 6, layers },
      data: { kind: "shapes", clip_length: 2 },
      train: { method: "bp", batch_size: 4, steps: 6, optimizer: { kind: "sgd", lr: 0.1 } },
      eval: { every: 2, clips: 16 },
    });
    const runDir = join(dir, "resumed");
    // A reporter that asks for a stop once `step` is done: the run ends interrupted after it, with a resume checkpoint.
    const stoppingAt = (step: number): ProgressReporter => ({ ...silent, stepDone: (row: StepMetrics) => (row.step === step ? requestStop("sweep-gone") : undefined) });
    const ctx = { specFile: null, baseDir: dir, runDir, runId: "resumed", resume: true };
    // First attempt: steps 1-4, evaluated at 2 and 4.
    const first = await runExperiment(spec, { ...ctx, progress: stoppingAt(4) });
    expect(first.status).to.equal("interrupted");
    // Second attempt: step 5 only, which is no evaluation step.
    const second = await runExperiment(spec, { ...ctx, progress: stoppingAt(5) });
    expect([second.status, second.steps_done]).to.deep.equal(["interrupted", 5]);
    const rows = readCsv(join(runDir, "eval.csv")).rows;
    expect(rows.map((r) => r.step), "the first attempt's evaluations only").to.deep.equal([2, 4]);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    const best = rows.find((r) => r.step === summary.best_eval_step);
    expect(best, "an eval.csv row at best_eval_step").to.not.equal(undefined);
    expect(summary.final_eval_clip_top5).to.be.a("number").and.equal(rows.at(-1)!.eval_clip_top5);
    expect(summary.best_eval_clip_top5).to.be.a("number").and.equal(best!.eval_clip_top5);
  });
});
