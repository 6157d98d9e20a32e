/**
 * A setting's name in a legend or a table's header: its last part, with the list and item it is in
 * (`train.steps` -> `steps`, `model.layers.3.out_channels` -> `layers.3.out_channels`,
 * `model.layers.3` -> `layers.3`). Its own module: the paper table (table-headers.ts) needs it
 * without plot.ts, which imports the paper table.
 */
export function keyLabel(key: string): string {
  const parts = key.split(".");
  const index = (i: number) => /^\d+$/.test(parts[i] ?? "");
  const last = parts.length - 1;
  const from = index(last) ? last - 1 : index(last - 1) ? last - 2 : last;
  return parts.slice(Math.max(from, 0)).join(".");
}
