/**
 * Synchronous backpropagation (docs/design/sideways.md, "Synchronous BP") for one stage and one
 * clip batch. Across stages the dependencies serialise the work: a stage waits for its input
 * activation from below, then for the gradient from above. G_k = (1/n_k) sum of contributions is
 * formed by the executor; every frame counts as one contribution, so n_k = T.
 *
 * The T frames go through in passes of F frames of every clip (F*B rows, time-major: row
 * i*B + b is frame t0+i of clip b). sideways.md: BP frames "may be processed one at a time or
 * all at once: the gradient is the same" (up to float32 rounding). F = 1 is the frame-by-frame
 * baseline; larger passes mean fewer, larger onnxruntime calls, but every block keeps its
 * activations for all F*B rows until the backward pass (docs/PERFORMANCE.md measures both).
 * Every loss is recorded per frame, in frame order.
 */
import { oneHotRows, softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Model } from "../model/model.js";
import type { Tensor } from "../tensor.js";
import type { SavedForward } from "./block-runner.js";
import {
  accumulate,
  newStageResult,
  type PassSetting,
  type StageBatch,
  type StageContext,
  type StageResult,
  type Tagged,
} from "./stage.js";

/**
 * `auto` sizes a pass so that its largest layer output is about 1 MiB, half of this machine's
 * 2 MB per-core L2 cache: with the whole pass in one graph, passes that stay in cache were
 * 10-15% faster than passes of 128 rows (docs/PERFORMANCE.md attempt 21). Between 16 rows (below,
 * per-call overhead wins) and 128 (attempt 12's memory bound).
 */
const AUTO_PASS_BYTES = 1 << 20;
const AUTO_PASS_ROWS = { min: 16, max: 128 } as const;

/** Rows per BP pass that `auto` aims for on this model. */
export function autoPassRows(model: Model): number {
  const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const largest = 4 * Math.max(numel(model.blocks[0].inShape), ...model.layers.map((l) => numel(l.outShape)));
  return Math.max(AUTO_PASS_ROWS.min, Math.min(AUTO_PASS_ROWS.max, Math.round(AUTO_PASS_BYTES / largest)));
}

/** Frames of every clip per BP pass for a setting of train.bp_frames_per_pass, on a stage holding `clips` clips. */
export function framesPerPass(setting: PassSetting, clips: number, frames: number, model: Model): number {
  const f = setting === "all" ? frames : setting === "auto" ? Math.floor(autoPassRows(model) / clips) : setting;
  return Math.max(1, Math.min(frames, f));
}

export async function runBpStage(ctx: StageContext, batch: StageBatch): Promise<StageResult> {
  const result = newStageResult();
  const t0 = performance.now();
  ctx.runner.busySeconds = 0;
  ctx.runner.calls = 0;
  const [B, T] = batch.clipDims;
  ctx.runner.beginBatch(B);
  // Resolved here, for this stage's own clips: a replica holding half the batch gets "auto"
  // passes of the same size in rows as one holding all of it (docs/PERFORMANCE.md attempt 30).
  const F = framesPerPass(batch.bpFramesPerPass ?? 1, B, T, ctx.runner.model);
  for (let first = 0; first < T; first += F) await framesPass(ctx, batch, result, first, Math.min(T, first + F));
  for (const k of ctx.spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = ctx.runner.busySeconds;
  result.calls = ctx.runner.calls;
  result.stats = ctx.runner.takeStats();
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}

/** Frames [first, end) of every clip through this stage's blocks and back. */
async function framesPass(ctx: StageContext, batch: StageBatch, result: StageResult, first: number, end: number): Promise<void> {
  if (ctx.runner.hasFusedBp) return fusedFramesPass(ctx, batch, result, first, end);
  const x = ctx.spec.blocks[0] === 0 ? { tensor: timeMajorFrames(clipsOf(batch), batch.clipDims, first, end), frame: first } : null;
  await stagePass(ctx, batch, result, first, end - first, x, (logits) => {
    const B = batch.clipDims[0];
    const classes = logits.dims[1];
    const dLogits = new Float32Array(logits.data.length);
    for (let i = 0; i < end - first; i++) {
      const rows = { data: logits.data.subarray(i * B * classes, (i + 1) * B * classes), dims: [B, classes] };
      const head = softmaxCrossEntropy(rows, labelsOf(batch), batch.labelSmoothing);
      result.losses.push(head.loss);
      dLogits.set(head.dLogits.data, i * B * classes);
    }
    return { data: dLogits, dims: logits.dims };
  });
}

/**
 * framesPass for a stage holding every block, in one onnxruntime call (BlockRunner.fusedBpPass):
 * the head's gradient is formed inside the graph, the per-frame losses here from the logits.
 */
async function fusedFramesPass(ctx: StageContext, batch: StageBatch, result: StageResult, first: number, end: number): Promise<void> {
  const { spec, runner, weights } = ctx;
  const labels = labelsOf(batch);
  const B = batch.clipDims[0];
  const frames = end - first;
  const classes = ctx.runner.classes;
  const x = timeMajorFrames(clipsOf(batch), batch.clipDims, first, end);
  const { logits, dParams } = await runner.fusedBpPass(x, oneHotRows(labels, classes, frames * B, batch.labelSmoothing), 1 / B, weights);
  for (let i = 0; i < frames; i++) {
    const rows = { data: logits.data.subarray(i * B * classes, (i + 1) * B * classes), dims: [B, classes] };
    result.losses.push(softmaxCrossEntropy(rows, labels, batch.labelSmoothing).loss);
  }
  for (const k of [...spec.blocks].reverse()) accumulate(result, k, dParams.get(k)!, frames);
  if (batch.trace) {
    for (const k of spec.blocks) result.trace.push({ tick: first, block: k, kind: "forward", inputFrame: first });
    result.trace.push({ tick: first, block: spec.totalBlocks - 1, kind: "loss", inputFrame: first });
    for (const k of [...spec.blocks].reverse()) result.trace.push({ tick: first, block: k, kind: "backward", inputFrame: first, gradFrame: first });
  }
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
  frames: number,
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
    accumulate(result, k, dParams, frames);
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

/** Frames [first, end) of [B, T, C, H, W] as [(end-first)*B, C, H, W], row i*B + b = frame first+i of clip b. */
export function timeMajorFrames(clips: Float32Array, dims: readonly number[], first: number, end: number): Tensor {
  const [B, T, c, h, w] = dims;
  const size = c * h * w;
  const out = new Float32Array((end - first) * B * size);
  for (let t = first; t < end; t++) {
    for (let b = 0; b < B; b++) {
      const src = (b * T + t) * size;
      out.set(clips.subarray(src, src + size), ((t - first) * B + b) * size);
    }
  }
  return { data: out, dims: [(end - first) * B, c, h, w] };
}
