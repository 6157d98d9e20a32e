/**
 * train.grad_clip_norm: the gradient the optimizer takes is clipped to a total L2 norm, as
 * torch.nn.utils.clip_grad_norm_ does (g * min(1, max_norm / (norm + 1e-6))).
 *  - clipGradNorm against the rule restated in float64;
 *  - one SGD step of a run, on every path that steps once per clip batch (BP's fused pass, Sideways'
 *    ticks, two depth-parallel stages, two data-parallel replicas, the device step of each rule on
 *    the CPU), against the independent float64 references of the rules (test/reference): the
 *    weights equal init - lr * G * max_norm / (|G| + 1e-6), and metrics.csv's grad_norm is |G|;
 *  - a max_norm above the norm changes nothing, bit for bit, against the same run without the key.
 */
import { expect } from "chai";
import { join } from "node:path";
import { readCheckpoint } from "../src/model/checkpoint.js";
import type { Weights } from "../src/model/model.js";
import { clipGradNorm } from "../src/optim/grad-clip.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter } from "../src/train/run-types.js";
import { refModelGradient, type RefWeights } from "./reference/model-ref.js";
import { referenceSideways } from "./reference/rules-ref.js";
import { fourBlockSpec, relDiff } from "./helpers/tiny-models.js";
import { oneStepRunInputs } from "./helpers/one-step-run.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };

/** The float64 L2 norm over every element of every tensor. */
function totalNorm(grads: Iterable<ArrayLike<number>>): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

describe("train.grad_clip_norm: gradient clipping by the total norm", function () {
  this.timeout(300_000);

  describe("clipGradNorm", () => {
    const grads = () =>
      new Map([
        ["a", Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3)],
        ["b", Float32Array.from({ length: 7 }, (_, i) => -i / 2)],
      ]);

    it("returns the float64 norm over every parameter and scales each element by max_norm / (norm + 1e-6) (float32 rounding, relative 1e-7)", () => {
      const g = grads();
      const before = new Map([...g].map(([n, v]) => [n, Float64Array.from(v)]));
      const norm0 = totalNorm(before.values());
      const returned = clipGradNorm(g, 2);
      expect(returned).to.be.closeTo(norm0, 1e-12 * norm0);
      const factor = 2 / (norm0 + 1e-6);
      for (const [n, v] of g) v.forEach((x, i) => expect(x, `${n}[${i}]`).to.be.closeTo(before.get(n)![i] * factor, 1e-7 * Math.abs(before.get(n)![i]) + 1e-30));
      expect(totalNorm(g.values())).to.be.closeTo(2, 1e-6);
    });

    it("leaves gradients whose norm is within max_norm as they were, bit for bit", () => {
      const g = grads();
      const before = new Map([...g].map(([n, v]) => [n, Float32Array.from(v)]));
      clipGradNorm(g, totalNorm(g.values()) * 1.5);
      for (const [n, v] of g) expect([...v], n).to.deep.equal([...before.get(n)!]);
    });
  });

  describe("in a run: one SGD step against the float64 references", () => {
    const inputs = oneStepRunInputs("sideways-grad-clip-");
    const { model, B, T, batch, init64 } = inputs;
    const lr = 0.5;

    /** The rule's gradient G in float64: BP's mean over every frame, Sideways' G_k (one SGD step of lr 1 from init, per clip). */
    function referenceGradient(method: "bp" | "sideways"): RefWeights {
      if (method === "sideways") {
        const stepped = referenceSideways(model, batch, init64, T, 1);
        return new Map([...init64].map(([n, w]) => [n, w.map((v, i) => v - stepped.get(n)![i])]));
      }
      const [, , C, H, W] = batch.dims;
      const x = { data: Float64Array.from(batch.clips), dims: [B * T, C, H, W] };
      const labels = Array.from({ length: B * T }, (_, i) => batch.labels[Math.floor(i / T)]);
      return refModelGradient(model, init64, x, labels).grads;
    }

    let runs = 0;
    async function oneStep(method: "bp" | "sideways", runtime: Record<string, unknown>, clip: number | undefined, steps = 1): Promise<{ weights: Weights; gradNorm: number | undefined; gradNorms: number[]; columns: string[] }> {
      const spec = ExperimentSpec.parse({
        name: "grad-clip",
        model: fourBlockSpec,
        data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
        train: { method, batch_size: B, steps, optimizer: { kind: "sgd", lr, momentum: 0 }, init_checkpoint: "init.safetensors", ...(clip === undefined ? {} : { grad_clip_norm: clip }) },
        runtime,
        eval: { every: 0, clips: B },
      });
      const runDir = join(inputs.dir, `run-${runs++}`);
      const summary = await runExperiment(spec, { specFile: null, baseDir: inputs.dir, runDir, runId: `r${runs}`, progress: silent });
      expect(summary.status, summary.message).to.equal("completed");
      const csv = readCsv(join(runDir, "metrics.csv"));
      const cell = csv.rows[0].grad_norm;
      return { weights: readCheckpoint(join(runDir, "final.safetensors"), model), gradNorm: cell === undefined ? undefined : Number(cell), gradNorms: csv.rows.map((r) => Number(r.grad_norm)), columns: csv.columns };
    }

    const paths: { method: "bp" | "sideways"; runtime: Record<string, unknown>; path: string }[] = [
      { method: "bp", runtime: {}, path: "BP's fused pass" },
      { method: "bp", runtime: { replicas: 2 }, path: "BP on 2 data-parallel replicas" },
      { method: "bp", runtime: { device_step: true }, path: "BP's device step (CPU)" },
      { method: "sideways", runtime: {}, path: "Sideways' ticks" },
      { method: "sideways", runtime: { workers: 2 }, path: "Sideways on 2 depth-parallel stages" },
      { method: "sideways", runtime: { device_step: true }, path: "Sideways' device step (CPU)" },
    ];
    for (const { method, runtime, path } of paths) {
      it(`${path}: the weights are init - lr * G * max_norm / (|G| + 1e-6), and grad_norm is |G| (relative 1e-4)`, async () => {
        const G = referenceGradient(method);
        const norm = totalNorm(G.values());
        const maxNorm = norm / 3; // clipping to a third: the update shrinks threefold
        const { weights, gradNorm, columns } = await oneStep(method, runtime, maxNorm);
        expect(columns).to.include("grad_norm");
        // float32 gradients against float64: 1e-4 as test/lr-schedule-run.test.ts allows one step.
        expect(gradNorm).to.be.closeTo(norm, 1e-4 * norm);
        const factor = maxNorm / (norm + 1e-6);
        for (const p of model.params) {
          const start = init64.get(p.name)!;
          const expected = start.map((w, i) => w - lr * G.get(p.name)![i] * factor);
          // Measured on the update (the weights minus init), not the unchanged weights.
          const moved = Float64Array.from(weights.get(p.name)!, (w, i) => w - start[i]);
          const want = expected.map((w, i) => w - start[i]);
          expect(relDiff(moved, want), `${p.name}`).to.be.below(1e-4);
        }
      });
    }

    it("the device step at 3 steps a call (one graph): each step's grad_norm and the weights equal 3 calls of one step (relative 1e-6)", async () => {
      const maxNorm = totalNorm(referenceGradient("bp").values()) / 3;
      const single = await oneStep("bp", { device_step: true }, maxNorm, 3);
      const chained = await oneStep("bp", { device_step: true, steps_per_call: 3 }, maxNorm, 3);
      expect(chained.gradNorms).to.have.length(3);
      // Later steps start from clipped steps' weights: their norms differ from the first's.
      expect(Math.abs(single.gradNorms[2] - single.gradNorms[0])).to.be.above(1e-3 * single.gradNorms[0]);
      chained.gradNorms.forEach((n, j) => expect(n, `step ${j + 1}`).to.be.closeTo(single.gradNorms[j], 1e-6 * single.gradNorms[j]));
      for (const p of model.params) expect(relDiff(chained.weights.get(p.name)!, single.weights.get(p.name)!), p.name).to.be.below(1e-6);
    });

    it("a max_norm above the gradient's norm: the same weights, bit for bit, as without clipping (BP's fused pass and Sideways' device step)", async () => {
      for (const [method, runtime] of [["bp", {}], ["sideways", { device_step: true }]] as const) {
        const norm = totalNorm(referenceGradient(method).values());
        const plain = await oneStep(method, runtime, undefined);
        expect(plain.columns, "metrics.csv without clipping").not.to.include("grad_norm");
        const loose = await oneStep(method, runtime, norm * 2);
        for (const p of model.params) expect(Buffer.from(loose.weights.get(p.name)!.buffer).equals(Buffer.from(plain.weights.get(p.name)!.buffer)), `${method} ${p.name}`).to.equal(true);
      }
    });
  });
});
