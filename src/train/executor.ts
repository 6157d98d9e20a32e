/**
 * Executors run one clip batch of either method over the model's blocks and return the averaged
 * gradients. Two implementations behind one interface: sequential (all blocks in one stage on
 * this thread) and depth-parallel (contiguous stages on worker threads, parallel-executor.ts).
 */
import type { BlockStats } from "../model/buffers.js";
import type { Model, Weights } from "../model/model.js";
import type { ClipBatch } from "../data/source.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { Method } from "../schedule/registry.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";
import type { PassSetting, StageResult, StageUpdate, TraceEvent } from "./stage.js";

export type { Method } from "../schedule/registry.js";

/**
 * In-clip updates (train.update_every = `every` ticks; docs/design/sideways.md): the stages step
 * their blocks during the clip batch with this optimizer's rule and state, block k's j-th step at
 * learning rate `lrs[k][j]` (optim/schedule.ts blockLearningRates); the executor writes the
 * stepped weights and state back into `weights` and `optimizer`.
 */
export interface InClipUpdateOptions {
  every: number;
  stashing: boolean;
  optimizer: Optimizer;
  optimizerSpec: OptimizerSpec;
  lrs: number[][];
}

export interface BatchOptions {
  /** Record which frame every activation and gradient came from (tests of the index rules). */
  trace?: boolean;
  /**
   * BP only: frames of every clip per pass (1 = frame by frame, the default; "all" = T at once;
   * "auto" = cache-sized). Resolved by each stage for the clips it holds (bp-stage.ts
   * framesPerPass), so data-parallel replicas size "auto" passes by their own share.
   */
  bpFramesPerPass?: PassSetting;
  /** Sideways only: each stage's tick in one onnxruntime call (default true) or two per block. */
  sidewaysTickGraph?: boolean;
  /** Run the rule's action table with the interpreter even where a fused path exists. */
  interpret?: boolean;
  /** Step inside the clip batch; absent: the caller steps once with BatchResult.grads. */
  update?: InClipUpdateOptions;
  /** train.label_smoothing: the head's targets (1 - ε) onehot + ε / K; absent or 0: one-hot. */
  labelSmoothing?: number;
}

/** The options every stage of a batch takes as they are (StageBatch's fields of the same names). */
export function stageBatchOptions(opts: BatchOptions): Pick<BatchOptions, "bpFramesPerPass" | "sidewaysTickGraph" | "interpret" | "labelSmoothing"> {
  return { bpFramesPerPass: opts.bpFramesPerPass, sidewaysTickGraph: opts.sidewaysTickGraph, interpret: opts.interpret, labelSmoothing: opts.labelSmoothing };
}

export interface BatchResult {
  /** G_k for every parameter of every block with n_k > 0 (blocks with none are absent: no update). */
  grads: Map<string, Float32Array>;
  /** n_k per block. */
  counts: number[];
  /** Losses in the order they were computed (one per frame for BP; T-L+1 for Sideways). */
  losses: number[];
  /** Per stage: seconds inside onnxruntime, and wall seconds of the batch. */
  stageBusySeconds: number[];
  stageWallSeconds: number[];
  /** Per stage: onnxruntime calls (0 where the stage does not count them). */
  stageCalls: number[];
  /** Per stage: seconds awaiting a neighbouring stage's message, and handing one over (0 without neighbours). */
  stageWaitSeconds: number[];
  stageSendSeconds: number[];
  trace: TraceEvent[];
  /** Per-frame statistics for the buffers, per block in frame order: model/buffers.ts applyBlockStats. */
  stats: BlockStats[];
  /** True when the weights were already stepped inside the clip batch (BatchOptions.update): grads are then only a diagnostic. */
  updated: boolean;
  /**
   * Interpreter only: per stage, the most bytes of stashed inputs held at once; null where the
   * stage ran a one-graph path (BP's pass, a Sideways tick), which does not measure it.
   */
  stashPeakBytes: (number | null)[];
}

export interface Executor {
  /** Block indices of each stage. */
  readonly stages: readonly (readonly number[])[];
  runBatch(method: Method, batch: ClipBatch, weights: Weights, opts?: BatchOptions): Promise<BatchResult>;
  close(): Promise<void>;
}

/** G_k = (1/n_k) sum of the block's contributions, rounded to float32 once at the end. */
export function combineStageResults(model: Model, results: StageResult[]): BatchResult {
  const counts = model.blocks.map(() => 0);
  const grads = new Map<string, Float32Array>();
  const losses: number[] = [];
  const trace: TraceEvent[] = [];
  const stats: BlockStats[] = [];
  for (const r of results) {
    stats.push(...r.stats);
    for (const [k, n] of r.counts) counts[k] = n;
    losses.push(...r.losses);
    trace.push(...r.trace);
  }
  for (const p of model.params) {
    const n = counts[p.blockIndex];
    if (n === 0) continue;
    const sum = results.map((r) => r.gradSums.get(p.name)).find((s) => s !== undefined);
    if (!sum) throw new Error(`BUG: block ${p.blockIndex} counted ${n} contributions but has no gradient for ${p.name}`);
    const g = new Float32Array(sum.length);
    for (let i = 0; i < sum.length; i++) g[i] = sum[i] / n;
    grads.set(p.name, g);
  }
  return {
    grads,
    counts,
    losses,
    stageBusySeconds: results.map((r) => r.busySeconds),
    stageWallSeconds: results.map((r) => r.wallSeconds),
    stageWaitSeconds: results.map((r) => r.waitSeconds ?? 0),
    stageSendSeconds: results.map((r) => r.sendSeconds ?? 0),
    stageCalls: results.map((r) => r.calls ?? 0),
    trace,
    stats,
    updated: results.some((r) => r.updated !== undefined),
    stashPeakBytes: results.map((r) => r.stashPeakBytes ?? null),
  };
}

/** What a stage holding `blocks` receives for in-clip updates: its share of the optimizer state. */
export function stageUpdate(model: Model, blocks: readonly number[], update: InClipUpdateOptions): StageUpdate {
  const names = new Set(blocks.flatMap((k) => model.blocks[k].params.map((p) => p.name)));
  const state = new Map([...update.optimizer.exportState()].filter(([entry]) => names.has(entry.slice(0, entry.lastIndexOf("/")))));
  return { every: update.every, stashing: update.stashing, optimizer: update.optimizerSpec, state, lrs: update.lrs };
}

/** Writes the stages' stepped weights and optimizer state back (a stage on this thread stepped `weights` itself). */
export function applyStageUpdates(results: StageResult[], weights: Weights, update: InClipUpdateOptions): void {
  const state = update.optimizer.exportState();
  for (const r of results) {
    if (!r.updated) throw new Error("BUG: a stage ran in-clip updates but returned no weights");
    for (const [name, w] of r.updated.weights) {
      const dst = weights.get(name)!;
      if (dst !== w) dst.set(w);
    }
    for (const [entry, v] of r.updated.optimizerState) state.set(entry, v);
  }
  update.optimizer.importState(state);
}

/** Weights restricted to the parameters of the given blocks (what one stage needs). */
export function stageWeights(model: Model, blocks: readonly number[], weights: Weights): Weights {
  const out: Weights = new Map();
  for (const k of blocks) for (const p of model.blocks[k].params) out.set(p.name, weights.get(p.name)!);
  return out;
}
