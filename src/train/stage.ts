/**
 * A stage is a contiguous range of blocks run by one executor thread. The two trainers
 * (bp-stage.ts, sideways-stage.ts) are written against this module only, so the same code runs
 * when all blocks sit in one stage on the main thread (sequential executor) and when stages sit on
 * worker threads (depth-parallel executor): that is why both give bit-identical weights.
 *
 * Direction words: "up" is towards the loss (higher block index): activations travel up,
 * gradients travel down.
 */
import type { BlockStats } from "../model/buffers.js";
import type { Weights } from "../model/model.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";
import type { Method } from "../schedule/registry.js";
import type { Tensor } from "../tensor.js";
import type { BlockRunner } from "./block-runner.js";

/** An activation with the index of the frame it was computed from (for tracing and tests). */
export interface Tagged {
  tensor: Tensor;
  /** Frame index (0-based) the activation comes from, or whose loss the gradient comes from. */
  frame: number;
}

/** What one stage sends its upper neighbour after a tick (Sideways) or a frame (BP). */
export interface UpMessage {
  tick: number;
  act: Tagged | null;
}

export interface DownMessage {
  tick: number;
  grad: Tagged | null;
}

/** Links to the neighbouring stages; null at the ends of the pipeline. */
export interface StageLinks {
  below: { recv(): Promise<UpMessage>; send(msg: DownMessage): void } | null;
  above: { recv(): Promise<DownMessage>; send(msg: UpMessage): void } | null;
}

/** One event per block computation, recorded when tracing is on (tests check the index rules). */
export interface TraceEvent {
  tick: number; // 0-based tick (Sideways) or frame (BP)
  block: number;
  kind: "forward" | "backward" | "loss";
  inputFrame: number;
  gradFrame?: number;
}

export interface StageSpec {
  /** Block indices of this stage, ascending and contiguous. */
  blocks: number[];
  /** Number of blocks in the whole model. */
  totalBlocks: number;
  /** Parameter names of each block of this stage, by block index. */
  paramNames: Map<number, string[]>;
}

/** train.bp_frames_per_pass: frames of every clip per BP pass, all T of them, or cache-sized. */
export type PassSetting = number | "all" | "auto";

/**
 * In-clip updates (train.update_every an integer) as a stage receives them: the stage steps its
 * own blocks with an optimizer made from `optimizer` and this state (its blocks' entries of
 * Optimizer.exportState), and returns both (StageResult.updated).
 */
export interface StageUpdate {
  every: number;
  stashing: boolean;
  optimizer: OptimizerSpec;
  state: Map<string, Float32Array>;
  /** Per block index, the learning rate of each of its steps in this clip batch. */
  lrs: number[][];
}

export interface StageBatch {
  method: Method;
  /** Clips [B, T, C, H, W]: only the stage holding block 0 needs them. */
  clips: Float32Array | null;
  clipDims: [number, number, number, number, number];
  /** Labels [B]: only the stage holding the top block needs them. */
  labels: Int32Array | null;
  trace: boolean;
  /** BP: frames of every clip per pass (bp-stage.ts framesPerPass; default 1). Sideways is frame by frame by nature. */
  bpFramesPerPass?: PassSetting;
  /** Sideways: each tick of the stage in one graph (default) or block by block (false). */
  sidewaysTickGraph?: boolean;
  /** Run the rule's table with the interpreter even where a fused path exists (schedule-stage.ts). */
  interpret?: boolean;
  update?: StageUpdate;
  /** train.label_smoothing, for the stage holding the top block (softmax-cross-entropy.ts); absent: 0. */
  labelSmoothing?: number;
}

export interface StageResult {
  /** Sum over contributions of each parameter's gradient, float64 so the sum order is the only rounding choice. */
  gradSums: Map<string, Float64Array>;
  /** Contribution count n_k per block of this stage. */
  counts: Map<number, number>;
  /** Losses computed by the top block, in tick order (empty for other stages). */
  losses: number[];
  busySeconds: number;
  /** onnxruntime calls the stage made (busySeconds is their time). */
  calls?: number;
  /** Seconds spent awaiting a neighbouring stage's message, and handing one over (stage-worker.ts); absent on one stage. */
  waitSeconds?: number;
  sendSeconds?: number;
  wallSeconds: number;
  trace: TraceEvent[];
  /** Per-frame statistics of this stage's training forwards, in call order (model/buffers.ts). */
  stats: BlockStats[];
  /** Interpreter only: the most bytes of stashed inputs and kept activations held at once. */
  stashPeakBytes?: number;
  /** With in-clip updates: the stage's weights and optimizer state after the clip batch. */
  updated?: { weights: Weights; optimizerState: Map<string, Float32Array> };
}

export interface StageContext {
  spec: StageSpec;
  runner: BlockRunner;
  links: StageLinks;
  weights: Weights;
}

/** Frame t of every clip: [B, C, H, W] copied out of [B, T, C, H, W]. */
export function clipFrame(clips: Float32Array, dims: readonly number[], t: number): Tensor {
  const [b, T, c, h, w] = dims;
  const frameSize = c * h * w;
  const out = new Float32Array(b * frameSize);
  for (let i = 0; i < b; i++) {
    const src = (i * T + t) * frameSize;
    out.set(clips.subarray(src, src + frameSize), i * frameSize);
  }
  return { data: out, dims: [b, c, h, w] };
}

export function newStageResult(): StageResult {
  return { gradSums: new Map(), counts: new Map(), losses: [], busySeconds: 0, wallSeconds: 0, trace: [], stats: [] };
}

/**
 * Adds a block's gradient (all its parameters) to the stage's sums. `contributions`: how many
 * frame-gradients the tensor sums (BP passes of several frames); n_k counts them.
 */
export function accumulate(result: StageResult, block: number, dParams: Map<string, Tensor>, contributions = 1): void {
  for (const [name, g] of dParams) {
    let sum = result.gradSums.get(name);
    if (!sum) {
      sum = new Float64Array(g.data.length);
      result.gradSums.set(name, sum);
    }
    const d = g.data;
    for (let i = 0; i < d.length; i++) sum[i] += d[i];
  }
  result.counts.set(block, (result.counts.get(block) ?? 0) + contributions);
}
