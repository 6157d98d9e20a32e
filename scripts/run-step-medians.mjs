#!/usr/bin/env node
// Median and mean step time and data time of training runs, from each run folder's metrics.csv: a
// table, and JSON with --json. The mean shows what the median leaves out, rare long steps (garbage
// collection pauses: docs/PERFORMANCE.md attempt 78), and the throughput is the steps' frames over
// their total time. The first `--skip` steps (warm-up: session creation, cuDNN's algorithm
// search) are left out. For comparing runs of one config that differ in a setting that should not
// change the result (data.workers, runtime.device_step); docs/GPU.md run 8.
// Usage: node scripts/run-step-medians.mjs RUN_DIR [RUN_DIR ...] [--skip N] [--json OUT]
//   RUN_DIR: a run folder (with metrics.csv), or an experiment folder holding exactly one run.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOptions, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/run-step-medians.mjs RUN_DIR [RUN_DIR ...] [--skip N] [--json OUT]");
const { values: args, positionals } = await parseOptions({ allowPositionals: true, options: { skip: { type: "string", default: "10" }, json: { type: "string" } } }, usage);
if (!/^\d+$/.test(args.skip)) usage(`--skip ${args.skip}: expected a count of steps (0 or more)`);
const skip = Number(args.skip);
if (positionals.length === 0) usage("expected one or more run folders");

/** The run folder `dir` names: itself, or its one run. */
function runFolder(dir) {
  if (existsSync(join(dir, "metrics.csv"))) return dir;
  const runs = existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "metrics.csv"))) : [];
  if (runs.length !== 1) usage(`${dir}: expected a run folder (with metrics.csv) or a folder holding exactly one, found ${runs.length}`);
  return join(dir, runs[0]);
}
/** The median; of an even count, the mean of the two middle values. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    usage(`${file}: cannot read it (${err.code ?? err.message})`);
  }
}
const rows = positionals.map((dir) => {
  const run = runFolder(dir);
  const [head, ...lines] = readText(join(run, "metrics.csv")).trim().split("\n").map((l) => l.split(","));
  const kept = lines.slice(skip);
  if (kept.length === 0) usage(`${run}: ${lines.length} steps, none left after --skip ${skip}`);
  const col = (name, rows = kept) => {
    const i = head.indexOf(name);
    if (i < 0) usage(`${run}/metrics.csv: no column ${name}`);
    return rows.map((r) => {
      const v = r[i] === undefined || r[i].trim() === "" ? NaN : Number(r[i]);
      if (!Number.isFinite(v)) usage(`${run}/metrics.csv: ${name} of row ${lines.indexOf(r) + 2} is ${JSON.stringify(r[i] ?? "")}, expected a number`);
      return v;
    });
  };
  const [loss] = col("train_loss", lines.slice(-1));
  const [stepS, dataS, rate] = [col("step_s"), col("data_wait_s"), col("frames_per_s")];
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Each row's frames are its frames/s times its step time.
  const throughput = rate.reduce((sum, r, i) => sum + r * stepS[i], 0) / stepS.reduce((a, b) => a + b, 0);
  return {
    run,
    steps: lines.length,
    step_ms: 1000 * median(stepS),
    step_ms_mean: 1000 * mean(stepS),
    data_ms: 1000 * median(dataS),
    data_ms_mean: 1000 * mean(dataS),
    frames_per_s: median(rate),
    throughput_frames_per_s: throughput,
    last_train_loss: loss,
  };
});
console.log(`medians (and means) of steps ${skip + 1} on, per run; throughput: their frames over their time\n`);
console.log("| run | steps | step ms | step ms, mean | data ms | data ms, mean | frames/s | throughput frames/s | last train loss |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const f = (x) => x.toFixed(2);
  console.log(`| ${r.run} | ${r.steps} | ${f(r.step_ms)} | ${f(r.step_ms_mean)} | ${f(r.data_ms)} | ${f(r.data_ms_mean)} | ${r.frames_per_s.toFixed(0)} | ${r.throughput_frames_per_s.toFixed(0)} | ${r.last_train_loss} |`);
}
if (args.json) {
  try {
    writeFileSync(args.json, JSON.stringify({ skip, rows }, null, 1) + "\n");
  } catch (err) {
    usage(`--json ${args.json}: cannot write it (${err.code ?? err.message})`);
  }
}
