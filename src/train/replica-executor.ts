/**
 * Data-parallel executor: R replicas of the whole model, replica 0 on this thread and the others
 * on a worker thread each, each running the method on a contiguous share of the clip batch (clips are independent in both
 * methods: Sideways' pipeline runs along the frames of each clip). The batch gradient is the
 * clip-weighted mean of the replicas' gradients, G = sum_r (B_r / B) G_r, combined in replica
 * order so that runs are repeatable. This is how BP uses several cores without intra-op threads.
 */
import type { ClipBatch } from "../data/source.js";
import { SpecError } from "../errors.js";
import type { Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import type { BlockGraphBytes, BlockRunner } from "./block-runner.js";
import { SequentialExecutor } from "./sequential-executor.js";
import { combineStageResults, stageBatchOptions, type BatchOptions, type BatchResult, type Executor, type Method } from "./executor.js";
import { StageWorkerPool } from "./stage-worker-pool.js";

/** Contiguous shares of `total` clips for `parts` replicas, sizes differing by at most one. */
export function splitClips(total: number, parts: number): { first: number; count: number }[] {
  return Array.from({ length: parts }, (_, r) => {
    const first = Math.floor((r * total) / parts);
    return { first, count: Math.floor(((r + 1) * total) / parts) - first };
  });
}

/** The most clips one replica holds (splitClips' largest share): its stash and its BP passes are sized by it. */
export const largestShare = (total: number, parts: number): number => Math.max(...splitClips(total, parts).map((s) => s.count));

/** Clips [first, first + count) of the batch: a copy (to move to a worker), or a view of it. */
function sliceBatch(batch: ClipBatch, first: number, count: number, copy: boolean): ClipBatch {
  const [, T, C, H, W] = batch.dims;
  const clip = T * C * H * W;
  const part = <A extends Float32Array | Int32Array>(a: A, from: number, to: number) => (copy ? a.slice(from, to) : a.subarray(from, to)) as A;
  return {
    clips: part(batch.clips, first * clip, (first + count) * clip),
    labels: part(batch.labels, first, first + count),
    dims: [count, T, C, H, W],
  };
}

/**
 * Replicas refuse layers with per-frame batch statistics (batch_norm): each replica would normalise
 * a frame over its own share of the B clips, so the gradient would differ from one process's.
 * Synchronising them would need an all-reduce between replicas inside every batch_norm of every
 * graph (the output of the normalisation depends on the global statistics), which onnxruntime
 * graphs on separate threads cannot do mid-run. group_norm (per example) is fine.
 */
export function refuseBatchStatistics(model: Model, replicas: number): void {
  if (replicas < 2) return;
  const layers = model.layers.filter((l) => l.buffers.length > 0);
  if (layers.length === 0) return;
  // Named by their key paths in the model file, as the model's own errors name layers.
  const which = layers.map((l) => `layers.${l.index} (${l.spec.type})`).join(", ");
  throw new SpecError(
    `runtime.replicas: expected 1 for model ${model.name} (${model.source}), found ${replicas}: ${which} normalise${layers.length > 1 ? "" : "s"} each frame over the batch's clips, ` +
      `which data-parallel replicas would split; use runtime.workers for depth parallelism, or group_norm`,
    undefined,
    "runtime.replicas",
  );
}

/** Clip-weighted mean of replica results (every replica saw clips of the same length). */
export function combineReplicaResults(results: BatchResult[], clips: number[]): BatchResult {
  const total = clips.reduce((a, b) => a + b, 0);
  const grads = new Map<string, Float32Array>();
  for (const name of results[0].grads.keys()) {
    const sum = new Float64Array(results[0].grads.get(name)!.length);
    results.forEach((r, i) => {
      const g = r.grads.get(name)!;
      const w = clips[i] / total;
      for (let j = 0; j < g.length; j++) sum[j] += w * g[j];
    });
    grads.set(name, Float32Array.from(sum));
  }
  const losses = results[0].losses.map((_, t) => results.reduce((s, r, i) => s + (clips[i] / total) * r.losses[t], 0));
  return {
    grads,
    counts: results[0].counts,
    losses,
    stageBusySeconds: results.flatMap((r) => r.stageBusySeconds),
    stageWallSeconds: results.flatMap((r) => r.stageWallSeconds),
    stageWaitSeconds: results.flatMap((r) => r.stageWaitSeconds),
    stageSendSeconds: results.flatMap((r) => r.stageSendSeconds),
    stageCalls: results.flatMap((r) => r.stageCalls),
    trace: [],
    stats: [],
    updated: false,
    stashPeakBytes: results.flatMap((r) => r.stashPeakBytes),
  };
}

export class ReplicaExecutor implements Executor {
  readonly stages: number[][];

  private constructor(
    private readonly model: Model,
    /** Replica 0, on this thread: it would otherwise only wait for the others. */
    private readonly local: SequentialExecutor,
    /** Replicas 1.., one worker thread each. */
    private readonly pool: StageWorkerPool,
  ) {
    const all = model.blocks.map((b) => b.index);
    this.stages = Array.from({ length: pool.size + 1 }, () => all);
  }

  /** `mainRunner`: a runner of every block on this thread to use for replica 0 (else one is made). */
  static async create(model: Model, graphs: readonly BlockGraphBytes[], replicas: number, provider: ProviderOptions, mainRunner?: BlockRunner): Promise<ReplicaExecutor> {
    if (replicas < 2) throw new Error(`BUG: a replica executor needs at least 2 replicas, got ${replicas}`);
    refuseBatchStatistics(model, replicas);
    const blocks = model.blocks.map((b) => b.index);
    const data = Array.from({ length: replicas - 1 }, (_, r) => ({ label: `replica ${r + 1}`, model, blocks, graphs: [...graphs], provider, below: null, above: null }));
    const pool = await StageWorkerPool.start(data);
    const local = mainRunner ? SequentialExecutor.withRunner(model, mainRunner) : await SequentialExecutor.create(model, graphs, provider);
    return new ReplicaExecutor(model, local, pool);
  }

  async runBatch(method: Method, batch: ClipBatch, weights: Weights, opts: BatchOptions = {}): Promise<BatchResult> {
    // The spec refuses runtime.replicas > 1 with train.update_every other than clip.
    if (opts.update) throw new Error("BUG: in-clip updates on data-parallel replicas");
    const shares = splitClips(batch.dims[0], this.stages.length);
    if (shares.some((s) => s.count === 0)) {
      throw new Error(`BUG: ${batch.dims[0]} clips cannot be shared by ${this.stages.length} replicas (batch_size must be at least runtime.replicas)`);
    }
    const workers = this.pool.run(
      shares.slice(1).map(({ first, count }) => {
        const part = sliceBatch(batch, first, count, true);
        return {
          // The slices are this call's own copies: move them to the worker.
          transfer: [part.clips.buffer as ArrayBuffer, part.labels.buffer as ArrayBuffer],
          weights,
          batch: { method, clips: part.clips, clipDims: part.dims, labels: part.labels, trace: false, ...stageBatchOptions(opts) },
        };
      }),
    );
    // Awaited below; a handler now, so a worker failing while replica 0 runs is not "unhandled".
    workers.catch(() => {});
    let own: BatchResult;
    try {
      own = await this.local.runBatch(method, sliceBatch(batch, shares[0].first, shares[0].count, false), weights, { ...opts, trace: false });
    } catch (err) {
      await workers.catch(() => {}); // the workers' batch is in flight: let it end before failing
      throw err;
    }
    const results = await workers;
    return combineReplicaResults(
      [own, ...results.map((r) => combineStageResults(this.model, [r]))],
      shares.map((s) => s.count),
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.local.close();
  }
}
