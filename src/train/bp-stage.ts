/**
 * Synchronous backpropagation (shared/design/sideways.md, "Synchronous BP") for one stage and one
 * clip batch. Across stages the dependencies serialise the work: a stage waits for its input
 * activation from below, then for the gradient from above. G_k = (1/n_k) sum of contributions is
 * formed by the executor.
 *
 * Two ways through the T frames, with the same gradient up to float32 rounding (sideways.md: BP
 * frames "may be processed one at a time or all at once"):
 *   "per-frame": for every frame, forward through all blocks, loss, backward (T contributions of
 *                (softmax - onehot)/B each, n_k = T);
 *   "all":       the T*B frames as one batch, time-major (row t*B + b is frame t of clip b), one
 *                forward and one backward per block (one contribution, its dLogits already divided
 *                by T, n_k = 1). Fewer, larger onnxruntime calls: measured faster on every model
 *                tried (docs/PERFORMANCE.md), hence the default.
 * Both record one loss per frame, in frame order. Every stage of a run must use the same mode.
 */
import { softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Tensor } from "../tensor.js";
import type { SavedForward } from "./block-runner.js";
import {
  accumulate,
  clipFrame,
  newStageResult,
  type StageBatch,
  type StageContext,
  type StageResult,
  type Tagged,
} from "./stage.js";

export type BpFrames = "per-frame" | "all";
export const DEFAULT_BP_FRAMES: BpFrames = "all";

/** A stage batch that may choose how BP walks the frames (an executor passes it through). */
export interface BpStageBatch extends StageBatch {
  bpFrames?: BpFrames;
}

/** Frame index recorded in traces and messages of "all" mode: the tensor holds every frame. */
export const ALL_FRAMES = -1;

export async function runBpStage(ctx: StageContext, batch: BpStageBatch): Promise<StageResult> {
  const result = newStageResult();
  const t0 = performance.now();
  ctx.runner.busySeconds = 0;
  if ((batch.bpFrames ?? DEFAULT_BP_FRAMES) === "all") {
    await allFramesPass(ctx, batch, result);
  } else {
    for (let t = 0; t < batch.clipDims[1]; t++) await framePass(ctx, batch, result, t);
  }
  for (const k of ctx.spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = ctx.runner.busySeconds;
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}

/** Frame t of every clip through this stage's blocks and back. */
async function framePass(ctx: StageContext, batch: StageBatch, result: StageResult, t: number): Promise<void> {
  const x = ctx.spec.blocks[0] === 0 ? { tensor: clipFrame(clipsOf(batch), batch.clipDims, t), frame: t } : null;
  await stagePass(ctx, batch, result, t, x, (logits) => {
    const { loss, dLogits } = softmaxCrossEntropy(logits, labelsOf(batch));
    result.losses.push(loss);
    return dLogits;
  });
}

/** All T*B frames (time-major) through this stage's blocks and back in one pass. */
async function allFramesPass(ctx: StageContext, batch: StageBatch, result: StageResult): Promise<void> {
  const x = ctx.spec.blocks[0] === 0 ? { tensor: timeMajorFrames(clipsOf(batch), batch.clipDims), frame: ALL_FRAMES } : null;
  await stagePass(ctx, batch, result, 0, x, (logits) => {
    const [B, T] = batch.clipDims;
    const classes = logits.dims[1];
    const dLogits = new Float32Array(logits.data.length);
    for (let t = 0; t < T; t++) {
      const rows = { data: logits.data.subarray(t * B * classes, (t + 1) * B * classes), dims: [B, classes] };
      const head = softmaxCrossEntropy(rows, labelsOf(batch));
      result.losses.push(head.loss);
      // The mean over frames of per-frame means: frame t's (softmax - onehot)/B, divided by T.
      const d = head.dLogits.data;
      for (let i = 0; i < d.length; i++) dLogits[t * B * classes + i] = d[i] / T;
    }
    return { data: dLogits, dims: logits.dims };
  });
}

/**
 * Forward through the stage's blocks (input from `x` on the stage holding block 0, else from
 * below), the loss head on the top stage (else the gradient from above), backward, and the input
 * gradient sent below.
 */
async function stagePass(
  ctx: StageContext,
  batch: StageBatch,
  result: StageResult,
  tick: number,
  first: Tagged | null,
  head: (logits: Tensor) => Tensor,
): Promise<void> {
  const { spec, runner, links, weights } = ctx;
  const top = spec.totalBlocks - 1;
  let x = first ?? (await links.below!.recv()).act;
  if (!x) throw new Error(`BUG: BP stage for blocks ${spec.blocks} got no activation at tick ${tick}`);

  // Forward and backward see the same input in BP: keep the activations instead of recomputing.
  const inputs: Tensor[] = [];
  const forwards: SavedForward[] = [];
  for (const k of spec.blocks) {
    inputs.push(x.tensor);
    if (batch.trace) result.trace.push({ tick, block: k, kind: "forward", inputFrame: x.frame });
    const fwd = await runner.forwardSaving(k, x.tensor, weights);
    forwards.push(fwd);
    x = { tensor: fwd.y, frame: x.frame };
  }

  let g: Tagged | null;
  if (spec.blocks[spec.blocks.length - 1] === top) {
    g = { tensor: head(x.tensor), frame: x.frame };
    if (batch.trace) result.trace.push({ tick, block: top, kind: "loss", inputFrame: x.frame });
  } else {
    // Sending may transfer (detach) the tensor's buffer: send a copy if the backward still reads it.
    const kept = [...forwards[forwards.length - 1].saved.values()].includes(x.tensor);
    links.above!.send({ tick, act: kept ? { tensor: { data: x.tensor.data.slice(), dims: x.tensor.dims }, frame: x.frame } : x });
    g = (await links.above!.recv()).grad;
  }
  if (!g) throw new Error(`BUG: BP stage for blocks ${spec.blocks} got no gradient at tick ${tick}`);

  for (let i = spec.blocks.length - 1; i >= 0; i--) {
    const k = spec.blocks[i];
    const { dx, dParams } = await runner.backwardFromSaved(k, inputs[i], forwards[i], g.tensor, weights);
    accumulate(result, k, dParams);
    if (batch.trace) result.trace.push({ tick, block: k, kind: "backward", inputFrame: g.frame, gradFrame: g.frame });
    if (k > 0) g = { tensor: dx!, frame: g.frame };
  }
  if (links.below) links.below.send({ tick, grad: g });
}

function clipsOf(batch: StageBatch): Float32Array {
  if (!batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
  return batch.clips;
}

function labelsOf(batch: StageBatch): Int32Array {
  if (!batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
  return batch.labels;
}

/** [B, T, C, H, W] -> [T*B, C, H, W] with row t*B + b = frame t of clip b. */
export function timeMajorFrames(clips: Float32Array, dims: readonly number[]): Tensor {
  const [B, T, c, h, w] = dims;
  const out = new Float32Array(clips.length);
  for (let t = 0; t < T; t++) out.set(clipFrame(clips, dims, t).data, t * B * c * h * w);
  return { data: out, dims: [T * B, c, h, w] };
}
