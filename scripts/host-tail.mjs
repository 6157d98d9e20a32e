#!/usr/bin/env node
// Where a device step's host time goes (docs/GPU.md "Goal 1: where the time goes": run 9's CUDA
// trace found 1.2 ms of host work after the GPU's last copy, and 0.4 ms before its first). Each
// timed step of the BP (or Sideways) device step (src/train/device-step.ts) is cut at the native
// binding's run() (onnxruntime-node's InferenceSession.prototype.run, wrapped here to read the
// clock on entry and exit):
//   js-before: the step's start -> the binding's run() entered (our feeds, onnxruntime-common's
//              checks, the setImmediate onnxruntime-node runs each session.run in)
//   native:    inside the binding's run() (onnxruntime's Run, and the binding's conversion of the
//              feeds and outputs between JavaScript and onnxruntime)
//   js-after:  the binding's run() returned -> the step's end (onnxruntime-common's output tensors,
//              our losses and statistics)
// Then the same steps on a second session with onnxruntime's profiler on (SIDEWAYS_ORT_PROFILE):
// its model_run and SequentialExecutor::Execute spans per run split `native` into the binding's
// conversions (native - model_run) and onnxruntime's own work before and after the graph
// (model_run - execute). `--cpu-profile` also samples the timed steps with V8's profiler and lists
// the functions with the most self time (native code shows as "(program)").
// Usage: node scripts/host-tail.mjs [--provider cpu|cuda|webgpu] [--model FILE] [--batch B]
//        [--frames T] [--steps N] [--method bp|sideways] [--clips uint8|float32] [--cpu-profile] [--json OUT]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patternedBatch } from "./patterned-batch.mjs";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/host-tail.mjs [--provider cpu|cuda|webgpu] [--model FILE] [--batch B] [--frames T] [--steps N] [--method bp|sideways] [--clips uint8|float32] [--cpu-profile] [--json OUT]");
const { values: args } = await parseOptions(
  {
    options: {
      provider: { type: "string", default: "cpu" },
      model: { type: "string", default: "models/quickstart-wide.yaml" },
      batch: { type: "string", default: "256" },
      frames: { type: "string", default: "8" },
      steps: { type: "string", default: "30" },
      method: { type: "string", default: "bp" },
      clips: { type: "string", default: "uint8" },
      "cpu-profile": { type: "boolean", default: false },
      json: { type: "string" },
    },
  },
  usage,
);
if (!["cpu", "cuda", "webgpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cpu, cuda or webgpu`);
if (!["bp", "sideways"].includes(args.method)) usage(`--method ${args.method}: expected bp or sideways`);
if (!["uint8", "float32"].includes(args.clips)) usage(`--clips ${args.clips}: expected uint8 or float32`);
const [batch, frames, steps] = positiveInts(args, ["batch", "frames", "steps"], usage);

const dist = (p) => import(new URL(`../dist/src/${p}`, import.meta.url).href);
const { DeviceStep } = await dist("train/device-step.js");
const { graphTargetFor } = await dist("runtime/nchwc-probe.js");
const { OptimizerSpec } = await dist("spec/experiment-spec.js");
const { createOptimizer } = await dist("optim/optimizer.js");
const { initWeights } = await dist("model/init.js");
const { loadModelFile } = await dist("model/load-model.js");
const { loadedOrtBuild } = await dist("runtime/ort-loader.js");
const { readCudaInstall } = await dist("runtime/cuda-install.js");

const provider = args.provider === "cpu" ? { provider: "cpu", threads: 1 } : { provider: args.provider };
const model = loadModelFile(args.model);
const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });
const target = await graphTargetFor(provider);
const clipBatch = patternedBatch(model, batch, frames);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (ns) => Number(ns) / 1e6;

async function newStep() {
  const step = await DeviceStep.create(model, spec, frames, provider, target, args.method, args.clips);
  step.load(initWeights(model, 1), createOptimizer(spec));
  return step;
}

// The binding this process loads (ort-loader.ts picks the build): the module onnxruntime-node's
// backend.js requires. Its methods are read-only, so each new native session gets an own run()
// that reads the clock around the prototype's.
const { ortFor } = await dist("runtime/ort-loader.js");
await ortFor(provider.provider);
const pkg = loadedOrtBuild() === "cuda13" ? readCudaInstall().packageJson : import.meta.url;
const { binding } = createRequire(pkg)("onnxruntime-node/dist/binding.js");
const NativeSession = binding.InferenceSession;
let spans = [];
binding.InferenceSession = function TimedSession(...a) {
  const session = new NativeSession(...a);
  const nativeRun = NativeSession.prototype.run;
  Object.defineProperty(session, "run", {
    value(...r) {
      const t0 = process.hrtime.bigint();
      try {
        return nativeRun.apply(session, r);
      } finally {
        spans.push([t0, process.hrtime.bigint()]);
      }
    },
  });
  return session;
};
const first = await newStep();

/** `n` timed steps after 3 untimed: each cut at the binding's run(). */
async function timeSteps(step, n) {
  for (let i = 0; i < 3; i++) await step.step(clipBatch, 0.01);
  const rows = [];
  for (let i = 0; i < n; i++) {
    spans = [];
    const s = process.hrtime.bigint();
    await step.step(clipBatch, 0.01);
    const e = process.hrtime.bigint();
    if (spans.length !== 1) throw new Error(`BUG: a device step made ${spans.length} native runs, expected 1`);
    const [a, b] = spans[0];
    rows.push({ step: ms(e - s), before: ms(a - s), native: ms(b - a), after: ms(e - b) });
  }
  return rows;
}

let cpuProfile = null;
let inspector = null;
if (args["cpu-profile"]) {
  const { Session } = await import("node:inspector/promises");
  inspector = new Session();
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.setSamplingInterval", { interval: 50 });
}
await timeSteps(first, 3);
if (inspector) await inspector.post("Profiler.start");
const timed = await timeSteps(first, steps);
if (inspector) {
  const { profile } = await inspector.post("Profiler.stop");
  cpuProfile = selfTimes(profile);
  inspector.disconnect();
}
await first.release();

/** Self time by function (name, file:line) over a V8 CPU profile's samples, most first. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const byFn = new Map();
  for (const [id, c] of counts) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || (f.url ? "(anonymous)" : "(native: the binding's run)")} ${f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${f.lineNumber + 1}` : ""}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + c);
  }
  const ms = (profile.endTime - profile.startTime) / 1000;
  // The profile covers timeSteps' 3 untimed steps too.
  return [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([fn, c]) => ({ fn, share: c / total, ms_per_step: (ms * c) / total / (steps + 3) }));
}

// The profiled session: onnxruntime writes its trace when the session is released.
const profileDir = mkdtempSync(join(tmpdir(), "host-tail-"));
process.env.SIDEWAYS_ORT_PROFILE = profileDir;
let profiled;
try {
  const step = await newStep();
  delete process.env.SIDEWAYS_ORT_PROFILE;
  profiled = await timeSteps(step, steps);
  await step.release();
  const events = readdirSync(profileDir).filter((f) => f.endsWith(".json")).flatMap((f) => JSON.parse(readFileSync(join(profileDir, f), "utf8")));
  // The last `steps` runs are the timed ones (3 untimed came first).
  const span = (name) => events.filter((e) => e.cat === "Session" && e.name === name).map((e) => e.dur / 1000).slice(-steps);
  const runs = span("model_run");
  const execs = span("SequentialExecutor::Execute");
  if (runs.length !== steps || execs.length !== steps) throw new Error(`onnxruntime's profile has ${runs.length} model_run and ${execs.length} Execute spans for ${steps} timed steps`);
  profiled.forEach((r, i) => Object.assign(r, { model_run: runs[i], execute: execs[i] }));
} finally {
  rmSync(profileDir, { recursive: true, force: true });
}

const med = (rows, k) => median(rows.map((r) => r[k]));
const summary = {
  provider: args.provider,
  model: model.name,
  method: args.method,
  clips: args.clips,
  batch,
  frames,
  steps,
  node: process.version,
  ort_build: loadedOrtBuild(),
  ms: Object.fromEntries(["step", "before", "native", "after"].map((k) => [k, med(timed, k)])),
  profiled_ms: {
    ...Object.fromEntries(["step", "before", "native", "after", "model_run", "execute"].map((k) => [k, med(profiled, k)])),
    binding: median(profiled.map((r) => r.native - r.model_run)),
    ort_outside_graph: median(profiled.map((r) => r.model_run - r.execute)),
  },
  cpu_profile: cpuProfile,
  timed,
  profiled,
};
const f = (x) => x.toFixed(3);
console.log(`${args.method} device step of ${model.name}, ${batch} clips x ${frames} frames (${args.clips}), ${args.provider} (onnxruntime ${summary.ort_build}), medians of ${steps} steps, ms\n`);
console.log("| session | step | js before run() | native run() | js after run() | onnxruntime model_run | graph (Execute) | binding (native - model_run) | onnxruntime outside the graph |");
console.log("|---|---|---|---|---|---|---|---|---|");
const m = summary.ms;
const p = summary.profiled_ms;
console.log(`| plain | ${f(m.step)} | ${f(m.before)} | ${f(m.native)} | ${f(m.after)} | - | - | - | - |`);
console.log(`| profiled | ${f(p.step)} | ${f(p.before)} | ${f(p.native)} | ${f(p.after)} | ${f(p.model_run)} | ${f(p.execute)} | ${f(p.binding)} | ${f(p.ort_outside_graph)} |`);
if (cpuProfile) {
  console.log("\nV8 CPU profile of the plain steps: self time, most first\n\n| function | share | ms per step |\n|---|---|---|");
  for (const r of cpuProfile.slice(0, 15)) console.log(`| ${r.fn} | ${(100 * r.share).toFixed(1)}% | ${f(r.ms_per_step)} |`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 1) + "\n");
