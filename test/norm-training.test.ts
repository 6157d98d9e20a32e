/**
 * Training with normalisation layers and residual units through the real trainers:
 *  - the static-clip property (Sideways G_k = BP G_k) and BP's independence of the pass size
 *    still hold with per-frame batch statistics;
 *  - running statistics: Sideways' equal BP's on the first m_k frames, m_k being the frames block k
 *    normalised (fewer in Sideways, which is the only difference), and both equal a float64
 *    replay of PyTorch's update rule;
 *  - depth-parallel executors give bit-identical weights and buffers;
 *  - data-parallel replicas refuse batch_norm (exit-2 SpecError);
 *  - evaluation normalises with the running statistics.
 */
import { expect } from "chai";
import { InputError, SpecError } from "../src/errors.js";
import { PORTABLE_TARGET, type GraphTarget } from "../src/graph/graph-builder.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { applyBlockStats } from "../src/model/buffers.js";
import { decodeWeights, encodeWeights } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import type { Model, Weights } from "../src/model/model.js";
import { parseSafetensors } from "../src/model/safetensors.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { Executor, Method } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { ReplicaExecutor } from "../src/train/replica-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { METHOD_NAMES } from "../src/schedule/registry.js";
import { refFrameStats } from "./reference/layers-ref.js";
import { refModelForward } from "./reference/model-ref.js";
import { firstFrames, frameOf, normModel, randomClips, relDiff, sameBits } from "./helpers/tiny-models.js";
import { CPU_ONE_THREAD as cpu, withoutFusedBp } from "./helpers/executors.js";

async function trainSteps(model: Model, exec: Executor, method: Method, steps: number): Promise<Weights> {
  const weights = initWeights(model, 5);
  const opt = createOptimizer({ kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: false, weight_decay: 0 });
  for (let step = 0; step < steps; step++) {
    const r = await exec.runBatch(method, randomClips(model, 3, 7, 40 + step), weights, { bpFramesPerPass: 2 });
    opt.step(weights, r.grads, 0.05);
    applyBlockStats(model, weights, r.stats);
  }
  return weights;
}

describe("training with batch_norm, group_norm and residual units", function () {
  this.timeout(120_000);
  const model = normModel();
  const graphs = buildAllBlockGraphs(model);
  const blockByBlock = withoutFusedBp(graphs);

  it("blocks: conv-BN-ReLU is one block, a residual unit with the layers after it another; PyTorch's state_dict names", () => {
    expect(model.blocks.map((b) => b.layers.map((l) => l.spec.type))).to.deep.equal([
      ["conv2d", "batch_norm", "relu"],
      ["conv2d", "batch_norm", "relu"],
      ["residual", "relu", "global_avg_pool"],
      ["linear"],
    ]);
    expect(model.params.map((p) => p.name)).to.deep.equal([
      "0.weight", "1.weight", "1.bias", "3.weight", "4.weight", "4.bias",
      "6.layers.0.weight", "6.layers.1.weight", "6.layers.1.bias", "6.layers.3.weight", "6.layers.4.weight", "6.layers.4.bias",
      "9.weight", "9.bias",
    ]);
    expect(model.buffers.map((b) => b.name)).to.deep.equal([
      "1.running_mean", "1.running_var", "1.num_batches_tracked",
      "4.running_mean", "4.running_var", "4.num_batches_tracked",
      "6.layers.4.running_mean", "6.layers.4.running_var", "6.layers.4.num_batches_tracked",
    ]);
  });

  it("initialisation as PyTorch's BatchNorm2d and GroupNorm: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0", () => {
    const w = initWeights(model, 9);
    const all = (name: string, v: number) => expect([...w.get(name)!].every((x) => x === v), `${name} all ${v}`).to.equal(true);
    for (const prefix of ["1.", "4.", "6.layers.4."]) {
      all(`${prefix}weight`, 1);
      all(`${prefix}bias`, 0);
      all(`${prefix}running_mean`, 0);
      all(`${prefix}running_var`, 1);
      all(`${prefix}num_batches_tracked`, 0);
    }
    all("6.layers.1.weight", 1);
    all("6.layers.1.bias", 0);
    // Convolutions keep the kaiming-uniform default: bound 1/sqrt(fan_in), and not constant.
    const conv = w.get("6.layers.0.weight")!;
    expect(Math.max(...conv.map(Math.abs))).to.be.at.most(1 / Math.sqrt(6 * 9));
    expect(new Set(conv).size).to.be.above(100);
  });

  it("static clip: Sideways G_k equals BP G_k for every block, and BP's gradient does not depend on the pass size (relative 1e-5; portable and CPU graphs)", async () => {
    // Tolerance as test/sideways-rule.test.ts: the same float32 values summed in other orders.
    for (const target of [PORTABLE_TARGET, await graphTargetFor(cpu)]) await staticClipCheck(target);
  });

  async function staticClipCheck(target: GraphTarget): Promise<void> {
    const exec = await SequentialExecutor.create(model, buildAllBlockGraphs(model, target), cpu);
    try {
      const T = 2 * model.blocks.length + 1;
      const batch = randomClips(model, 3, T, 21, true);
      const weights = initWeights(model, 3);
      const bp1 = await exec.runBatch("bp", batch, weights, { bpFramesPerPass: 1 });
      const bpAll = await exec.runBatch("bp", batch, weights, { bpFramesPerPass: "all" });
      const sw = await exec.runBatch("sideways", batch, weights);
      for (const p of model.params) {
        const where = `${p.name}, nchwcBlock ${target.nchwcBlock}`;
        expect(relDiff(bpAll.grads.get(p.name)!, bp1.grads.get(p.name)!), `${where}: BP all frames vs one by one`).to.be.below(1e-5);
        expect(relDiff(sw.grads.get(p.name)!, bp1.grads.get(p.name)!), `${where}: Sideways vs BP`).to.be.below(1e-5);
      }
      // ...and not trivially: a non-static clip makes them differ.
      const moving = randomClips(model, 3, T, 21);
      const a = await exec.runBatch("bp", moving, weights, { bpFramesPerPass: 1 });
      const b = await exec.runBatch("sideways", moving, weights);
      expect(relDiff(a.grads.get("0.weight")!, b.grads.get("0.weight")!)).to.be.above(1e-3);
    } finally {
      await exec.close();
    }
  }

  it("running statistics: Sideways' equal BP's on the frames each block normalised; both follow PyTorch's rule (float64 replay)", async () => {
    const exec = await SequentialExecutor.create(model, blockByBlock, cpu);
    try {
      const T = 9;
      const B = 3;
      const batch = randomClips(model, B, T, 22, true);
      const init = initWeights(model, 4);
      const sideways = new Map([...init].map(([k, v]) => [k, v.slice()]));
      const sw = await exec.runBatch("sideways", batch, init);
      applyBlockStats(model, sideways, sw.stats);
      for (const layer of model.layers.filter((l) => l.buffers.length > 0)) {
        const prefix = layer.spec.type === "residual" ? `${layer.index}.layers.4.` : `${layer.index}.`;
        const m = sideways.get(`${prefix}num_batches_tracked`)![0];
        const block = layer.params[0].blockIndex;
        // Block k gets its first frame at tick k: it normalises at most T - k frames.
        expect(m, `frames normalised by layer ${layer.index} (block ${block})`).to.be.within(1, T - block);
        const bpWeights = new Map([...init].map(([k, v]) => [k, v.slice()]));
        const bp = await exec.runBatch("bp", firstFrames(batch, m), init, { bpFramesPerPass: 1 });
        applyBlockStats(model, bpWeights, bp.stats);
        for (const suffix of ["running_mean", "running_var", "num_batches_tracked"]) {
          const name = prefix + suffix;
          expect(sameBits(sideways.get(name)!, bpWeights.get(name)!), `${name}: Sideways vs BP on ${m} frames`).to.equal(true);
        }
      }
      // Block 0's statistics against a float64 replay on moving clips (each frame its own
      // statistics, so the order of the updates shows): frame t's statistics over its B clips,
      // running = (1 - m) running + m stat with the unbiased variance, for t = 0 .. T-1.
      const moving = randomClips(model, B, T, 24);
      const bpWeights = new Map([...init].map(([k, v]) => [k, v.slice()]));
      const bp = await exec.runBatch("bp", moving, init, { bpFramesPerPass: 3 });
      applyBlockStats(model, bpWeights, bp.stats);
      const w64 = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
      // Layer 1 (momentum 0.1, 4 channels of 8x8) and layer 4 (momentum 0.2, 6 channels of 4x4).
      for (const { layer, momentum, channels, size } of [
        { layer: 1, momentum: 0.1, channels: 4, size: 8 },
        { layer: 4, momentum: 0.2, channels: 6, size: 4 },
      ]) {
        const n = B * size * size;
        const rm = new Float64Array(channels);
        const rv = new Float64Array(channels).fill(1);
        for (let t = 0; t < T; t++) {
          const acts = refModelForward(model, w64, { data: Float64Array.from(frameOf(moving, t).clips), dims: [B, 1, 8, 8] });
          const { mean, variance } = refFrameStats(acts[layer], B);
          for (let c = 0; c < channels; c++) {
            rm[c] = (1 - momentum) * rm[c] + momentum * mean[0][c];
            rv[c] = (1 - momentum) * rv[c] + momentum * ((variance[0][c] * n) / (n - 1));
          }
        }
        // float32 statistics of 48-192 values and 9 float32 updates: relative 1e-5.
        expect(relDiff(bpWeights.get(`${layer}.running_mean`)!, rm), `layer ${layer} running_mean`).to.be.below(1e-5);
        expect(relDiff(bpWeights.get(`${layer}.running_var`)!, rv), `layer ${layer} running_var`).to.be.below(1e-5);
        expect(bpWeights.get(`${layer}.num_batches_tracked`)![0]).to.equal(T);
      }
    } finally {
      await exec.close();
    }
  });

  // The exact pipelined rules run every block's forwards in frame order, as BP does.
  for (const method of ["pipelined-bp", "gpipe"] as const) {
    it(`${method}: the schedule interpreter updates the running statistics exactly as BP frame by frame`, async () => {
      const exec = await SequentialExecutor.create(model, blockByBlock, cpu);
      try {
        const batch = randomClips(model, 3, 7, 23);
        const init = initWeights(model, 4);
        const pipelined = new Map([...init].map(([k, v]) => [k, v.slice()]));
        applyBlockStats(model, pipelined, (await exec.runBatch(method, batch, init)).stats);
        const bp = new Map([...init].map(([k, v]) => [k, v.slice()]));
        applyBlockStats(model, bp, (await exec.runBatch("bp", batch, init, { bpFramesPerPass: 1 })).stats);
        for (const b of model.buffers) expect(sameBits(pipelined.get(b.name)!, bp.get(b.name)!), b.name).to.equal(true);
        expect(pipelined.get("1.num_batches_tracked")![0]).to.equal(7);
      } finally {
        await exec.close();
      }
    });
  }

  // Every rule of the registry, so that a rule added there is checked here too.
  for (const method of METHOD_NAMES) {
    it(`${method}: sequential and 2-worker depth-parallel runs give bit-identical weights and buffers after 2 updates`, async () => {
      const seq = await SequentialExecutor.create(model, blockByBlock, cpu);
      const reference = await trainSteps(model, seq, method, 2);
      await seq.close();
      const par = await ParallelExecutor.create(model, graphs, [[0, 1], [2, 3]], cpu);
      try {
        const w = await trainSteps(model, par, method, 2);
        for (const name of [...model.params, ...model.buffers].map((p) => p.name)) {
          expect(sameBits(w.get(name)!, reference.get(name)!), name).to.equal(true);
        }
        expect(w.get("1.num_batches_tracked")![0], "updates of block 0's statistics").to.be.above(0);
        expect(sameBits(w.get("1.running_mean")!, initWeights(model, 5).get("1.running_mean")!), "running mean moved").to.equal(false);
      } finally {
        await par.close();
      }
    });
  }

  it("data-parallel replicas refuse batch_norm with a SpecError (exit 2) naming the layers", async () => {
    let err: unknown;
    try {
      await ReplicaExecutor.create(model, graphs, 2, cpu);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SpecError);
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.match(/runtime\.replicas: expected 1 .*layers\.1 \(batch_norm\), layers\.4 \(batch_norm\), layers\.6 \(residual\) normalise each frame/);
  });

  /**
   * Block 0 (conv, batch norm, relu) run in evaluation mode and in training mode with these
   * running statistics, and the float64 reference of the evaluation output for a given eps.
   */
  async function withRunningStats(rm: Float32Array, rv: Float32Array) {
    const runner = await BlockRunner.create(model, [0], graphs, cpu);
    try {
      const weights = initWeights(model, 6);
      weights.set("1.running_mean", rm);
      weights.set("1.running_var", rv);
      const x = randomClips(model, 2, 1, 7);
      const input = { data: x.clips, dims: [2, 1, 8, 8] };
      const evaluated = (await runner.forwardEval(0, input, weights)).data;
      const trained = (await runner.forward(0, input, weights)).data;
      const w64 = new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)]));
      const conv = refModelForward({ ...model, layers: model.layers.slice(0, 1) }, w64, { data: Float64Array.from(x.clips), dims: [2, 1, 8, 8] })[1];
      const reference = (eps: number) =>
        conv.data.map((v, i) => {
          const c = Math.floor(i / 64) % 4;
          return Math.max(0, ((v - rm[c]) / Math.sqrt(rv[c] + eps)) * w64.get("1.weight")![c] + w64.get("1.bias")![c]);
        });
      return { evaluated, trained, reference };
    } finally {
      await runner.release();
    }
  }

  it("evaluation normalises with the running statistics (float64 reference with BN in evaluation mode)", async () => {
    const { evaluated, trained, reference } = await withRunningStats(Float32Array.of(0.3, -0.2, 0.1, 0.5), Float32Array.of(0.5, 2, 1.5, 0.8));
    expect(relDiff(evaluated, reference(1e-5))).to.be.below(1e-5);
    // The training forward normalises by the batch instead: a different output.
    expect(relDiff(trained, reference(1e-5))).to.be.above(1e-2);
  });

  it("evaluation adds eps to the running variance: a running_var near eps normalises by sqrt(running_var + eps) (float64 reference)", async () => {
    // With running_var of order 1 (the test above) eps = 1e-5 moves the output by ~1e-5, inside
    // float32 tolerance; a channel that barely varied (running_var 1e-5 .. 1e-3) is where eps matters.
    const eps = model.layers[1].spec.type === "batch_norm" ? model.layers[1].spec.eps : NaN;
    expect(eps).to.equal(1e-5); // PyTorch's BatchNorm2d default
    const { evaluated, reference } = await withRunningStats(Float32Array.of(0.3, -0.2, 0.1, 0.5), Float32Array.of(1e-4, 1e-5, 1e-3, 4e-5));
    // float32 against float64: the inputs are the same float32 values, so only rounding in the
    // graph (~1e-7 relative per op) separates them; 1e-5 is far above it.
    expect(relDiff(evaluated, reference(eps))).to.be.below(1e-5);
    // Without eps the output would be off by 0.5-41% per channel (sqrt(1 + eps / running_var) - 1): the check above tells them apart.
    expect(relDiff(reference(0), reference(eps))).to.be.above(0.05);
    expect(relDiff(evaluated, reference(0))).to.be.above(0.05);
  });

  it("checkpoints hold parameters and buffers under PyTorch's names, num_batches_tracked as I64, and read back", () => {
    const weights = initWeights(model, 8);
    weights.get("4.running_var")!.set([0.5, 1.5, 2, 3, 4, 5]);
    weights.get("4.num_batches_tracked")![0] = 37;
    const bytes = encodeWeights(model, weights);
    const { tensors } = parseSafetensors(bytes, "test");
    expect(tensors.get("4.num_batches_tracked")!.dtype).to.equal("I64");
    expect(tensors.get("4.num_batches_tracked")!.shape).to.deep.equal([]);
    expect(tensors.get("6.layers.4.running_mean")!.dtype).to.equal("F32");
    const back = decodeWeights(bytes, model, "test");
    for (const name of [...model.params, ...model.buffers].map((p) => p.name)) expect(sameBits(back.get(name)!, weights.get(name)!), name).to.equal(true);
    expect(back.get("4.num_batches_tracked")![0]).to.equal(37);
  });
});
