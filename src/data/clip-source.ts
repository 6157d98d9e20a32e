/**
 * A DataSource built from a ClipProducer: batches of consecutive clip indices, assembled with the
 * common preprocessing and prefetched ahead of the consumer.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { assembleBatch, clipOf, pixelBatch, type ClipProducer, type ClipShape, type ClipStream, type Preprocess } from "./clip.js";
import { ClipWorkers } from "./clip-workers.js";
import { Prefetcher } from "./prefetch.js";
import { listed } from "../util/count.js";
import type { ClipBatch, DataSource, DataSourceStats, ShortVideo, SkippedFile } from "./source.js";

export class ClipSource implements DataSource {
  readonly clipShape: [number, number, number, number];
  private readonly trainLoaders: Prefetcher<ClipBatch>[] = [];
  /** Seconds this thread spent making training batches while no next() of theirs was waiting. */
  private makeSeconds = 0;
  /** The pixel memory of released training batches assembled here, for later ones (releasable); a worker keeps its own. */
  private readonly spareBytes: Uint8Array[] = [];

  constructor(
    private readonly producer: ClipProducer,
    private readonly shape: ClipShape,
    readonly classes: number,
    private readonly pre: Preprocess,
    private readonly prefetchDepth: number,
  ) {
    this.clipShape = [shape.frames, shape.channels, shape.height, shape.width];
  }

  get description(): string {
    const aug = this.pre.augment;
    if (!aug) return this.producer.description;
    const what = [
      ...(aug.scale ? [`cropped to ${percent(aug.scale[0])}-${percent(aug.scale[1])} of their area and resized back`] : []),
      ...(aug.flip ? ["mirrored at random"] : []),
      ...(aug.pad > 0 ? [`shifted up to ${aug.pad} px`] : []),
    ];
    return `${this.producer.description}; training clips ${listed(what, "and")} (data.augment)`;
  }

  get evalIsTrain(): boolean {
    return this.producer.evalIsTrain;
  }

  get trainClips(): number | undefined {
    return this.producer.trainClips;
  }

  get pixelClips(): boolean {
    return this.producer.uint8Pixels;
  }

  /** Worker threads making the clips (data.workers); 0 where this thread makes them. */
  get dataWorkers(): number {
    return this.producer instanceof ClipWorkers ? this.producer.threads : 0;
  }

  skipped(): readonly SkippedFile[] {
    return this.producer.skippedFiles();
  }

  shortVideos(): readonly ShortVideo[] {
    return this.producer.shortVideos?.() ?? [];
  }

  trainBatches(batchSize: number, startBatch = 0): AsyncIterator<ClipBatch> {
    checkBatchSize(batchSize);
    // With data workers and batches made ahead, each worker makes whole batches (as PyTorch's
    // DataLoader workers do), at least one per worker in preparation to keep them all busy
    // (docs/PERFORMANCE.md attempt 79). With none ahead (data.prefetch 0; `sideways data --out`'s
    // one batch), each batch is split among the workers instead, made as soon as possible.
    const whole = this.prefetchDepth > 0 && this.producer.trainPixelBatch !== undefined;
    const loader = new Prefetcher(
      (k) => this.batch("train", (startBatch + k) * batchSize, batchSize, 0, whole),
      whole ? Math.max(this.prefetchDepth, this.dataWorkers) : this.prefetchDepth,
    );
    this.trainLoaders.push(loader);
    return { next: () => loader.next() };
  }

  evalCount(clips: number): number {
    return this.producer.evalCount(clips);
  }

  evalNote(clips: number): string | null {
    return this.producer.evalNote?.(this.producer.evalCount(clips)) ?? null;
  }

  get evalVideo(): DataSource["evalVideo"] {
    return this.producer.evalVideo?.bind(this.producer);
  }

  get classNames(): readonly string[] | undefined {
    return this.producer.classNames;
  }

  get notes(): readonly string[] | undefined {
    return this.producer.notes;
  }

  evalBatches(clips: number, batchSize: number): AsyncIterable<ClipBatch> {
    checkBatchSize(batchSize);
    const count = this.producer.evalCount(clips);
    const batches = Math.ceil(count / batchSize);
    return {
      [Symbol.asyncIterator]: () => {
        const loader = new Prefetcher(
          (k) => {
            const first = k * batchSize;
            return this.batch("eval", first, Math.min(batchSize, count - first), count, false);
          },
          this.prefetchDepth,
          batches,
        );
        return { next: () => loader.next() };
      },
    };
  }

  stats(): DataSourceStats {
    const waitS = this.trainLoaders.reduce((s, l) => s + l.waitS, 0);
    return {
      waitS,
      dataS: waitS + this.makeSeconds,
      batches: this.trainLoaders.reduce((s, l) => s + l.delivered, 0),
      skippedFiles: this.producer.skippedFiles().length,
    };
  }

  close(): Promise<void> {
    return this.producer.close();
  }

  /**
   * Clips first..first+size-1 of `stream` as a batch (evalTotal: the evaluation set's size);
   * `whole`: made by one data worker (trainBatches).
   */
  private async batch(stream: ClipStream, first: number, size: number, evalTotal: number, whole: boolean): Promise<ClipBatch> {
    // Let the caller's current step run first; without data workers, clips are generated on this thread.
    await yieldToEventLoop();
    const p = this.producer;
    // This thread's share of the work: a synchronous producer makes the clips here in one stretch
    // (its awaits only chain settled promises); data workers, or reads from files, do not hold it.
    let t0 = performance.now();
    if (whole) {
      // A worker made and assembled the whole batch: its memory goes back to it on release.
      const { pixels, labels } = await p.trainPixelBatch!(first, size);
      t0 = performance.now();
      const batch = pixelBatch(pixels, labels, this.shape, this.pre);
      this.releasable(batch, (data) => p.recycle?.([{ pixels: data }]));
      if (!this.trainLoaders.some((l) => l.waiting)) this.makeSeconds += (performance.now() - t0) / 1000;
      return batch;
    }
    const clips = p.clipRange ? await p.clipRange(stream, first, size, evalTotal) : await Promise.all(Array.from({ length: size }, (_, b) => clipOf(p, stream, first + b, evalTotal)));
    if (p.clipRange || !p.synchronous) t0 = performance.now();
    const train = stream === "train";
    const bytes = size * this.clipShape.reduce((a, b) => a * b, 1);
    const reuse = train && clips[0]?.pixels instanceof Uint8Array ? this.takeSpare(bytes) : undefined;
    const batch = assembleBatch(clips, this.shape, this.pre, stream, first, reuse);
    if (p.clipRange) p.recycle?.(clips);
    if (train && batch.pixels) {
      this.releasable(batch, (data) => {
        if (this.spareBytes.length < SPARE_BATCHES) this.spareBytes.push(data);
      });
    }
    // A batch made while next() waits is in that wait already (waitS): not counted twice.
    if (train && !this.trainLoaders.some((l) => l.waiting)) this.makeSeconds += (performance.now() - t0) / 1000;
    return batch;
  }

  private takeSpare(bytes: number): Uint8Array | undefined {
    const i = this.spareBytes.findIndex((b) => b.length === bytes);
    return i >= 0 ? this.spareBytes.splice(i, 1)[0] : undefined;
  }

  /**
   * Gives a training batch of 8-bit clips its release(), which passes its memory to `reuse`: the
   * trainer hands each batch back after its step, and a later batch is assembled in its memory
   * (here, or by the data worker that made it). A new 2 MB buffer a batch (256 x 8 frames of 32 x
   * 32) cost the step's thread page faults and garbage collections, more than the copy into it
   * (docs/PERFORMANCE.md attempt 78). Reading a released batch's clips or pixels
   * throws; a reference to its pixels kept elsewhere (a spread copy shares them) would see a
   * later batch's, so only the one consumer that is done with a batch releases it.
   */
  private releasable(batch: ClipBatch, reuse: (data: Uint8Array) => void): void {
    const data = batch.pixels!.data;
    const gone = (): never => {
      throw new Error("BUG: a training batch read after its release()");
    };
    let released = false;
    Object.defineProperty(batch, "release", {
      enumerable: false,
      value: () => {
        if (released) return;
        released = true;
        Object.defineProperty(batch, "pixels", { enumerable: true, get: gone });
        Object.defineProperty(batch, "clips", { enumerable: true, get: gone });
        // A buffer moved to another thread meanwhile is detached (length 0): never reused.
        if (data.length > 0) reuse(data);
      },
    });
  }
}

/**
 * Released batches' memory kept for later ones. It holds the batches released and not yet reused,
 * about a call's (runtime.steps_per_call); the cap only bounds what a consumer that releases
 * more than it takes could pile up.
 */
const SPARE_BATCHES = 72;

function checkBatchSize(batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`BUG: batch size must be a positive integer, got ${batchSize}`);
  }
}

/** An area fraction as a whole percent, else with the decimals it needs (0.08 -> "8%", 0.125 -> "12.5%"). */
function percent(fraction: number): string {
  return `${Number((100 * fraction).toPrecision(6))}%`;
}
