#!/usr/bin/env node
// What the data pipeline costs the thread that runs the training step, while that step holds the
// thread (onnxruntime-node's run is synchronous on it: docs/design/onnxruntime-node.md), as in a
// GPU training run (docs/PERFORMANCE.md attempt 78). Each step takes the next Moving MNIST batch,
// then blocks the thread for --step-ms with Atomics.wait (a native call that allocates nothing),
// then, in the "release" arm, hands the batch back (ClipBatch.release, as the trainer does) or, in
// the "keep" arm, drops it for the garbage collector. Per step: the thread's data time (waiting
// plus assembling, DataSourceStats.dataS), the step's time beyond --step-ms, and the garbage
// collector's pauses on this thread (perf_hooks "gc" entries). The arms alternate, --repeats each,
// on the same batches; medians and means over steps after the first --warmup of each repeat.
// Usage: node scripts/step-thread-data.mjs [--workers 0,2] [--batch 256] [--frames 8] [--size 32]
//          [--step-ms 5] [--steps 60] [--warmup 10] [--repeats 3] [--json OUT]
import { writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { createDataSource } from "../dist/src/data/create-source.js";
import { DataSpec } from "../dist/src/data/data-spec.js";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/step-thread-data.mjs [--workers 0,2] [--batch B] [--frames T] [--size S] [--step-ms MS] [--steps N] [--warmup N] [--repeats N] [--json OUT]");
const options = { workers: "1", batch: "256", frames: "8", size: "32", "step-ms": "5", steps: "60", warmup: "10", repeats: "3" };
const { values: args } = await parseOptions(
  { options: { ...Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { type: "string", default: v }])), json: { type: "string" } } },
  usage,
);
const [batch, frames, size, stepMs, steps, repeats] = positiveInts(args, ["batch", "frames", "size", "step-ms", "steps", "repeats"], usage);
const warmup = Number(args.warmup);
if (!Number.isInteger(warmup) || warmup < 0 || warmup >= steps) usage(`--warmup ${args.warmup}: expected a whole number below --steps`);
const workerCounts = args.workers.split(",").map(Number);
if (workerCounts.some((n) => !Number.isInteger(n) || n < 0)) usage(`--workers ${args.workers}: expected counts of worker threads, e.g. 0,2`);

const ctx = { input: { channels: 1, height: size, width: size }, classes: 10, seed: 3, baseDir: ".", cacheDir: "unused" };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const blocker = new Int32Array(new SharedArrayBuffer(4));
let gcMs = 0;
new PerformanceObserver((list) => list.getEntries().forEach((e) => (gcMs += e.duration))).observe({ entryTypes: ["gc"] });

/** One repeat of one arm: per-step data ms, overhead ms (the step's time beyond --step-ms) and GC ms. */
async function arm(workers, release) {
  const spec = { kind: "moving-mnist", clip_length: frames, digits: 2, ...(workers > 0 ? { workers } : {}) };
  const source = await createDataSource(DataSpec.parse(spec), ctx);
  const rows = { data: [], overhead: [], gc: [] };
  try {
    const batches = source.trainBatches(batch);
    for (let s = 0; s < steps; s++) {
      const [t0, data0, gc0] = [performance.now(), source.stats().dataS, gcMs];
      const { value } = await batches.next();
      if (!value.pixels) usage("moving-mnist gave no 8-bit pixels");
      await yieldToEventLoop(); // as onnxruntime-node's run: a setImmediate around the native call
      Atomics.wait(blocker, 0, 0, stepMs);
      if (release) value.release?.();
      // The step's other awaits (metrics, progress) let queued messages in.
      await yieldToEventLoop();
      if (s < warmup) continue;
      rows.data.push((source.stats().dataS - data0) * 1000);
      rows.overhead.push(performance.now() - t0 - stepMs);
      rows.gc.push(gcMs - gc0);
    }
  } finally {
    await source.close();
  }
  return rows;
}

const results = [];
for (const workers of workerCounts) {
  const all = { keep: { data: [], overhead: [], gc: [] }, release: { data: [], overhead: [], gc: [] } };
  for (let r = 0; r < repeats; r++) {
    for (const name of r % 2 === 0 ? ["keep", "release"] : ["release", "keep"]) {
      const rows = await arm(workers, name === "release");
      for (const k of Object.keys(rows)) all[name][k].push(...rows[k]);
    }
  }
  for (const name of ["keep", "release"]) {
    const a = all[name];
    results.push({ workers, arm: name, steps: a.data.length, data_ms_median: median(a.data), data_ms_mean: mean(a.data), overhead_ms_median: median(a.overhead), overhead_ms_mean: mean(a.overhead), gc_ms_mean: mean(a.gc) });
  }
}

console.log(`moving-mnist batches of ${batch} clips x ${frames} frames of ${size} x ${size}, each step holding the thread ${stepMs} ms; ${repeats} repeats of ${steps - warmup} steps an arm, alternating\n`);
console.log("| data.workers | batches | data ms median | data ms mean | step beyond its run, ms median | mean | GC ms a step (mean) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of results) {
  const f = (x) => x.toFixed(2);
  console.log(`| ${r.workers} | ${r.arm === "release" ? "released" : "kept"} | ${f(r.data_ms_median)} | ${f(r.data_ms_mean)} | ${f(r.overhead_ms_median)} | ${f(r.overhead_ms_mean)} | ${f(r.gc_ms_mean)} |`);
}
if (args.json) writeFileSync(args.json, JSON.stringify({ batch, frames, size, step_ms: stepMs, steps, warmup, repeats, results }, null, 1) + "\n");
