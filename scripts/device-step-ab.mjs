#!/usr/bin/env node
// The device step (src/train/device-step.ts) of two builds of this repository, e.g. main and a
// branch, interleaved in one process on the same batches: the median step time of each, then
// whether both ended with the same weights and optimizer state, bit for bit (after the same steps
// from the same start). For a change to the step's graph that should not change its arithmetic
// (docs/PERFORMANCE.md attempt 66). Each checkout needs `npm run build`.
// Usage: node scripts/device-step-ab.mjs A_DIR B_DIR [--model FILE] [--batch B] [--frames T]
//        [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--json OUT]
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

function usage(message) {
  console.error(`${message}\nusage: node scripts/device-step-ab.mjs A_DIR B_DIR [--model FILE] [--batch B] [--frames T] [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--json OUT]`);
  process.exit(2);
}
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: "string", default: "models/quickstart-cnn.yaml" },
      batch: { type: "string", default: "16" },
      frames: { type: "string", default: "8" },
      rounds: { type: "string", default: "30" },
      provider: { type: "string", default: "cpu" },
      methods: { type: "string", default: "bp,sideways" },
      json: { type: "string" },
    },
  });
} catch (err) {
  usage(err.message);
}
const { values: args, positionals } = parsed;
if (positionals.length !== 2) usage("expected two checkouts, A_DIR and B_DIR");
const count = (key) => {
  const n = Number(args[key]);
  if (!Number.isInteger(n) || n < 1) usage(`--${key} ${args[key]}: expected a positive integer`);
  return n;
};
const [batch, frames, rounds] = [count("batch"), count("frames"), count("rounds")];
if (!["cpu", "cuda", "webgpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cpu, cuda or webgpu`);
const methods = args.methods.split(",");
if (methods.some((m) => !["bp", "sideways"].includes(m))) usage(`--methods ${args.methods}: expected bp and/or sideways`);

async function build(dir) {
  const d = (p) => import(new URL(`dist/src/${p}`, `file://${resolve(dir)}/`).href);
  try {
    return { dir, ...(await d("train/device-step.js")), ...(await d("runtime/nchwc-probe.js")), ...(await d("spec/experiment-spec.js")), ...(await d("optim/optimizer.js")), ...(await d("model/init.js")), ...(await d("model/load-model.js")) };
  } catch (err) {
    usage(`${dir}: ${err.message} (is it a checkout with \`npm run build\` done?)`);
  }
}
const builds = [await build(positionals[0]), await build(positionals[1])];
const provider = args.provider === "cpu" ? { provider: "cpu", threads: 1 } : { provider: args.provider };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [];
for (const method of methods) {
  const runs = [];
  for (const m of builds) {
    const model = m.loadModelFile(args.model);
    const spec = m.OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });
    const step = await m.DeviceStep.create(model, spec, frames, provider, await m.graphTargetFor(provider), method);
    const weights = m.initWeights(model, 1);
    const optimizer = m.createOptimizer(spec);
    step.load(weights, optimizer);
    runs.push({ model, step, weights, optimizer, ms: [] });
  }
  const { channels, height, width } = runs[0].model.input;
  const clips = Float32Array.from({ length: batch * frames * channels * height * width }, (_, i) => 0.5 * Math.sin(i));
  const clipBatch = { clips, labels: Int32Array.from({ length: batch }, (_, i) => i % runs[0].model.classes), dims: [batch, frames, channels, height, width] };
  for (let r = 0; r < rounds + 3; r++) {
    for (const run of runs) {
      const t0 = performance.now();
      await run.step.step(clipBatch, 0.01);
      if (r >= 3) run.ms.push(performance.now() - t0); // 3 warm-up steps
    }
  }
  let identical = true;
  for (const run of runs) await run.step.sync(run.weights, run.optimizer);
  for (const [name, w] of runs[0].weights) if (Buffer.compare(Buffer.from(w.buffer, w.byteOffset, w.byteLength), Buffer.from(runs[1].weights.get(name).buffer, runs[1].weights.get(name).byteOffset, runs[1].weights.get(name).byteLength)) !== 0) identical = false;
  const stateB = runs[1].optimizer.exportState();
  for (const [name, s] of runs[0].optimizer.exportState()) if (!stateB.has(name) || s.some((v, i) => !Object.is(v, stateB.get(name)[i]))) identical = false;
  for (const run of runs) await run.step.release();
  const [a, b] = runs.map((run) => median(run.ms));
  rows.push({ method, a_ms: a, b_ms: b, a_over_b: a / b, bit_identical: identical });
}

console.log(`device step of ${args.model}, ${batch} clips x ${frames} frames, ${args.provider}, SGD momentum, ${rounds} interleaved rounds (medians)`);
console.log(`A = ${positionals[0]}, B = ${positionals[1]}\n`);
console.log("| method | A ms | B ms | A / B | same weights and state, bit for bit |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.method} | ${r.a_ms.toFixed(2)} | ${r.b_ms.toFixed(2)} | ${r.a_over_b.toFixed(3)} | ${r.bit_identical ? "yes" : "NO"} |`);
if (args.json) writeFileSync(args.json, JSON.stringify({ a: positionals[0], b: positionals[1], model: args.model, batch, frames, provider: args.provider, rounds, rows }, null, 1) + "\n");
