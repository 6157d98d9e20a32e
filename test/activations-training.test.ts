/**
 * silu and gelu through the real trainers: a run of one SGD step of a 4-block model whose blocks
 * end in silu or gelu (one inside a residual unit), by BP and by Sideways (its ticks, depth-parallel
 * stages and the device step, which runs the clip batch as one graph), against the float64
 * references of the update (test/reference/model-ref.ts, rules-ref.ts on layers-ref.ts: nothing
 * shared with src/). Tolerance 1e-4 of the update, as test/label-smoothing.test.ts allows one step
 * of float32 gradients against float64.
 */
import { expect } from "chai";
import { join } from "node:path";
import { readCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter } from "../src/train/run-types.js";
import { writeNpyRunInputs } from "./helpers/npy-run-inputs.js";
import { freshFolderForAllTests } from "./helpers/temp-folder.js";
import { randomClips, relDiff } from "./helpers/tiny-models.js";
import { refModelGradient, type RefWeights } from "./reference/model-ref.js";
import { referenceSideways } from "./reference/rules-ref.js";

/** Blocks: conv-silu, strided conv-gelu, a residual unit (conv-gelu-conv) with silu and the pooling, linear. */
const SPEC = {
  name: "silu-gelu",
  input: { channels: 1, height: 8, width: 8 },
  classes: 3,
  layers: [
    { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
    { type: "silu" },
    { type: "conv2d", out_channels: 5, kernel: 3, stride: 2, padding: 1 },
    { type: "gelu" },
    { type: "residual", layers: [{ type: "conv2d", out_channels: 5, kernel: 3, padding: 1 }, { type: "gelu" }, { type: "conv2d", out_channels: 5, kernel: 3, padding: 1 }] },
    { type: "silu" },
    { type: "global_avg_pool" },
    { type: "linear", out_features: 3 },
  ],
};

describe("training with silu and gelu: one SGD step of a run against the float64 references", function () {
  this.timeout(120_000);
  const model = resolveModel(SPEC, "test silu-gelu model");
  // T = 9 >= 2L - 1: every block gets a Sideways gradient, and the device step runs.
  const [B, T, lr] = [3, 9, 0.5];
  const batch = randomClips(model, B, T, 17);
  const init = initWeights(model, 29);
  const init64: RefWeights = new Map([...init].map(([n, w]) => [n, Float64Array.from(w)]));
  let dir = "";
  freshFolderForAllTests("sideways-silu-gelu-", (d) => {
    dir = d;
    writeNpyRunInputs(d, model, init, batch);
  });

  it("the model has 4 blocks, each activation in the block of the layer before it", () => {
    expect(model.blocks.map((b) => b.layers.map((l) => l.spec.type))).to.deep.equal([["conv2d", "silu"], ["conv2d", "gelu"], ["residual", "silu", "global_avg_pool"], ["linear"]]);
  });

  /** The weights after one SGD step of `lr` from init, in float64, and BP's mean loss. */
  function reference(method: "bp" | "sideways"): { weights: RefWeights; loss?: number } {
    if (method === "sideways") return { weights: referenceSideways(model, batch, init64, T, lr) };
    const [, , C, H, W] = batch.dims;
    const x = { data: Float64Array.from(batch.clips), dims: [B * T, C, H, W] };
    const labels = Array.from({ length: B * T }, (_, i) => batch.labels[Math.floor(i / T)]!);
    const { loss, grads } = refModelGradient(model, init64, x, labels);
    return { weights: new Map([...init64].map(([n, w]) => [n, w.map((v, i) => v - lr * grads.get(n)![i]!)])), loss };
  }

  let runs = 0;
  const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };
  const paths: { method: "bp" | "sideways"; runtime: Record<string, unknown>; path: string }[] = [
    { method: "bp", runtime: {}, path: "BP's fused pass" },
    { method: "bp", runtime: { device_step: true }, path: "BP's device step (CPU)" },
    { method: "sideways", runtime: {}, path: "Sideways' ticks" },
    { method: "sideways", runtime: { workers: 2 }, path: "Sideways on 2 depth-parallel stages" },
    { method: "sideways", runtime: { device_step: true }, path: "Sideways' device step (CPU)" },
  ];
  for (const { method, runtime, path } of paths) {
    it(`${path}: the update (and BP's training loss) are the float64 reference's (relative 1e-4)`, async () => {
      const spec = ExperimentSpec.parse({
        name: "silu-gelu",
        model: SPEC,
        data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
        train: { method, batch_size: B, steps: 1, optimizer: { kind: "sgd", lr, momentum: 0 }, init_checkpoint: "init.safetensors" },
        runtime,
        eval: { every: 0, clips: B },
      });
      const runDir = join(dir, `run-${runs++}`);
      const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: `r${runs}`, progress: silent });
      expect(summary.status, summary.message).to.equal("completed");
      const weights = readCheckpoint(join(runDir, "final.safetensors"), model);
      const want = reference(method);
      for (const p of model.params) {
        const start = init64.get(p.name)!;
        const moved = Float64Array.from(weights.get(p.name)!, (w, i) => w - start[i]!);
        const wanted = want.weights.get(p.name)!.map((w, i) => w - start[i]!);
        expect(Math.max(...wanted.map(Math.abs)), `${p.name} moves`).to.be.above(1e-6);
        expect(relDiff(moved, wanted), p.name).to.be.below(1e-4);
      }
      if (want.loss !== undefined) expect(Number(readCsv(join(runDir, "metrics.csv")).rows[0]!.train_loss)).to.be.closeTo(want.loss, 1e-4 * want.loss);
    });
  }
});
