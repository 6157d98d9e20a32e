/**
 * Keeps `depth` batches in preparation ahead of the consumer, so that `next()` returns at once
 * when the producer keeps up. Batches are produced by index and queued in order, so what the
 * consumer sees does not depend on timing. The time `next()` spends waiting is accumulated.
 */
export class Prefetcher<T> {
  private readonly queue: Promise<T>[] = [];
  private nextIndex = 0;
  private waitSeconds = 0;
  private handedOut = 0;
  private waitingNow = false;

  /** `make(i)` prepares item i; `count` bounds the stream (Infinity = endless). */
  constructor(
    private readonly make: (index: number) => Promise<T>,
    private readonly depth: number,
    private readonly count = Number.POSITIVE_INFINITY,
  ) {
    this.fill();
  }

  get waitS(): number {
    return this.waitSeconds;
  }

  /** True while next() waits for an item. */
  get waiting(): boolean {
    return this.waitingNow;
  }

  get delivered(): number {
    return this.handedOut;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    // One slot is the item being requested now; `depth` more are prepared behind it.
    this.fill();
    const head = this.queue.shift();
    if (head === undefined) return { done: true, value: undefined };
    const started = performance.now();
    this.waitingNow = true;
    try {
      const value = await head;
      this.handedOut += 1;
      return { done: false, value };
    } finally {
      this.waitingNow = false;
      this.waitSeconds += (performance.now() - started) / 1000;
      this.fill();
    }
  }

  private fill(): void {
    while (this.queue.length < this.depth + 1 && this.nextIndex < this.count) {
      const pending = this.make(this.nextIndex++);
      // A prefetched batch may fail before anyone awaits it; the error surfaces from next().
      pending.catch(() => undefined);
      this.queue.push(pending);
    }
  }
}
