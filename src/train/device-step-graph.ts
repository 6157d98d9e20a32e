/**
 * One whole BP training step as one graph, for the device step (device-step.ts):
 *   (clips [B, T, ...frame], onehot [B, classes], dlogits_scale [1] = 1/B, the flat parameter
 *    vector, its optimizer state, the optimizer's per-step scalars)
 *     -> (the mean loss of each frame [T], per-frame statistics, the stepped parameter vector
 *         and state)
 * The clips are put time-major inside the graph (row t*B + b is frame t of clip b, as
 * bp-stage.ts timeMajorFrames does on the host), every frame goes through the fused BP pass at once
 * (buildFusedBpGraph's body, addFusedBp), each parameter's gradient is the mean over the T frames
 * (G_k = (1/T) sum of contributions, executor.ts combineStageResults) and the optimizer step
 * (optim/optimizer-graph.ts) follows, so that nothing but the clips, the labels and a few scalars
 * goes in and nothing but the losses and statistics has to come out. The losses are computed in
 * the graph too (addFrameLosses): on the host they took 0.9 ms of a 5.6 ms CUDA step at 256 x 8
 * (docs/PERFORMANCE.md attempt 76).
 *
 * The parameters travel as one flat vector (model.params order, paramLayout), and so does each
 * optimizer state slot: the graph splits the vector into the parameters' shapes, concatenates
 * their gradients, and steps the whole vector with one set of optimizer nodes, as PyTorch's
 * multi-tensor ("foreach") optimizers do. Per element the arithmetic is the same as stepping each
 * parameter alone; what changes is the number of nodes (one set instead of one per parameter: on
 * a GPU each node is a kernel launch) and of tensors carried between calls (one per slot instead
 * of one per parameter and slot: on CUDA each is a copy each way). docs/PERFORMANCE.md attempt 66.
 *
 * Sideways (method "sideways") is the same step around the whole clip's Sideways pass instead
 * (block-graphs.ts addSidewaysClip): the losses are then those of the top block's T-L+1 frames and
 * each block's gradient is the mean over its own n_k backwards (sideways.md's G_k).
 */
import { GraphBuilder, type GraphTarget } from "../graph/graph-builder.js";
import { addFusedBp, addSidewaysClip, FUSED_BP_NAMES, gradName, sidewaysClipFrames } from "../layers/block-graphs.js";
import type { Model } from "../model/model.js";
import { addGradClip } from "../optim/grad-clip.js";
import { addOptimizerStep, optimizerSlots } from "../optim/optimizer-graph.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";

export const DEVICE_STEP_NAMES = { clips: "clips", clipScale: "clip_scale", clipShift: "clip_shift", onehot: "clip_onehot", scale: FUSED_BP_NAMES.scale, losses: "frame_losses", gradNorm: "grad_norm" } as const;

/**
 * How the step takes its clips: float32, or the 8-bit pixels they came from with a per-channel
 * scale and shift (ClipPixels: a quarter of the bytes to upload each step), made float32 in the
 * graph by a float32 Mul and Add, the values the host computes (src/data/clip.ts assembleBatch).
 */
export type ClipInput = "float32" | "uint8";

/** Graph input name of a parameter's optimizer state slot: optimizer.ts exportState's "{param}/{slot}". */
export function stateName(param: string, slot: string): string {
  return `${param}/${slot}`;
}

/** Graph output name of the stepped value of an input (a parameter or a state slot). */
export function nextName(input: string): string {
  return `next.${input}`;
}

/** Graph input name of the flat parameter vector; its state slots are stateName(FLAT_PARAMS, slot). */
export const FLAT_PARAMS = "flat.params";

/** Names of every value the step carries from one call to the next: the parameter vector, then its state slots. */
export function carriedNames(optimizer: OptimizerSpec): string[] {
  return [FLAT_PARAMS, ...optimizerSlots(optimizer).map((s) => stateName(FLAT_PARAMS, s))];
}

/** Where each parameter sits in the flat vector: model.params order, each as its elements in row-major order. */
export function paramLayout(model: Model): { offsets: number[]; sizes: number[]; total: number } {
  const sizes = model.params.map((p) => p.shape.reduce((a, b) => a * b, 1));
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  return { offsets, sizes, total: sizes.reduce((a, b) => a + b, 0) };
}

/** The rules the device step runs: those whose weights change only after the clip batch. */
export type DeviceStepMethod = "bp" | "sideways";

/** Frames of each clip that reach the loss (one loss each): all for BP, those that reach the top for Sideways. */
export function lossFrames(method: DeviceStepMethod, model: Model, frames: number): number {
  return method === "bp" ? frames : frames - model.blocks.length + 1;
}

/** Frames block k normalises (its forwards), for its per-frame statistics. */
export function forwardFrames(method: DeviceStepMethod, model: Model, frames: number, k: number): number {
  return method === "bp" ? frames : sidewaysClipFrames(model.blocks.length, frames, k).forwardEnd;
}

/** How many gradient contributions block k's sum holds (the G_k divisor). */
function contributions(method: DeviceStepMethod, model: Model, frames: number, k: number): number {
  if (method === "bp") return frames;
  const { backwardStart, forwardEnd } = sidewaysClipFrames(model.blocks.length, frames, k);
  return forwardEnd - backwardStart;
}

/**
 * 8-bit rows [N, C, ...] as float32: Cast, then a Mul and an Add by the channel's scale and shift
 * (ClipInput). Scale and shift stay graph inputs: as constants, an optimizer could fold the Mul and
 * Add into one op that rounds once (onnxruntime's MulAddFusion, a BatchNormalization), and the
 * values would no longer be the host's two float32 roundings.
 */
function pixelsToFloat(g: GraphBuilder, rows: string, channels: number): string {
  const perChannel = [channels, 1, 1];
  const scale = g.inputFixed(DEVICE_STEP_NAMES.clipScale, perChannel);
  const shift = g.inputFixed(DEVICE_STEP_NAMES.clipShift, perChannel);
  return g.op("Add", [g.op("Mul", [g.op("Cast", [rows], { to: 1 /* FLOAT */ }), scale]), shift]);
}

/**
 * The step's clip input: the batch [B, T, ...frame] as it comes, made time-major rows [T B, ...frame]
 * (frame t of every clip together) in float32.
 */
function addClipRows(g: GraphBuilder, frames: number, frame: readonly number[], clipInput: ClipInput): string {
  const clips = clipInput === "uint8" ? g.inputBytes(DEVICE_STEP_NAMES.clips, [frames, ...frame]) : g.input(DEVICE_STEP_NAMES.clips, [frames, ...frame]);
  const timeMajor = g.op("Transpose", [clips], { perm: [1, 0, ...frame.map((_, i) => i + 2)] });
  const rows = g.op("Reshape", [timeMajor, g.constInt64("rows", [-1, ...frame])]);
  return clipInput === "uint8" ? pixelsToFloat(g, rows, frame[0]) : rows;
}

/**
 * The device step's clip input alone, for 8-bit clips: pixels [B, T, ...frame] in, the float32
 * time-major rows the step trains on out (DEVICE_STEP_NAMES.clips). For checking on a provider that
 * the graph's conversion gives the host's float clips bit for bit (docs/GPU.md "Clips as 8-bit
 * pixels"): the whole step cannot show it on CUDA, whose sessions differ in rounding.
 */
export function buildClipRowsGraph(frames: number, frame: readonly number[]): Uint8Array {
  const g = new GraphBuilder("clip-rows");
  g.output(addClipRows(g, frames, frame, "uint8"), [...frame], CLIP_ROWS);
  return g.toBytes();
}

/** The output of buildClipRowsGraph. */
export const CLIP_ROWS = "clip_rows";

/** The flat vector's consecutive pieces of `sizes` elements, a Slice each (GraphTarget.paramSplit "slices"). */
function paramSlices(g: GraphBuilder, flat: string, sizes: number[]): string[] {
  let start = 0;
  return sizes.map((size) => {
    const piece = g.op("Slice", [flat, g.constInt64("from", [start]), g.constInt64("to", [start + size]), g.constInt64("axis0", [0])]);
    start += size;
    return piece;
  });
}

/**
 * The flat vector's consecutive pieces of `sizes` elements by Split nodes of at most `most`
 * outputs each: one Split where that is enough, else a Split into runs of `most` pieces and a
 * Split of each run (GraphTarget.maxSplitOutputs).
 */
function splitPieces(g: GraphBuilder, flat: string, sizes: number[], most: number): string[] {
  if (sizes.length === 1) return [flat];
  if (sizes.length <= most) return g.node("Split", [flat, g.constInt64("param_sizes", sizes)], sizes.length, { axis: 0 });
  const runs = Array.from({ length: Math.ceil(sizes.length / most) }, (_, i) => sizes.slice(i * most, (i + 1) * most));
  const parts = splitPieces(g, flat, runs.map((run) => run.reduce((a, b) => a + b, 0)), most);
  return runs.flatMap((run, i) => splitPieces(g, parts[i], run, most));
}

/**
 * Each of `n` frames' mean softmax cross-entropy [n] from time-major `logits` [n*B, classes], the
 * one-hot labels [n*B, classes] and scale [1] = 1/B: -(1/B) sum over the frame's rows of
 * onehot . LogSoftmax(logits), the host head's loss (softmax-cross-entropy.ts) in float32.
 * LogSoftmax, not Log(Softmax): a probability that underflows to 0 would make -inf * 0 = NaN.
 */
export function addFrameLosses(g: GraphBuilder, logits: string, onehot: string, scale: string, n: number): string {
  const picked = g.op("Mul", [logSoftmaxRows(g, logits), onehot]);
  const perFrame = g.op("ReduceSum", [g.op("Reshape", [picked, g.constInt64("frame_rows", [n, -1])]), g.constInt64("axis1", [1])], { keepdims: 0 });
  return g.op("Neg", [g.op("Mul", [perFrame, scale])]);
}

/** LogSoftmax over each row of [N, classes], as GraphTarget.logSoftmax says. */
function logSoftmaxRows(g: GraphBuilder, x: string): string {
  if ((g.target.logSoftmax ?? "op") === "op") return g.op("LogSoftmax", [x], { axis: 1 });
  const axis1 = g.constInt64("axis1", [1]);
  // ReduceMax takes its axes as an attribute before opset 18 (ReduceSum as an input since 13).
  const shifted = g.op("Sub", [x, g.op("ReduceMax", [x], { axes: [1], keepdims: 1 })]);
  return g.op("Sub", [shifted, g.op("Log", [g.op("ReduceSum", [g.op("Exp", [shifted]), axis1], { keepdims: 1 })])]);
}

/**
 * `gradClipNorm` (train.grad_clip_norm): the gradient vector is clipped to that total norm before
 * the optimizer (optim/grad-clip.ts), and the norm before clipping is an output [1] (DEVICE_STEP_NAMES.gradNorm).
 */
export function buildDeviceStepGraph(model: Model, optimizer: OptimizerSpec, frames: number, target: GraphTarget, method: DeviceStepMethod = "bp", clipInput: ClipInput = "float32", gradClipNorm?: number): Uint8Array {
  const g = new GraphBuilder(`${model.name}.device-step${method === "bp" ? "" : `.${method}`}`, target);
  const frame = model.blocks[0].inShape;
  const x = addClipRows(g, frames, frame, clipInput);
  const onehot = g.op("Tile", [g.input(DEVICE_STEP_NAMES.onehot, [model.classes]), g.constInt64("repeats", [lossFrames(method, model, frames), 1])]);
  const scale = g.inputFixed(DEVICE_STEP_NAMES.scale, [1]);

  // The parameters as values of their own names: views of the flat vector.
  const { sizes, total } = paramLayout(model);
  const flat = g.inputFixed(FLAT_PARAMS, [total]);
  const pieces = model.params.length > 1 && !target.cpu && target.paramSplit === "slices" ? paramSlices(g, flat, sizes) : splitPieces(g, flat, sizes, target.maxSplitOutputs ?? Infinity);
  model.params.forEach((p, i) => g.node("Reshape", [pieces[i], g.constInt64("param_shape", p.shape)], [p.name]));

  if (method === "bp") addFusedBp(g, model, x, onehot, scale, "values");
  else addSidewaysClip(g, model, x, frames, onehot, scale, "values");
  g.dropOutput(FUSED_BP_NAMES.logits);
  g.outputFixed(addFrameLosses(g, FUSED_BP_NAMES.logits, onehot, scale, lossFrames(method, model, frames)), [lossFrames(method, model, frames)], DEVICE_STEP_NAMES.losses);

  // G_k: each block's gradient sum over its own count, one divisor per element unless they all agree.
  const flatShape = g.constInt64("flat", [-1]);
  const grads = model.params.map((p) => {
    g.dropOutput(gradName(p.name));
    return g.op("Reshape", [gradName(p.name), flatShape]);
  });
  const counts = model.params.map((p) => contributions(method, model, frames, p.blockIndex));
  const divisor = counts.every((n) => n === counts[0])
    ? g.constFloat("contributions", [counts[0]], [])
    : g.constFloat("contributions", Float32Array.from(model.params.flatMap((_, i) => Array<number>(sizes[i]).fill(counts[i]))), [total]);
  let grad = g.op("Div", [g.op("Concat", grads, { axis: 0 }), divisor]);
  if (gradClipNorm !== undefined) {
    const clipped = addGradClip(g, grad, gradClipNorm);
    g.outputFixed(clipped.norm, [1], DEVICE_STEP_NAMES.gradNorm);
    grad = clipped.grad;
  }

  const slots = optimizerSlots(optimizer);
  const state = Object.fromEntries(slots.map((s) => [s, g.inputFixed(stateName(FLAT_PARAMS, s), [total])]));
  const stepped = addOptimizerStep(g, optimizer, flat, grad, state);
  g.outputFixed(stepped.param, [total], nextName(FLAT_PARAMS));
  for (const s of slots) g.outputFixed(stepped.state[s], [total], nextName(stateName(FLAT_PARAMS, s)));
  return g.toBytes();
}
