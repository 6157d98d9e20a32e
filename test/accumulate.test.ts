/**
 * train.accumulate: k clip batches of B clips per optimizer step.
 *  - The reference is the same run with one batch of k*B clips a step (accumulate 1): it takes the
 *    same clips at every step (clip stream indices s*k*B .. s*k*B + k*B - 1) and its gradient is
 *    the mean over all of them, which the mean of the k batches' gradients equals for every rule
 *    on a model without batch norm. So after a few SGD-with-momentum steps the weights agree, on
 *    one thread, on two depth-parallel stages and on two data-parallel replicas (B = 3 splits 2 + 1
 *    per batch there, k*B = 6 splits 3 + 3: uneven shares, clip-weighted), as do the step losses.
 *  - Tolerance 1e-5, relative, on the update (weights minus init): the two runs add the same
 *    float32 products in another order (a pass over 3 clips against 6; the k means averaged in
 *    float64), about 1e-7 relative per gradient element, and three steps of momentum carry it on;
 *    measured 1.3e-6 at most over the twelve paths. Accumulation against plain batch_size B differs by far more (checked).
 *  - With batch norm the two differ (each batch normalises a frame over its own clips).
 *  - A stop after a step, then the run again: the weights of the uninterrupted run, bit for bit.
 *  - The run id: accumulate 1 hashes as the key's absence; 2 is another run.
 */
import { expect } from "chai";
import { join } from "node:path";
import { readCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec, accumulateHostPathNote, deviceStepBlocker, usesDeviceStep } from "../src/spec/experiment-spec.js";
import { printedConfigText } from "../src/spec/printed-config.js";
import { configHash } from "../src/spec/resolved-config.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { requestStop } from "../src/train/stop-signals.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { fourBlockSpec, relDiff } from "./helpers/tiny-models.js";
import { freshFolderForAllTests } from "./helpers/temp-folder.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };

const B = 3;
const K = 2;
const STEPS = 3;

/** fourBlockSpec with batch norm after its second conv. */
const batchNormSpec = { ...fourBlockSpec, name: "four-block-bn", layers: [...fourBlockSpec.layers.slice(0, 3), { type: "batch_norm" }, ...fourBlockSpec.layers.slice(3)] };

describe("train.accumulate: gradient accumulation over clip batches", function () {
  this.timeout(300_000);
  let dir = "";
  freshFolderForAllTests("sideways-accumulate-", (d) => (dir = d));
  const model = resolveModel(fourBlockSpec, "four-block");
  const bnModel = resolveModel(batchNormSpec, "four-block-bn");
  let runs = 0;

  function specOf(modelSpec: object, train: Record<string, unknown>, runtime: Record<string, unknown> = {}): ExperimentSpec {
    return ExperimentSpec.parse({
      name: "accumulate",
      model: modelSpec,
      // Shapes clips of 7 frames (Sideways' 2L-1 for 4 blocks), shuffled and mirrored: the clips a
      // step takes must be the same ones, in the same order, for the weights to agree.
      data: { kind: "shapes", clip_length: 7, augment: { flip: true } },
      train: { steps: STEPS, optimizer: { kind: "sgd", lr: 0.2, momentum: 0.9 }, init_checkpoint: "init.safetensors", checkpoint_every: 0, ...train },
      runtime,
      eval: { every: 0, clips: 3 },
    });
  }

  async function train(spec: ExperimentSpec, m: Model, opts: { runDir?: string; progress?: ProgressReporter; resume?: boolean } = {}) {
    if (runs === 0) {
      writeCheckpoint(join(dir, "init.safetensors"), model, initWeights(model, 5));
      writeCheckpoint(join(dir, "init-bn.safetensors"), bnModel, initWeights(bnModel, 5));
    }
    const runDir = opts.runDir ?? join(dir, `run-${runs}`);
    runs++;
    const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: `r${runs}`, progress: opts.progress ?? silent, resume: opts.resume, configHash: configHash(spec, m, dir) });
    return { summary, weights: readCheckpoint(join(runDir, "final.safetensors"), m), losses: readCsv(join(runDir, "metrics.csv")).rows.map((r) => Number(r.train_loss)), runDir };
  }

  /** The largest relative difference of the update (weights minus init) over the parameters. */
  function updateDiff(m: Model, a: Weights, b: Weights): number {
    const init = readCheckpoint(join(dir, m === model ? "init.safetensors" : "init-bn.safetensors"), m);
    return Math.max(
      ...m.params.map((p) => {
        const w0 = init.get(p.name)!;
        return relDiff(
          a.get(p.name)!.map((w, i) => w - w0[i]),
          b.get(p.name)!.map((w, i) => w - w0[i]),
        );
      }),
    );
  }

  const paths = [
    { runtime: {}, label: "one thread" },
    { runtime: { workers: 2 }, label: "2 depth-parallel stages" },
    { runtime: { replicas: 2 }, label: "2 data-parallel replicas" },
  ];
  for (const method of ["bp", "sideways", "pipelined-bp", "gpipe"]) {
    for (const { runtime, label } of paths) {
      it(`${method}, ${label}: batch_size ${B} x accumulate ${K} = batch_size ${K * B} (weights and losses, relative 1e-5)`, async () => {
        const accumulated = await train(specOf(fourBlockSpec, { method, batch_size: B, accumulate: K }, runtime), model);
        const whole = await train(specOf(fourBlockSpec, { method, batch_size: K * B }, runtime), model);
        expect(accumulated.summary.status, accumulated.summary.message).to.equal("completed");
        expect(updateDiff(model, accumulated.weights, whole.weights)).to.be.below(1e-5);
        expect(accumulated.losses).to.have.length(STEPS);
        accumulated.losses.forEach((l, s) => expect(l, `step ${s + 1}'s loss`).to.be.closeTo(whole.losses[s], 1e-5 * whole.losses[s]));
        if (label === "one thread") {
          // Not vacuous: one batch of B clips a step trains otherwise.
          const plain = await train(specOf(fourBlockSpec, { method, batch_size: B }, runtime), model);
          expect(updateDiff(model, accumulated.weights, plain.weights)).to.be.above(1e-2);
        }
      });
    }
  }

  it("with batch norm the two differ (each batch normalises a frame over its own clips), by more than float32 rounding", async () => {
    const bn = (train: Record<string, unknown>) => specOf(batchNormSpec, { method: "bp", init_checkpoint: "init-bn.safetensors", ...train });
    const accumulated = await train(bn({ batch_size: B, accumulate: K }), bnModel);
    const whole = await train(bn({ batch_size: K * B }), bnModel);
    expect(updateDiff(bnModel, accumulated.weights, whole.weights)).to.be.above(1e-3);
  });

  it("a stop after step 2, then the run again: the uninterrupted run's weights and one metrics row per step", async () => {
    const spec = specOf(fourBlockSpec, { method: "sideways", batch_size: B, accumulate: K, steps: 4, optimizer: { kind: "adam", lr: 0.01 } });
    const uninterrupted = await train(spec, model);
    const runDir = join(dir, "stopped");
    const stopAt2: ProgressReporter = { ...silent, stepDone: (row: StepMetrics) => (row.step === 2 ? requestStop("sweep-gone") : undefined) };
    const stopped = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: "stopped", progress: stopAt2, resume: true, configHash: configHash(spec, model, dir) });
    expect(stopped.status).to.equal("interrupted");
    expect(stopped.steps_done).to.equal(2);
    const resumed = await train(spec, model, { runDir, resume: true });
    expect(resumed.summary.status).to.equal("completed");
    expect(readCsv(join(runDir, "metrics.csv")).rows.map((r) => Number(r.step))).to.deep.equal([1, 2, 3, 4]);
    for (const p of model.params) expect(Buffer.from(resumed.weights.get(p.name)!.buffer).equals(Buffer.from(uninterrupted.weights.get(p.name)!.buffer)), p.name).to.equal(true);
  });

  it("accumulate 1 is the key's absence (the same run id, bit-identical weights); 2 is another run; validate --print shows 1", async () => {
    const absent = specOf(fourBlockSpec, { method: "bp", batch_size: B });
    const one = specOf(fourBlockSpec, { method: "bp", batch_size: B, accumulate: 1 });
    const two = specOf(fourBlockSpec, { method: "bp", batch_size: B, accumulate: 2 });
    expect(configHash(one, model, dir)).to.equal(configHash(absent, model, dir));
    expect(configHash(two, model, dir)).not.to.equal(configHash(absent, model, dir));
    expect(printedConfigText(absent, process.cwd())).to.match(/\n {2}accumulate: 1\n/);
    const [a, b] = [await train(absent, model), await train(one, model)];
    for (const p of model.params) expect(Buffer.from(a.weights.get(p.name)!.buffer).equals(Buffer.from(b.weights.get(p.name)!.buffer)), p.name).to.equal(true);
  });

  it("runtime.device_step auto falls back to the host path on a GPU provider, saying why; true is refused naming train.accumulate", () => {
    const gpu = specOf(fourBlockSpec, { method: "bp", batch_size: B, accumulate: 2 }, { provider: "cuda" });
    expect(usesDeviceStep(gpu)).to.equal(false);
    expect(deviceStepBlocker(gpu)).to.include("train.accumulate must be 1");
    expect(accumulateHostPathNote(gpu)).to.equal("runtime.device_step auto: training on the host path (the executor and the host optimizer), since train.accumulate is 2 and the device step takes one clip batch per optimizer step");
    expect(accumulateHostPathNote(specOf(fourBlockSpec, { method: "bp", batch_size: B, accumulate: 2 }))).to.equal(null); // the CPU: auto is off there anyway
    expect(usesDeviceStep(specOf(fourBlockSpec, { method: "bp", batch_size: B, accumulate: 1 }, { provider: "cuda" }))).to.equal(true);
    const refused = ExperimentSpec.safeParse({ name: "x", model: fourBlockSpec, data: { kind: "shapes" }, train: { accumulate: 2 }, runtime: { device_step: true } });
    expect(refused.success).to.equal(false);
    expect(refused.error!.issues.map((i) => i.path.join("."))).to.deep.equal(["train.accumulate"]);
  });
});
