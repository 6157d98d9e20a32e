#!/usr/bin/env node
// Sums onnxruntime profiles (SIDEWAYS_ORT_PROFILE=DIR, src/runtime/session.ts) by operator and
// execution provider: where a graph's time goes. Usage: node scripts/ort-profile-summary.mjs DIR [top]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseOptions, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/ort-profile-summary.mjs DIR [top]");
const { positionals } = await parseOptions({ allowPositionals: true, options: {} }, usage);
const [dir, topArg] = positionals;
if (dir === undefined || positionals.length > 2) usage("expected a profile folder and, optionally, how many operators to list");
if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) usage(`${dir}: not a folder (expected SIDEWAYS_ORT_PROFILE's folder of onnxruntime profiles)`);
if (topArg !== undefined && !/^[1-9]\d*$/.test(topArg)) usage(`${topArg}: expected how many operators to list (a positive integer)`);
const byOp = new Map();
let runs = 0;
let total = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  for (const e of JSON.parse(readFileSync(join(dir, file), "utf8"))) {
    if (e.cat === "Session" && e.name === "model_run") runs++;
    if (e.cat !== "Node" || !String(e.name).endsWith("_kernel_time")) continue;
    const key = `${e.args?.op_name ?? "?"} (${e.args?.provider ?? "?"})`;
    const a = byOp.get(key) ?? { us: 0, calls: 0 };
    a.us += e.dur;
    a.calls += 1;
    byOp.set(key, a);
    total += e.dur;
  }
}
const rows = [...byOp].sort((x, y) => y[1].us - x[1].us).slice(0, Number(topArg ?? 20));
console.log(`${runs} session runs, ${(total / 1000).toFixed(1)} ms in kernels`);
console.log("| operator (provider) | ms | share | calls |");
console.log("|---|---|---|---|");
for (const [op, a] of rows) console.log(`| ${op} | ${(a.us / 1000).toFixed(1)} | ${((100 * a.us) / total).toFixed(1)}% | ${a.calls} |`);
