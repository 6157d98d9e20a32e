/**
 * Depth-parallel executor: blocks split into S contiguous stages, each on its own worker thread
 * with its own onnxruntime sessions (session.run blocks the JS thread, so threads are the only
 * way to real concurrency: docs/design/onnxruntime-node.md). Neighbouring stages talk directly
 * over MessageChannels; the main thread only sends weights and clips and collects gradient sums.
 * Any worker failure terminates every worker and rejects the batch with a message naming the stage.
 */
import { MessageChannel } from "node:worker_threads";
import type { ClipBatch } from "../data/source.js";
import type { Model, Weights } from "../model/model.js";
import { stageProvider, type ProviderOptions } from "../runtime/providers.js";
import type { BlockGraphBytes } from "./block-runner.js";
import { applyStageUpdates, combineStageResults, stageBatchOptions, stageUpdate, stageWeights, type BatchOptions, type BatchResult, type Executor, type Method } from "./executor.js";
import { StageWorkerPool } from "./stage-worker-pool.js";

export class ParallelExecutor implements Executor {
  private constructor(
    private readonly model: Model,
    readonly stages: number[][],
    private readonly pool: StageWorkerPool,
  ) {}

  static async create(model: Model, graphs: readonly BlockGraphBytes[], stages: number[][], provider: ProviderOptions): Promise<ParallelExecutor> {
    const channels = stages.slice(1).map(() => new MessageChannel());
    const data = stages.map((blocks, s) => ({
      label: `stage ${s}`,
      model,
      blocks,
      graphs: graphs.map((g, k) => (blocks.includes(k) ? g : null)),
      provider: stageProvider(provider, s),
      below: s > 0 ? channels[s - 1].port2 : null,
      above: s < stages.length - 1 ? channels[s].port1 : null,
    }));
    const pool = await StageWorkerPool.start(data);
    return new ParallelExecutor(model, stages, pool);
  }

  /** Thread ids of the stage workers (-1 once stopped); for tests that check nothing is left running. */
  get threadIds(): number[] {
    return this.pool.threadIds;
  }

  async runBatch(method: Method, batch: ClipBatch, weights: Weights, opts: BatchOptions = {}): Promise<BatchResult> {
    const last = this.stages.length - 1;
    const results = await this.pool.run(
      this.stages.map((blocks, s) => ({
        weights: stageWeights(this.model, blocks, weights),
        batch: {
          method,
          clips: s === 0 ? batch.clips : null,
          clipDims: batch.dims,
          labels: s === last ? batch.labels : null,
          trace: opts.trace ?? false,
          ...stageBatchOptions(opts),
          update: opts.update && stageUpdate(this.model, blocks, opts.update),
        },
      })),
    );
    if (opts.update) applyStageUpdates(results, weights, opts.update);
    return combineStageResults(this.model, results);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
