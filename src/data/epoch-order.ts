/**
 * The order in which a finite set of clips is visited during training: epoch after epoch, each
 * epoch a fresh seeded permutation (or file order when shuffling is off). Item `i` of the run
 * depends only on the seed and `i`.
 */
import type { Rng } from "../util/rng.js";

export class EpochOrder {
  private readonly permutations = new Map<number, number[]>();

  constructor(
    private readonly size: number,
    private readonly shuffle: boolean,
    private readonly rng: Rng,
  ) {
    if (size < 1) throw new Error("BUG: EpochOrder needs at least one item");
  }

  /** The item visited as training clip `index` of the run. */
  at(index: number): number {
    const epoch = Math.floor(index / this.size);
    const position = index % this.size;
    if (!this.shuffle) return position;
    let perm = this.permutations.get(epoch);
    if (perm === undefined) {
      perm = this.rng.fork(epoch).shuffle(Array.from({ length: this.size }, (_, i) => i));
      // Only this epoch and the one before are kept: prefetching reaches at most one epoch ahead of
      // the oldest clip still being assembled, and one dropped too soon is drawn again, the same.
      // Every older one goes, not epoch - 2 alone: a data worker makes every n-th batch, so with a
      // set smaller than the batches between its own it skips epochs, and each skipped-to epoch's
      // epoch - 2 may never have been drawn while older ones stay (one permutation a batch, kept).
      for (const old of this.permutations.keys()) if (old < epoch - 1) this.permutations.delete(old);
      this.permutations.set(epoch, perm);
    }
    return perm[position]!;
  }

  /** Permutations held (at most 2): what this order keeps in memory, for tests. */
  get heldPermutations(): number {
    return this.permutations.size;
  }
}
