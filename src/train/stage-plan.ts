/**
 * Splitting blocks into contiguous stages. With per-block costs, the split minimises the most
 * expensive stage (the pipeline's bottleneck): the classic linear-partition problem, solved
 * exactly by dynamic programming (L and S are small).
 */

/** Splits blocks 0..costs.length-1 into `stages` contiguous groups minimising the largest group cost. */
export function balancedStages(costs: readonly number[], stages: number): number[][] {
  const L = costs.length;
  const S = Math.max(1, Math.min(stages, L));
  const prefix = [0];
  for (const c of costs) prefix.push(prefix[prefix.length - 1] + c);
  const span = (a: number, b: number) => prefix[b] - prefix[a]; // cost of blocks a..b-1
  // best[s][i]: minimal bottleneck placing the first i blocks into s stages; cut[s][i]: start of the last stage.
  const best = Array.from({ length: S + 1 }, () => new Array<number>(L + 1).fill(Infinity));
  const cut = Array.from({ length: S + 1 }, () => new Array<number>(L + 1).fill(0));
  best[0][0] = 0;
  for (let s = 1; s <= S; s++) {
    for (let i = s; i <= L; i++) {
      for (let j = s - 1; j < i; j++) {
        const v = Math.max(best[s - 1][j], span(j, i));
        if (v < best[s][i]) {
          best[s][i] = v;
          cut[s][i] = j;
        }
      }
    }
  }
  const out: number[][] = [];
  let i = L;
  for (let s = S; s >= 1; s--) {
    const j = cut[s][i];
    out.unshift(Array.from({ length: i - j }, (_, n) => j + n));
    i = j;
  }
  return out;
}

/** A stage's contiguous blocks as messages say them: `block 2`, `blocks 0-3`. */
export function stageBlocksText(blocks: readonly number[]): string {
  return blocks.length === 1 ? `block ${blocks[0]}` : `blocks ${blocks[0]}-${blocks[blocks.length - 1]}`;
}
