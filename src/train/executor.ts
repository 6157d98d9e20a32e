/**
 * Executors run one clip batch of either method over the model's blocks and return the averaged
 * gradients. Two implementations behind one interface: sequential (all blocks in one stage on
 * this thread) and depth-parallel (contiguous stages on worker threads, parallel-executor.ts).
 */
import type { BlockStats } from "../model/buffers.js";
import type { Model, Weights } from "../model/model.js";
import type { ClipBatch } from "../data/source.js";
import type { PassSetting, StageResult, TraceEvent } from "./stage.js";

export type Method = "bp" | "sideways";

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
  trace: TraceEvent[];
  /** Per-frame statistics for the buffers, per block in frame order: model/buffers.ts applyBlockStats. */
  stats: BlockStats[];
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
    trace,
    stats,
  };
}

/** Weights restricted to the parameters of the given blocks (what one stage needs). */
export function stageWeights(model: Model, blocks: readonly number[], weights: Weights): Weights {
  const out: Weights = new Map();
  for (const k of blocks) for (const p of model.blocks[k].params) out.set(p.name, weights.get(p.name)!);
  return out;
}
