/**
 * `results table --against KEY=VALUE`: each configuration's difference from a baseline
 * configuration, paired by seed. The baseline of a row is the configuration whose KEY is VALUE and
 * whose other settings in the table are the row's. For each seed both have completed, the
 * difference of the metric (row's run minus the baseline's run); the cell is the mean of those
 * differences ± their spread (paper-table.ts Spread), n = the pairs. At one seed, runs that differ
 * only in the rule or the optimizer start from the same weights and see the same clips (README,
 * "Reproducibility"), so a paired difference leaves out what the seed alone changes.
 */
import { InputError } from "../errors.js";
import type { CsvRow } from "./csv-read.js";
import { meanStd, WARNINGS, type MetricStats, type PaperTable, type TableRow } from "./paper-table.js";

export interface Against {
  key: string;
  value: string;
}

/** A row's differences from its baseline, by metric; "baseline" for the baseline itself, null without one. */
export type PairedCell = Record<string, MetricStats> | "baseline" | null;

/** `KEY=VALUE`, as `--against` takes it. */
export function parseAgainst(text: string): Against {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new InputError(`--against ${text}: expected KEY=VALUE, a column of the table and the value of the baseline configuration (e.g. --against train.method=bp)`, undefined, "--against");
  return { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** Columns that say something about a row other than its settings: not compared when rows are paired. */
const NOT_SETTINGS = new Set(["config_id", "eval_on_train", WARNINGS]);

/** The table's setting columns, those a row and its baseline must agree in (and KEY). */
export const pairedSettings = (table: PaperTable): string[] => table.paramColumns.filter((c) => !NOT_SETTINGS.has(c));

/** A table cell's value as the pairing compares it: blank for none. */
export const settingText = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/**
 * Per table row (by config id), its differences from its baseline; `runs` are runs.csv's rows.
 * An InputError where KEY is not a setting column of the table, no configuration has VALUE, or a
 * row would have two baselines (configurations the table's columns do not tell apart).
 */
export function pairedDifferences(table: PaperTable, runs: readonly CsvRow[], against: Against): Map<string, PairedCell> {
  const { key, value } = against;
  const settings = pairedSettings(table);
  if (!settings.includes(key)) {
    throw new InputError(`--against ${key}=${value}: '${key}' is not a column of this table; its setting columns: ${settings.length > 0 ? settings.join(", ") : "none (one configuration)"}`, undefined, "--against");
  }
  const text = settingText;
  const baselines = table.rows.filter((r) => text(r.params[key]) === value);
  if (baselines.length === 0) {
    const values = [...new Set(table.rows.map((r) => text(r.params[key])))];
    throw new InputError(`--against ${key}=${value}: no configuration has ${key} = ${value}; its values here: ${values.join(", ")}`, undefined, "--against");
  }
  const others = settings.filter((c) => c !== key);
  const sameOthers = (a: TableRow, b: TableRow) => others.every((c) => text(a.params[c]) === text(b.params[c]));
  const completedBySeed = (configId: string) => new Map(runs.filter((r) => String(r.config_id) === configId && r.status === "completed").map((r) => [String(r.seed), r]));
  const out = new Map<string, PairedCell>();
  for (const row of table.rows) {
    if (baselines.includes(row)) {
      out.set(row.configId, "baseline");
      continue;
    }
    const matches = baselines.filter((b) => sameOthers(row, b));
    if (matches.length > 1) {
      throw new InputError(`--against ${key}=${value}: ${matches.length} configurations (${matches.map((b) => b.configId).join(", ")}) have ${key} = ${value} and the settings of configuration ${row.configId} in this table's columns, so its baseline is ambiguous; runs.csv's config.yaml settings tell them apart`, undefined, "--against");
    }
    if (matches.length === 0) {
      out.set(row.configId, null);
      continue;
    }
    const mine = completedBySeed(row.configId);
    const theirs = completedBySeed(matches[0].configId);
    const stats: Record<string, MetricStats> = {};
    for (const m of table.metrics) {
      const diffs: number[] = [];
      for (const [seed, r] of mine) {
        const [a, b] = [r[m], theirs.get(seed)?.[m]];
        if (typeof a === "number" && typeof b === "number" && Number.isFinite(a) && Number.isFinite(b)) diffs.push(a - b);
      }
      stats[m] = meanStd(diffs);
    }
    out.set(row.configId, stats);
  }
  return out;
}

/**
 * Said under a table with differences: what each Δ column is, and with `unpaired`
 * (noBaselineNote) why some rows have none.
 */
export function pairedNote(against: Against, spreadText: string, unpaired: string | null = null): string {
  return (
    `Δ <metric>: paired by seed against the configuration with ${against.key} = ${against.value} and the same other settings in this table: ` +
    `the mean over seeds of (this row's run - the baseline's run of the same seed) ± ${spreadText} of those differences; n = seeds completed in both. ` +
    `Where ${against.key} changes neither the model nor the data (the rule, the optimizer), both runs of a seed start from the same weights and see the same clips` +
    (unpaired === null ? "" : `. ${unpaired}`)
  );
}
