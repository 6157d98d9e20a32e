#!/usr/bin/env node
// What a training batch of 8-bit clips costs the thread that also runs the training step
// (docs/PERFORMANCE.md attempt 71): a Moving MNIST batch as the trainer gets it, and the float
// clips made of its pixels, which a device step taking the pixels (CUDA) never reads; for each
// count of data workers (data.workers, 0: this thread generates the clips). Medians of rounds; a
// table, and JSON with --json. Batches are taken back to back, reading only their pixels, so
// "delivered" is what a training step faster than the data waits for each batch; the float clips
// are then timed alone, once the source is closed.
// Usage: node scripts/clip-batch-cost.mjs [--batch B] [--frames T] [--size S] [--rounds R] [--workers 0,2,...] [--json OUT]
import { writeFileSync } from "node:fs";
import { createDataSource } from "../dist/src/data/create-source.js";
import { DataSpec } from "../dist/src/data/data-spec.js";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/clip-batch-cost.mjs [--batch B] [--frames T] [--size S] [--rounds R] [--workers 0,2,...] [--json OUT]");
const { values: args } = await parseOptions({ options: { batch: { type: "string", default: "256" }, frames: { type: "string", default: "8" }, size: { type: "string", default: "32" }, rounds: { type: "string", default: "20" }, workers: { type: "string", default: "0" }, json: { type: "string" } } }, usage);
const [batch, frames, size, rounds] = positiveInts(args, ["batch", "frames", "size", "rounds"], usage);
const workerCounts = args.workers.split(",").map(Number);
if (workerCounts.some((n) => !Number.isInteger(n) || n < 0)) usage(`--workers ${args.workers}: expected counts of worker threads, e.g. 0,2,4`);
const ctx = { input: { channels: 1, height: size, width: size }, classes: 10, seed: 3, baseDir: ".", cacheDir: "unused" };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows = [];
for (const workers of workerCounts) {
  const source = await createDataSource(DataSpec.parse({ kind: "moving-mnist", clip_length: frames, digits: 2, ...(workers > 0 ? { workers } : {}) }), ctx);
  const batches = source.trainBatches(batch);
  const [deliver, floats, kept] = [[], [], []];
  for (let r = 0; r < rounds + 2; r++) {
    const t0 = performance.now();
    const { value } = await batches.next(); // only the pixels are read here
    if (r >= 2) deliver.push(performance.now() - t0); // 2 warm-up batches
    if (!value.pixels) usage("moving-mnist gave no 8-bit pixels");
    kept.push(value);
  }
  await source.close(); // no clips made meanwhile: the float clips timed alone
  for (const value of kept.slice(2)) {
    const t0 = performance.now();
    const clips = value.clips; // the first read makes them
    floats.push(performance.now() - t0);
    if (clips.length !== value.pixels.data.length) throw new Error("BUG: float clips and pixels differ in length");
  }
  rows.push({ workers, delivered_ms: median(deliver), float_clips_ms: median(floats) });
}

console.log(`moving-mnist batches of ${batch} clips x ${frames} frames of ${size} x ${size}, taken back to back, ${rounds} rounds (medians)\n`);
console.log("| data.workers | batch delivered ms | its float clips, made on first read, ms |");
console.log("|---|---|---|");
for (const r of rows) console.log(`| ${r.workers} | ${r.delivered_ms.toFixed(2)} | ${r.float_clips_ms.toFixed(2)} |`);
if (args.json) writeFileSync(args.json, JSON.stringify({ batch, frames, size, rounds, rows }, null, 1) + "\n");
