/**
 * Several device steps in one call (src/graph/chain-calls.ts, DeviceStep's stepsPerCall): K steps
 * chained in one graph must do what K calls of the one-step graph do, one after another. On the
 * CPU provider with one thread both run the same float32 kernels on the same values in the same
 * order, so the check is bit for bit: parameters, optimizer state (Adam's bias correction counts
 * the steps inside the call), losses and batch norm's per-step statistics. On a GPU provider the
 * chained graph is another session, whose cuDNN kernels may be others (docs/GPU.md run 8):
 * within convTolerance there.
 */
import { expect } from "chai";
import type { ClipBatch } from "../src/data/source.js";
import { chainCalls, callName } from "../src/graph/chain-calls.js";
import { CUDA_TARGET, GraphBuilder, PORTABLE_TARGET, type GraphTarget } from "../src/graph/graph-builder.js";
import { onnx } from "../src/graph/onnx.js";
import { applyBlockStats } from "../src/model/buffers.js";
import { initWeights } from "../src/model/init.js";
import type { Model } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import type { ProviderOptions } from "../src/runtime/providers.js";
import { GraphSession } from "../src/runtime/session.js";
import { OptimizerSpec } from "../src/spec/experiment-spec.js";
import { DeviceStep } from "../src/train/device-step.js";
import { callLengths, callSteps, runPrefetch } from "../src/train/run-experiment.js";
import { buildDeviceStepGraph, carriedNames, nextName, type ClipInput, type DeviceStepMethod } from "../src/train/device-step-graph.js";
import { convTolerance, describeOnGpus, type GpuUnderTest } from "./helpers/gpu-providers.js";
import { fourBlockModel, normModel, offByMovement, randomClips, sameBits } from "./helpers/tiny-models.js";

const cpu: ProviderOptions = { provider: "cpu", threads: 1 };

describe("chainCalls: K calls of a graph as one graph", () => {
  // acc' = acc * w + x, carried acc -> acc'; each call also outputs its own y = x + 1.
  function accumulator(): Uint8Array {
    const g = new GraphBuilder("acc");
    const acc = g.inputFixed("acc", [2]);
    const x = g.inputFixed("x", [2]);
    const w = g.constFloat("w", [3], []);
    g.outputFixed(g.op("Add", [g.op("Mul", [acc, w]), x]), [2], "next.acc");
    g.outputFixed(g.op("Add", [x, g.constFloat("one", [1], [])]), [2], "y");
    return g.toBytes();
  }

  it("one call is the graph itself, byte for byte", () => {
    const bytes = accumulator();
    expect(chainCalls(bytes, 1, [{ input: "acc", output: "next.acc" }])).to.equal(bytes);
  });

  it("three calls: the carried value chains through, each call keeps its own inputs and outputs", async () => {
    const chained = chainCalls(accumulator(), 3, [{ input: "acc", output: "next.acc" }]);
    const graph = onnx.ModelProto.decode(chained).graph!;
    expect(graph.input!.map((v) => v.name)).to.deep.equal(["acc", callName("x", 0), callName("x", 1), callName("x", 2)]);
    expect(graph.output!.map((v) => v.name)).to.deep.equal([callName("y", 0), callName("y", 1), "next.acc", callName("y", 2)]);
    const session = await GraphSession.create(chained, "chain", cpu);
    try {
      const feeds = { acc: { data: Float32Array.of(1, 2), dims: [2] }, [callName("x", 0)]: { data: Float32Array.of(10, 20), dims: [2] }, [callName("x", 1)]: { data: Float32Array.of(100, 200), dims: [2] }, [callName("x", 2)]: { data: Float32Array.of(1000, 2000), dims: [2] } };
      const out = await session.run(feeds);
      // ((1*3 + 10)*3 + 100)*3 + 1000 = 1417; ((2*3 + 20)*3 + 200)*3 + 2000 = 2834
      expect(Array.from(out["next.acc"].data)).to.deep.equal([1417, 2834]);
      expect(Array.from(out[callName("y", 1)].data)).to.deep.equal([101, 201]);
    } finally {
      await session.release();
    }
  });

  it("a carried input with an initializer as its default still chains; an omitted optional output stays omitted", async () => {
    // acc' = Dropout(acc + x), its optional mask output left out (""); acc and x both have an
    // initializer as their default: acc's must not replace the carried value, x's is shared.
    const vec = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: "defaults",
        node: [
          { name: "add", opType: "Add", input: ["acc", "x"], output: ["sum"] },
          { name: "drop", opType: "Dropout", input: ["sum"], output: ["next.acc", ""] },
        ],
        input: [vec("acc"), vec("x")],
        output: [vec("next.acc")],
        initializer: [
          { name: "acc", dims: [2], dataType: 1, floatData: [100, 100] },
          { name: "x", dims: [2], dataType: 1, floatData: [1, 2] },
        ],
      },
    });
    const chained = chainCalls(onnx.ModelProto.encode(model).finish().slice(), 3, [{ input: "acc", output: "next.acc" }]);
    const decoded = onnx.ModelProto.decode(chained).graph!;
    expect(decoded.input!.map((v) => v.name)).to.deep.equal(["acc", "x"]);
    expect(decoded.node!.filter((n) => n.opType === "Dropout").map((n) => n.output![1])).to.deep.equal(["", "", ""]);
    const session = await GraphSession.create(chained, "defaults", cpu);
    try {
      // onnxruntime-node feeds only inputs without a default, so acc starts at its initializer
      // [100, 100]: three calls add x three times. Had the later copies read acc's initializer
      // instead of the call before's output, the result would be [101, 102].
      const out = await session.run({});
      expect(Array.from(out["next.acc"].data)).to.deep.equal([103, 106]);
    } finally {
      await session.release();
    }
  });

  it("refuses a carried pair that is not an input and an output of the graph, and a count below 1", () => {
    expect(() => chainCalls(accumulator(), 2, [{ input: "acc", output: "next.nothing" }])).to.throw(/next.nothing/);
    expect(() => chainCalls(accumulator(), 0, [])).to.throw(/calls >= 1/);
  });
});

interface Case {
  name: string;
  model: () => Model;
  spec: OptimizerSpec;
  method: DeviceStepMethod;
  clipInput: ClipInput;
}

const CASES: Case[] = [
  { name: "bp, sgd momentum nesterov decay", model: fourBlockModel, spec: OptimizerSpec.parse({ kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01 }), method: "bp", clipInput: "float32" },
  { name: "sideways, adam decay", model: fourBlockModel, spec: OptimizerSpec.parse({ kind: "adam", lr: 0.01, weight_decay: 0.001 }), method: "sideways", clipInput: "float32" },
  // AdamW's decay factor 1 - lr * weight_decay is a per-step input: each chained step takes its own rate's.
  { name: "bp, adamw decay", model: fourBlockModel, spec: OptimizerSpec.parse({ kind: "adamw", lr: 0.01, weight_decay: 0.5 }), method: "bp", clipInput: "float32" },
  { name: "bp with batch norm, sgd momentum", model: normModel, spec: OptimizerSpec.parse({ kind: "sgd", lr: 0.1, momentum: 0.9 }), method: "bp", clipInput: "float32" },
];

/** `batches.length` steps at per-step learning rates `lrs`: `perCall` steps a call. */
async function stepInCalls(c: Case, batches: ClipBatch[], lrs: number[], perCall: number, opts: ProviderOptions, target: GraphTarget) {
  const model = c.model();
  const step = await DeviceStep.create(model, c.spec, batches[0].dims[1], opts, target, c.method, c.clipInput, perCall);
  const optimizer = createOptimizer(c.spec);
  const weights = initWeights(model, 4);
  const losses: number[] = [];
  const stats: Float32Array[] = [];
  try {
    step.load(weights, optimizer);
    for (let i = 0; i < batches.length; i += perCall) {
      const results = perCall === 1 ? [await step.step(batches[i], lrs[i])] : await step.steps(batches.slice(i, i + perCall), lrs.slice(i, i + perCall));
      expect(results.length).to.equal(Math.min(perCall, batches.length - i));
      for (const r of results) {
        losses.push(...r.losses);
        for (const s of r.stats) stats.push(...s.values.values());
        applyBlockStats(model, weights, r.stats);
      }
    }
    await step.sync(weights, optimizer);
    return { model, weights, state: optimizer.exportState(), losses, stats };
  } finally {
    await step.release();
  }
}

function framesFor(c: Case): number {
  return c.method === "bp" ? 3 : 2 * c.model().blocks.length - 1;
}

function checkChained(gpu: GpuUnderTest | null): void {
  const opts = gpu?.opts ?? cpu;
  const target = gpu?.target ?? PORTABLE_TARGET;
  for (const c of CASES) {
    it(`${c.name}: 4 steps as calls of 3 and 1 equal 4 calls of 1${gpu?.provider === "cuda" ? " (within convTolerance on CUDA)" : ", bit for bit"}`, async () => {
      const model = c.model();
      const batches = [11, 12, 13, 14].map((seed) => randomClips(model, 3, framesFor(c), seed));
      // A learning rate per step, as a schedule gives: each call's steps must each take their own.
      const lrs = [1, 0.5, 0.25, 0.125].map((f) => f * c.spec.lr);
      const one = await stepInCalls(c, batches, lrs, 1, opts, target);
      // A call of 3, then one of 1 (a session of its own, as a run's last step before an evaluation gets).
      const two = await stepInCalls(c, batches, lrs, 3, opts, target);
      expect(two.losses.length).to.equal(one.losses.length);
      if (gpu?.provider === "cuda") {
        const tol = convTolerance(gpu, 0);
        two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]), `loss ${i}`).to.be.below(tol * Math.max(1, Math.abs(l))));
        const init = initWeights(model, 4);
        for (const p of model.params) expect(offByMovement(two.weights.get(p.name)!, one.weights.get(p.name)!, init.get(p.name)!), p.name).to.be.below(tol);
        return;
      }
      expect(two.losses).to.deep.equal(one.losses);
      expect(two.stats.length).to.equal(one.stats.length);
      two.stats.forEach((s, i) => expect(sameBits(s, one.stats[i]), `statistics ${i}`).to.equal(true));
      for (const [name, w] of one.weights) expect(sameBits(two.weights.get(name)!, w), name).to.equal(true);
      expect([...two.state.keys()].sort()).to.deep.equal([...one.state.keys()].sort());
      for (const [name, s] of one.state) expect(sameBits(two.state.get(name)!, s), name).to.equal(true);
    });
  }
}

describe("device step, several steps a call (CPU provider)", () => {
  checkChained(null);

  it("the chained graph has each step's nodes once per step, and its initializers once", () => {
    const model = fourBlockModel();
    const single = buildDeviceStepGraph(model, CASES[0].spec, 3, CUDA_TARGET, "bp", "uint8");
    const carried = carriedNames(CASES[0].spec).map((input) => ({ input, output: nextName(input) }));
    const [g1, g3] = [single, chainCalls(single, 3, carried)].map((b) => onnx.ModelProto.decode(b).graph!);
    expect(g3.node!.length).to.equal(3 * g1.node!.length);
    expect(g3.initializer!.length).to.equal(g1.initializer!.length);
    expect(new Set(g3.node!.map((n) => n.name)).size, "node names unique").to.equal(g3.node!.length);
  });

  it("prepare() builds the sessions of the call lengths asked for; steps() of a prepared length builds none", async () => {
    const model = fourBlockModel();
    const step = await DeviceStep.create(model, CASES[0].spec, 3, cpu, CUDA_TARGET, "bp", "float32", 4);
    try {
      expect(step.builtLengths).to.deep.equal([4]);
      await step.prepare([1, 2, 4]);
      expect(step.builtLengths).to.deep.equal([1, 2, 4]);
      step.load(initWeights(model, 1), createOptimizer(CASES[0].spec));
      await step.steps([randomClips(model, 2, 3, 1), randomClips(model, 2, 3, 2)], [0.1, 0.1]);
      expect(step.builtLengths).to.deep.equal([1, 2, 4]);
      // An unprepared length still works, building its session then.
      await step.steps([1, 2, 3].map((s) => randomClips(model, 2, 3, s)), [0.1, 0.1, 0.1]);
      expect(step.builtLengths).to.deep.equal([1, 2, 3, 4]);
    } finally {
      await step.release();
    }
  });

  it("steps() refuses more batches than its steps per call, or a learning rate per batch missing", async () => {
    const model = fourBlockModel();
    const one = await DeviceStep.create(model, CASES[0].spec, 3, cpu, CUDA_TARGET, "bp", "float32", 1);
    try {
      one.load(initWeights(model, 1), createOptimizer(CASES[0].spec));
      await expectAsyncThrow(() => one.steps([randomClips(model, 2, 3, 1), randomClips(model, 2, 3, 2)], [0.1, 0.1]), /at most 1 steps per call got 2 batches/);
      await expectAsyncThrow(() => one.steps([randomClips(model, 2, 3, 1)], []), /got 1 batches and 0 learning rates/);
    } finally {
      await one.release();
    }
  });
});

async function expectAsyncThrow(f: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown = null;
  try {
    await f();
  } catch (e) {
    error = e;
  }
  expect(String(error)).to.match(pattern);
}

describeOnGpus("device step, several steps a call", (gpu) => {
  checkChained(gpu);
});

describe("callSteps: how many steps a run's call takes", () => {
  it("up to runtime.steps_per_call, ending at the first step after which the host reads the weights", () => {
    // An evaluation every 3 steps, a checkpoint every 5, 7 steps in all.
    const reads = (s: number) => s === 7 || s % 3 === 0 || s % 5 === 0;
    const calls = (perCall: number) => {
      const lengths: number[] = [];
      for (let step = 1; step <= 7; step += lengths.at(-1)!) lengths.push(callSteps(step, perCall, reads));
      return lengths;
    };
    expect(calls(1)).to.deep.equal([1, 1, 1, 1, 1, 1, 1]);
    expect(calls(2)).to.deep.equal([2, 1, 2, 1, 1]);
    expect(calls(3)).to.deep.equal([3, 2, 1, 1]);
    // Short of a read, the largest power of two that does not pass it: 3 steps to step 3 are 2 + 1.
    expect(calls(8)).to.deep.equal([2, 1, 2, 1, 1]);
    // No reads but the last: calls of K, then what is left, in powers of two.
    expect(callSteps(1, 4, (s) => s === 10)).to.equal(4);
    expect(callSteps(9, 4, (s) => s === 10)).to.equal(2);
    expect(callSteps(1, 6, (s) => s === 5)).to.equal(4);
  });

  it("callLengths: the sessions a run needs, at most floor(log2 K) + 2 of them however its evaluations and checkpoints fall", () => {
    expect(callLengths(1, 100, 8, (s) => s % 10 === 0)).to.deep.equal([2, 8]);
    // 64 steps a call and the default checkpoint every 250: 250 = 3 x 64 + 32 + 16 + 8 + 2.
    const lengths = callLengths(1, 1000, 64, (s) => s % 250 === 0 || s === 1000);
    expect(lengths).to.deep.equal([2, 8, 16, 32, 64]);
    for (const [K, every] of [[64, 7], [48, 100], [5, 3], [100, 97]]) {
      const ls = callLengths(1, 2000, K, (s) => s % every === 0 || s === 2000);
      expect(ls.length, `K ${K}, reads every ${every}: ${ls}`).to.be.at.most(Math.floor(Math.log2(K)) + 2);
      for (const k of ls) expect(k === K || Number.isInteger(Math.log2(k)), `length ${k}`).to.equal(true);
    }
    // A resumed run plans from its first step.
    expect(callLengths(9, 10, 8, (s) => s === 10)).to.deep.equal([2]);
  });
});

describe("runPrefetch: batches made ahead with several steps a call", () => {
  it("data.prefetch, raised to 2K (at most 64) with K steps a call so that the next call's batches are made during this one", () => {
    const at = (prefetch: number, steps_per_call: number, accumulate?: number) => runPrefetch({ data: { prefetch } as never, runtime: { steps_per_call } as never, train: { accumulate } as never });
    expect(at(2, 1)).to.equal(2);
    expect(at(0, 1)).to.equal(0);
    expect(at(2, 4)).to.equal(8);
    expect(at(20, 4)).to.equal(20);
    expect(at(2, 64)).to.equal(64);
  });

  it("train.accumulate K batches a step counts as K batches a call: 2K ahead, at most 64", () => {
    const at = (prefetch: number, accumulate: number | undefined) => runPrefetch({ data: { prefetch } as never, runtime: { steps_per_call: 1 } as never, train: { accumulate } as never });
    expect(at(2, undefined)).to.equal(2);
    expect(at(2, 1)).to.equal(2);
    expect(at(2, 4)).to.equal(8);
    expect(at(20, 4)).to.equal(20);
    expect(at(2, 40)).to.equal(64);
  });
});
