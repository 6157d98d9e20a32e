/**
 * A sweep's report's figures against the settings it varies: for each swept key (the keys of the
 * completed runs' swept values in run-meta.json, which sweep.grid, sweep.zip and
 * sweep.random.params set, as runs.csv's swept columns come from them), what `sideways plot DIR
 * --against-setting KEY` draws with its defaults (plot-vs-setting.ts), under the names it uses. The
 * seed, and a key with one value among the completed runs, get none: a figure against them says nothing.
 * Nor does a key that a zip pairs with an earlier one (setting-partners.ts) in the same order along
 * the axis: its figure would draw the same line of points as that key's, which names it in a note.
 * A random search's draws pair its keys one to one too, but in no order: each gets its figure.
 * Where the folder's sweep-plan.json records the sweep's structure (sweep-structure.ts), only keys
 * of its zip ever share a figure: two drawn keys that happen to be in one order, or grid keys that
 * happen to fix each other among few runs, each get theirs.
 */
import { join } from "node:path";
import { InputError } from "../errors.js";
import { isCellValue, readCsv, type CsvRow } from "./csv-read.js";
import { DEFAULT_SPREAD } from "./paper-table.js";
import { goWithEachOther } from "./setting-partners.js";
import { readSweepPlan } from "./sweep-plan.js";
import { isSweptIn, zippedTogether } from "./sweep-structure.js";
import { isNumericAxis, plotAgainstSetting, type SettingPlotOutput } from "./plot-vs-setting.js";
import { RUNS_CSV, paramColumns, type RunRecord } from "./runs-table.js";

export interface SweptSettingFigures {
  /** Each figure's SVG and CSV, by file name, to write once the whole report is drawn. */
  files: [string, string][];
  drawn: SettingPlotOutput[];
  /** A line for each swept key whose figure could not be drawn: the key, and why. */
  skipped: string[];
}

/**
 * The swept keys of `completed` (not the seed) that take two values or more in the completed rows
 * of root's runs.csv (the cells the figure draws), in the order the runs first set them; of keys
 * that fix each other's values among runs.csv's rows (a zip group) in the same order along the
 * axis, the first only. A key fixed by another one way only (a model that happens to have one clip
 * length while another length is run with two models) is drawn: its figure is not the other's. So
 * are two keys of a random search (a learning rate and a weight decay drawn together): each draw
 * fixes both, but a figure against one puts the draws in another order than against the other.
 * Keys the sweep's recorded structure sets share a figure only where its zip holds both.
 */
export function keysToDraw(root: string, completed: readonly RunRecord[]): string[] {
  const { rows } = readCsv(join(root, RUNS_CSV));
  const structure = readSweepPlan(root)?.structure ?? null;
  const mayShare = (a: string, b: string) => structure === null || !isSweptIn(structure, a) || !isSweptIn(structure, b) || zippedTogether(structure, a, b);
  const done = rows.filter((r) => r.status === "completed");
  const varied = paramColumns(completed).filter((key) => new Set(done.map((r) => r[key]).filter(isCellValue).map((v) => JSON.stringify(v))).size > 1);
  const keys: string[] = [];
  for (const key of varied) if (!keys.some((k) => mayShare(k, key) && goWithEachOther(rows, k, key, structure) && sameAxisOrder(rows, k, key))) keys.push(key);
  return keys;
}

/**
 * Whether `b`'s values, taken at each of `a`'s in the order a figure against `a` puts them, are in
 * the order a figure against `b` puts its own (numbers ascending, categories in runs.csv's order):
 * for keys that fix each other, a figure against `b` is then the same line of points as against
 * `a`, with other tick labels (data.clip_length 12, 20, 32 at depth-3, depth-5, depth-8).
 */
function sameAxisOrder(rows: readonly CsvRow[], a: string, b: string): boolean {
  const paired = rows.filter((r) => isCellValue(r[a]) && isCellValue(r[b]));
  const axis = (key: string) => {
    const values = [...new Set(paired.map((r) => r[key] as string | number))];
    return isNumericAxis(values) ? (values as number[]).sort((x, y) => x - y) : values;
  };
  const bAt = new Map(paired.map((r) => [r[a], r[b]]));
  return JSON.stringify(axis(a).map((v) => bAt.get(v))) === JSON.stringify(axis(b));
}

/**
 * Draws `metrics` (plot --against-setting's default: the table's first) against each key of
 * keysToDraw, writing nothing: a key whose figure cannot be drawn is skipped and said, never
 * costing the others or the rest of the report.
 */
export async function sweptSettingFigures(root: string, completed: readonly RunRecord[], metrics: readonly string[]): Promise<SweptSettingFigures> {
  const out: SweptSettingFigures = { files: [], drawn: [], skipped: [] };
  if (metrics.length === 0) return out;
  for (const key of keysToDraw(root, completed)) {
    try {
      const files: [string, string][] = [];
      out.drawn.push(...(await plotAgainstSetting(join(root, RUNS_CSV), key, metrics, DEFAULT_SPREAD, (name, text) => files.push([name, text]))));
      out.files.push(...files);
    } catch (err) {
      // What the runs cannot give (plot-vs-setting's InputError) is one line; anything else is a
      // bug, which a note would hide behind a sweep that exits 0.
      if (!(err instanceof InputError)) throw err;
      out.skipped.push(`no figure against ${key} in the sweep's report (the rest of the report is written): ${err.message.replace(/\s*\n\s*/g, " ")}`);
    }
  }
  return out;
}
