/** All blocks in one stage on the calling thread. */
import type { ClipBatch } from "../data/source.js";
import type { Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { BlockRunner, type BlockGraphBytes } from "./block-runner.js";
import { applyStageUpdates, combineStageResults, stageBatchOptions, stageUpdate, type BatchOptions, type BatchResult, type Executor, type Method } from "./executor.js";
import { runStage } from "./run-stage.js";
import type { StageSpec } from "./stage.js";

export function stageSpec(model: Model, blocks: number[]): StageSpec {
  return {
    blocks,
    totalBlocks: model.blocks.length,
    paramNames: new Map(blocks.map((k) => [k, model.blocks[k].params.map((p) => p.name)])),
  };
}

export class SequentialExecutor implements Executor {
  readonly stages: number[][];

  private constructor(
    private readonly model: Model,
    readonly runner: BlockRunner,
    private readonly ownsRunner: boolean,
  ) {
    this.stages = [model.blocks.map((b) => b.index)];
  }

  static async create(model: Model, graphs: readonly BlockGraphBytes[], opts: ProviderOptions): Promise<SequentialExecutor> {
    const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), graphs, opts);
    return new SequentialExecutor(model, runner, true);
  }

  /** Uses a runner the caller owns (and releases) for all blocks. */
  static withRunner(model: Model, runner: BlockRunner): SequentialExecutor {
    return new SequentialExecutor(model, runner, false);
  }

  async runBatch(method: Method, batch: ClipBatch, weights: Weights, opts: BatchOptions = {}): Promise<BatchResult> {
    const ctx = { spec: stageSpec(this.model, this.stages[0]), runner: this.runner, links: { below: null, above: null }, weights };
    const update = opts.update && stageUpdate(this.model, this.stages[0], opts.update);
    const stageBatch = { method, clips: batch.clips, clipDims: batch.dims, labels: batch.labels, trace: opts.trace ?? false, ...stageBatchOptions(opts), update };
    const result = await runStage(ctx, stageBatch);
    if (opts.update) applyStageUpdates([result], weights, opts.update);
    return combineStageResults(this.model, [result]);
  }

  async close(): Promise<void> {
    if (this.ownsRunner) await this.runner.release();
  }
}
