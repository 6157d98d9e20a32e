/**
 * Gradient accumulation (train.accumulate = k): one optimizer step takes the mean of the
 * gradients of k consecutive clip batches, each run through the rule's pipeline by any executor
 * as a batch of its own (the pipeline reset after each). Every rule's G is a mean over the
 * batch's clips with n_k set by the rule and the clip length alone, so with batches of equal size
 * the mean of the k batches' G equals the G of one batch of all their clips, up to float32
 * summation order (docs/design/sideways.md "Gradient accumulation"); batch norm breaks this, as
 * it normalises each frame over the clips of its own batch.
 */
import type { ClipBatch } from "../data/source.js";
import type { Weights } from "../model/model.js";
import type { BatchOptions, BatchResult, Executor, Method } from "./executor.js";

/** Runs `batches` one after another on `executor` and combines them (one batch: its result as it is). */
export async function runAccumulated(executor: Executor, method: Method, batches: readonly ClipBatch[], weights: Weights, opts: BatchOptions = {}): Promise<BatchResult> {
  if (batches.length === 0) throw new Error("BUG: a step accumulating no clip batch");
  // One batch keeps today's path exactly: runs without the key train bit for bit as before.
  if (batches.length === 1) return executor.runBatch(method, batches[0], weights, opts);
  // The spec refuses train.accumulate > 1 with in-clip updates (experiment-spec.ts).
  if (opts.update) throw new Error("BUG: in-clip updates while accumulating clip batches");
  const results: BatchResult[] = [];
  for (const batch of batches) results.push(await executor.runBatch(method, batch, weights, opts));
  return combineAccumulated(results);
}

/**
 * The mean of equal-sized batches' results: gradients and per-position losses averaged (float64
 * sums, rounded to float32 once), per-frame statistics in batch order (batch norm's running
 * statistics take every batch's frames, as k forwards in PyTorch would), stage times summed.
 */
export function combineAccumulated(results: readonly BatchResult[]): BatchResult {
  const k = results.length;
  const first = results[0];
  const grads = new Map<string, Float32Array>();
  for (const name of first.grads.keys()) {
    const sum = new Float64Array(first.grads.get(name)!.length);
    for (const r of results) {
      const g = r.grads.get(name);
      if (!g) throw new Error(`BUG: accumulated clip batches with gradients of different blocks (${name})`);
      for (let i = 0; i < g.length; i++) sum[i] += g[i];
    }
    grads.set(name, Float32Array.from(sum, (s) => s / k));
  }
  for (const r of results) {
    if (r.losses.length !== first.losses.length || r.grads.size !== first.grads.size) throw new Error("BUG: accumulated clip batches of different lengths");
    if (r.updated) throw new Error("BUG: an accumulated clip batch stepped the weights itself");
  }
  const perStage = (pick: (r: BatchResult) => number[]) => pick(first).map((_, s) => results.reduce((a, r) => a + pick(r)[s], 0));
  return {
    grads,
    counts: first.counts,
    losses: first.losses.map((_, t) => results.reduce((a, r) => a + r.losses[t], 0) / k),
    stageBusySeconds: perStage((r) => r.stageBusySeconds),
    stageWallSeconds: perStage((r) => r.stageWallSeconds),
    stageCalls: perStage((r) => r.stageCalls),
    stageWaitSeconds: perStage((r) => r.stageWaitSeconds),
    stageSendSeconds: perStage((r) => r.stageSendSeconds),
    trace: results.flatMap((r) => r.trace),
    stats: results.flatMap((r) => r.stats),
    updated: false,
    stashPeakBytes: first.stashPeakBytes.map((_, s) => {
      const peaks = results.map((r) => r.stashPeakBytes[s]);
      return peaks.some((p) => p === null) ? null : Math.max(...(peaks as number[]));
    }),
  };
}
