/** "1 block", "2 blocks": a count with its noun, for messages (nouns that take a plain "s"). */
export function count(n: number | bigint, noun: string): string {
  return `${n} ${noun}${Number(n) === 1 ? "" : "s"}`;
}

/** "3 completed, 1 failed": how many of each value, in first-seen order. */
export function tally(values: readonly string[]): string {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return [...n].map(([v, k]) => `${k} ${v}`).join(", ");
}
