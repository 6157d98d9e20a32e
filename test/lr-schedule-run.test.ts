/**
 * train.schedule in a run (runExperiment on NumPy clips, plain SGD, from an init checkpoint):
 *  - BP with a cosine schedule: metrics.csv's lr column holds the schedule's rates written out by
 *    hand, and the final weights equal three SGD steps with those rates, each step's gradient
 *    from the independent float64 reference (test/reference/model-ref.ts) on that step's clips;
 *    eval.csv's loss is the float64 reference's on the final weights;
 *  - Sideways with in-clip updates and a step schedule: the final weights after two clip batches
 *    equal the float64 reference of the rule (test/reference/rules-ref.ts) whose blocks count
 *    their own steps: block k stepping S_k times per clip batch takes rate number c*S_k + j of
 *    steps*S_k at its j-th step of clip batch c (docs/design/sideways.md, "In-clip updates").
 */
import { expect } from "chai";
import { join } from "node:path";
import type { ClipBatch } from "../src/data/source.js";
import { readCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model } from "../src/model/model.js";
import { learningRate } from "../src/optim/schedule.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec, ScheduleSpec } from "../src/spec/experiment-spec.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter } from "../src/train/run-types.js";
import { refSoftmaxCrossEntropy } from "./reference/layers-ref.js";
import { refModelForward, refModelGradient, type RefWeights } from "./reference/model-ref.js";
import { referenceSideways, referenceSidewaysSteps, type RefLr } from "./reference/rules-ref.js";
import { fourBlockSpec, randomClips, relDiff } from "./helpers/tiny-models.js";
import { writeNpyRunInputs } from "./helpers/npy-run-inputs.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };

/** Clips b0 .. b0+B-1 of `all`. */
function clipsOf(all: ClipBatch, b0: number, B: number): ClipBatch {
  const [, T, C, H, W] = all.dims;
  const size = T * C * H * W;
  return { clips: all.clips.slice(b0 * size, (b0 + B) * size), labels: all.labels.slice(b0, b0 + B), dims: [B, T, C, H, W] };
}

/** The clip batch as B*T frames in float64 and each frame's label (its clip's). */
function framesOf(batch: ClipBatch): { x: { data: Float64Array; dims: number[] }; labels: number[] } {
  const [B, T, C, H, W] = batch.dims;
  return { x: { data: Float64Array.from(batch.clips), dims: [B * T, C, H, W] }, labels: Array.from({ length: B * T }, (_, i) => batch.labels[Math.floor(i / T)]) };
}

/** Writes the model's init checkpoint and the clips as clips.npy / labels.npy into the run folder `dir`; the init weights. */
function setUp(dir: string, model: Model, all: ClipBatch, seed: number): RefWeights {
  const init = initWeights(model, seed);
  writeNpyRunInputs(dir, model, init, all);
  return new Map([...init].map(([n, w]) => [n, Float64Array.from(w)]));
}

/** ||(a - start) - (b - start)|| relative: the disagreement measured on the update, not on the unchanged weights. */
function updateDiff(a: ArrayLike<number>, b: ArrayLike<number>, start: ArrayLike<number>): number {
  return relDiff(Float64Array.from(a, (v, i) => v - start[i]), Float64Array.from(b, (v, i) => v - start[i]));
}

describe("learning-rate schedules in a run (runExperiment)", function () {
  this.timeout(120_000);
  const model = resolveModel(fourBlockSpec, "test four-block model");
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("bp, cosine over 3 steps: metrics.csv's lr is base * (1 + cos(pi s/3)) / 2, and the weights are 3 SGD steps at those rates (float64 reference, relative 1e-4)", async () => {
    const B = 3;
    const T = 4;
    const steps = 3;
    const all = randomClips(model, B * steps, T, 41);
    const dir = tempFolder("sideways-lr-schedule-");
    const init = setUp(dir, model, all, 17);
    const base = 0.4;
    const spec = ExperimentSpec.parse({
      name: "lr-cosine",
      model: fourBlockSpec,
      data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
      train: { method: "bp", batch_size: B, steps, optimizer: { kind: "sgd", lr: base, momentum: 0 }, schedule: { kind: "cosine" }, init_checkpoint: "init.safetensors" },
      eval: { every: 0, clips: B * steps },
    });
    const runDir = join(dir, "run");
    const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: "r0", progress: silent });
    expect(summary.status).to.equal("completed");

    // cos(0) = 1, cos(pi/3) = 1/2, cos(2pi/3) = -1/2: rates base, 3/4 base, 1/4 base.
    const rates = [base, 0.75 * base, 0.25 * base];
    const rows = readCsv(join(runDir, "metrics.csv")).rows;
    expect(rows.map((r) => Number(r.step))).to.deep.equal([1, 2, 3]);
    // 1e-12: cos() rounding only (the csv holds the shortest round-trip decimal).
    rows.forEach((r, s) => expect(Number(r.lr), `lr of step ${s + 1}`).to.be.closeTo(rates[s], 1e-12));

    // Step s takes clips s*B .. s*B+B-1 (file order), BP's G = the mean-CE gradient over its B*T frames.
    const w: RefWeights = new Map([...init].map(([n, v]) => [n, Float64Array.from(v)]));
    for (let s = 0; s < steps; s++) {
      const { x, labels } = framesOf(clipsOf(all, s * B, B));
      const { grads } = refModelGradient(model, w, x, labels);
      for (const p of model.params) w.get(p.name)!.forEach((v, i, a) => (a[i] = v - rates[s] * grads.get(p.name)![i]));
    }
    const final = readCheckpoint(join(runDir, "final.safetensors"), model);
    // float32 graphs against float64 over three steps: 2.6e-6 of the update measured on 0.weight
    // (test/bp-step.test.ts allows 1e-4 for one step); the first rate at every step would be 0.17 off.
    for (const p of model.params) expect(updateDiff(final.get(p.name)!, w.get(p.name)!, init.get(p.name)!), p.name).to.be.below(1e-4);

    // The final evaluation (every clip, in file order): the float64 mean cross-entropy over all frames.
    const { x, labels } = framesOf(all);
    const acts = refModelForward(model, w, x);
    const evalLoss = refSoftmaxCrossEntropy(acts[acts.length - 1], labels).loss;
    const evalRows = readCsv(join(runDir, "eval.csv")).rows;
    expect(evalRows.length).to.equal(1);
    expect(Number(evalRows[0].eval_clips)).to.equal(B * steps);
    // float32 forward on float32 weights against float64: relative 1e-5.
    expect(Number(evalRows[0].eval_loss)).to.be.closeTo(evalLoss, 1e-5 * evalLoss);
  });

  it("sideways, update_every 2, step schedule over 2 clip batches: the weights equal the float64 reference with each block's own step count (relative 1e-4)", async () => {
    const B = 2;
    const T = 9;
    const steps = 2;
    const all = randomClips(model, B * steps, T, 43);
    const dir = tempFolder("sideways-lr-schedule-");
    const init = setUp(dir, model, all, 19);
    const base = 0.6;
    const schedule = { kind: "step", step_size: 1, gamma: 0.5 };
    const spec = ExperimentSpec.parse({
      name: "lr-in-clip",
      model: fourBlockSpec,
      data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
      train: { method: "sideways", batch_size: B, steps, update_every: 2, optimizer: { kind: "sgd", lr: base, momentum: 0 }, schedule, init_checkpoint: "init.safetensors" },
      eval: { every: 0, clips: B },
    });
    const runDir = join(dir, "run");
    const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: "r0", progress: silent });
    expect(summary.status).to.equal("completed");

    // Steps per block from the reference itself (the rates do not change how often a block steps).
    const { steps: perClip } = referenceSidewaysSteps(model, clipsOf(all, 0, B), init, 2, 0);
    expect([...perClip.values()].filter((n) => n > 1).length, "blocks stepping more than once per clip batch").to.be.at.least(2);
    const parsed = ScheduleSpec.parse(schedule);
    const rate = (c: number): RefLr => (k, j) => learningRate(parsed, base, c * perClip.get(k)! + j, steps * perClip.get(k)!);
    const replay = (rates: (c: number) => RefLr): RefWeights => {
      let w = init;
      for (let c = 0; c < steps; c++) w = referenceSideways(model, clipsOf(all, c * B, B), w, 2, rates(c));
      return w;
    };
    const expected = replay(rate);
    const final = readCheckpoint(join(runDir, "final.safetensors"), model);
    // float32 against float64 over two clip batches of up to 4 steps a block: 5.4e-6 of the update
    // measured on 0.weight; 1e-4 leaves a margin.
    for (const p of model.params) expect(updateDiff(final.get(p.name)!, expected.get(p.name)!, init.get(p.name)!), p.name).to.be.below(1e-4);
    // The rates tell the schedules apart: clip batch 0's rates again in clip batch 1 end elsewhere.
    const again = replay(() => rate(0));
    expect(Math.max(...model.params.map((p) => updateDiff(again.get(p.name)!, expected.get(p.name)!, init.get(p.name)!)))).to.be.above(1e-2);
  });
  for (const [method, schedule, rates] of [
    // multistep [1, 3], gamma 0.5: 1 | 0.5 0.5 | 0.25 (times base)
    ["bp", { kind: "multistep", milestones: [1, 3], gamma: 0.5 }, [1, 0.5, 0.5, 0.25]],
    // linear to 0.2 base over 4 updates: 1 0.8 0.6 0.4 (times base); the device step (Sideways, one stage) reads the same rates
    ["sideways", { kind: "linear", end_lr: 0.08 }, [1, 0.8, 0.6, 0.4]],
  ] as const) {
    it(`${method}, ${schedule.kind}: metrics.csv's lr column is the schedule's rate at each update`, async () => {
      const [B, T, steps, base] = [2, 7, 4, 0.4];
      const all = randomClips(model, B * steps, T, 5);
      const dir = tempFolder("sideways-lr-schedule-");
      setUp(dir, model, all, 3);
      const spec = ExperimentSpec.parse({
        name: `lr-${schedule.kind}`,
        model: fourBlockSpec,
        data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
        train: { method, batch_size: B, steps, optimizer: { kind: "sgd", lr: base, momentum: 0 }, schedule, init_checkpoint: "init.safetensors" },
        runtime: { device_step: method === "sideways" },
        eval: { every: 0, clips: B },
      });
      const runDir = join(dir, "run");
      expect((await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: "r0", progress: silent })).status).to.equal("completed");
      const rows = readCsv(join(runDir, "metrics.csv")).rows;
      expect(rows.map((r) => Number(r.lr))).to.have.length(steps);
      rows.forEach((r, s) => expect(Number(r.lr), `lr of step ${s + 1}`).to.be.closeTo(rates[s] * base, 1e-12));
    });
  }
});
