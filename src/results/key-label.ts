/**
 * A setting's name in a legend or a table's header: its last part, with the list and item it is in
 * (`train.steps` -> `steps`, `model.layers.3.out_channels` -> `layers.3.out_channels`,
 * `model.layers.3` -> `layers.3`). Its own module: the paper table (table-headers.ts) needs it
 * without plot.ts, which imports the paper table. distinctNames: the one rule by which names shown
 * together fall back to whole keys (table headers, zip partners under a tick, figure file names).
 */
export function keyLabel(key: string): string {
  const parts = key.split(".");
  const index = (i: number) => /^\d+$/.test(parts[i] ?? "");
  const last = parts.length - 1;
  const from = index(last) ? last - 1 : index(last - 1) ? last - 2 : last;
  return parts.slice(Math.max(from, 0)).join(".");
}

/**
 * Names shown together (a table's header row, the partners under a tick, the figures of one
 * folder): each its `short` name, but where two are the same each of those its `whole` name
 * instead, so that they still tell their columns apart (`model.x.lr` and `train.optimizer.lr`,
 * both `lr`; a swept `train.steps` and the metric `steps_done`, both "steps"). Whom a name must
 * differ from is the caller's: the names shown beside it.
 */
export function distinctNames(short: readonly string[], whole: readonly string[]): string[] {
  return short.map((s, i) => (short.filter((x) => x === s).length > 1 ? whole[i] : s));
}

/** Each of `keys` by its short name (keyLabel, or `short`) unless another of `keys` has the same; then by its whole key (distinctNames). */
export const shortKeyNames = (keys: readonly string[], short: (key: string) => string = keyLabel): string[] => distinctNames(keys.map(short), keys);
