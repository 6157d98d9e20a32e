/**
 * Batch norm's running statistics in Sideways on clips shorter than 2L-1 frames, where some
 * blocks get no gradient at all. docs/design/sideways.md: at every tick every block with an input
 * runs its forward (rule step 2), and a block's statistics are updated once per frame it
 * normalised, i.e. per frame that reached it: block k (0-based) gets frames [0, T-k). So each
 * batch_norm layer of block k counts T-k frames per clip batch, and its statistics equal BP's on
 * the first T-k frames (same weights, same inputs: the weights do not change inside the clip
 * batch). Checked for every Sideways path (the tick graph, two calls per block, the interpreter),
 * on depth-parallel workers, and against the independent PyTorch implementation of the rule
 * (bench/torch_sideways.py).
 */
import { expect } from "chai";
import { torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { applyBlockStats } from "../src/model/buffers.js";
import { initWeights } from "../src/model/init.js";
import type { Weights } from "../src/model/model.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { BatchOptions } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { firstFrames, normModel, randomClips, relDiff, sameBits } from "./helpers/tiny-models.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";
import { CPU_ONE_THREAD as cpu, sequentialExecutorForSuite } from "./helpers/executors.js";
import { torchSideways } from "./helpers/torch-sideways-peer.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

describe("Sideways on clips shorter than 2L-1: batch norm counts every frame that reaches a block", function () {
  this.timeout(180_000);
  const model = normModel();
  const L = model.blocks.length;
  const graphs = buildAllBlockGraphs(model);
  // Each batch_norm layer with its block; the residual unit's batch_norm is its layers.4.
  const norms = model.layers.filter((l) => l.buffers.length > 0).map((l) => ({ prefix: l.spec.type === "residual" ? `${l.index}.layers.4.` : `${l.index}.`, block: l.params[0].blockIndex }));
  let seq: SequentialExecutor;
  sequentialExecutorForSuite(model, graphs, (e) => (seq = e));

  const paths: [string, BatchOptions][] = [
    ["tick graph", {}],
    ["two calls per block", { sidewaysTickGraph: false }],
    ["interpreter", { interpret: true }],
  ];
  for (const T of [5, 6]) {
    for (const [name, opts] of paths) {
      it(`T = ${T} (2L-1 = ${2 * L - 1}), ${name}: block k's batch norm counts T-k frames and has BP's statistics on them`, async () => {
        const batch = randomClips(model, 3, T, 70 + T);
        const init = initWeights(model, 8);
        const sideways: Weights = new Map([...init].map(([n, v]) => [n, v.slice()]));
        applyBlockStats(model, sideways, (await seq.runBatch("sideways", batch, init, opts)).stats);
        for (const { prefix, block } of norms) {
          const m = T - block;
          expect(sideways.get(`${prefix}num_batches_tracked`)![0], `${prefix}num_batches_tracked (block ${block})`).to.equal(m);
          const bp: Weights = new Map([...init].map(([n, v]) => [n, v.slice()]));
          applyBlockStats(model, bp, (await seq.runBatch("bp", firstFrames(batch, m), init, { bpFramesPerPass: 1 })).stats);
          // The same frames through the same weights; the tick graph computes them in a fused
          // graph (float32 rounding, relative 1e-6 of statistics of order 1).
          for (const suffix of ["running_mean", "running_var"]) expect(relDiff(sideways.get(prefix + suffix)!, bp.get(prefix + suffix)!), `${prefix + suffix}: Sideways vs BP on ${m} frames`).to.be.below(1e-6);
        }
      });
    }
  }

  it("T = 5: two depth-parallel workers give the sequential executor's buffers bit for bit (fast path and interpreter)", async () => {
    const batch = randomClips(model, 3, 5, 77);
    const init = initWeights(model, 8);
    const par = await ParallelExecutor.create(model, graphs, [[0, 1], [2, 3]], cpu);
    try {
      for (const opts of [{}, { interpret: true }]) {
        const a: Weights = new Map([...init].map(([n, v]) => [n, v.slice()]));
        const b: Weights = new Map([...init].map(([n, v]) => [n, v.slice()]));
        applyBlockStats(model, a, (await seq.runBatch("sideways", batch, init, opts)).stats);
        applyBlockStats(model, b, (await par.runBatch("sideways", batch, init, opts)).stats);
        for (const buffer of model.buffers) expect(sameBits(a.get(buffer.name)!, b.get(buffer.name)!), `${buffer.name}, ${JSON.stringify(opts)}`).to.equal(true);
        expect(b.get("1.num_batches_tracked")![0]).to.equal(5);
      }
    } finally {
      await par.close();
    }
  });

  describe("against PyTorch (bench/torch_sideways.py)", function () {
    const reason = torchUnavailableReason();
    const tempFolder = tempFoldersRemovedAfterEachTest();
    before(function () {
      if (reason) skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    });

    // Tolerance as test/torch-sideways.test.ts: both sides float32, different reduction orders: 1e-4.
    it("T = 5: num_batches_tracked and running statistics equal PyTorch's after one clip batch", async () => {
      const T = 5;
      const batch = randomClips(model, 3, T, 75);
      const init = initWeights(model, 8);
      const dir = tempFolder("sideways-short-clips-");
      const torch = torchSideways(dir, model, init, batch, { lr: 0.1, steps: 1 });
      const ours: Weights = new Map([...init].map(([n, v]) => [n, v.slice()]));
      applyBlockStats(model, ours, (await seq.runBatch("sideways", batch, init)).stats);
      for (const { prefix } of norms) {
        expect(ours.get(`${prefix}num_batches_tracked`)![0], `${prefix}num_batches_tracked`).to.equal(torch.num_batches_tracked[`${prefix}num_batches_tracked`]);
        for (const suffix of ["running_mean", "running_var"]) {
          const theirs = torch.tensors.get(prefix + suffix)!;
          expect(relDiff(ours.get(prefix + suffix)!, theirs), prefix + suffix).to.be.below(1e-4);
        }
      }
    });
  });
});
