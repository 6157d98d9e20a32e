/**
 * The harness of the run-level tests that train one SGD step through the real trainers and
 * compare it with the float64 references (test/reference: nothing shared with src/): the one
 * batch and its initial weights, the paths a step can take, a run of one path, and the check of
 * each parameter's update (and BP's training loss) against what the test says the step should be.
 */
import { expect } from "chai";
import { join } from "node:path";
import type { ClipBatch } from "../../src/data/source.js";
import { readCheckpoint } from "../../src/model/checkpoint.js";
import { initWeights } from "../../src/model/init.js";
import { resolveModel } from "../../src/model/load-model.js";
import type { Model, Weights } from "../../src/model/model.js";
import { readCsv } from "../../src/results/csv-read.js";
import { ExperimentSpec } from "../../src/spec/experiment-spec.js";
import { runExperiment } from "../../src/train/run-experiment.js";
import type { ProgressReporter } from "../../src/train/run-types.js";
import { refModelGradient, type RefWeights } from "../reference/model-ref.js";
import { referenceSideways } from "../reference/rules-ref.js";
import { writeNpyRunInputs } from "./npy-run-inputs.js";
import { freshFolderForAllTests } from "./temp-folder.js";
import { fourBlockSpec, randomClips, relDiff } from "./tiny-models.js";

export interface OneStepRunInputs {
  /** The model as an experiment file gives it (inline), and resolved. */
  spec: object;
  model: Model;
  /** Clips and frames of the one batch: T = 9 >= 2L-1, so Sideways' device step runs and every block learns. */
  B: number;
  T: number;
  batch: ClipBatch;
  init: Weights;
  init64: RefWeights;
  /** The SGD rate of every run (momentum 0). */
  lr: number;
  /** The folder holding model inputs as an npy run reads them (writeNpyRunInputs); set by the suite's before hook. */
  dir: string;
}

export interface OneStepRunOptions {
  /** The model spec (default: the four-block model of tiny-models.ts); it must have at most 5 blocks (T = 9 >= 2L-1). */
  spec?: object;
  B?: number;
  clipSeed?: number;
  initSeed?: number;
}

/** The model, one batch, its initial weights (float32 and float64), in a fresh folder for the enclosing suite. */
export function oneStepRunInputs(prefix: string, options: OneStepRunOptions = {}): OneStepRunInputs {
  const { spec = fourBlockSpec, B = 4, clipSeed = 71, initSeed = 23 } = options;
  const model = resolveModel(spec, `${prefix} test model`);
  const T = 9;
  if (2 * model.blocks.length - 1 > T) throw new Error(`oneStepRunInputs: ${model.blocks.length} blocks need clips of ${2 * model.blocks.length - 1} frames, the harness has ${T}`);
  const batch = randomClips(model, B, T, clipSeed);
  const init = initWeights(model, initSeed);
  const init64: RefWeights = new Map([...init].map(([n, w]) => [n, Float64Array.from(w)]));
  const inputs: OneStepRunInputs = { spec, model, B, T, batch, init, init64, lr: 0.5, dir: "" };
  freshFolderForAllTests(prefix, (d) => {
    inputs.dir = d;
    writeNpyRunInputs(d, model, init, batch);
  });
  return inputs;
}

export type OneStepMethod = "bp" | "sideways";

/** A way through the trainers that takes one SGD step per clip batch; `path` names it in test titles. */
export interface OneStepPath {
  method: OneStepMethod;
  runtime: Record<string, unknown>;
  path: string;
}

/** BP's fused pass, BP's device step, Sideways' ticks, Sideways on 2 depth-parallel stages, Sideways' device step. */
export const ONE_STEP_PATHS: readonly OneStepPath[] = [
  { method: "bp", runtime: {}, path: "BP's fused pass" },
  { method: "bp", runtime: { device_step: true }, path: "BP's device step (CPU)" },
  { method: "sideways", runtime: {}, path: "Sideways' ticks" },
  { method: "sideways", runtime: { workers: 2 }, path: "Sideways on 2 depth-parallel stages" },
  { method: "sideways", runtime: { device_step: true }, path: "Sideways' device step (CPU)" },
];

/** The path of ONE_STEP_PATHS named `name`. */
export function oneStepPath(name: string): OneStepPath {
  const found = ONE_STEP_PATHS.find((p) => p.path === name);
  if (found === undefined) throw new Error(`no one-step path named "${name}": ${ONE_STEP_PATHS.map((p) => p.path).join(", ")}`);
  return found;
}

export const BP_ON_TWO_REPLICAS: OneStepPath = { method: "bp", runtime: { replicas: 2 }, path: "BP on 2 data-parallel replicas" };

/**
 * The rule's gradient G over the batch from init, in float64: BP's mean over every frame (and its
 * mean loss), Sideways' G_k, the gradient its one step at t = T takes (init minus one SGD step of
 * lr 1). One SGD step of rate lr is then init - lr * G.
 */
export function referenceGradient(inputs: OneStepRunInputs, method: OneStepMethod, labelSmoothing = 0): { grads: RefWeights; loss?: number } {
  const { model, B, T, batch, init64 } = inputs;
  if (method === "sideways") {
    const stepped = referenceSideways(model, batch, init64, T, 1, labelSmoothing);
    return { grads: new Map([...init64].map(([n, w]) => [n, w.map((v, i) => v - stepped.get(n)![i]!)])) };
  }
  const [, , C, H, W] = batch.dims;
  // Time-major rows as the executors order them do not matter for a mean: clip-major here.
  const x = { data: Float64Array.from(batch.clips), dims: [B * T, C, H, W] };
  const labels = Array.from({ length: B * T }, (_, i) => batch.labels[Math.floor(i / T)]!);
  return refModelGradient(model, init64, x, labels, undefined, labelSmoothing);
}

/** -rate * G: the update (weights minus init) of one SGD step of `rate` along G. */
export function sgdUpdate(grads: RefWeights, rate: number): RefWeights {
  return new Map([...grads].map(([n, g]) => [n, g.map((v) => -rate * v)]));
}

/** The reference of a plain SGD step of inputs.lr along referenceGradient (with `labelSmoothing`), and BP's loss. */
export function sgdStepReference(inputs: OneStepRunInputs, labelSmoothing = 0): (method: OneStepMethod) => OneStepReference {
  return (method) => {
    const { grads, loss } = referenceGradient(inputs, method, labelSmoothing);
    return { update: sgdUpdate(grads, inputs.lr), loss };
  };
}

/** A finished run: its final weights and metrics.csv. */
export interface OneStepRun {
  weights: Weights;
  metrics: ReturnType<typeof readCsv>;
}

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };
let runs = 0;

/**
 * Runs `path`'s experiment on the inputs: SGD at inputs.lr, momentum 0, one step unless `train`
 * says otherwise; `train`'s keys (label_smoothing, grad_clip_norm, steps) are added to the
 * experiment's train section. Returns the final weights and metrics.csv.
 */
export async function runOneStep(inputs: OneStepRunInputs, path: OneStepPath, train: Record<string, unknown> = {}): Promise<OneStepRun> {
  const { spec: model, B, T, lr } = inputs;
  const spec = ExperimentSpec.parse({
    name: "one-step-run",
    model,
    data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
    train: { method: path.method, batch_size: B, steps: 1, optimizer: { kind: "sgd", lr, momentum: 0 }, init_checkpoint: "init.safetensors", ...train },
    runtime: path.runtime,
    eval: { every: 0, clips: B },
  });
  const runDir = join(inputs.dir, `run-${runs++}`);
  const summary = await runExperiment(spec, { specFile: null, baseDir: inputs.dir, runDir, runId: `r${runs}`, progress: silent });
  expect(summary.status, summary.message).to.equal("completed");
  return { weights: readCheckpoint(join(runDir, "final.safetensors"), inputs.model), metrics: readCsv(join(runDir, "metrics.csv")) };
}

/** What one step of a path should do, in float64: each parameter's update (weights minus init), and BP's mean training loss. */
export interface OneStepReference {
  update: RefWeights;
  loss?: number;
}

/**
 * Runs `path`'s one-step experiment (runOneStep, `train` added) and checks it against
 * `reference(path.method)`: each parameter's update moves (above 1e-6, so the comparison is not
 * of zeros) and is the reference's within relative 1e-4, and where the reference gives a loss,
 * metrics.csv's train_loss is it within relative 1e-4. Returns the run for the test's own checks.
 */
export async function expectOneStepAsReference(
  inputs: OneStepRunInputs,
  path: OneStepPath,
  train: Record<string, unknown>,
  reference: (method: OneStepMethod) => OneStepReference,
): Promise<OneStepRun> {
  const run = await runOneStep(inputs, path, train);
  const want = reference(path.method);
  for (const p of inputs.model.params) {
    const start = inputs.init64.get(p.name)!;
    // float32 gradients against float64: 1e-4 as test/lr-schedule-run.test.ts allows one step,
    // measured on the update (the weights minus init), not the unchanged weights.
    const moved = Float64Array.from(run.weights.get(p.name)!, (w, i) => w - start[i]!);
    const wanted = want.update.get(p.name)!;
    expect(Math.max(...wanted.map(Math.abs)), `${p.name} moves`).to.be.above(1e-6);
    expect(relDiff(moved, wanted), p.name).to.be.below(1e-4);
  }
  if (want.loss !== undefined) expect(Number(run.metrics.rows[0]!.train_loss), "train_loss").to.be.closeTo(want.loss, 1e-4 * want.loss);
  return run;
}
