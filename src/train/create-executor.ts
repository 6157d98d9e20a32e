/**
 * Chooses the executor: `runtime.replicas` > 1 gives data-parallel replicas; otherwise
 * `runtime.workers` 1 runs everything on this thread, N > 1 splits the blocks into N contiguous
 * stages balanced by their measured cost, and `auto` uses as many stages as there are cores (at
 * most one per block).
 */
import { availableParallelism } from "node:os";
import type { Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import type { Tensor } from "../tensor.js";
import { numel } from "../tensor.js";
import type { BlockGraphBytes, BlockRunner } from "./block-runner.js";
import type { Executor } from "./executor.js";
import { ParallelExecutor } from "./parallel-executor.js";
import { ReplicaExecutor } from "./replica-executor.js";
import { SequentialExecutor } from "./sequential-executor.js";
import { balancedStages } from "./stage-plan.js";

/**
 * Seconds of one forward + backward of each block at this batch size: the median of `reps` runs
 * after one warm-up run (a session's first run allocates its buffers).
 */
export async function measureBlockCosts(
  model: Model,
  runner: BlockRunner,
  weights: Weights,
  batchSize: number,
  reps = 3,
): Promise<number[]> {
  const inputs = model.blocks.map((block) => ({
    x: { data: new Float32Array(batchSize * numel(block.inShape)).fill(0.5), dims: [batchSize, ...block.inShape] } as Tensor,
    dy: { data: new Float32Array(batchSize * numel(block.outShape)).fill(0.01), dims: [batchSize, ...block.outShape] } as Tensor,
  }));
  const times: number[][] = model.blocks.map(() => []);
  // Round by round over all blocks, the first round a warm-up: block after block, the first
  // block's calls ran cold and drifting load hit blocks unevenly (docs/BENCHMARKS.md, issue 12).
  for (let r = 0; r <= reps; r++) {
    for (const block of model.blocks) {
      const { x, dy } = inputs[block.index];
      const t0 = performance.now();
      // What both trainers run per block: the activation-keeping forward and its backward.
      const fwd = await runner.forwardSaving(block.index, x, weights);
      await runner.backwardFromSaved(block.index, x, fwd, dy, weights);
      if (r > 0) times[block.index].push((performance.now() - t0) / 1000);
    }
  }
  return times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

export function resolveWorkerCount(workers: number | "auto", model: Model): number {
  const n = workers === "auto" ? availableParallelism() : workers;
  return Math.max(1, Math.min(n, model.blocks.length));
}

export interface ExecutorChoice {
  executor: Executor;
  stages: number[][];
  blockCosts: number[] | null;
}

export async function createExecutor(
  model: Model,
  graphs: readonly BlockGraphBytes[],
  mainRunner: BlockRunner,
  weights: Weights,
  parallelism: { workers: number | "auto"; replicas: number },
  provider: ProviderOptions,
  batchSize: number,
): Promise<ExecutorChoice> {
  if (parallelism.replicas > 1) {
    const executor = await ReplicaExecutor.create(model, graphs, parallelism.replicas, provider, mainRunner);
    return { executor, stages: executor.stages, blockCosts: null };
  }
  const n = resolveWorkerCount(parallelism.workers, model);
  if (n === 1) {
    const executor = SequentialExecutor.withRunner(model, mainRunner);
    return { executor, stages: [...executor.stages], blockCosts: null };
  }
  const blockCosts = await measureBlockCosts(model, mainRunner, weights, batchSize);
  const stages = balancedStages(blockCosts, n);
  return { executor: await ParallelExecutor.create(model, graphs, stages, provider), stages, blockCosts };
}
