/**
 * Worker threads that each run one stage (stage-worker.ts), and the bookkeeping both parallel
 * executors need: wait until every worker is ready, send one message per worker, collect one
 * result per worker, and on any failure terminate every worker (so no neighbour waits forever)
 * and reject with a message naming the worker.
 */
import { Worker } from "node:worker_threads";
import { RunError } from "../errors.js";
import type { Weights } from "../model/model.js";
import type { StageBatch, StageResult } from "./stage.js";
import type { FromWorker, StageWorkerData, ToWorker } from "./stage-worker.js";

/** How long a worker may take to reach a safe point and exit before it is terminated. */
const STOP_GRACE_MS = 30_000;

interface Pending {
  results: (StageResult | undefined)[];
  remaining: number;
  resolve: (r: StageResult[]) => void;
  reject: (e: Error) => void;
}

export class StageWorkerPool {
  private nextId = 0;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly workers: Worker[],
    names: string[],
  ) {
    workers.forEach((w, i) => {
      w.on("message", (msg: FromWorker) => this.onMessage(i, msg));
      w.on("error", (err) => this.fail(new RunError(`${names[i]} worker crashed: ${err.message}`, { cause: err })));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new RunError(`${names[i]} worker exited with code ${code}`));
      });
    });
  }

  /** Starts one worker per entry (its `label` names it in errors) and waits until all are ready. */
  static async start(data: StageWorkerData[]): Promise<StageWorkerPool> {
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (const workerData of data) {
      const transferList = [workerData.below, workerData.above].filter((p) => p !== null);
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
    const pool = new StageWorkerPool(workers, data.map((d) => d.label));
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Thread ids of the workers (-1 once a worker has stopped). */
  get threadIds(): number[] {
    return this.workers.map((w) => w.threadId);
  }

  /**
   * Sends `messages[i]` (with a fresh batch id) to worker i and resolves with every worker's
   * result. Buffers in a message's `transfer` move to the worker (the caller must not use them).
   */
  run(messages: { batch: StageBatch; weights: Weights; transfer?: ArrayBuffer[] }[]): Promise<StageResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) throw new Error("BUG: a batch is already in flight on this worker pool");
    const id = this.nextId++;
    return new Promise<StageResult[]>((resolve, reject) => {
      this.pending = { results: new Array(this.workers.length), remaining: this.workers.length, resolve, reject };
      messages.forEach(({ transfer, ...m }, i) => this.workers[i].postMessage({ ...m, type: "batch", id } satisfies ToWorker, transfer ?? []));
    });
  }

  private onMessage(worker: number, msg: FromWorker): void {
    if (msg.type === "error") {
      this.fail(new RunError(msg.message));
    } else if (msg.type === "result" && this.pending) {
      this.pending.results[worker] = msg.result;
      if (--this.pending.remaining === 0) {
        const p = this.pending;
        this.pending = null;
        p.resolve(p.results as StageResult[]);
      }
    }
  }

  /** First failure wins: every worker is stopped so that no neighbour waits forever. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    void this.stopAll();
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  /**
   * Asks every worker to exit at its next safe point (between onnxruntime calls; see ToWorker)
   * and waits for it; a worker still running after STOP_GRACE_MS is terminated.
   */
  private stopAll(): Promise<void> {
    this.stopping ??= Promise.all(
      this.workers.map((w) => {
        if (w.threadId === -1) return Promise.resolve();
        const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
        w.postMessage({ type: "stop" } satisfies ToWorker);
        const grace = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
        return exited.finally(() => clearTimeout(grace));
      }),
    ).then(() => undefined);
    return this.stopping;
  }

  async close(): Promise<void> {
    this.failure ??= new RunError("worker pool closed");
    await this.stopAll();
  }
}
