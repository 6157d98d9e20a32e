#!/usr/bin/env node
// conv2d's weight gradient, the portable unfold/phase forms (PORTABLE_TARGET) against one dilated
// Conv (CUDA_CONV_WGRAD_TARGET; src/layers/conv-grads.ts convWeightGrad): one model's fused BP
// graph (src/layers/block-graphs.ts buildFusedBpGraph) built both ways, the gradients checked to
// agree, then timed interleaved on one provider (docs/PERFORMANCE.md attempt 64). A graph-only
// A/B, without the trainer around it: the end-to-end one is `sideways bench --peer torch` with and
// without SIDEWAYS_CUDA_WGRAD=conv. Needs `npm run build`; on CUDA, SIDEWAYS_ORT=cuda13.
// Usage: node scripts/wgrad-form-ab.mjs [--model FILE] [--provider cpu|cuda|webgpu] [--rows N]
//        [--rounds R] [--threads T] [--json OUT]
import { writeFileSync } from "node:fs";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const root = new URL("../dist/src/", import.meta.url);
const { buildFusedBpGraph, gradName } = await import(new URL("layers/block-graphs.js", root).href);
const { loadModelFile } = await import(new URL("model/load-model.js", root).href);
const { GraphSession } = await import(new URL("runtime/session.js", root).href);
const { PORTABLE_TARGET, CUDA_CONV_WGRAD_TARGET } = await import(new URL("graph/graph-builder.js", root).href);

const usage = usageExit("node scripts/wgrad-form-ab.mjs [--model FILE] [--provider cpu|cuda|webgpu] [--rows N] [--rounds R] [--threads T] [--json OUT]");
const { values: args } = await parseOptions(
  {
    options: {
      model: { type: "string", default: "models/quickstart-wide.yaml" },
      provider: { type: "string", default: "cpu" },
      rows: { type: "string", default: "128" },
      rounds: { type: "string", default: "5" },
      threads: { type: "string", default: "1" },
      json: { type: "string" },
    },
  },
  usage,
);
const [rows, rounds, threads] = positiveInts(args, ["rows", "rounds", "threads"], usage);
if (!["cpu", "cuda", "webgpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cpu, cuda or webgpu`);
let model;
try {
  model = loadModelFile(args.model);
} catch (err) {
  usage(err.message); // a ModelError names the file and the key
}
if (model.buffers.length > 0) usage(`${args.model}: a model with buffers (batch_norm) is not supported by this script`);

// Inputs from a fixed LCG (reproducible; the values only need to be generic).
let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
const size = (dims) => dims.reduce((a, b) => a * b, 1);
const feeds = {};
for (const p of model.params) feeds[p.name] = { data: Float32Array.from({ length: size(p.shape) }, () => (2 * rnd()) / Math.sqrt(p.fanIn)), dims: p.shape };
const { channels, height, width } = model.input;
feeds.x = { data: Float32Array.from({ length: rows * channels * height * width }, rnd), dims: [rows, channels, height, width] };
const onehot = new Float32Array(rows * model.classes);
for (let i = 0; i < rows; i++) onehot[i * model.classes + (i % model.classes)] = 1;
feeds.onehot = { data: onehot, dims: [rows, model.classes] };
feeds.dlogits_scale = { data: Float32Array.of(1 / rows), dims: [1] };

const opts = { provider: args.provider, threads };
const forms = { unfold: PORTABLE_TARGET, conv: CUDA_CONV_WGRAD_TARGET };
const sessions = {};
for (const [form, target] of Object.entries(forms)) sessions[form] = await GraphSession.create(buildFusedBpGraph(model, { target }), `${model.name} ${form}`, opts);
try {
  // Agreement before timing: float32 sums in two orders, so relative 1e-4 per tensor (the model
  // gradient test's bound).
  const outs = {};
  for (const form of Object.keys(forms)) outs[form] = await sessions[form].run(feeds);
  let worst = 0;
  for (const p of model.params) {
    const [a, b] = [outs.unfold[gradName(p.name)].data, outs.conv[gradName(p.name)].data];
    let [d, na, nb] = [0, 0, 0];
    for (let i = 0; i < a.length; i++) [d, na, nb] = [d + (a[i] - b[i]) ** 2, na + a[i] ** 2, nb + b[i] ** 2];
    worst = Math.max(worst, Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-30));
  }
  if (!(worst <= 1e-4)) {
    console.error(`the two forms disagree: worst relative error ${worst} over the parameter gradients`);
    process.exit(1);
  }
  const times = { unfold: [], conv: [] };
  for (let r = 0; r < rounds; r++) {
    for (const form of Object.keys(forms)) {
      const t = performance.now();
      await sessions[form].run(feeds);
      times[form].push(performance.now() - t);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const [u, c] = [median(times.unfold), median(times.conv)];
  console.log(`${model.name}, ${rows} rows, ${args.provider}, ${threads} thread(s), ${rounds} rounds interleaved after a warm-up; gradients agree to ${worst.toExponential(1)}`);
  console.log("| weight gradient | median ms per BP pass |");
  console.log("|---|---|");
  console.log(`| unfold/phase (PORTABLE_TARGET) | ${u.toFixed(1)} |`);
  console.log(`| one dilated Conv (SIDEWAYS_CUDA_WGRAD=conv) | ${c.toFixed(1)} |`);
  console.log(`conv / unfold: ${(c / u).toFixed(3)}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ model: model.name, rows, provider: args.provider, threads, rounds, agreement: worst, ms: times, median: { unfold: u, conv: c }, ratio: c / u }, null, 2) + "\n");
} finally {
  for (const s of Object.values(sessions)) await s.release();
}
