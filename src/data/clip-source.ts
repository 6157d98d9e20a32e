/**
 * A DataSource built from a ClipProducer: batches of consecutive clip indices, assembled with the
 * common preprocessing and prefetched ahead of the consumer.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { assembleBatch, type ClipProducer, type ClipShape, type Preprocess, type RawClip } from "./clip.js";
import { Prefetcher } from "./prefetch.js";
import type { ClipBatch, DataSource, DataSourceStats, SkippedFile } from "./source.js";

export class ClipSource implements DataSource {
  readonly clipShape: [number, number, number, number];
  private readonly trainLoaders: Prefetcher<ClipBatch>[] = [];

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
    return this.producer.description;
  }

  get evalIsTrain(): boolean {
    return this.producer.evalIsTrain;
  }

  get pixelClips(): boolean {
    return this.producer.uint8Pixels;
  }

  skipped(): readonly SkippedFile[] {
    return this.producer.skippedFiles();
  }

  trainBatches(batchSize: number, startBatch = 0): AsyncIterator<ClipBatch> {
    checkBatchSize(batchSize);
    const loader = new Prefetcher(
      (k) => this.batch("train", (startBatch + k) * batchSize, batchSize, (i) => this.producer.trainClip(i)),
      this.prefetchDepth,
    );
    this.trainLoaders.push(loader);
    return { next: () => loader.next() };
  }

  evalCount(clips: number): number {
    return this.producer.evalCount(clips);
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
            return this.batch("eval", first, Math.min(batchSize, count - first), (i) => this.producer.evalClip(i, count));
          },
          this.prefetchDepth,
          batches,
        );
        return { next: () => loader.next() };
      },
    };
  }

  stats(): DataSourceStats {
    return {
      waitS: this.trainLoaders.reduce((s, l) => s + l.waitS, 0),
      batches: this.trainLoaders.reduce((s, l) => s + l.delivered, 0),
      skippedFiles: this.producer.skippedFiles().length,
    };
  }

  close(): Promise<void> {
    return this.producer.close();
  }

  private async batch(
    stream: string,
    first: number,
    size: number,
    clip: (index: number) => Promise<RawClip>,
  ): Promise<ClipBatch> {
    // Let the caller's current step run first; synthetic clips are generated on this thread.
    await yieldToEventLoop();
    const clips = await Promise.all(Array.from({ length: size }, (_, b) => clip(first + b)));
    return assembleBatch(clips, this.shape, this.pre, stream, first);
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`BUG: batch size must be a positive integer, got ${batchSize}`);
  }
}
