/**
 * A setting's value as a figure shows it (a legend entry, a category on an axis): a path by its
 * file's stem, as run ids name it (spec/run-id.ts: `model-quickstart-cnn-gelu`), anything else
 * as `whole` writes it; but values that would then read the same (models/a/depth-3.yaml and
 * models/b/depth-3.yaml) whole, as one text for two values would put two models under one name.
 */
import { fileStem, isPathLike } from "../spec/run-id.js";

/** The text of each of `values` (all the setting's values in the figure), and of any of them given again. */
export function valueTexts<V>(values: readonly V[], whole: (value: V) => string): (value: V) => string {
  const short = (v: V) => (typeof v === "string" && isPathLike(v) ? fileStem(v) : whole(v));
  const valuesOf = new Map<string, Set<string>>();
  for (const v of values) valuesOf.set(short(v), (valuesOf.get(short(v)) ?? new Set()).add(whole(v)));
  return (v) => ((valuesOf.get(short(v))?.size ?? 1) > 1 ? whole(v) : short(v));
}
