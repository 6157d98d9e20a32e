#!/usr/bin/env node
// Where each marked window of a CUDA trace went (src/bench/cuda-trace.ts): a trace written by
// scripts/cupti-trace.c and the windows the traced process marked ({pid, marks}, written by
// `device-step-ab.mjs --marks`, SIDEWAYS_STEP_MARKS in `bench --peer` and SIDEWAYS_PEER_MARKS in
// its PyTorch peer), the medians of each label's windows: wall time, GPU busy, kernels, the GPU's
// idle time split into waiting for the host's launch and after it, copies, and the host's time in
// CUDA calls and waits. A "%p" in TRACE is the marks' process id (cupti-trace's file per process).
// Usage: node scripts/cuda-trace-summary.mjs TRACE.csv MARKS.json [--top N] [--json OUT]
import { readFileSync, writeFileSync } from "node:fs";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/cuda-trace-summary.mjs TRACE.csv MARKS.json [--top N] [--json OUT]");
const { values: args, positionals } = await parseOptions({ allowPositionals: true, options: { top: { type: "string", default: "8" }, json: { type: "string" } } }, usage);
if (positionals.length !== 2) usage("expected a trace (CSV) and its marks (JSON)");
const [top] = positiveInts(args, ["top"], usage);
const { parseTrace, summarizeWindow, launchCalls, medianSummary } = await import(new URL("../dist/src/bench/cuda-trace.js", import.meta.url).href);

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    usage(`${path}: ${err.message}`);
  }
};
let marks;
let pid;
try {
  const written = JSON.parse(read(positionals[1]));
  pid = written.pid;
  marks = written.marks.map((m) => ({ label: m.label, start: Number(m.start), end: Number(m.end) }));
} catch (err) {
  usage(`${positionals[1]}: not the {pid, marks} that device-step-ab.mjs --marks writes (${err.message})`);
}
const tracePath = positionals[0].replaceAll("%p", String(pid));
let trace;
try {
  trace = parseTrace(read(tracePath), tracePath);
} catch (err) {
  usage(err.message);
}
if (marks.length === 0) usage(`${positionals[1]}: no windows marked`);
if (trace.dropped > 0) console.log(`warning: CUPTI dropped ${trace.dropped} records: the trace is incomplete`);

const calls = launchCalls(trace);
const byLabel = new Map();
for (const mark of marks) {
  const windows = byLabel.get(mark.label) ?? [];
  windows.push(summarizeWindow(trace, mark, calls));
  byLabel.set(mark.label, windows);
}
const summaries = [...byLabel.values()].map(medianSummary);
const f = (x) => x.toFixed(2);
console.log(`${tracePath}: ${trace.records.length} records; medians over each label's windows, ms\n`);
console.log("| label | windows | wall | GPU busy | kernels | kernel time | idle, waiting for the host | idle, after the launch | idle, unattributed | lead | tail |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const s of summaries) {
  console.log(`| ${s.label} | ${s.windows} | ${f(s.wallMs)} | ${f(s.gpuBusyMs)} (${((100 * s.gpuBusyMs) / s.wallMs).toFixed(0)}%) | ${s.kernels} | ${f(s.kernelMs)} | ${f(s.idleWaitingForHostMs)} | ${f(s.idleAfterLaunchMs)} | ${f(s.idleUnattributedMs)} | ${f(s.leadMs)} | ${f(s.tailMs)} |`);
}
const list = (record) =>
  Object.entries(record)
    .slice(0, top)
    .map(([name, v]) => `${name} ${f(v)}`)
    .join(", ");
for (const s of summaries) {
  console.log(`\n${s.label}:\n  host in CUDA calls: ${list(s.apiMs)}\n  host waiting: ${list(s.syncMs) || "none"}\n  copies: ${list(s.copyMs) || "none"}`);
}
if (args.json) writeFileSync(args.json, JSON.stringify({ trace: tracePath, records: trace.records.length, dropped: trace.dropped, summaries }, null, 1) + "\n");
