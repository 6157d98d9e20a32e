#!/usr/bin/env node
// Random layer shapes through the WebGPU graphs (WEBGPU_TARGET, or with --target-forms more forms),
// each block's forward and backward run on WebGPU and on the CPU provider with the same inputs:
// every output must agree to 1e-4 relative. What found and now guards the WebGPU EP's Conv faults
// (docs/GPU.md "WebGPU EP faults"); run it again after an onnxruntime-node upgrade. A fault shows
// as a BAD line naming the layer, input shape and rows; --no-workarounds turns the graphs'
// workarounds off, to see that the sweep still finds what they avoid. Needs `npm run build` and a
// WebGPU adapter (XDG_RUNTIME_DIR set; lavapipe will do).
// Usage: node scripts/webgpu-fault-sweep.mjs [--count N] [--seed S] [--no-workarounds] [--target-forms key=value,...]
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/webgpu-fault-sweep.mjs [--count N] [--seed S] [--no-workarounds] [--target-forms key=value,...]");
const { values: args } = await parseOptions(
  {
    options: {
      count: { type: "string", default: "200" },
      seed: { type: "string", default: "1" },
      "no-workarounds": { type: "boolean", default: false },
      "target-forms": { type: "string", default: "" },
    },
  },
  usage,
);
const [count] = positiveInts(args, ["count"], usage);
if (!/^\d+$/.test(args.seed)) usage(`--seed ${args.seed}: expected a whole number`);
const root = new URL("../dist/src/", import.meta.url);
const d = (p) => import(new URL(p, root).href);
const { buildBlockGraphs } = await d("layers/block-graphs.js");
const { WEBGPU_TARGET } = await d("graph/graph-builder.js");
const { parseGraphForms } = await d("runtime/graph-forms.js");
const { GraphSession } = await d("runtime/session.js");
const { resolveModel } = await d("model/load-model.js");
const { initWeights } = await d("model/init.js");
const target = { ...WEBGPU_TARGET, ...parseGraphForms(args["target-forms"], "--target-forms"), ...(args["no-workarounds"] ? { avoidWebGpuConvFaults: false } : {}) };

// A small LCG: the same seed gives the same shapes on every machine.
let state = Number(args.seed) >>> 0;
const rnd = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const relative = (a, b) => {
  let [diff, norm] = [0, 0];
  for (let i = 0; i < a.length; i++) [diff, norm] = [diff + (a[i] - b[i]) ** 2, norm + a[i] ** 2];
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
};

/** One random layer (and its input shape) of a kind the WebGPU graphs build specially. */
function randomLayer() {
  const kind = ["conv2d", "conv2d", "conv2d", "maxpool2d", "avgpool2d", "group_norm", "batch_norm", "linear", "residual"][int(0, 8)];
  const c = int(1, 24);
  const k = int(1, 5);
  const stride = int(1, 3);
  const [h, w] = [int(Math.max(k, 2), 10), int(Math.max(k, 2), 10)];
  const conv = () => ({ type: "conv2d", out_channels: int(1, 24), kernel: k, stride, padding: int(0, k - 1), bias: rnd() < 0.7 });
  if (kind === "conv2d") return { layer: conv(), input: [c, h, w] };
  if (kind === "maxpool2d" || kind === "avgpool2d") {
    const kp = Math.max(k, 2);
    return { layer: { type: kind, kernel: kp, stride, padding: int(0, Math.floor(kp / 2)) }, input: [c, h, w] };
  }
  if (kind === "group_norm") {
    const groups = [1, 2, 3, 4].filter((g) => c % g === 0);
    return { layer: { type: "group_norm", groups: groups[int(0, groups.length - 1)] }, input: [c, h, w] };
  }
  if (kind === "batch_norm") return { layer: { type: "batch_norm" }, input: [c, h, w] };
  if (kind === "linear") return { layer: { type: "linear", out_features: int(1, 24), bias: rnd() < 0.7 }, input: [int(1, 40)] };
  const m = int(1, 16);
  return { layer: { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: m, kernel: 3, stride, padding: 1, bias: false }, { type: "relu" }, { type: "conv2d", out_channels: m, kernel: 3, padding: 1 }] }, input: [c, h, w] };
}

let [tried, bad] = [0, 0];
for (let t = 0; t < count; t++) {
  const { layer, input } = randomLayer();
  let model;
  try {
    const spatial = input.length === 3 ? { channels: input[0], height: input[1], width: input[2] } : { channels: input[0], height: 1, width: 1 };
    const layers = input.length === 3 ? [layer, { type: "flatten" }, { type: "linear", out_features: 2 }] : [{ type: "flatten" }, layer, { type: "linear", out_features: 2 }];
    model = resolveModel({ name: "sweep", input: spatial, classes: 2, layers }, "sweep");
  } catch {
    continue; // a shape the layer refuses (kernel larger than its input, ...)
  }
  const block = model.blocks[0];
  const rows = int(1, 7);
  const [c, h, w] = [model.input.channels, model.input.height, model.input.width];
  const feeds = {
    "b0.x": { data: Float32Array.from({ length: rows * c * h * w }, () => 2 * rnd() - 1), dims: [rows, c, h, w] },
    "b0.dy": { data: Float32Array.from({ length: rows * block.outShape.reduce((a, x) => a * x, 1) }, () => 2 * rnd() - 1), dims: [rows, ...block.outShape] },
    clips_per_frame: { data: Float32Array.of(rows), dims: [1] },
  };
  const weights = initWeights(model, t + 1);
  for (const p of block.params) feeds[p.name] = { data: weights.get(p.name), dims: p.shape };
  const graphs = buildBlockGraphs(model, block, { inputGrad: true, target });
  const faults = [];
  for (const which of ["forward", "backward"]) {
    const out = {};
    for (const provider of ["cpu", "webgpu"]) {
      const session = await GraphSession.create(graphs[which], `sweep ${which}`, provider === "cpu" ? { provider, threads: 1 } : { provider });
      const names = new Set(session.inputNames);
      out[provider] = await session.run(Object.fromEntries(Object.entries(feeds).filter(([name]) => names.has(name))));
    }
    for (const name of Object.keys(out.cpu)) {
      const e = relative(out.cpu[name].data, out.webgpu[name].data);
      if (!(e < 1e-4)) faults.push(`${which} ${name} ${e.toExponential(1)}`);
    }
  }
  tried++;
  if (faults.length > 0) {
    bad++;
    console.log(`BAD ${JSON.stringify(layer)} on ${input.join("x")}, ${rows} rows: ${faults.join("; ")}`);
  }
}
console.log(`${bad} of ${tried} random layers disagree with the CPU provider (seed ${args.seed}${args["no-workarounds"] ? ", workarounds off" : ""})`);
process.exit(bad > 0 ? 1 : 0);
