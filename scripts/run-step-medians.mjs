#!/usr/bin/env node
// Median step time and data time of training runs, from each run folder's metrics.csv: a table,
// and JSON with --json. The first `--skip` steps (warm-up: session creation, cuDNN's algorithm
// search) are left out. For comparing runs of one config that differ in a setting that should not
// change the result (data.workers, runtime.device_step); docs/GPU.md run 8.
// Usage: node scripts/run-step-medians.mjs RUN_DIR [RUN_DIR ...] [--skip N] [--json OUT]
//   RUN_DIR: a run folder (with metrics.csv), or an experiment folder holding exactly one run.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOptions, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/run-step-medians.mjs RUN_DIR [RUN_DIR ...] [--skip N] [--json OUT]");
const { values: args, positionals } = await parseOptions({ allowPositionals: true, options: { skip: { type: "string", default: "10" }, json: { type: "string" } } }, usage);
const skip = Number(args.skip);
if (!Number.isInteger(skip) || skip < 0) usage(`--skip ${args.skip}: expected a count of steps (0 or more)`);
if (positionals.length === 0) usage("expected one or more run folders");

/** The run folder `dir` names: itself, or its one run. */
function runFolder(dir) {
  if (existsSync(join(dir, "metrics.csv"))) return dir;
  const runs = existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "metrics.csv"))) : [];
  if (runs.length !== 1) usage(`${dir}: expected a run folder (with metrics.csv) or a folder holding exactly one, found ${runs.length}`);
  return join(dir, runs[0]);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows = positionals.map((dir) => {
  const run = runFolder(dir);
  const [head, ...lines] = readFileSync(join(run, "metrics.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
  const kept = lines.slice(skip);
  if (kept.length === 0) usage(`${run}: ${lines.length} steps, none left after --skip ${skip}`);
  const col = (name) => {
    const i = head.indexOf(name);
    if (i < 0) usage(`${run}/metrics.csv: no column ${name}`);
    return kept.map((r) => Number(r[i]));
  };
  const loss = Number(lines.at(-1)[head.indexOf("train_loss")]);
  return { run, steps: lines.length, step_ms: 1000 * median(col("step_s")), data_ms: 1000 * median(col("data_wait_s")), frames_per_s: median(col("frames_per_s")), last_train_loss: loss };
});
console.log(`median of steps ${skip + 1} on, per run\n`);
console.log("| run | steps | step ms | data ms | frames/s | last train loss |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.run} | ${r.steps} | ${r.step_ms.toFixed(2)} | ${r.data_ms.toFixed(2)} | ${r.frames_per_s.toFixed(0)} | ${r.last_train_loss} |`);
if (args.json) writeFileSync(args.json, JSON.stringify({ skip, rows }, null, 1) + "\n");
