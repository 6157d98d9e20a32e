/**
 * One whole BP training step as one graph, for the device step (device-step.ts):
 *   (clips [B, T, ...frame], onehot [B, classes], dlogits_scale [1] = 1/B, parameters, optimizer
 *    state, the optimizer's per-step scalars)
 *     -> (logits [T*B, classes] time-major, per-frame statistics, next.{param}, next.{param}/{slot})
 * The clips are put time-major inside the graph (row t*B + b is frame t of clip b, as
 * bp-stage.ts timeMajorFrames does on the host), every frame goes through the fused BP pass at once
 * (buildFusedBpGraph's body, addFusedBp), each parameter's gradient is the mean over the T frames
 * (G_k = (1/T) sum of contributions, executor.ts combineStageResults) and the optimizer step
 * (optim/optimizer-graph.ts) follows, so that nothing but the clips, the labels and a few scalars
 * goes in and nothing but the logits and statistics has to come out.
 *
 * Sideways (method "sideways") is the same step around the whole clip's Sideways pass instead
 * (block-graphs.ts addSidewaysClip): the logits are then those of the top block's T-L+1 frames and
 * each block's gradient is the mean over its own n_k backwards (sideways.md's G_k).
 */
import { GraphBuilder, type GraphTarget } from "../graph/graph-builder.js";
import { addFusedBp, addSidewaysClip, FUSED_BP_NAMES, gradName, sidewaysClipFrames } from "../layers/block-graphs.js";
import type { Model } from "../model/model.js";
import { addOptimizerStep, optimizerSlots } from "../optim/optimizer-graph.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";

export const DEVICE_STEP_NAMES = { clips: "clips", onehot: "clip_onehot", scale: FUSED_BP_NAMES.scale, logits: FUSED_BP_NAMES.logits } as const;

/** Graph input name of a parameter's optimizer state slot: optimizer.ts exportState's "{param}/{slot}". */
export function stateName(param: string, slot: string): string {
  return `${param}/${slot}`;
}

/** Graph output name of the stepped value of an input (a parameter or a state slot). */
export function nextName(input: string): string {
  return `next.${input}`;
}

/** Names of every value the step carries from one call to the next: parameters, then state slots. */
export function carriedNames(model: Model, optimizer: OptimizerSpec): string[] {
  const slots = optimizerSlots(optimizer);
  return [...model.params.map((p) => p.name), ...model.params.flatMap((p) => slots.map((s) => stateName(p.name, s)))];
}

/** The rules the device step runs: those whose weights change only after the clip batch. */
export type DeviceStepMethod = "bp" | "sideways";

/** Frames of each clip whose logits the step outputs (one loss each): all for BP, those that reach the top for Sideways. */
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

export function buildDeviceStepGraph(model: Model, optimizer: OptimizerSpec, frames: number, target: GraphTarget, method: DeviceStepMethod = "bp"): Uint8Array {
  const g = new GraphBuilder(`${model.name}.device-step${method === "bp" ? "" : `.${method}`}`, target);
  const frame = model.blocks[0].inShape;
  const clips = g.input(DEVICE_STEP_NAMES.clips, [frames, ...frame]);
  const timeMajor = g.op("Transpose", [clips], { perm: [1, 0, ...frame.map((_, i) => i + 2)] });
  const x = g.op("Reshape", [timeMajor, g.constInt64("rows", [-1, ...frame])]);
  const onehot = g.op("Tile", [g.input(DEVICE_STEP_NAMES.onehot, [model.classes]), g.constInt64("repeats", [lossFrames(method, model, frames), 1])]);
  const scale = g.inputFixed(DEVICE_STEP_NAMES.scale, [1]);
  if (method === "bp") addFusedBp(g, model, x, onehot, scale);
  else addSidewaysClip(g, model, x, frames, onehot, scale);
  const slots = optimizerSlots(optimizer);
  for (const block of model.blocks) {
    const count = g.constFloat("contributions", [contributions(method, model, frames, block.index)], []);
    for (const p of block.params) {
      g.dropOutput(gradName(p.name));
      const grad = g.op("Div", [gradName(p.name), count]);
      const state = Object.fromEntries(slots.map((s) => [s, g.inputFixed(stateName(p.name, s), p.shape)]));
      const stepped = addOptimizerStep(g, optimizer, p.name, grad, state);
      g.outputFixed(stepped.param, p.shape, nextName(p.name));
      for (const s of slots) g.outputFixed(stepped.state[s], p.shape, nextName(stateName(p.name, s)));
    }
  }
  return g.toBytes();
}
