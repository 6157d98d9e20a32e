/**
 * Settings that go with another in runs.csv: a `sweep.zip` pairs its keys (experiments/
 * depth-long-clips.yaml: depth-3 with 12 frames, depth-5 with 20, depth-8 with 32), so among its
 * runs one key's value fixes the other's. A figure against one of them draws the other as part of
 * the same line (plot-vs-setting.ts), and a sweep's report draws one figure for the pair
 * (swept-setting-figures.ts).
 * Where the folder's sweep-plan.json records the sweep's structure (sweep-structure.ts), a swept
 * setting is a partner only of a key the sweep pairs it with (its zip, or its random draws of
 * numbers), and only where runs.csv bears that out; without one (a plan of an earlier version, or
 * none), and for a setting the sweep did not set, runs.csv's values alone say.
 */
import { isCellValue, type CsvRow, type CsvValue } from "./csv-read.js";
import { isSweptIn, pairedKeys, type SweepStructure } from "./sweep-structure.js";

/** A cell as one value to compare: a blank cell is a value of its own ("no value"). */
const cellKey = (v: CsvValue | undefined): string => JSON.stringify(isCellValue(v) ? v : null);

/**
 * Whether, among the rows with a value of `key`, every value of `key` comes with one value of
 * `other` (a blank cell counting as one).
 */
function determines(rows: readonly CsvRow[], key: string, other: string): boolean {
  const seen = new Map<string, string>();
  for (const r of rows) {
    if (!isCellValue(r[key])) continue;
    const k = cellKey(r[key]);
    const v = cellKey(r[other]);
    if (seen.has(k) && seen.get(k) !== v) return false;
    seen.set(k, v);
  }
  return true;
}

/**
 * Of `settings`, those that go with `key` among the rows with a value of it: determined by it, and
 * not a constant there (two values or more), so each of key's values has its own; and, where the
 * sweep's `structure` sets both, one the sweep pairs with `key` (never a grid key or a random
 * `choice`, however few runs there are). In `settings`' order.
 */
export function partnersOf(rows: readonly CsvRow[], key: string, settings: readonly string[], structure: SweepStructure | null = null): string[] {
  const withKey = rows.filter((r) => isCellValue(r[key]));
  const paired = structure !== null && isSweptIn(structure, key) ? pairedKeys(structure, key) : null;
  const mayPair = (s: string) => paired === null || !isSweptIn(structure!, s) || paired.includes(s);
  return settings.filter((s) => s !== key && mayPair(s) && new Set(withKey.map((r) => cellKey(r[s]))).size > 1 && determines(withKey, key, s));
}

/**
 * Whether `a` and `b` go with each other among `rows` (a zip group's keys), each a partner of the
 * other: a figure against either draws the same points. Two keys of two sweeps gathered in one
 * folder (each blank where the other has values) are not: neither varies where the other has a value.
 */
export function goWithEachOther(rows: readonly CsvRow[], a: string, b: string, structure: SweepStructure | null = null): boolean {
  return partnersOf(rows, a, [b], structure).length === 1 && partnersOf(rows, b, [a], structure).length === 1;
}
