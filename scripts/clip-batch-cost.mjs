#!/usr/bin/env node
// What a training batch of 8-bit clips costs the thread that also runs the training step
// (docs/PERFORMANCE.md attempt 71): a Moving MNIST batch as the trainer gets it, and the float
// clips made of its pixels, which a device step taking the pixels (CUDA) never reads. Medians of
// interleaved rounds; a table, and JSON with --json.
// Usage: node scripts/clip-batch-cost.mjs [--batch B] [--frames T] [--size S] [--rounds R] [--json OUT]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createDataSource } from "../dist/src/data/create-source.js";
import { DataSpec } from "../dist/src/data/data-spec.js";

function usage(message) {
  console.error(`${message}\nusage: node scripts/clip-batch-cost.mjs [--batch B] [--frames T] [--size S] [--rounds R] [--json OUT]`);
  process.exit(2);
}
let args;
try {
  args = parseArgs({ options: { batch: { type: "string", default: "256" }, frames: { type: "string", default: "8" }, size: { type: "string", default: "32" }, rounds: { type: "string", default: "20" }, json: { type: "string" } } }).values;
} catch (err) {
  usage(err.message);
}
const count = (key) => {
  const n = Number(args[key]);
  if (!Number.isInteger(n) || n < 1) usage(`--${key} ${args[key]}: expected a positive integer`);
  return n;
};
const [batch, frames, size, rounds] = [count("batch"), count("frames"), count("size"), count("rounds")];

const ctx = { input: { channels: 1, height: size, width: size }, classes: 10, seed: 3, baseDir: ".", cacheDir: "unused" };
const source = await createDataSource(DataSpec.parse({ kind: "moving-mnist", clip_length: frames, digits: 2 }), ctx);
const batches = source.trainBatches(batch);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [deliver, floats] = [[], []];
for (let r = 0; r < rounds + 2; r++) {
  let t0 = performance.now();
  const { value } = await batches.next();
  const t1 = performance.now();
  if (!value.pixels) usage("moving-mnist gave no 8-bit pixels");
  t0 = t1 - t0;
  const t2 = performance.now();
  const clips = value.clips; // the first read makes them
  const t3 = performance.now();
  if (clips.length !== value.pixels.data.length) throw new Error("BUG: float clips and pixels differ in length");
  if (r >= 2) [deliver.push(t0), floats.push(t3 - t2)]; // 2 warm-up batches
}
await source.close();

const rows = [
  { what: "batch delivered (clips drawn, frames ordered, pixels copied)", ms: median(deliver) },
  { what: "its float clips, made on first read", ms: median(floats) },
];
console.log(`moving-mnist batch of ${batch} clips x ${frames} frames of ${size} x ${size}, ${rounds} rounds (medians)\n`);
console.log("| part | ms |");
console.log("|---|---|");
for (const r of rows) console.log(`| ${r.what} | ${r.ms.toFixed(2)} |`);
if (args.json) writeFileSync(args.json, JSON.stringify({ batch, frames, size, rounds, rows }, null, 1) + "\n");
