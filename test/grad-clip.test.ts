/**
 * train.grad_clip_norm: the gradient the optimizer takes is clipped to a total L2 norm, as
 * torch.nn.utils.clip_grad_norm_ does (g * min(1, max_norm / (norm + 1e-6))).
 *  - clipGradNorm against the rule restated in float64;
 *  - one SGD step of a run, on every path that steps once per clip batch (BP's fused pass, Sideways'
 *    ticks, two depth-parallel stages, two data-parallel replicas, the device step of each rule on
 *    the CPU; test/helpers/one-step-run.ts), against the independent float64 references of the
 *    rules (test/reference): the weights equal init - lr * G * max_norm / (|G| + 1e-6),
 *    metrics.csv's grad_norm is |G| and BP's train_loss the unclipped step's loss;
 *  - a max_norm above the norm changes nothing, bit for bit, against the same run without the key.
 */
import { expect } from "chai";
import { clipGradNorm } from "../src/optim/grad-clip.js";
import { relDiff } from "./helpers/tiny-models.js";
import { BP_ON_TWO_REPLICAS, expectOneStepAsReference, ONE_STEP_PATHS, oneStepPath, oneStepRunInputs, referenceGradient, runOneStep, sgdUpdate, type OneStepMethod } from "./helpers/one-step-run.js";

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
    const { model, lr } = inputs;
    const norm = (method: OneStepMethod) => totalNorm(referenceGradient(inputs, method).grads.values());

    for (const path of [...ONE_STEP_PATHS, BP_ON_TWO_REPLICAS]) {
      it(`${path.path}: the weights are init - lr * G * max_norm / (|G| + 1e-6), and grad_norm is |G| (relative 1e-4)`, async () => {
        const G = referenceGradient(inputs, path.method);
        const normG = totalNorm(G.grads.values());
        const maxNorm = normG / 3; // clipping to a third: the update shrinks threefold
        const factor = maxNorm / (normG + 1e-6);
        const { metrics } = await expectOneStepAsReference(inputs, path, { grad_clip_norm: maxNorm }, () => ({ update: sgdUpdate(G.grads, lr * factor), loss: G.loss }));
        expect(metrics.columns).to.include("grad_norm");
        // float32 gradients against float64: relative 1e-4, as for the update.
        expect(Number(metrics.rows[0]!.grad_norm)).to.be.closeTo(normG, 1e-4 * normG);
      });
    }

    it("the device step at 3 steps a call (one graph): each step's grad_norm and the weights equal 3 calls of one step (relative 1e-6)", async () => {
      const deviceStep = oneStepPath("BP's device step (CPU)");
      const train = { grad_clip_norm: norm("bp") / 3, steps: 3 };
      const single = await runOneStep(inputs, deviceStep, train);
      const chained = await runOneStep(inputs, { ...deviceStep, runtime: { ...deviceStep.runtime, steps_per_call: 3 } }, train);
      const [singleNorms, chainedNorms] = [single, chained].map((run) => run.metrics.rows.map((r) => Number(r.grad_norm)));
      expect(chainedNorms).to.have.length(3);
      // Later steps start from clipped steps' weights: their norms differ from the first's.
      expect(Math.abs(singleNorms[2] - singleNorms[0])).to.be.above(1e-3 * singleNorms[0]);
      chainedNorms.forEach((n, j) => expect(n, `step ${j + 1}`).to.be.closeTo(singleNorms[j], 1e-6 * singleNorms[j]));
      for (const p of model.params) expect(relDiff(chained.weights.get(p.name)!, single.weights.get(p.name)!), p.name).to.be.below(1e-6);
    });

    it("a max_norm above the gradient's norm: the same weights, bit for bit, as without clipping (BP's fused pass and Sideways' device step)", async () => {
      for (const path of [oneStepPath("BP's fused pass"), oneStepPath("Sideways' device step (CPU)")]) {
        const { method } = path;
        const plain = await runOneStep(inputs, path);
        expect(plain.metrics.columns, "metrics.csv without clipping").not.to.include("grad_norm");
        const loose = await runOneStep(inputs, path, { grad_clip_norm: norm(method) * 2 });
        for (const p of model.params) expect(Buffer.from(loose.weights.get(p.name)!.buffer).equals(Buffer.from(plain.weights.get(p.name)!.buffer)), `${method} ${p.name}`).to.equal(true);
      }
    });
  });
});
