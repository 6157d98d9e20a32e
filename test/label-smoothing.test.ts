/**
 * train.label_smoothing: the head's targets (1 - ε) onehot + ε / K, as
 * torch.nn.CrossEntropyLoss(label_smoothing=ε). The host head is checked against a float64
 * formula and central finite differences of it; every executor path against the property that
 * smoothing only moves the head's gradient by ε (onehot - 1 / K) / B, so gradients and losses are
 * affine in ε (G(0.2) - G(0) = 2 (G(0.1) - G(0))) and differ from one-hot ones; paths of one rule
 * agree with each other with smoothing as without.
 */
import { expect } from "chai";
import { expectOneStepAsReference, ONE_STEP_PATHS, oneStepRunInputs, sgdStepReference } from "./helpers/one-step-run.js";
import { oneHotRows, softmaxCrossEntropy } from "../src/layers/softmax-cross-entropy.js";
import { initWeights } from "../src/model/init.js";
import type { Weights } from "../src/model/model.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { BatchOptions, BatchResult, Executor, Method } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { ReplicaExecutor } from "../src/train/replica-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { Rng } from "../src/util/rng.js";
import { CPU_ONE_THREAD as cpu, withoutFusedBp } from "./helpers/executors.js";
import { fourBlockModel, randomClips } from "./helpers/tiny-models.js";

/** -Σ_k t_k log softmax(x)_k averaged over rows, in float64, with targets t built here. */
function smoothedLoss(logits: readonly number[], rows: number, classes: number, labels: Int32Array, eps: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const x = logits.slice(r * classes, (r + 1) * classes);
    const m = Math.max(...x);
    const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
    for (let k = 0; k < classes; k++) total -= ((k === labels[r] ? 1 - eps : 0) + eps / classes) * (x[k]! - lse);
  }
  return total / rows;
}

describe("train.label_smoothing", function () {
  this.timeout(120_000);

  describe("the host head", () => {
    const [B, K] = [5, 7];
    const rng = new Rng(3);
    const logits = Float32Array.from({ length: B * K }, () => 3 * rng.normal());
    const labels = Int32Array.from({ length: B }, () => rng.int(K));
    for (const eps of [0, 0.1, 0.3]) {
      it(`ε = ${eps}: the loss is the float64 formula's (1e-12) and ∂loss/∂logits its central differences (1e-7 absolute, float32 storage)`, () => {
        const { loss, dLogits } = softmaxCrossEntropy({ data: logits, dims: [B, K] }, labels, eps);
        const values = Array.from(logits);
        expect(Math.abs(loss - smoothedLoss(values, B, K, labels, eps))).to.be.below(1e-12);
        const h = 1e-5;
        for (let i = 0; i < B * K; i++) {
          const up = [...values];
          const down = [...values];
          up[i]! += h;
          down[i]! -= h;
          // Central differences in float64: truncation O(h^2) ~ 1e-10, rounding ~ 1e-16 / h.
          const numeric = (smoothedLoss(up, B, K, labels, eps) - smoothedLoss(down, B, K, labels, eps)) / (2 * h);
          expect(Math.abs(dLogits.data[i]! - numeric), `logit ${i}`).to.be.below(1e-7);
        }
      });
    }

    it("oneHotRows: rows of (1 - ε) onehot + ε / K summing to 1, row r for label r mod B; ε = 0 is one-hot", () => {
      const rows = oneHotRows(Int32Array.of(2, 0), 4, 4, 0.2);
      expect(rows.dims).to.deep.equal([4, 4]);
      const expected = [2, 0, 2, 0].flatMap((label) => [0, 1, 2, 3].map((k) => Math.fround(k === label ? 0.8 + 0.05 : 0.05)));
      expect(Array.from(rows.data)).to.deep.equal(expected);
      expect(Array.from(oneHotRows(Int32Array.of(1), 3, 1, 0).data)).to.deep.equal([0, 1, 0]);
    });
  });

  describe("every executor path", () => {
    const model = fourBlockModel();
    const graphs = buildAllBlockGraphs(model);
    const weights: Weights = initWeights(model, 5);
    // Sideways: clips of 2L frames, so that every block has backwards.
    const batch = randomClips(model, 3, 2 * model.blocks.length, 9);

    async function atThreeSmoothings(exec: Executor, method: Method, opts: BatchOptions): Promise<BatchResult[]> {
      try {
        const results: BatchResult[] = [];
        for (const labelSmoothing of [0, 0.1, 0.2]) results.push(await exec.runBatch(method, batch, new Map([...weights].map(([k, v]) => [k, v.slice()])), { ...opts, labelSmoothing }));
        return results;
      } finally {
        await exec.close();
      }
    }

    const paths: [string, Method, () => Promise<Executor>, BatchOptions][] = [
      ["bp, one fused graph a pass", "bp", () => SequentialExecutor.create(model, graphs, cpu), { bpFramesPerPass: "all" }],
      ["bp, frame by frame, block by block", "bp", () => SequentialExecutor.create(model, withoutFusedBp(graphs), cpu), { bpFramesPerPass: 1 }],
      ["sideways, a graph a tick", "sideways", () => SequentialExecutor.create(model, graphs, cpu), {}],
      ["sideways, block by block", "sideways", () => SequentialExecutor.create(model, graphs, cpu), { sidewaysTickGraph: false }],
      ["sideways, the schedule interpreter", "sideways", () => SequentialExecutor.create(model, graphs, cpu), { interpret: true }],
      ["pipelined-bp", "pipelined-bp", () => SequentialExecutor.create(model, graphs, cpu), {}],
      ["sideways on 2 depth-parallel stages", "sideways", () => ParallelExecutor.create(model, graphs, [[0, 1], [2, 3]], cpu), {}],
      ["bp on 2 data-parallel replicas", "bp", () => ReplicaExecutor.create(model, graphs, 2, cpu), { bpFramesPerPass: "all" }],
    ];
    const byPath = new Map<string, BatchResult[]>();
    for (const [name, method, make, opts] of paths) {
      it(`${name}: gradients and losses affine in ε (1e-5 of the change) and moved by it`, async () => {
        const [g0, g1, g2] = await atThreeSmoothings(await make(), method, opts);
        byPath.set(name, [g0!, g1!, g2!]);
        for (const [p, at0] of g0!.grads) {
          const [at1, at2] = [g1!.grads.get(p)!, g2!.grads.get(p)!];
          const change = Math.max(...at1.map((v, i) => Math.abs(v - at0[i]!)));
          expect(change, `${p} moved by ε = 0.1`).to.be.above(1e-6);
          // float32 gradients of the order of 1e-1: 1e-5 of the change leaves room for their rounding.
          const worst = Math.max(...at2.map((v, i) => Math.abs(v - at0[i]! - 2 * (at1[i]! - at0[i]!))));
          expect(worst, p).to.be.below(1e-5 + 1e-3 * change);
        }
        g0!.losses.forEach((l, i) => expect(Math.abs(g2!.losses[i]! - l - 2 * (g1!.losses[i]! - l))).to.be.below(1e-9 + 1e-6 * Math.abs(l)));
        expect(g1!.losses).to.not.deep.equal(g0!.losses);
      });
    }

    it("the paths of one rule agree with each other with ε = 0.1 as with one-hot targets (1e-5 relative)", () => {
      const groups = [
        ["bp, one fused graph a pass", "bp, frame by frame, block by block", "bp on 2 data-parallel replicas"],
        ["sideways, a graph a tick", "sideways, block by block", "sideways, the schedule interpreter", "sideways on 2 depth-parallel stages"],
      ];
      for (const group of groups) {
        const [first, ...rest] = group.map((name) => byPath.get(name));
        if (first === undefined) throw new Error(`the path tests above did not run (${group[0]})`);
        for (const [i, other] of rest.entries()) {
          for (const [p, g] of first[1]!.grads) {
            const o = other![1]!.grads.get(p)!;
            const scale = Math.max(...g.map(Math.abs));
            expect(Math.max(...g.map((v, j) => Math.abs(v - o[j]!))), `${group[i + 1]} ${p}`).to.be.below(1e-5 * scale + 1e-7);
          }
        }
      }
    });
  });

  describe("in a run: one SGD step against the float64 references with ε = 0.2", () => {
    const inputs = oneStepRunInputs("sideways-label-smoothing-");
    const eps = 0.2;
    for (const path of ONE_STEP_PATHS) {
      it(`${path.path}: the update and BP's training loss are the smoothed reference's (relative 1e-4)`, async () => {
        await expectOneStepAsReference(inputs, path, { label_smoothing: eps }, sgdStepReference(inputs, eps));
      });
    }
  });

  it("is optional (run ids without it unchanged) and takes [0, 1]", () => {
    const base = { name: "x", model: "m.yaml", data: { kind: "shapes" } };
    expect(ExperimentSpec.parse(base).train).to.not.have.property("label_smoothing");
    expect(ExperimentSpec.parse({ ...base, train: { label_smoothing: 0.1 } }).train.label_smoothing).to.equal(0.1);
    expect(ExperimentSpec.safeParse({ ...base, train: { label_smoothing: 1.5 } }).success).to.equal(false);
    expect(ExperimentSpec.safeParse({ ...base, train: { label_smoothing: -0.1 } }).success).to.equal(false);
  });
});
