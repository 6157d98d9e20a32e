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

/** "a, b or c" (conjunction "or"), "a or b", "a": items in a sentence, commas up to the last. */
export function listed(items: readonly string[], conjunction: "and" | "or"): string {
  return items.length <= 2 ? items.join(` ${conjunction} `) : `${items.slice(0, -1).join(", ")} ${conjunction} ${items.at(-1)}`;
}

/** "a, b, c and 7 more": a long list (a big sweep's run names) capped so that a note stays a line or two. */
export function firstFew(names: readonly string[], shown = 10): string {
  return names.length <= shown ? names.join(", ") : `${names.slice(0, shown).join(", ")} and ${names.length - shown} more`;
}
