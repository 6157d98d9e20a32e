/**
 * Clips generated in worker threads (`data.workers`), like PyTorch's DataLoader workers: the
 * generated kinds make every clip as a pure function of (seed, stream, index), so each worker
 * builds the same producer from the same spec and seed (src/data/clip-worker.ts). The batches are
 * then bit for bit those of one thread. As PyTorch's workers do, each worker makes whole training
 * batches, assembled there (frame order included), so the thread that runs the training step only
 * receives one buffer a batch and later hands it back for another (docs/PERFORMANCE.md attempt
 * 79); evaluation clips, and single clips, come as one contiguous share per worker, made in
 * parallel, which the step's thread assembles. Without workers, generating a batch of 256 clips x
 * 8 frames of 32 x 32 of Moving MNIST on the step's thread took 22 ms (14 ms since attempt 73),
 * two to three times an H100's training step (attempt 72).
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

/** Training batch first..first+count-1 (clip indices), assembled by the worker. */
export interface BatchRequest {
  type: "batch";
  id: number;
  first: number;
  count: number;
}

/** A buffer of the worker's own clips handed back, read, for it to fill again (transferred). */
export interface RecycledBuffer {
  type: "recycle";
  buffer: ArrayBuffer;
}

export type ToClipWorker = ClipRequest | BatchRequest | RecycledBuffer;

export type FromClipWorker =
  | { type: "ready" }
  /** reused: the pixels were written into a buffer handed back (ClipWorkers.recycle), not new memory. */
  | { type: "clips"; id: number; pixels: Uint8Array; labels: number[]; reused: boolean }
  /** A training batch's pixels [B, T, C, H, W] in its frame order, and its labels. */
  | { type: "batch"; id: number; pixels: Uint8Array; labels: Int32Array; reused: boolean }
  | { type: "error"; id: number | null; message: string };

type Reply = Extract<FromClipWorker, { type: "clips" | "batch" }>;

export class ClipWorkers implements ClipProducer {
  private nextId = 0;
  /** Where trainPixelBatch starts looking for the least busy worker: round robin among equals. */
  private nextWorker = 0;
  private readonly pending = new Map<number, { worker: Worker; resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
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

  get evalVideo(): ClipProducer["evalVideo"] {
    return this.local.evalVideo?.bind(this.local);
  }

  get classNames(): readonly string[] | undefined {
    return this.local.classNames;
  }

  get notes(): readonly string[] | undefined {
    return this.local.notes;
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
    const parts = this.workers.map(async (w, i) => {
      const start = i * share;
      const n = Math.min(share, count - start);
      if (n <= 0) return [];
      const reply = await this.request(w, { type: "clips", id: this.nextId++, stream, first: first + start, count: n, evalTotal });
      const size = reply.pixels.length / reply.labels.length;
      return Array.from(reply.labels, (label, j) => ({ pixels: reply.pixels.subarray(j * size, (j + 1) * size), label }));
    });
    return (await Promise.all(parts)).flat();
  }

  /**
   * Training batch first..first+count-1, made and assembled by one worker (the one with the fewest
   * requests waiting): its pixels [B, T, C, H, W] in the batch's frame order, and its labels. Its
   * buffer goes back to that worker with recycle.
   */
  async trainPixelBatch(first: number, count: number): Promise<{ pixels: Uint8Array; labels: Int32Array }> {
    const waiting = new Map(this.workers.map((w) => [w, 0]));
    for (const { worker } of this.pending.values()) waiting.set(worker, waiting.get(worker)! + 1);
    const start = this.nextWorker++ % this.workers.length;
    const order = this.workers.map((_, i) => this.workers[(start + i) % this.workers.length]!);
    const worker = order.reduce((best, w) => (waiting.get(w)! < waiting.get(best)! ? w : best));
    const reply = await this.request(worker, { type: "batch", id: this.nextId++, first, count });
    if (reply.type !== "batch") throw new Error(`BUG: a data worker answered a batch request with ${reply.type}`);
    return { pixels: reply.pixels, labels: reply.labels };
  }

  /**
   * Hands the buffers behind `clips` (from clipRange or trainPixelBatch) back to the workers that
   * made them, to be filled again: the caller has copied the pixels or released the batch, and
   * keeps no view of them (views of them are detached here, length 0). Without it each batch's
   * buffers are new memory, whose page faults and garbage collections on the step's thread took
   * more time than copying them (docs/PERFORMANCE.md attempt 78).
   */
  recycle(clips: readonly { pixels: ArrayBufferView }[]): void {
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

  private request(worker: Worker, req: ClipRequest | BatchRequest): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { worker, resolve, reject });
      worker.postMessage(req satisfies ToClipWorker);
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
    waiting.resolve(msg);
  }

  /** Rejects every waiting request and any later one with `err`. */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}
