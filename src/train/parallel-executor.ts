/**
 * Depth-parallel executor: blocks split into S contiguous stages, each on its own worker thread
 * with its own onnxruntime sessions (session.run blocks the JS thread, so threads are the only
 * way to real concurrency: shared/design/onnxruntime-node.md). Neighbouring stages talk directly
 * over MessageChannels; the main thread only sends weights and clips and collects gradient sums.
 * Any worker failure terminates every worker and rejects the batch with a message naming the stage.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import type { ClipBatch } from "../data/source.js";
import { RunError } from "../errors.js";
import type { Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import type { BlockGraphBytes } from "./block-runner.js";
import { combineStageResults, stageWeights, type BatchOptions, type BatchResult, type Executor, type Method } from "./executor.js";
import type { StageResult } from "./stage.js";
import type { FromWorker, StageWorkerData, ToWorker } from "./stage-worker.js";

interface Pending {
  results: (StageResult | undefined)[];
  remaining: number;
  resolve: (r: StageResult[]) => void;
  reject: (e: Error) => void;
}

export class ParallelExecutor implements Executor {
  private nextId = 0;
  private pending: Pending | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly model: Model,
    readonly stages: number[][],
    private readonly workers: Worker[],
  ) {
    workers.forEach((w, s) => {
      w.on("message", (msg: FromWorker) => this.onMessage(s, msg));
      w.on("error", (err) => this.fail(new RunError(`stage ${s} worker crashed: ${err.message}`, { cause: err })));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new RunError(`stage ${s} worker exited with code ${code}`));
      });
    });
  }

  static async create(
    model: Model,
    graphs: readonly BlockGraphBytes[],
    stages: number[][],
    provider: ProviderOptions,
  ): Promise<ParallelExecutor> {
    const channels = stages.slice(1).map(() => new MessageChannel());
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let s = 0; s < stages.length; s++) {
      const below = s > 0 ? channels[s - 1].port2 : null;
      const above = s < stages.length - 1 ? channels[s].port1 : null;
      const workerData: StageWorkerData = {
        stage: s,
        model,
        blocks: stages[s],
        graphs: graphs.map((g, k) => (stages[s].includes(k) ? g : null)),
        provider,
        below,
        above,
      };
      const transferList = [below, above].filter((p) => p !== null);
      const w = new Worker(new URL("./stage-worker.js", import.meta.url), { workerData, transferList });
      workers.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          const onMsg = (msg: FromWorker) => {
            if (msg.type === "ready") resolve();
            else if (msg.type === "error") reject(new RunError(msg.message));
            else return;
            w.off("message", onMsg);
          };
          w.on("message", onMsg);
          w.once("error", reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new ParallelExecutor(model, stages, workers);
  }

  private onMessage(stage: number, msg: FromWorker): void {
    if (msg.type === "error") {
      this.fail(new RunError(msg.message));
    } else if (msg.type === "result" && this.pending) {
      this.pending.results[stage] = msg.result;
      if (--this.pending.remaining === 0) {
        const p = this.pending;
        this.pending = null;
        p.resolve(p.results as StageResult[]);
      }
    }
  }

  /** First failure wins: every worker is terminated so that no neighbour waits forever. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.workers) void w.terminate();
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  async runBatch(method: Method, batch: ClipBatch, weights: Weights, opts: BatchOptions = {}): Promise<BatchResult> {
    if (this.failure) throw this.failure;
    if (this.pending) throw new Error("BUG: runBatch called while a batch is in flight");
    const id = this.nextId++;
    const last = this.stages.length - 1;
    const results = await new Promise<StageResult[]>((resolve, reject) => {
      this.pending = { results: new Array(this.stages.length), remaining: this.stages.length, resolve, reject };
      this.stages.forEach((blocks, s) => {
        const msg: ToWorker = {
          type: "batch",
          id,
          weights: stageWeights(this.model, blocks, weights),
          batch: {
            method,
            clips: s === 0 ? batch.clips : null,
            clipDims: batch.dims,
            labels: s === last ? batch.labels : null,
            trace: opts.trace ?? false,
            bpFramesPerPass: opts.bpFramesPerPass,
          },
        };
        this.workers[s].postMessage(msg);
      });
    });
    return combineStageResults(this.model, results);
  }

  async close(): Promise<void> {
    this.failure ??= new RunError("executor closed");
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
