/**
 * The device step (src/train/device-step.ts): BP's whole step in one graph, weights and optimizer
 * state carried from call to call by onnxruntime.
 *  - against an independent float64 reference: the float64 model gradient (test/reference) and
 *    the optimizers' formulas written out here in float64, over two steps of static clips;
 *  - against the host path (executor + TypeScript optimizer + buffers) over three steps of moving
 *    clips, for SGD (plain; momentum, Nesterov, weight decay), Adam and AdamW (weight decay), parameters,
 *    optimizer state, buffers and losses;
 *  - on each GPU provider the same float64 check, and on WebGPU that the carried values stay in GPU
 *    memory between steps.
 *
 * Tolerances: parameters are compared by how far the steps moved them (|a - b| / |w_after - w_0|),
 * since the steps are small against the weights and an absolute relative error would hide
 * disagreement in the updates. 1e-4 for the float64 reference (float32 forward/backward through a
 * dozen layers, 3e-7 observed on the CPU in test/model-gradient.test.ts, and Adam's m / sqrt(v)
 * amplifies the gradient's rounding where v is small); 1e-5 against the host path, which runs the
 * same float32 graph ops and differs only in the optimizer's arithmetic (float64 per element there,
 * float32 here: a few ulp of a step).
 */
import { expect } from "chai";
import { onnx } from "../src/graph/onnx.js";
import { DataError } from "../src/errors.js";
import type { ClipBatch } from "../src/data/source.js";
import { CUDA_TARGET, PORTABLE_TARGET, type GraphForms, type GraphTarget } from "../src/graph/graph-builder.js";
import { kernelCount, opTypes } from "../src/graph/kernel-count.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { applyBlockStats } from "../src/model/buffers.js";
import { initWeights } from "../src/model/init.js";
import { loadModelFile, resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import type { ProviderOptions } from "../src/runtime/providers.js";
import { ExperimentSpec, OptimizerSpec, usesDeviceStep } from "../src/spec/experiment-spec.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { timeMajorFrames } from "../src/train/bp-stage.js";
import { clipRowsOnDevice, DeviceStep, deviceStepModelBlocker } from "../src/train/device-step.js";
import { buildDeviceStepGraph, carriedNames, type ClipInput, type DeviceStepMethod } from "../src/train/device-step-graph.js";
import { assembleBatch } from "../src/data/clip.js";
import { Rng } from "../src/util/rng.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { betweenPathsTolerance, convTolerance, describeOnGpus, type GpuUnderTest } from "./helpers/gpu-providers.js";
import { everyLayerKindSpec, fourBlockModel, normModel, offByMovement, randomByteClips, randomClips, sameBits } from "./helpers/tiny-models.js";
import { refModelGradient } from "./reference/model-ref.js";

const cpu: ProviderOptions = { provider: "cpu", threads: 1 };

/** Every candidate form of docs/PERFORMANCE.md attempts 68 and 75 at once (SIDEWAYS_GRAPH_FORMS). */
const CANDIDATE_FORMS: GraphForms = { convInputGrad: "phases", unfoldForwardChannels: 64, convRelu: "fused", convWeightGrad: "columns", paramSplit: "slices", spaceToDepth: "transpose" };

const METHODS: DeviceStepMethod[] = ["bp", "sideways"];

const OPTIMIZERS: [string, OptimizerSpec][] = [
  ["sgd", OptimizerSpec.parse({ kind: "sgd", lr: 0.1 })],
  ["sgd momentum nesterov decay", OptimizerSpec.parse({ kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01 })],
  ["adam decay", OptimizerSpec.parse({ kind: "adam", lr: 0.01, weight_decay: 0.001 })],
  // Decay large enough that leaving it out moves the weights by several percent of the update.
  ["adamw decay", OptimizerSpec.parse({ kind: "adamw", lr: 0.01, weight_decay: 0.5 })],
];

/** optimizer.ts's formulas in float64 (independent of both float32 implementations), state per parameter. */
function refOptimizerStep(spec: OptimizerSpec, w: Float64Array, g: Float64Array, state: Map<string, Float64Array>, step: number): void {
  const slot = (name: string) => state.get(name) ?? state.set(name, new Float64Array(w.length)).get(name)!;
  for (let i = 0; i < w.length; i++) {
    // AdamW decays the weight itself (decoupled), the others add the decay to the gradient.
    const d = spec.kind === "adamw" ? g[i] : g[i] + spec.weight_decay * w[i];
    if (spec.kind === "adamw") w[i] *= 1 - spec.lr * spec.weight_decay;
    if (spec.kind === "sgd") {
      if (spec.momentum === 0) {
        w[i] -= spec.lr * d;
        continue;
      }
      const buf = slot("buf");
      buf[i] = step === 1 ? d : spec.momentum * buf[i] + d;
      w[i] -= spec.lr * (spec.nesterov ? d + spec.momentum * buf[i] : buf[i]);
    } else {
      const [b1, b2] = spec.betas;
      const m = slot("m");
      const v = slot("v");
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      w[i] -= ((spec.lr / (1 - b1 ** step)) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** step) + spec.eps);
    }
  }
}

/** Two float64 steps on static clips: BP's gradient is then the mean-loss gradient of the B distinct frames. */
function refTwoSteps(model: Model, weights: Weights, batch: ClipBatch, spec: OptimizerSpec): Map<string, Float64Array> {
  const [B, T, C, H, W] = batch.dims;
  const frameSize = C * H * W;
  const frames = new Float64Array(B * frameSize);
  for (let b = 0; b < B; b++) frames.set(batch.clips.subarray(b * T * frameSize, (b * T + 1) * frameSize), b * frameSize);
  const w64 = new Map(model.params.map((p) => [p.name, Float64Array.from(weights.get(p.name)!)]));
  const state = new Map(model.params.map((p) => [p.name, new Map<string, Float64Array>()]));
  for (let step = 1; step <= 2; step++) {
    const { grads } = refModelGradient(model, w64, { data: frames, dims: [B, C, H, W] }, batch.labels);
    for (const p of model.params) refOptimizerStep(spec, w64.get(p.name)!, grads.get(p.name)!, state.get(p.name)!, step);
  }
  return w64;
}

async function deviceSteps(model: Model, weights: Weights, batches: ClipBatch[], spec: OptimizerSpec, opts: ProviderOptions, target: GraphTarget, method: DeviceStepMethod = "bp", clipInput: ClipInput = "float32", gradClipNorm?: number, labelSmoothing = 0) {
  const step = await DeviceStep.create(model, spec, batches[0].dims[1], opts, target, method, clipInput, 1, gradClipNorm, labelSmoothing);
  const optimizer = createOptimizer(spec);
  const out = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const losses: number[] = [];
  const gradNorms: number[] = [];
  try {
    step.load(out, optimizer);
    for (const batch of batches) {
      const r = await step.step(batch, spec.lr);
      losses.push(...r.losses);
      if (r.gradNorm !== undefined) gradNorms.push(r.gradNorm);
      applyBlockStats(model, out, r.stats);
    }
    const placement = step.placement;
    await step.sync(out, optimizer);
    return { weights: out, optimizer, losses, placement, gradNorms };
  } finally {
    await step.release();
  }
}

const MODELS: [string, () => Model][] = [
  ["every-layer-kind", () => resolveModel(everyLayerKindSpec, "every-layer-kind")],
  ["four-block", fourBlockModel],
  ["norm-tiny", normModel],
];

/**
 * Batch norm and max-pool in one block (as vgg-bn-mnist's first blocks): max-pool's Indices number
 * the whole batch, so Sideways' clip graph runs that block's forward twice, over the frames no
 * backward reads and over those it reads, and joins the two halves' batch statistics in frame
 * order (block-graphs.ts outputStats). No other model here has both in one block.
 */
const normPoolModel = () =>
  resolveModel(
    {
      name: "norm-pool",
      input: { channels: 1, height: 8, width: 8 },
      classes: 3,
      layers: [
        // No conv bias before a batch norm: its gradient is 0 up to rounding, which no relative check can hold.
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1, bias: false },
        { type: "batch_norm" },
        { type: "relu" },
        { type: "maxpool2d", kernel: 2 },
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1, bias: false },
        { type: "batch_norm" },
        { type: "relu" },
        { type: "global_avg_pool" },
        { type: "linear", out_features: 3 },
      ],
    },
    "norm-pool",
  );

/** Clip length per rule: Sideways needs 2L-1 frames for every block to get a gradient. */
function framesFor(method: DeviceStepMethod, model: Model): number {
  return method === "bp" ? 4 : 2 * model.blocks.length - 1;
}

/**
 * Static clips (every frame of a clip the same) make Sideways' G_k equal BP's (docs/design/sideways.md),
 * so the one float64 reference of BP's two steps checks both rules.
 */
function checkAgainstReference(gpu: { opts: ProviderOptions; target: GraphTarget }, tol = 1e-4): void {
  for (const [name, makeModel] of MODELS.filter(([n]) => n !== "norm-tiny")) {
    for (const [optName, spec] of OPTIMIZERS) for (const method of METHODS) {
      it(`${method}, ${name}, ${optName}: two steps equal the float64 reference (${tol} of the update)`, async () => {
        const model = makeModel();
        const weights = initWeights(model, 3);
        const batch = randomClips(model, 3, framesFor(method, model), 11, true);
        const ref = refTwoSteps(model, weights, batch, spec);
        const got = await deviceSteps(model, weights, [batch, batch], spec, gpu.opts, gpu.target, method);
        for (const p of model.params) {
          expect(offByMovement(got.weights.get(p.name)!, ref.get(p.name)!, weights.get(p.name)!), p.name).to.be.below(tol);
        }
      });
    }
  }
}

/** The executor's path (tick by tick for Sideways) and the TypeScript optimizer, on the CPU. */
async function hostSteps(model: Model, weights: Weights, batches: ClipBatch[], spec: OptimizerSpec, method: DeviceStepMethod, labelSmoothing = 0) {
  const host = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const optimizer = createOptimizer(spec);
  const exec = await SequentialExecutor.create(model, buildAllBlockGraphs(model, PORTABLE_TARGET), cpu);
  const losses: number[] = [];
  try {
    for (const batch of batches) {
      const r = await exec.runBatch(method, batch, host, { bpFramesPerPass: "all", labelSmoothing });
      losses.push(...r.losses);
      optimizer.step(host, r.grads, spec.lr);
      applyBlockStats(model, host, r.stats);
    }
  } finally {
    await exec.close();
  }
  return { weights: host, optimizer, losses };
}

/**
 * Three steps on moving clips (so Sideways' pairing of frames matters) against the host path:
 * parameters, buffers and optimizer state within `tol` of the update, losses within `tol`.
 * `device` is read when the tests run (describeOnGpus sets its target in a before hook).
 */
/** A host-path comparison: model name and maker, optimizer name and spec, rule. */
type HostCase = [string, () => Model, string, OptimizerSpec, DeviceStepMethod];

function checkAgainstHostPath(device: { opts: ProviderOptions; target: GraphTarget }, tol: number, cases: HostCase[]): void {
  for (const [name, makeModel, optName, spec, method] of cases) {
    it(`${method}, ${name}, ${optName}: three steps equal the host path on the CPU (parameters, optimizer state, buffers, losses; ${tol})`, async () => {
      const model = makeModel();
      const weights = initWeights(model, 4);
      // Sideways: one frame past 2L-1, so that blocks hold different numbers of backwards.
      const T = method === "bp" ? 4 : 2 * model.blocks.length;
      const batches = [1, 2, 3].map((seed) => randomClips(model, 3, T, seed));
      const got = await deviceSteps(model, weights, batches, spec, device.opts, device.target, method);
      const host = await hostSteps(model, weights, batches, spec, method);
      for (const p of model.params) expect(offByMovement(got.weights.get(p.name)!, host.weights.get(p.name)!, weights.get(p.name)!), p.name).to.be.below(tol);
      for (const b of model.buffers) expect(offByMovement(got.weights.get(b.name)!, host.weights.get(b.name)!, weights.get(b.name)!), b.name).to.be.below(tol);
      const hostState = host.optimizer.exportState();
      const gotState = got.optimizer.exportState();
      expect([...gotState.keys()].sort()).to.deep.equal([...hostState.keys()].sort());
      for (const [key, v] of hostState) {
        // Slots start at 0, so "moved" is the slot itself; step counts are exact.
        expect(offByMovement(gotState.get(key)!, v, new Float32Array(v.length)), key).to.be.below(tol);
      }
      expect(got.losses.length).to.equal(host.losses.length);
      got.losses.forEach((l, i) => expect(Math.abs(l - host.losses[i])).to.be.below(tol * Math.max(1, Math.abs(host.losses[i]))));
    });
  }
}

describe("device step (CPU provider)", () => {
  checkAgainstReference({ opts: cpu, target: PORTABLE_TARGET });
  checkAgainstHostPath(
    { opts: cpu, target: PORTABLE_TARGET },
    1e-5,
    MODELS.flatMap(([name, makeModel]) => OPTIMIZERS.flatMap(([optName, spec]) => METHODS.map((m): HostCase => [name, makeModel, optName, spec, m]))),
  );

  // The CPU target's own formulations (NCHWc convs, unfold weight gradients), as `sideways run`
  // builds the step on the CPU; the target is probed in a before hook.
  const cpuTarget = { opts: cpu, target: PORTABLE_TARGET };
  before(async () => {
    cpuTarget.target = await graphTargetFor(cpu);
  });
  checkAgainstHostPath(cpuTarget, 1e-5, [
    ["norm-pool (CPU target)", normPoolModel, ...OPTIMIZERS[2], "sideways"],
    ["norm-tiny (CPU target)", normModel, ...OPTIMIZERS[1], "sideways"],
    ["every-layer-kind (CPU target)", () => resolveModel(everyLayerKindSpec, "every-layer-kind"), ...OPTIMIZERS[2], "sideways"],
    ["four-block (CPU target)", fourBlockModel, ...OPTIMIZERS[0], "bp"],
  ]);

  // The CUDA provider's graphs with the candidate forms of attempt 68 (SIDEWAYS_GRAPH_FORMS;
  // portable ONNX and one contrib op): sub-pixel input gradients handed down as phases, forwards
  // over the unfold, conv + ReLU as FusedConv, weight gradients from the strided unfold.
  const candidate: GraphTarget = { ...CUDA_TARGET, ...CANDIDATE_FORMS };
  const everyKind = () => resolveModel(everyLayerKindSpec, "every-layer-kind");
  checkAgainstHostPath({ opts: cpu, target: candidate }, 1e-5, [
    ["every-layer-kind (CUDA_TARGET and every candidate form)", everyKind, ...OPTIMIZERS[2], "sideways"],
    ["every-layer-kind (CUDA_TARGET and every candidate form)", everyKind, ...OPTIMIZERS[1], "bp"],
    ["four-block (CUDA_TARGET and every candidate form)", fourBlockModel, ...OPTIMIZERS[0], "bp"],
  ]);

  // CUDA_TARGET's Sideways clip as it is (one forward per block shared with its backward, its
  // saved values cut to the later frames: max-pool indices, batch and group norm, residual units;
  // phases handed down: docs/PERFORMANCE.md attempt 74) and as it was (sidewaysClip split).
  checkAgainstHostPath({ opts: cpu, target: CUDA_TARGET }, 1e-5, [
    ["norm-pool (CUDA_TARGET: a block with batch norm and max-pool, forward split)", normPoolModel, ...OPTIMIZERS[0], "sideways"],
    ["four-block (CUDA_TARGET)", fourBlockModel, ...OPTIMIZERS[1], "sideways"],
    ["every-layer-kind (CUDA_TARGET)", everyKind, ...OPTIMIZERS[0], "sideways"],
    ["norm-tiny (CUDA_TARGET)", normModel, ...OPTIMIZERS[2], "sideways"],
  ]);
  checkAgainstHostPath({ opts: cpu, target: { ...CUDA_TARGET, sidewaysClip: "split" } }, 1e-5, [["four-block (CUDA_TARGET, sidewaysClip split)", fourBlockModel, ...OPTIMIZERS[1], "sideways"]]);

  it("adamw at a rate that changes every step (a schedule): the device's decay factor follows each step's rate, as the host AdamW's", async () => {
    const model = fourBlockModel();
    const spec = OptimizerSpec.parse({ kind: "adamw", lr: 0.01, weight_decay: 0.5 });
    const lrs = [0.01, 0.002, 0.03];
    const weights = initWeights(model, 4);
    const batches = [1, 2, 3].map((seed) => randomClips(model, 3, 4, seed));
    const step = await DeviceStep.create(model, spec, 4, cpu, PORTABLE_TARGET, "bp");
    const got = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
    const gotOptimizer = createOptimizer(spec);
    try {
      step.load(got, gotOptimizer);
      for (const [j, batch] of batches.entries()) applyBlockStats(model, got, (await step.step(batch, lrs[j])).stats);
      await step.sync(got, gotOptimizer);
    } finally {
      await step.release();
    }
    const hostAt = async (rates: number[]) => {
      const host = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
      const optimizer = createOptimizer(spec);
      const exec = await SequentialExecutor.create(model, buildAllBlockGraphs(model, PORTABLE_TARGET), cpu);
      try {
        for (const [j, batch] of batches.entries()) {
          const r = await exec.runBatch("bp", batch, host, { bpFramesPerPass: "all" });
          optimizer.step(host, r.grads, rates[j]);
          applyBlockStats(model, host, r.stats);
        }
      } finally {
        await exec.close();
      }
      return host;
    };
    const host = await hostAt(lrs);
    for (const p of model.params) expect(offByMovement(got.get(p.name)!, host.get(p.name)!, weights.get(p.name)!), p.name).to.be.below(1e-5);
    expect([...gotOptimizer.exportState().get(`${model.params[0].name}/step`)!]).to.deep.equal([3]);
    // Not vacuous: the same steps at the first rate throughout end elsewhere.
    const constant = await hostAt(lrs.map(() => lrs[0]));
    const p0 = model.params[0].name;
    expect(offByMovement(constant.get(p0)!, host.get(p0)!, weights.get(p0)!)).to.be.above(0.1);
  });

  it("Sideways clip, sidewaysClip shared: one forward per block, phases handed down, fewer kernels than split", () => {
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
    const ops = (model: Model, target: GraphTarget) => opTypes(buildDeviceStepGraph(model, spec, 2 * model.blocks.length, target, "sideways"));
    const count = (list: string[], op: string) => list.filter((o) => o === op).length;
    const kernels = kernelCount;
    const four = fourBlockModel();
    const [shared, split] = [ops(four, CUDA_TARGET), ops(four, { ...CUDA_TARGET, sidewaysClip: "split" })];
    // Three convs, each fused with its ReLU: once per block shared; blocks 0-2 (s > 0) twice split.
    expect(count(shared, "FusedConv")).to.equal(3);
    expect(count(split, "FusedConv")).to.equal(6);
    // Block 1's stride-2 input gradient reaches block 0 as phases: no interleaving DepthToSpace.
    expect(count(shared, "DepthToSpace")).to.be.below(count(split, "DepthToSpace"));
    expect(kernels(shared)).to.be.below(kernels(split));
    // Batch norm, group norm and a residual unit cut their saved values too: the blocks with s > 0
    // run their convs once, not twice.
    const norm = normModel();
    const [normShared, normSplit] = [ops(norm, CUDA_TARGET), ops(norm, { ...CUDA_TARGET, sidewaysClip: "split" })];
    const convs = (list: string[]) => count(list, "Conv") + count(list, "FusedConv");
    expect(convs(normShared), "norm-tiny convs, shared").to.be.below(convs(normSplit));
    expect(kernels(normShared)).to.be.below(kernels(normSplit));
  });

  it("steps every parameter with one set of optimizer nodes on one flat vector per carried value", () => {
    // Momentum adds a Mul and an Add to SGD's step: once for the whole vector, not once per
    // parameter (four-block has 8), and the step's carried inputs are the vector and its buffer.
    const model = fourBlockModel();
    const graph = (spec: OptimizerSpec) => onnx.ModelProto.decode(buildDeviceStepGraph(model, spec, 3, PORTABLE_TARGET)).graph!;
    const arithmetic = (spec: OptimizerSpec) => graph(spec).node!.filter((n) => ["Add", "Mul", "Sub", "Div"].includes(n.opType!)).length;
    const plain = OptimizerSpec.parse({ kind: "sgd", lr: 0.1 });
    const momentum = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
    expect(model.params.length).to.equal(8);
    expect(arithmetic(momentum) - arithmetic(plain)).to.equal(2);
    const inputs = graph(momentum).input!.map((i) => i.name);
    expect(inputs.filter((n) => model.params.some((p) => n!.startsWith(p.name)))).to.deep.equal([]);
    expect(inputs).to.include.members(carriedNames(momentum));
    expect(carriedNames(momentum)).to.have.length(2);
  });

  it("paramSplit slices: a Slice per parameter instead of one Split, and the same steps bit for bit", async () => {
    const model = fourBlockModel();
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
    const slicing: GraphTarget = { ...PORTABLE_TARGET, paramSplit: "slices" };
    const ops = onnx.ModelProto.decode(buildDeviceStepGraph(model, spec, 3, slicing)).graph!.node!.map((n) => n.opType);
    expect(ops).to.not.include("Split");
    expect(ops.filter((op) => op === "Slice").length).to.be.at.least(model.params.length);
    for (const method of METHODS) {
      const batches = [1, 2].map((seed) => randomClips(model, 2, method === "bp" ? 3 : 2 * model.blocks.length, seed));
      const [split, sliced] = [await deviceSteps(model, initWeights(model, 2), batches, spec, cpu, PORTABLE_TARGET, method), await deviceSteps(model, initWeights(model, 2), batches, spec, cpu, slicing, method)];
      for (const p of model.params) expect(sameBits(sliced.weights.get(p.name)!, split.weights.get(p.name)!), `${method} ${p.name}`).to.equal(true);
    }
  });

  it("maxSplitOutputs: the flat vector cut by Splits of at most that many outputs, the same steps bit for bit", async () => {
    const model = fourBlockModel();
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
    const capped: GraphTarget = { ...PORTABLE_TARGET, maxSplitOutputs: 3 };
    const splits = onnx.ModelProto.decode(buildDeviceStepGraph(model, spec, 3, capped)).graph!.node!.filter((n) => n.opType === "Split");
    // 8 parameters: a Split into runs of 3, 3 and 2, then one Split per run.
    expect(splits.map((n) => n.output!.length)).to.deep.equal([3, 3, 3, 2]);
    for (const method of METHODS) {
      const batches = [1, 2].map((seed) => randomClips(model, 2, method === "bp" ? 3 : 2 * model.blocks.length, seed));
      const [one, nested] = [await deviceSteps(model, initWeights(model, 2), batches, spec, cpu, PORTABLE_TARGET, method), await deviceSteps(model, initWeights(model, 2), batches, spec, cpu, capped, method)];
      for (const p of model.params) expect(sameBits(nested.weights.get(p.name)!, one.weights.get(p.name)!), `${method} ${p.name}`).to.equal(true);
    }
  });

  it("carries its values in host memory on the CPU", async () => {
    const model = fourBlockModel();
    const got = await deviceSteps(model, initWeights(model, 1), [randomClips(model, 2, 3, 5)], OPTIMIZERS[0][1], cpu, PORTABLE_TARGET);
    expect(got.placement).to.equal("host");
  });
});

/** A 3-channel model, for the per-channel scale and shift of 8-bit clips. */
function rgbModel(): Model {
  const conv = (out_channels: number, stride = 1) => ({ type: "conv2d", out_channels, kernel: 3, stride, padding: 1 });
  return resolveModel({ name: "rgb", input: { channels: 3, height: 8, width: 8 }, classes: 3, layers: [conv(4), { type: "relu" }, conv(6, 2), { type: "relu" }, { type: "global_avg_pool" }, { type: "linear", out_features: 3 }] }, "rgb");
}

/** Batches of random 8-bit clips through the data pipeline's assembly (src/data/clip.ts): float clips and their pixels, normalised per channel. */
function pixelBatches(model: Model, B: number, T: number, seeds: number[]): ClipBatch[] {
  const { channels, height, width } = model.input;
  const shape = { frames: T, channels, height, width };
  const normalize = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const rng = new Rng(0); // unread: the frames are not shuffled
  return seeds.map((seed) => assembleBatch(randomByteClips(B, T * channels * height * width, seed, model.classes), shape, { shuffleFrames: false, normalize, rng, evalRng: rng }, "train", 0));
}

/**
 * The device step taking 8-bit clips (ClipInput uint8) against the same batches' float clips:
 * its Cast, Mul and Add give the host's float clips exactly (checked alone, bit for bit), so every
 * step matches bit for bit, except on CUDA, where two sessions (here of two graphs) may pick
 * different cuDNN kernels: there the steps agree within convTolerance.
 */
function checkPixelInput(gpu: GpuUnderTest | null): void {
  const opts = gpu?.opts ?? cpu;
  it("the step's clip input makes 8-bit pixels the host's float clips bit for bit, frame-major", async () => {
    const model = rgbModel();
    const [B, T] = [5, 3];
    const batch = pixelBatches(model, B, T, [9])[0];
    const rows = await clipRowsOnDevice(batch, opts);
    expect(new Set(batch.pixels!.data).size, "pixel values covered").to.be.above(250);
    expect(sameBits(rows, timeMajorFrames(batch.clips, batch.dims, 0, T).data)).to.equal(true);
  });
  for (const method of METHODS) {
    it(`${method}: 8-bit clips step the weights and state as their float clips (bit for bit; within 1e-3 on CUDA)`, async () => {
      const model = rgbModel();
      const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
      const batches = pixelBatches(model, 3, method === "bp" ? 3 : 2 * model.blocks.length - 1, [1, 2]);
      const target = gpu?.target ?? CUDA_TARGET;
      const float = await deviceSteps(model, initWeights(model, 3), batches, spec, opts, target, method, "float32");
      const bytes = await deviceSteps(model, initWeights(model, 3), batches, spec, opts, target, method, "uint8");
      const state = [float.optimizer.exportState(), bytes.optimizer.exportState()];
      if (gpu?.provider === "cuda") {
        const tol = convTolerance(gpu, 0);
        bytes.losses.forEach((l, i) => expect(Math.abs(l - float.losses[i]), `loss ${i}`).to.be.below(tol * Math.max(1, Math.abs(l))));
        for (const p of model.params) expect(offByMovement(bytes.weights.get(p.name)!, float.weights.get(p.name)!, initWeights(model, 3).get(p.name)!), p.name).to.be.below(tol);
        return;
      }
      expect(bytes.losses).to.deep.equal(float.losses);
      for (const p of model.params) expect(sameBits(bytes.weights.get(p.name)!, float.weights.get(p.name)!), `${method} ${p.name}`).to.equal(true);
      for (const [name, s] of state[0]) expect(sameBits(state[1].get(name)!, s), name).to.equal(true);
    });
  }
}

describe("device step on 8-bit clips, CPU provider (CUDA_TARGET's graphs)", () => {
  checkPixelInput(null);

  it("declares the clips uint8 with a per-channel scale and shift, and refuses a batch without pixels", async () => {
    const model = rgbModel();
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1 });
    const inputs = onnx.ModelProto.decode(buildDeviceStepGraph(model, spec, 3, CUDA_TARGET, "bp", "uint8")).graph!.input!;
    const byName = new Map(inputs.map((i) => [i.name, i.type!.tensorType!]));
    expect(byName.get("clips")!.elemType).to.equal(onnx.TensorProto.DataType.UINT8);
    for (const n of ["clip_scale", "clip_shift"]) expect(byName.get(n)!.shape!.dim!.map((d) => Number(d.dimValue))).to.deep.equal([3, 1, 1]);
    const floatBatch = { ...pixelBatches(model, 2, 3, [4])[0]!, pixels: undefined };
    const err = await deviceSteps(model, initWeights(model, 1), [floatBatch], spec, cpu, CUDA_TARGET, "bp", "uint8").then(() => null, (e: unknown) => e);
    expect(String(err)).to.match(/device step built for 8-bit clips got a batch without pixels/);
  });
});

describe("device step: train.label_smoothing", () => {
  for (const method of ["bp", "sideways"] as const) {
    it(`${method}: two steps with ε = 0.1 equal the host path's with it (1e-5 of the update; losses 1e-5), not the one-hot steps`, async () => {
      const model = fourBlockModel();
      const weights = initWeights(model, 4);
      const batches = [1, 2].map((seed) => randomClips(model, 3, 2 * model.blocks.length, seed));
      const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 });
      const cpuTarget = await graphTargetFor(cpu);
      const got = await deviceSteps(model, weights, batches, spec, cpu, cpuTarget, method, "float32", undefined, 0.1);
      const host = await hostSteps(model, weights, batches, spec, method, 0.1);
      const oneHot = await hostSteps(model, weights, batches, spec, method, 0);
      for (const p of model.params) {
        expect(offByMovement(got.weights.get(p.name)!, host.weights.get(p.name)!, weights.get(p.name)!), p.name).to.be.below(1e-5);
        expect(offByMovement(got.weights.get(p.name)!, oneHot.weights.get(p.name)!, weights.get(p.name)!), `${p.name} against one-hot`).to.be.above(1e-3);
      }
      got.losses.forEach((l, i) => expect(Math.abs(l - host.losses[i]!)).to.be.below(1e-5 * Math.max(1, host.losses[i]!)));
    });
  }
});

describe("device step: labels", () => {
  it("refuses a label outside the model's classes, naming its row (the graph's loss would count its zero one-hot row as 0)", async () => {
    const model = fourBlockModel();
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.1 });
    const batch = randomClips(model, 2, 3, 5);
    const bad = { ...batch, labels: Int32Array.from([0, model.classes]) };
    const err = await deviceSteps(model, initWeights(model, 1), [bad], spec, cpu, PORTABLE_TARGET).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(DataError);
    expect(String(err)).to.match(new RegExp(`label ${model.classes} of batch row 1 is outside the model's classes`));
  });
});

describeOnGpus("device step", (gpu) => {
  // 1e-4: the GPU's float32 reductions run in other orders than the CPU's; on CUDA 1e-3 from
  // float64 and 2e-3 from the CPU's host path, since cuDNN's kernels are picked anew in each
  // session (test/helpers/gpu-providers.ts convTolerance, betweenPathsTolerance).
  checkAgainstReference(gpu, convTolerance(gpu, 1e-4));
  checkPixelInput(gpu);
  checkAgainstHostPath(gpu, betweenPathsTolerance(gpu, 1e-4), [
    ["norm-tiny", normModel, ...OPTIMIZERS[0], "sideways"],
    ["every-layer-kind", () => resolveModel(everyLayerKindSpec, "every-layer-kind"), ...OPTIMIZERS[2], "sideways"],
    ["norm-tiny", normModel, ...OPTIMIZERS[1], "bp"],
  ]);

  // The candidate forms on this GPU's kernels (gpu.target is set in a before hook: read it late).
  checkAgainstHostPath({ opts: gpu.opts, get target() { return { ...gpu.target, ...CANDIDATE_FORMS }; } }, betweenPathsTolerance(gpu, 1e-4), [
    ["every-layer-kind (every candidate form)", () => resolveModel(everyLayerKindSpec, "every-layer-kind"), ...OPTIMIZERS[2], "sideways"],
    ["four-block (every candidate form)", fourBlockModel, ...OPTIMIZERS[1], "bp"],
  ]);

  it("steps a model with more parameters than one Split may output on this provider (resnet-mnist, 27)", async () => {
    // WebGPU's Split failed above 15 outputs on lavapipe (GraphTarget.maxSplitOutputs).
    const model = loadModelFile("models/resnet-mnist.yaml");
    expect(model.params.length).to.be.above(15);
    const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.01 });
    const got = await deviceSteps(model, initWeights(model, 1), [randomClips(model, 2, 2, 3)], spec, gpu.opts, gpu.target);
    expect(got.losses.every(Number.isFinite)).to.equal(true);
  });

  it("with train.grad_clip_norm: clipped steps and their norms equal the CPU's device step (the clipping nodes run on this provider)", async () => {
    const model = fourBlockModel();
    const spec = OPTIMIZERS[1][1];
    const weights = initWeights(model, 2);
    const batches = [1, 2].map((seed) => randomClips(model, 2, 2 * model.blocks.length, seed));
    for (const method of METHODS) {
      const free = await deviceSteps(model, weights, batches.slice(0, 1), spec, cpu, PORTABLE_TARGET, method, "float32", 1e9);
      const clip = free.gradNorms[0] / 4; // every step clipped
      const host = await deviceSteps(model, weights, batches, spec, cpu, PORTABLE_TARGET, method, "float32", clip);
      const got = await deviceSteps(model, weights, batches, spec, gpu.opts, gpu.target, method, "float32", clip);
      const tol = betweenPathsTolerance(gpu, 1e-4);
      expect(got.gradNorms).to.have.length(2);
      got.gradNorms.forEach((n, j) => expect(n, `${method} step ${j + 1}'s norm`).to.be.closeTo(host.gradNorms[j], tol * host.gradNorms[j]));
      for (const p of model.params) expect(offByMovement(got.weights.get(p.name)!, host.weights.get(p.name)!, weights.get(p.name)!), `${method} ${p.name}`).to.be.below(tol);
    }
  });

  it("with train.label_smoothing: steps and losses equal the CPU's device step with it (the smoothed targets reach this provider's head), not the one-hot steps", async () => {
    const model = fourBlockModel();
    const spec = OPTIMIZERS[1][1];
    const weights = initWeights(model, 3);
    const batches = [1, 2].map((seed) => randomClips(model, 2, 2 * model.blocks.length, seed));
    const tol = betweenPathsTolerance(gpu, 1e-4);
    for (const method of METHODS) {
      const host = await deviceSteps(model, weights, batches, spec, cpu, PORTABLE_TARGET, method, "float32", undefined, 0.1);
      const oneHot = await deviceSteps(model, weights, batches, spec, cpu, PORTABLE_TARGET, method, "float32", undefined, 0);
      const got = await deviceSteps(model, weights, batches, spec, gpu.opts, gpu.target, method, "float32", undefined, 0.1);
      got.losses.forEach((l, i) => expect(Math.abs(l - host.losses[i]!), `${method} loss ${i}`).to.be.below(tol * Math.max(1, host.losses[i]!)));
      for (const p of model.params) {
        expect(offByMovement(got.weights.get(p.name)!, host.weights.get(p.name)!, weights.get(p.name)!), `${method} ${p.name}`).to.be.below(tol);
        expect(offByMovement(got.weights.get(p.name)!, oneHot.weights.get(p.name)!, weights.get(p.name)!), `${method} ${p.name} against one-hot`).to.be.above(10 * tol);
      }
    }
  });

  it("keeps the weights and optimizer state in GPU memory between steps where the provider can (WebGPU)", async () => {
    const model = fourBlockModel();
    const spec = OPTIMIZERS[2][1];
    const batch = randomClips(model, 2, 3, 5);
    const got = await deviceSteps(model, initWeights(model, 1), [batch, batch], spec, gpu.opts, gpu.target);
    expect(got.placement).to.equal(gpu.provider === "webgpu" ? "gpu" : "host");
  });
});

describe("runtime.device_step: when a run uses it", () => {
  const base = { name: "x", model: "m.yaml", data: { kind: "shapes" } };
  const spec = (train: object, runtime: object, diagnostics: object = {}) => ExperimentSpec.parse({ ...base, train, runtime, diagnostics });

  it("auto: on GPU providers for BP and Sideways on one stage, never on the CPU or for other rules", () => {
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "webgpu" }))).to.equal(true);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "cuda" }))).to.equal(true);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "cpu" }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "sideways" }, { provider: "cuda" }))).to.equal(true);
    expect(usesDeviceStep(spec({ method: "sideways" }, { provider: "cuda", workers: 2 }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "sideways", update_every: 4 }, { provider: "cuda" }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "pipelined-bp" }, { provider: "webgpu" }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "webgpu", workers: 2 }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "webgpu" }, { every: 10 }))).to.equal(false);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "cpu", device_step: true }))).to.equal(true);
    expect(usesDeviceStep(spec({ method: "bp" }, { provider: "webgpu", device_step: false }))).to.equal(false);
  });

  it("true where it cannot run is a spec error naming runtime.device_step and why", () => {
    const r = ExperimentSpec.safeParse({ ...base, train: { method: "pipelined-bp" }, runtime: { device_step: true } });
    expect(r.success).to.equal(false);
    const issue = r.error!.issues.find((i) => i.path.join(".") === "runtime.device_step");
    expect(issue?.message).to.include("train.method is pipelined-bp");
  });

  it("Sideways with clips shorter than 2L-1: auto falls back to the executor, true is refused", () => {
    expect(deviceStepModelBlocker("sideways", 4, 7)).to.equal(null);
    expect(deviceStepModelBlocker("sideways", 4, 6)).to.include("at least 2L-1 = 7 frames for 4 blocks");
    expect(deviceStepModelBlocker("bp", 4, 2)).to.equal(null);
  });
});
