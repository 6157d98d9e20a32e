/**
 * Sequential and depth-parallel executors give bit-identical weights (sideways.md) when both go
 * block by block; BP in one fused graph per pass (a stage holding every block) gives the same
 * weights up to float32 rounding; and a failing worker ends the batch with a message naming its
 * stage and block, leaving no thread behind.
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import type { Model, Weights } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelFile, resolveModel } from "../src/model/load-model.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { autoPassRows, framesPerPass, timeMajorFrames } from "../src/train/bp-stage.js";
import type { Executor, Method } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { balancedStages } from "../src/train/stage-plan.js";
import { fourBlockModel, randomClips, relDiff, sameBits } from "./helpers/tiny-models.js";
import { sidewaysSchedule } from "../src/schedule/rules.js";
import { CPU_ONE_THREAD as cpu, withoutFusedBp } from "./helpers/executors.js";

const MODELS = fileURLToPath(new URL("../../models", import.meta.url));

async function trainThreeSteps(model: Model, exec: Executor, method: Method, bpFramesPerPass?: number): Promise<Weights> {
  const weights = initWeights(model, 11);
  const opt = createOptimizer({ kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 1e-4 });
  for (let step = 0; step < 3; step++) {
    const r = await exec.runBatch(method, randomClips(model, 2, 8, 100 + step), weights, { bpFramesPerPass });
    opt.step(weights, r.grads, 0.05);
  }
  return weights;
}

describe("executors", function () {
  this.timeout(120_000);
  const model = fourBlockModel();
  const graphs = buildAllBlockGraphs(model);
  // The same graphs without the fused BP pass graph: BP block by block on one thread too.
  const blockByBlock = withoutFusedBp(graphs);

  const cases = [
    { method: "bp", bpFramesPerPass: 8 },
    { method: "bp", bpFramesPerPass: 1 },
    { method: "bp", bpFramesPerPass: 3 },
    { method: "sideways", bpFramesPerPass: undefined },
  ] as const;
  for (const { method, bpFramesPerPass: bpFrames } of cases) {
    it(`${method}${bpFrames ? ` (frames per pass: ${bpFrames})` : ""}: sequential and 2- and 3-worker depth-parallel runs give bit-identical weights after 3 updates`, async () => {
      const seq = await SequentialExecutor.create(model, blockByBlock, cpu);
      const reference = await trainThreeSteps(model, seq, method, bpFrames);
      await seq.close();
      for (const workers of [2, 3]) {
        const stages = balancedStages([1, 1, 1, 1], workers);
        const par = await ParallelExecutor.create(model, graphs, stages, cpu);
        try {
          const w = await trainThreeSteps(model, par, method, bpFrames);
          for (const p of model.params) {
            expect(sameBits(w.get(p.name)!, reference.get(p.name)!), `${p.name}, ${workers} workers`).to.equal(true);
          }
          // and the weights did move: this is not comparing two untouched initialisations
          const init = initWeights(model, 11);
          for (const p of model.params) expect(sameBits(w.get(p.name)!, init.get(p.name)!), `${p.name} moved`).to.equal(false);
        } finally {
          await par.close();
        }
      }
    });
  }

  // Tolerance: the fused graph's head computes softmax in float32 where the TypeScript head uses
  // float64 (relative differences near 1e-7 per step); 1e-5 after 3 momentum steps.
  for (const bpFrames of [8, 3]) {
    it(`bp (frames per pass: ${bpFrames}): one fused graph per pass gives block-by-block BP's weights and losses (relative 1e-5)`, async () => {
      const fused = await SequentialExecutor.create(model, graphs, cpu);
      const plain = await SequentialExecutor.create(model, blockByBlock, cpu);
      try {
        const batch = randomClips(model, 3, 8, 7);
        const a = await fused.runBatch("bp", batch, initWeights(model, 11), { bpFramesPerPass: bpFrames, trace: true });
        const b = await plain.runBatch("bp", batch, initWeights(model, 11), { bpFramesPerPass: bpFrames, trace: true });
        expect(a.losses).to.have.length(8);
        a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i]) / b.losses[i], `loss ${i}`).to.be.below(1e-5));
        for (const p of model.params) expect(relDiff(a.grads.get(p.name)!, b.grads.get(p.name)!), p.name).to.be.below(1e-5);
        expect(a.trace, "the same forward/loss/backward events").to.deep.equal(b.trace);
        // ...and the fused path did run: its float32 softmax leaves some gradient bits different.
        expect(model.params.some((p) => !sameBits(Float32Array.from(a.grads.get(p.name)!), Float32Array.from(b.grads.get(p.name)!))), "fused path taken").to.equal(true);
        const wa = await trainThreeSteps(model, fused, "bp", bpFrames);
        const wb = await trainThreeSteps(model, plain, "bp", bpFrames);
        for (const p of model.params) expect(relDiff(wa.get(p.name)!, wb.get(p.name)!), `${p.name} after 3 steps`).to.be.below(1e-5);
      } finally {
        await fused.close();
        await plain.close();
      }
    });
  }

  // The same tolerance for Sideways' tick graph, whose top block takes the head's gradient in float32.
  for (const workers of [1, 2]) {
    it(`sideways on ${workers} stage(s): each tick in one graph gives the block-by-block weights, losses and trace (relative 1e-5)`, async () => {
      const exec = workers === 1 ? await SequentialExecutor.create(model, graphs, cpu) : await ParallelExecutor.create(model, graphs, balancedStages([1, 1, 1, 1], workers), cpu);
      try {
        const batch = randomClips(model, 3, 8, 9);
        const a = await exec.runBatch("sideways", batch, initWeights(model, 11), { trace: true });
        const b = await exec.runBatch("sideways", batch, initWeights(model, 11), { trace: true, sidewaysTickGraph: false });
        expect(a.losses).to.have.length(8 - model.blocks.length + 1);
        a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i]) / b.losses[i], `loss ${i}`).to.be.below(1e-5));
        expect(a.counts).to.deep.equal(b.counts);
        for (const p of model.params) expect(relDiff(a.grads.get(p.name)!, b.grads.get(p.name)!), p.name).to.be.below(1e-5);
        expect(a.trace, "the same forward/loss/backward events").to.deep.equal(b.trace);
        expect(model.params.some((p) => !sameBits(a.grads.get(p.name)!, b.grads.get(p.name)!)), "tick graph taken").to.equal(true);
      } finally {
        await exec.close();
      }
    });
  }

  // How a Sideways stage splits its tick (sideways-stage.ts): one call per tick on a stage without
  // a stage below; a stage with one runs its lowest block's work in a call of its own, then the
  // rest. Counted from the table: a tick where a set of blocks has any action is one call.
  it("sideways stages: one onnxruntime call per tick, two on a stage with a stage below (its lowest block first); time awaiting and sending messages measured", async () => {
    const T = 8;
    const table = sidewaysSchedule(model.blocks.length, T);
    const ticksWith = (blocks: number[]) => new Set(table.actions.filter((a) => a.op !== "loss" && blocks.includes(a.block)).map((a) => a.tick)).size;
    const seq = await SequentialExecutor.create(model, graphs, cpu);
    const par = await ParallelExecutor.create(model, graphs, [[0, 1], [2, 3]], cpu);
    try {
      const one = await seq.runBatch("sideways", randomClips(model, 2, T, 3), initWeights(model, 1));
      expect(one.stageCalls).to.deep.equal([ticksWith([0, 1, 2, 3])]);
      expect(one.stageWaitSeconds).to.deep.equal([0]);
      const two = await par.runBatch("sideways", randomClips(model, 2, T, 3), initWeights(model, 1));
      expect(two.stageCalls).to.deep.equal([ticksWith([0, 1]), ticksWith([2]) + ticksWith([3])]);
      two.stageWallSeconds.forEach((wall, s) => {
        expect(two.stageWaitSeconds[s], `stage ${s} waits`).to.be.greaterThan(0);
        // The four shares are disjoint stretches of the stage's batch (timer resolution aside).
        expect(two.stageBusySeconds[s] + two.stageWaitSeconds[s] + two.stageSendSeconds[s], `stage ${s}`).to.be.at.most(wall + 1e-3);
      });
    } finally {
      await seq.close();
      await par.close();
    }
  });

  it("a failing worker rejects the batch naming stage and block, and all workers are terminated", async () => {
    const stages = balancedStages([1, 1, 1, 1], 3);
    const par = await ParallelExecutor.create(model, graphs, stages, cpu);
    const weights = initWeights(model, 1);
    // A failure inside a worker: block 2's weight has the wrong number of elements.
    const broken = model.blocks[2].params[0].name;
    weights.set(broken, new Float32Array(3));
    let message = "";
    try {
      await par.runBatch("sideways", randomClips(model, 2, 8, 5), weights);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/stage \d \(blocks/);
    expect(message).to.match(/block 2/);
    expect(par.threadIds).to.have.length(3);
    await par.close();
    // Worker.threadId becomes -1 once the thread has stopped.
    expect(par.threadIds.every((id) => id === -1)).to.equal(true);
  });

  it("auto BP passes: the largest layer output about 1 MiB, between 16 and 128 rows", () => {
    const quickstart = loadModelFile(join(MODELS, "quickstart-cnn.yaml")); // largest: 8x32x32 floats = 32 KiB a row
    expect(autoPassRows(quickstart)).to.equal(32);
    expect(framesPerPass("auto", 16, 8, quickstart)).to.equal(2);
    expect(framesPerPass("auto", 64, 8, quickstart), "at least one frame").to.equal(1);
    expect(autoPassRows(loadModelFile(join(MODELS, "bench-8block.yaml")))).to.equal(16); // 16x32x32: 64 KiB
    expect(autoPassRows(model), "tiny model: the 128-row cap").to.equal(128);
    const wide = resolveModel({ name: "wide", input: { channels: 3, height: 64, width: 64 }, classes: 2, layers: [{ type: "conv2d", out_channels: 64, kernel: 3, padding: 1 }, { type: "global_avg_pool" }, { type: "linear", out_features: 2 }] }, "inline");
    expect(autoPassRows(wide), "1 MiB rows: the 16-row floor").to.equal(16);
    expect(framesPerPass(3, 16, 8, quickstart)).to.equal(3);
    expect(framesPerPass("all", 16, 8, quickstart)).to.equal(8);
  });

  it("timeMajorFrames: row i*B + b of a pass is frame first+i of clip b", () => {
    const [B, T, size] = [3, 5, 2]; // clips [B, T, 1, 1, 2]
    const clips = Float32Array.from({ length: B * T * size }, (_, j) => 100 * Math.floor(j / (T * size)) + 10 * Math.floor((j / size) % T) + (j % size));
    const rows = timeMajorFrames(clips, [B, T, 1, 1, size], 2, 4);
    expect(rows.dims).to.deep.equal([2 * B, 1, 1, size]);
    expect(Array.from(rows.data)).to.deep.equal([20, 21, 120, 121, 220, 221, 30, 31, 130, 131, 230, 231]);
  });

  it("auto BP passes are sized by the clips the stage holds (a replica's share), not the whole batch", async () => {
    const quickstart = loadModelFile(join(MODELS, "quickstart-cnn.yaml")); // 32 rows a pass
    const exec = await SequentialExecutor.create(quickstart, buildAllBlockGraphs(quickstart), cpu);
    try {
      const passStarts = async (clips: number) => {
        const r = await exec.runBatch("bp", randomClips(quickstart, clips, 8, 3), initWeights(quickstart, 1), { bpFramesPerPass: "auto", trace: true });
        return r.trace.filter((e) => e.kind === "forward" && e.block === 0).map((e) => e.tick);
      };
      expect(await passStarts(16), "16 clips: 2 frames a pass").to.deep.equal([0, 2, 4, 6]);
      expect(await passStarts(8), "8 clips (half a 16-clip batch): 4 frames a pass").to.deep.equal([0, 4]);
    } finally {
      await exec.close();
    }
  });

  it("balancedStages minimises the most expensive stage", () => {
    expect(balancedStages([1, 1, 1, 1], 2)).to.deep.equal([[0, 1], [2, 3]]);
    expect(balancedStages([5, 1, 1, 1, 1, 1], 2)).to.deep.equal([[0], [1, 2, 3, 4, 5]]);
    expect(balancedStages([1, 2, 3], 5)).to.deep.equal([[0], [1], [2]]);
    expect(balancedStages([3, 1, 1, 1, 3], 3)).to.deep.equal([[0], [1, 2, 3], [4]]);
  });
});
