/**
 * Clips generated in worker threads (`data.workers`), like PyTorch's DataLoader workers: the
 * generated kinds make every clip as a pure function of (seed, stream, index), so each worker
 * builds the same producer from the same spec and seed (src/data/clip-worker.ts) and makes a
 * contiguous share of each batch's clips. The batches are then bit for bit those of one thread.
 * The thread that runs the training step only copies the pixels into the batch; without workers,
 * generating a batch of 256 clips x 8 frames of 32 x 32 of Moving MNIST there took 22 ms
 * (14 ms since attempt 73), two to three times an H100's training step (docs/PERFORMANCE.md
 * attempt 72).
 * The producer built in this thread still answers everything but the clips (description, counts,
 * and the spec's checks, which must fail here, with exit status 2).
 */
import { Worker } from "node:worker_threads";
import { RunError } from "../errors.js";
import type { ClipProducer, ClipStream, RawClip } from "./clip.js";
import type { DataContext } from "./create-source.js";
import type { DataSpec } from "./data-spec.js";

export interface ClipWorkerData {
  spec: DataSpec;
  ctx: DataContext;
}

/** Clips first..first+count-1 of a stream (evalTotal: the evaluation set's size, as evalClip takes it). */
export interface ClipRequest {
  type: "clips";
  id: number;
  stream: ClipStream;
  first: number;
  count: number;
  evalTotal: number;
}

/** A buffer of the worker's own clips handed back, read, for it to fill again (transferred). */
export interface RecycledBuffer {
  type: "recycle";
  buffer: ArrayBuffer;
}

export type ToClipWorker = ClipRequest | RecycledBuffer;

export type FromClipWorker =
  | { type: "ready" }
  /** reused: the pixels were written into a buffer handed back (ClipWorkers.recycle), not new memory. */
  | { type: "clips"; id: number; pixels: Uint8Array; labels: number[]; reused: boolean }
  | { type: "error"; id: number | null; message: string };

export class ClipWorkers implements ClipProducer {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (clips: RawClip[]) => void; reject: (err: Error) => void }>();
  /** Each buffer of clips received and not yet handed back, with the worker that made it. */
  private readonly owners = new WeakMap<ArrayBuffer, Worker>();
  /** How many replies came in a buffer handed back to its worker (recycle), rather than new memory. */
  private reusedReplies = 0;
  private failure: Error | null = null;

  private constructor(
    private readonly local: ClipProducer,
    private readonly workers: Worker[],
  ) {
    for (const [i, w] of workers.entries()) {
      w.on("message", (msg: FromClipWorker) => this.onMessage(w, msg));
      w.on("error", (err) => this.fail(new RunError(`data worker ${i} failed: ${err.message}`)));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new RunError(`data worker ${i} exited with status ${code}`));
      });
    }
  }

  /** Starts `count` workers, each building `spec`'s producer, and waits until all are ready. */
  static async start(local: ClipProducer, spec: DataSpec, ctx: DataContext, count: number): Promise<ClipWorkers> {
    const workerData: ClipWorkerData = { spec, ctx };
    const workers = Array.from({ length: count }, () => new Worker(new URL("./clip-worker.js", import.meta.url), { workerData }));
    try {
      await Promise.all(
        workers.map(
          (w, i) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", (msg: FromClipWorker) => (msg.type === "ready" ? resolve() : reject(new RunError(`data worker ${i}: ${msg.type === "error" ? msg.message : "unexpected first message"}`))));
              w.once("error", (err) => reject(new RunError(`data worker ${i} failed to start: ${err.message}`)));
              w.once("exit", (code) => reject(new RunError(`data worker ${i} exited with status ${code} before it was ready`)));
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      await local.close();
      throw err;
    }
    return new ClipWorkers(local, workers);
  }

  get description(): string {
    return this.local.description;
  }

  get evalIsTrain(): boolean {
    return this.local.evalIsTrain;
  }

  get trainClips(): number | undefined {
    return this.local.trainClips;
  }

  get uint8Pixels(): boolean {
    return this.local.uint8Pixels;
  }

  evalCount(requested: number): number {
    return this.local.evalCount(requested);
  }

  skippedFiles() {
    return this.local.skippedFiles();
  }

  async trainClip(index: number): Promise<RawClip> {
    return (await this.clipRange("train", index, 1, 0))[0]!;
  }

  async evalClip(index: number, count: number): Promise<RawClip> {
    return (await this.clipRange("eval", index, 1, count))[0]!;
  }

  /** How many replies so far the workers wrote into buffers handed back to them (recycle). */
  get reusedBuffers(): number {
    return this.reusedReplies;
  }

  /** How many worker threads make the clips. */
  get threads(): number {
    return this.workers.length;
  }

  /** The clips split into one contiguous share per worker, made in parallel, returned in order. */
  async clipRange(stream: ClipStream, first: number, count: number, evalTotal: number): Promise<RawClip[]> {
    const share = Math.ceil(count / this.workers.length);
    const parts = this.workers.map((w, i) => {
      const start = i * share;
      const n = Math.min(share, count - start);
      return n > 0 ? this.request(w, { type: "clips", id: this.nextId++, stream, first: first + start, count: n, evalTotal }) : Promise.resolve([]);
    });
    return (await Promise.all(parts)).flat();
  }

  /**
   * Hands the buffers behind `clips` (from clipRange) back to the workers that made them, to be
   * filled again: the caller has copied the pixels and keeps no view of them (views of them are
   * detached here, length 0). Without it each batch's buffers are new memory, and on the step's thread the garbage
   * collections of the batches' worth of memory they add took more time than copying them
   * (docs/PERFORMANCE.md attempt 78).
   */
  recycle(clips: readonly RawClip[]): void {
    for (const clip of clips) {
      const buffer = clip.pixels.buffer as ArrayBuffer;
      const worker = this.owners.get(buffer);
      if (!worker) continue; // handed back already (the clips share one buffer per worker)
      this.owners.delete(buffer);
      if (this.failure) continue;
      worker.postMessage({ type: "recycle", buffer } satisfies ToClipWorker, [buffer]);
    }
  }

  async close(): Promise<void> {
    this.fail(new RunError("data workers closed"));
    await Promise.all(this.workers.map((w) => w.terminate()));
    await this.local.close();
  }

  private request(w: Worker, req: ClipRequest): Promise<RawClip[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      w.postMessage(req);
    });
  }

  private onMessage(worker: Worker, msg: FromClipWorker): void {
    if (msg.type === "ready") return;
    const waiting = msg.id === null ? undefined : this.pending.get(msg.id);
    if (msg.type === "error") {
      const err = new RunError(`data worker: ${msg.message}`);
      if (waiting) {
        this.pending.delete(msg.id!);
        waiting.reject(err);
      } else this.fail(err);
      return;
    }
    if (!waiting) return;
    this.pending.delete(msg.id);
    this.owners.set(msg.pixels.buffer as ArrayBuffer, worker);
    if (msg.reused) this.reusedReplies += 1;
    const size = msg.pixels.length / msg.labels.length;
    waiting.resolve(msg.labels.map((label, i) => ({ pixels: msg.pixels.subarray(i * size, (i + 1) * size), label })));
  }

  /** Rejects every waiting request and any later one with `err`. */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}
