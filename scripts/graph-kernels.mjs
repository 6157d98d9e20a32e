#!/usr/bin/env node
// How many kernels each device step's graph launches on a GPU target (src/graph/kernel-count.ts:
// every node but Reshape, Flatten, Squeeze and Unsqueeze), BP and Sideways, and Sideways with each
// sidewaysClip form: built here, nothing run. docs/PERFORMANCE.md attempt 74.
// Usage: node scripts/graph-kernels.mjs [--models a.yaml,b.yaml] [--frames T] [--json OUT]
//        (T: 8, or 2L for a model of more than 4 blocks, so that Sideways gives every block a gradient)
import { writeFileSync } from "node:fs";
import { parseOptions, usageExit } from "./script-options.mjs";

const usage = usageExit("node scripts/graph-kernels.mjs [--models a.yaml,b.yaml] [--frames T] [--json OUT]");
const { values: args } = await parseOptions(
  { options: { models: { type: "string", default: "models/quickstart-wide.yaml,models/vgg-bn-mnist.yaml,models/resnet-mnist.yaml" }, frames: { type: "string" }, json: { type: "string" } } },
  usage,
);
const dist = (p) => import(new URL(`../dist/src/${p}`, import.meta.url).href);
const { CUDA_TARGET, WEBGPU_TARGET } = await dist("graph/graph-builder.js");
const { kernelCount, opTypes } = await dist("graph/kernel-count.js");
const { buildDeviceStepGraph } = await dist("train/device-step-graph.js");
const { loadModelFile } = await dist("model/load-model.js");
const { OptimizerSpec } = await dist("spec/experiment-spec.js");
const spec = OptimizerSpec.parse({ kind: "sgd", lr: 0.01, momentum: 0.9 });

const rows = [];
console.log("| model | frames | target | BP | Sideways | Sideways, sidewaysClip=split |\n|---|---|---|---|---|---|");
for (const file of args.models.split(",")) {
  let model;
  try {
    model = loadModelFile(file);
  } catch (err) {
    usage(`${file}: ${err.message}`);
  }
  const frames = args.frames !== undefined ? Number(args.frames) : Math.max(8, 2 * model.blocks.length);
  if (!Number.isInteger(frames) || frames < 2 * model.blocks.length - 1) usage(`--frames ${args.frames}: ${file} needs at least ${2 * model.blocks.length - 1}`);
  for (const [name, target] of [["cuda", CUDA_TARGET], ["webgpu", WEBGPU_TARGET]]) {
    const kernels = (method, t) => kernelCount(opTypes(buildDeviceStepGraph(model, spec, frames, t, method, "uint8")));
    const row = { model: file, frames, target: name, bp: kernels("bp", target), sideways: kernels("sideways", target), sideways_split: kernels("sideways", { ...target, sidewaysClip: "split" }) };
    rows.push(row);
    console.log(`| ${file} | ${frames} | ${name} | ${row.bp} | ${row.sideways} | ${row.sideways_split} |`);
  }
}
if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 1) + "\n");
