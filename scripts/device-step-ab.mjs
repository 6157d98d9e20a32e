#!/usr/bin/env node
// The device step (src/train/device-step.ts) of two or more arms, interleaved in one process on the
// same batches: the median step time of each, and whether each ended with arm A's weights and
// optimizer state bit for bit (after the same steps from the same start), else the largest
// relative difference of a weight tensor. An arm is a build of this repository (a checkout
// with `npm run build` done, e.g. main and a branch), optionally with graph forms laid over the
// provider's target after a colon (SIDEWAYS_GRAPH_FORMS's syntax, src/runtime/graph-forms.ts):
// `.` and `.:convInputGrad=subpixel` compare one build's default graphs with a candidate form.
// For a change to the step's graph that should not change its arithmetic (docs/PERFORMANCE.md
// attempt 66), or a form that changes only its float32 rounding (attempt 68). On CUDA two sessions
// of one graph can end apart (cuDNN picks each session's kernels by timing them): `. .` shows by how
// much. With `--clips float32,uint8` every arm runs twice, taking the clips as float32 and as their
// 8-bit pixels (docs/GPU.md "Clips as 8-bit pixels"); before timing, the script checks on the
// provider that the step's clip input, run alone, makes the pixels the float clips bit for bit,
// and exits 1 where it does not; on the CPU and WebGPU it exits 1 too where an arm's two inputs
// end with other weights (on CUDA their weights are compared as any arm's). The clips are 8-bit pixels scaled to [0, 1] by
// this checkout's src/data/clip.js assembleBatch (before attempt 70 they were 0.5 sin(i): weight
// differences printed since are not comparable with earlier ones). `--marks FILE` writes each
// timed step's start and end on CLOCK_MONOTONIC, labelled "method arm", for reading a CUDA trace
// taken of the run (scripts/gpu-trace.sh).
// Usage: node scripts/device-step-ab.mjs A_ARM B_ARM [C_ARM ...] [--model FILE] [--batch B] [--frames T]
//        [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--clips float32,uint8] [--json OUT] [--marks OUT]
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { patternedBatch } from "./patterned-batch.mjs";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/device-step-ab.mjs A_ARM B_ARM [C_ARM ...] (ARM: DIR or DIR:FORMS) [--model FILE] [--batch B] [--frames T] [--rounds R] [--provider cpu|webgpu|cuda] [--methods bp,sideways] [--clips float32,uint8] [--json OUT] [--marks OUT]");
const { values: args, positionals } = await parseOptions(
  {
    allowPositionals: true,
    options: {
      model: { type: "string", default: "models/quickstart-cnn.yaml" },
      batch: { type: "string", default: "16" },
      frames: { type: "string", default: "8" },
      rounds: { type: "string", default: "30" },
      provider: { type: "string", default: "cpu" },
      methods: { type: "string", default: "bp,sideways" },
      clips: { type: "string", default: "float32" },
      json: { type: "string" },
      marks: { type: "string" },
    },
  },
  usage,
);
const clipInputs = args.clips.split(",");
if (clipInputs.some((c) => !["float32", "uint8"].includes(c))) usage(`--clips ${args.clips}: expected float32 and/or uint8`);
if (positionals.length * clipInputs.length < 2) usage("expected two or more arms (each a checkout DIR or DIR:FORMS), or one with --clips float32,uint8");
const [batch, frames, rounds] = positiveInts(args, ["batch", "frames", "rounds"], usage);
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
const { timeMajorFrames } = await import(new URL("../dist/src/train/bp-stage.js", import.meta.url).href);
const builds = [];
for (const arm of positionals) {
  const m = await build(arm);
  for (const clipInput of clipInputs) builds.push({ ...m, arm: clipInputs.length > 1 ? `${arm} [${clipInput}]` : arm, base: arm, clipInput });
}
const provider = args.provider === "cpu" ? { provider: "cpu", threads: 1 } : { provider: args.provider };

/** Each build taking 8-bit clips: its step's clip input on the provider must give the batch's float clips, time-major, bit for bit. */
async function checkClipRows(batch) {
  const expected = timeMajorFrames(batch.clips, batch.dims, 0, batch.dims[1]).data;
  for (const dir of new Set(builds.filter((b) => b.clipInput === "uint8").map((b) => b.dir))) {
    const m = builds.find((b) => b.dir === dir);
    if (typeof m.clipRowsOnDevice !== "function") usage(`${dir}: its build has no clipRowsOnDevice (src/train/device-step.ts) to check its 8-bit clip input with`);
    const rows = await m.clipRowsOnDevice(batch, provider);
    const differ = rows.reduce((n, v, i) => n + (Object.is(v, expected[i]) ? 0 : 1), 0);
    if (differ > 0) {
      console.error(`${dir}: the step's clip input made ${differ} of ${rows.length} values other than the host's float clips: 8-bit clips must give them bit for bit`);
      process.exitCode = 1;
    } else console.log(`${dir}: the step's clip input gives the host's float clips bit for bit (${rows.length} values, ${args.provider})`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [];
/** Each timed step on CLOCK_MONOTONIC, ns as strings (JSON has no BigInt). */
const marks = [];
for (const method of methods) {
  const runs = [];
  for (const m of builds) {
    const model = m.loadModelFile(args.model);
    const spec = m.OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });
    const target = { ...(await m.graphTargetFor(provider)), ...m.forms };
    const step = await m.DeviceStep.create(model, spec, frames, provider, target, method, m.clipInput);
    const weights = m.initWeights(model, 1);
    const optimizer = m.createOptimizer(spec);
    step.load(weights, optimizer);
    runs.push({ model, step, weights, optimizer, ms: [] });
  }
  const clipBatch = patternedBatch(runs[0].model, batch, frames);
  if (method === methods[0]) await checkClipRows(clipBatch);
  for (let r = 0; r < rounds + 3; r++) {
    for (const [i, run] of runs.entries()) {
      const [t0, m0] = [performance.now(), process.hrtime.bigint()];
      await run.step.step(clipBatch, 0.01);
      if (r < 3) continue; // 3 warm-up steps
      run.ms.push(performance.now() - t0);
      marks.push({ label: `${method} ${builds[i].arm}`, start: String(m0), end: String(process.hrtime.bigint()) });
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
  // Where sessions are deterministic (not CUDA), an arm's 8-bit and float32 inputs must also end
  // with the same weights bit for bit.
  if (args.provider !== "cuda") {
    for (const [i, run] of runs.entries()) {
      const twin = runs.findIndex((_, j) => j !== i && builds[j].base === builds[i].base && builds[j].clipInput === "float32");
      if (builds[i].clipInput !== "uint8" || twin < 0) continue;
      if ([...runs[twin].weights].some(([name, w]) => Buffer.compare(bytes(w), bytes(run.weights.get(name))) !== 0)) {
        console.error(`${method}: ${builds[i].arm} ended with other weights than ${builds[twin].arm}: on ${args.provider} 8-bit clips must train bit for bit as their float32 clips`);
        process.exitCode = 1;
      }
    }
  }
  for (const run of runs) await run.step.release();
  for (const arm of arms) arm.a_over_arm = arms[0].ms / arm.ms;
  rows.push({ method, arms, a_ms: arms[0].ms, b_ms: arms[1].ms, a_over_b: arms[0].ms / arms[1].ms, bit_identical: arms.slice(1).every((x) => x.bit_identical) });
}

console.log(`device step of ${args.model}, ${batch} clips x ${frames} frames, ${args.provider}, SGD momentum, ${rounds} interleaved rounds (medians)`);
console.log(builds.map((b, i) => `${String.fromCharCode(65 + i)} = ${b.arm}`).join(", ") + "\n");
console.log("| method | arm | ms | A / arm | same weights and state as A |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  r.arms.forEach((x, i) => {
    const same = i === 0 ? "-" : x.bit_identical ? "yes, bit for bit" : `no: weights within ${x.max_relative_weight_difference.toExponential(1)} relative`;
    console.log(`| ${r.method} | ${String.fromCharCode(65 + i)} | ${x.ms.toFixed(2)} | ${x.a_over_arm.toFixed(3)} | ${same} |`);
  });
}
const armNames = builds.map((b) => b.arm);
if (args.marks) writeFileSync(args.marks, JSON.stringify({ pid: process.pid, marks }) + "\n");
if (args.json) writeFileSync(args.json, JSON.stringify({ arms: armNames, a: armNames[0], b: armNames[1], clips: clipInputs, model: args.model, batch, frames, provider: args.provider, rounds, rows }, null, 1) + "\n");
