/** The executor tests' shared set-up: one CPU thread, the graphs without the fused BP pass, a suite-wide sequential executor. */
import type { BlockGraphBytes } from "../../src/train/block-runner.js";
import type { Model } from "../../src/model/model.js";
import { SequentialExecutor } from "../../src/train/sequential-executor.js";

/** The CPU on one intra-op thread: bit-for-bit comparisons need a fixed summation order. */
export const CPU_ONE_THREAD = { provider: "cpu" as const, threads: 1 };

/**
 * `graphs` without block 0's fused BP pass graph: BP then goes block by block, making the same
 * onnxruntime calls as the schedule interpreter and the worker stages.
 */
export function withoutFusedBp(graphs: readonly BlockGraphBytes[]): BlockGraphBytes[] {
  return graphs.map(({ fusedBp: _, ...g }) => g);
}

/**
 * A SequentialExecutor of `model` on `graphs` (one CPU thread) for every test of the calling
 * describe(): created before the first, handed to `use`, closed after the last.
 */
export function sequentialExecutorForSuite(model: Model, graphs: readonly BlockGraphBytes[], use: (exec: SequentialExecutor) => void): void {
  let exec: SequentialExecutor | undefined;
  before(async () => {
    exec = await SequentialExecutor.create(model, graphs, CPU_ONE_THREAD);
    use(exec);
  });
  after(async () => exec?.close());
}
