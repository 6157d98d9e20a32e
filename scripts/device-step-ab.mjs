#!/usr/bin/env node
// The device step (src/train/device-step.ts) of two or more arms, interleaved in one process on the
// same batches: the median step time of each, and whether each ended with arm A's weights and
// optimizer state bit for bit (after the same steps from the same start), else the largest
// relative difference of a weight tensor. An arm is a build of this repository (a checkout
// with `npm run build` done, e.g. main and a branch), optionally with graph forms laid over the
// provider's target after a colon (SIDEWAYS_GRAPH_FORMS's syntax, src/runtime/graph-forms.ts):
// `.` and `.:convInputGrad=subpixel` compare one build's default graphs with a candidate form.
// For a change to the step's graph that should not change its arithmetic (docs/PERFORMANCE.md
// attempt 66), or a form that changes only its float32 rounding (attempt 68).
// Usage: node scripts/device-step-ab.mjs A_ARM B_ARM [C_ARM ...] [--model FILE] [--batch B] [--frames T]
//        [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--json OUT]
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

function usage(message) {
  console.error(`${message}\nusage: node scripts/device-step-ab.mjs A_ARM B_ARM [C_ARM ...] (ARM: DIR or DIR:FORMS) [--model FILE] [--batch B] [--frames T] [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--json OUT]`);
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
if (positionals.length < 2) usage("expected two or more arms, each a checkout DIR or DIR:FORMS");
const count = (key) => {
  const n = Number(args[key]);
  if (!Number.isInteger(n) || n < 1) usage(`--${key} ${args[key]}: expected a positive integer`);
  return n;
};
const [batch, frames, rounds] = [count("batch"), count("frames"), count("rounds")];
if (!["cpu", "cuda", "webgpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cpu, cuda or webgpu`);
const methods = args.methods.split(",");
if (methods.some((m) => !["bp", "sideways"].includes(m))) usage(`--methods ${args.methods}: expected bp and/or sideways`);

async function build(arm) {
  const colon = arm.indexOf(":");
  const [dir, forms] = colon < 0 ? [arm, ""] : [arm.slice(0, colon), arm.slice(colon + 1)];
  const d = (p) => import(new URL(`dist/src/${p}`, `file://${resolve(dir)}/`).href);
  try {
    const m = { arm, dir, ...(await d("train/device-step.js")), ...(await d("runtime/nchwc-probe.js")), ...(await d("spec/experiment-spec.js")), ...(await d("optim/optimizer.js")), ...(await d("model/init.js")), ...(await d("model/load-model.js")) };
    m.forms = forms === "" ? {} : (await d("runtime/graph-forms.js")).parseGraphForms(forms, arm);
    return m;
  } catch (err) {
    usage(`${arm}: ${err.message} (is ${dir} a checkout with \`npm run build\` done, and are its forms SIDEWAYS_GRAPH_FORMS's syntax?)`);
  }
}
const builds = [];
for (const arm of positionals) builds.push(await build(arm));
const provider = args.provider === "cpu" ? { provider: "cpu", threads: 1 } : { provider: args.provider };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [];
for (const method of methods) {
  const runs = [];
  for (const m of builds) {
    const model = m.loadModelFile(args.model);
    const spec = m.OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });
    const target = { ...(await m.graphTargetFor(provider)), ...m.forms };
    const step = await m.DeviceStep.create(model, spec, frames, provider, target, method);
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
  for (const run of runs) await run.step.sync(run.weights, run.optimizer);
  const bytes = (w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength);
  const [a] = runs;
  const stateA = a.optimizer.exportState();
  const arms = runs.map((run, i) => {
    let identical = true;
    let maxRelative = 0;
    for (const [name, w] of a.weights) {
      const v = run.weights.get(name);
      if (Buffer.compare(bytes(w), bytes(v)) === 0) continue;
      identical = false;
      let [diff, na, nb] = [0, 0, 0];
      for (let j = 0; j < w.length; j++) [diff, na, nb] = [diff + (w[j] - v[j]) ** 2, na + w[j] ** 2, nb + v[j] ** 2];
      maxRelative = Math.max(maxRelative, Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-30));
    }
    const state = run.optimizer.exportState();
    for (const [name, s] of stateA) if (!state.has(name) || s.some((v, j) => !Object.is(v, state.get(name)[j]))) identical = false;
    return { arm: builds[i].arm, ms: median(run.ms), bit_identical: identical, max_relative_weight_difference: maxRelative };
  });
  for (const run of runs) await run.step.release();
  for (const arm of arms) arm.a_over_arm = arms[0].ms / arm.ms;
  rows.push({ method, arms, a_ms: arms[0].ms, b_ms: arms[1].ms, a_over_b: arms[0].ms / arms[1].ms, bit_identical: arms.slice(1).every((x) => x.bit_identical) });
}

console.log(`device step of ${args.model}, ${batch} clips x ${frames} frames, ${args.provider}, SGD momentum, ${rounds} interleaved rounds (medians)`);
console.log(positionals.map((arm, i) => `${String.fromCharCode(65 + i)} = ${arm}`).join(", ") + "\n");
console.log("| method | arm | ms | A / arm | same weights and state as A |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  r.arms.forEach((x, i) => {
    const same = i === 0 ? "-" : x.bit_identical ? "yes, bit for bit" : `no: weights within ${x.max_relative_weight_difference.toExponential(1)} relative`;
    console.log(`| ${r.method} | ${String.fromCharCode(65 + i)} | ${x.ms.toFixed(2)} | ${x.a_over_arm.toFixed(3)} | ${same} |`);
  });
}
if (args.json) writeFileSync(args.json, JSON.stringify({ arms: positionals, a: positionals[0], b: positionals[1], model: args.model, batch, frames, provider: args.provider, rounds, rows }, null, 1) + "\n");
