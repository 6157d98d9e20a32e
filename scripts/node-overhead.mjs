#!/usr/bin/env node
// What one onnxruntime call and one node of a graph cost on a provider, and how many nodes the
// device steps' graphs run there (docs/GPU.md "Still to measure", "What one call and one node cost"):
//   1. chains of N Add nodes on a small tensor, each N its own session, timed interleaved: the
//      median call fitted as a + b N by least squares, so a is the cost of a call (feeds, fetches,
//      synchronisation) and b that of a node whose kernel does almost nothing (on a GPU, mostly
//      the host's time to launch it). The chain adds a graph input, not a constant, so that no
//      optimizer can fold it.
//   2. the BP and Sideways device steps of --model (8-bit clips, SGD with momentum, as
//      experiments/gpu-wide.yaml trains) as a session of the provider optimizes them: their nodes
//      by operator, split into kernels, nodes that alias their input (Reshape, Flatten, Squeeze,
//      Unsqueeze) and the copies between host and device the session inserted (Memcpy*).
// b times a step's kernel count is then the least host time its launches take.
// Usage: node scripts/node-overhead.mjs [--provider cpu|webgpu|cuda] [--nodes 1,50,100,200]
//        [--size 64] [--rounds 50] [--model FILE] [--frames T] [--json OUT]
import { writeFileSync } from "node:fs";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/node-overhead.mjs [--provider cpu|webgpu|cuda] [--nodes 1,50,100,200] [--size 64] [--rounds 50] [--model FILE] [--frames T] [--json OUT]");
const { values: args } = await parseOptions(
  {
    options: {
      provider: { type: "string", default: "cpu" },
      nodes: { type: "string", default: "1,50,100,200" },
      size: { type: "string", default: "64" },
      rounds: { type: "string", default: "50" },
      model: { type: "string", default: "models/quickstart-wide.yaml" },
      frames: { type: "string", default: "8" },
      json: { type: "string" },
    },
  },
  usage,
);
if (!["cpu", "cuda", "webgpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cpu, cuda or webgpu`);
const [size, rounds, frames] = positiveInts(args, ["size", "rounds", "frames"], usage);
const lengths = args.nodes.split(",").map((n) => Number(n));
if (new Set(lengths).size < 2 || lengths.some((n) => !Number.isInteger(n) || n < 1)) usage(`--nodes ${args.nodes}: expected two or more different positive integers`);

const dist = (p) => import(new URL(`../dist/src/${p}`, import.meta.url).href);
const { GraphBuilder } = await dist("graph/graph-builder.js");
const { onnx } = await dist("graph/onnx.js");
const { GraphSession, optimizedGraph } = await dist("runtime/session.js");
const { graphTargetFor } = await dist("runtime/nchwc-probe.js");
const { buildDeviceStepGraph } = await dist("train/device-step-graph.js");
const { loadModelFile } = await dist("model/load-model.js");
const { OptimizerSpec } = await dist("spec/experiment-spec.js");
const { median } = await dist("bench/stats.js");
const opts = args.provider === "cpu" ? { provider: "cpu", threads: 1 } : { provider: args.provider };

/** x + c + c + ... (n Adds) on [size] values. */
function chainGraph(n) {
  const g = new GraphBuilder(`add-chain-${n}`);
  const c = g.inputFixed("c", [size]);
  let y = g.inputFixed("x", [size]);
  for (let i = 0; i < n; i++) y = g.op("Add", [y, c]);
  g.outputFixed(y, [size], "y");
  return g.toBytes();
}

const feeds = { x: { data: new Float32Array(size).fill(1), dims: [size] }, c: { data: new Float32Array(size).fill(0.5), dims: [size] } };
const chains = [];
for (const n of lengths) chains.push({ n, session: await GraphSession.create(chainGraph(n), `add-chain-${n}`, opts), ms: [] });
for (const chain of chains) {
  const y = (await chain.session.run(feeds)).y.data;
  if (y[0] !== 1 + 0.5 * chain.n) throw new Error(`BUG: the ${chain.n}-node chain gave ${y[0]}, not ${1 + 0.5 * chain.n}`);
}
for (let r = 0; r < rounds + 5; r++) {
  for (const chain of chains) {
    const t0 = performance.now();
    await chain.session.run(feeds);
    if (r >= 5) chain.ms.push(performance.now() - t0); // 5 warm-up calls
  }
}
for (const chain of chains) await chain.session.release();
const points = chains.map((c) => ({ nodes: c.n, ms: median(c.ms) }));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const [mx, my] = [mean(points.map((p) => p.nodes)), mean(points.map((p) => p.ms))];
const perNodeMs = points.reduce((s, p) => s + (p.nodes - mx) * (p.ms - my), 0) / points.reduce((s, p) => s + (p.nodes - mx) ** 2, 0);
const perCallMs = my - perNodeMs * mx;

console.log(`chains of Add nodes on ${size} values, ${args.provider}, ${rounds} interleaved calls each (medians)\n`);
console.log("| nodes | ms a call |\n|---|---|");
for (const p of points) console.log(`| ${p.nodes} | ${p.ms.toFixed(3)} |`);
console.log(`\nfit: a call ${(perCallMs * 1000).toFixed(1)} us + ${(perNodeMs * 1000).toFixed(2)} us a node\n`);

const { ALIASING_OPS } = await dist("graph/kernel-count.js");
const model = loadModelFile(args.model);
const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });
const target = await graphTargetFor(opts);
const graphs = [];
console.log(`${args.model}'s device steps at ${frames} frames (8-bit clips), as a ${args.provider} session optimizes them\n`);
console.log("| method | nodes built | nodes run | kernels | aliasing | host-device copies | least launch time, ms |\n|---|---|---|---|---|---|---|");
for (const method of ["bp", "sideways"]) {
  const built = buildDeviceStepGraph(model, spec, frames, target, method, "uint8");
  const nodes = onnx.ModelProto.decode(await optimizedGraph(built, opts)).graph.node;
  const byOp = {};
  for (const n of nodes) byOp[n.opType] = (byOp[n.opType] ?? 0) + 1;
  const copies = nodes.filter((n) => n.opType.startsWith("Memcpy")).length;
  const aliasing = nodes.filter((n) => ALIASING_OPS.has(n.opType)).length;
  const kernels = nodes.length - copies - aliasing;
  const row = { method, nodes_built: onnx.ModelProto.decode(built).graph.node.length, nodes_run: nodes.length, kernels, aliasing, host_device_copies: copies, by_op: byOp };
  graphs.push(row);
  console.log(`| ${method} | ${row.nodes_built} | ${row.nodes_run} | ${kernels} | ${aliasing} | ${copies} | ${(kernels * perNodeMs).toFixed(2)} |`);
}
for (const g of graphs) {
  const ops = Object.entries(g.by_op).sort((a, b) => b[1] - a[1]);
  console.log(`\n${g.method}: ${ops.map(([op, n]) => `${op} ${n}`).join(", ")}`);
}
if (args.json) {
  writeFileSync(args.json, JSON.stringify({ provider: args.provider, size, rounds, chains: points, per_call_ms: perCallMs, per_node_ms: perNodeMs, model: args.model, frames, target, device_steps: graphs }, null, 2));
}
