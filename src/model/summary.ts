/**
 * `sideways model summary`: per block its layers, output shape, parameter count, forward+backward
 * FLOPs per frame, and a stage plan for a number of workers.
 *
 * FLOPs count the multiply-adds of conv2d and linear layers (inside residual units too, and their
 * shortcuts' convs), 2 FLOPs each, as src/bench/peer-flops.ts does: forward, weight gradient
 * (= forward) and input gradient (= forward, except for the model's first block starter, whose
 * input gradient nobody needs). Normalisation, ReLU, pooling and bias arithmetic are elementwise
 * and left out (a few percent on the zoo models). The stage plan splits the blocks by these FLOPs
 * (train/stage-plan.ts balancedStages); a run splits by measured time instead, which can differ.
 */
import { balancedStages, stageBlocksText } from "../train/stage-plan.js";
import type { LayerSpec } from "./model-spec.js";
import type { Model } from "./model.js";
import { count } from "../util/count.js";

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const strideOf = (s: LayerSpec) => (s.type === "conv2d" ? s.stride : s.type === "maxpool2d" || s.type === "avgpool2d" ? (s.stride ?? s.kernel) : 1);

/** Per-frame forward multiply-adds of one layer given its output shape (residual units: inner layers and shortcut). */
export function forwardMacs(spec: LayerSpec, inShape: readonly number[], outShape: readonly number[]): number {
  switch (spec.type) {
    case "conv2d":
      return numel(outShape) * inShape[0] * spec.kernel * spec.kernel;
    case "linear":
      return inShape[0] * outShape[0];
    case "residual": {
      const shortcut = Array.isArray(spec.shortcut) ? pathMacs(spec.shortcut, inShape) : spec.shortcut === "conv" ? numel(outShape) * inShape[0] : 0;
      return pathMacs(spec.layers, inShape) + shortcut;
    }
    default:
      return 0;
  }
}

/** The multiply-adds of layers chained from `inShape` (a residual unit's path). */
function pathMacs(layers: readonly LayerSpec[], inShape: readonly number[]): number {
  let macs = 0;
  let shape = [...inShape];
  for (const layer of layers) {
    const out = innerOutShape(layer, shape);
    macs += forwardMacs(layer, shape, out);
    shape = out;
  }
  return macs;
}

/** The output shape of a layer inside a residual unit (the model only records the unit's). */
function innerOutShape(spec: LayerSpec, inShape: readonly number[]): number[] {
  if (spec.type === "conv2d" || spec.type === "maxpool2d" || spec.type === "avgpool2d") {
    const k = spec.kernel;
    const s = strideOf(spec);
    const p = spec.padding;
    const out = (n: number) => Math.floor((n + 2 * p - k) / s) + 1;
    return [spec.type === "conv2d" ? spec.out_channels : inShape[0], out(inShape[1]), out(inShape[2])];
  }
  if (spec.type === "global_avg_pool") return [inShape[0]];
  if (spec.type === "flatten") return [numel(inShape)];
  if (spec.type === "linear") return [spec.out_features];
  return [...inShape];
}

export interface BlockSummary {
  index: number;
  layers: string;
  outShape: number[];
  params: number;
  buffers: number;
  /** Forward + backward FLOPs per frame. */
  flops: number;
}

/** A layer's type, with gelu's tanh form marked (`gelu(tanh)`): the exact and tanh forms differ in value, not in shape or cost. */
const typeText = (spec: LayerSpec) => (spec.type === "gelu" && spec.approximate === "tanh" ? "gelu(tanh)" : spec.type);

function layerText(spec: LayerSpec): string {
  if (spec.type !== "residual") return typeText(spec);
  const types = (layers: readonly LayerSpec[]) => layers.map(typeText).join(",");
  return `residual(${types(spec.layers)}; shortcut ${Array.isArray(spec.shortcut) ? `(${types(spec.shortcut)})` : spec.shortcut})`;
}

export function summariseBlocks(model: Model): BlockSummary[] {
  const firstStarter = model.blocks[0].layers.find((l) => l.params.length > 0)?.index ?? 0;
  return model.blocks.map((block) => {
    let macs = 0;
    for (const l of block.layers) {
      const fwd = forwardMacs(l.spec, l.inShape, l.outShape);
      macs += fwd * (l.index > firstStarter ? 3 : 2);
    }
    return {
      index: block.index,
      layers: block.layers.map((l) => `${l.index}:${layerText(l.spec)}`).join(" "),
      outShape: block.outShape,
      params: block.params.reduce((s, p) => s + numel(p.shape), 0),
      buffers: block.buffers.reduce((s, b) => s + numel(b.shape), 0),
      flops: 2 * macs,
    };
  });
}

/** The summary as text: a table of blocks, totals, and the stage plan for `workers` workers. */
export function modelSummaryText(model: Model, workers: number): string {
  const rows = summariseBlocks(model);
  const table = [["block", "output", "params", "MFLOPs/frame", "layers"]];
  for (const r of rows) table.push([String(r.index), `[${r.outShape.join(",")}]`, r.params.toLocaleString("en-US"), (r.flops / 1e6).toFixed(2), r.layers]);
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const lines = table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : c === 0 || c === 4 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  const params = rows.reduce((s, r) => s + r.params, 0);
  const buffers = rows.reduce((s, r) => s + r.buffers, 0);
  const flops = rows.reduce((s, r) => s + r.flops, 0);
  const stages = balancedStages(rows.map((r) => r.flops), workers);
  const plan = stages.map((blocks, s) => {
    const f = blocks.reduce((sum, k) => sum + rows[k].flops, 0);
    return `  stage ${s}: ${stageBlocksText(blocks)}  ${(f / 1e6).toFixed(2)} MFLOPs/frame (${((100 * f) / flops).toFixed(0)}%)`;
  });
  return [
    `${model.name} (${model.source}): input [${model.input.channels},${model.input.height},${model.input.width}], ${model.classes} classes, ${count(rows.length, "block")}`,
    ...lines,
    `total: ${params.toLocaleString("en-US")} parameters, ${buffers.toLocaleString("en-US")} buffer values, ${(flops / 1e9).toFixed(3)} GFLOPs forward+backward per frame (conv2d and linear multiply-adds)`,
    `Sideways needs clips of at least 2L-1 = ${count(2 * rows.length - 1, "frame")} for every block to learn.`,
    `stage plan for ${workers} worker(s)${stages.length < workers ? ` (${count(stages.length, "stage")}: at most one per block)` : ""}, balanced by FLOPs (a run balances measured times):`,
    ...plan,
    "",
  ].join("\n");
}
