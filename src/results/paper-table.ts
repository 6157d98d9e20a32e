/**
 * The paper table: for each configuration (runs that differ only in seed), the mean, sample
 * standard deviation (n - 1 in the denominator; blank when n = 1) and count of each chosen metric
 * over the completed runs, from runs.csv; the cells' ± is that std, or the standard error of the
 * mean, or a 95% confidence interval's half-width (`Spread`). Written as CSV, Markdown and LaTeX. A configuration with
 * runs that did not complete (diverged, failed, interrupted, still running) says how many and
 * why in a last column: one whose every run diverged is a row of dashes, never a missing row.
 */
import jStat from "jstat";
import { InputError } from "../errors.js";
import type { Against, PairedCell } from "./paired-diff.js";
import { suggestionSuffix } from "../spec/did-you-mean.js";
import type { CsvRow, CsvValue } from "./csv-read.js";
import { csvText } from "./csv-text.js";
import { EVAL_OVERRIDES_COLUMN, ID_COLUMNS, METRIC_COLUMNS, RESULT_COLUMNS } from "./runs-table.js";
import { tally } from "../util/count.js";
import { whyAbsent } from "./absent-metric.js";
import { NOT_STARTED, OTHER_SHARD } from "./sweep-plan.js";
import { NOT_COPIED } from "./not-copied.js";
import { betterDirection, isAccuracy } from "./metric-label.js";
import { columnsComment, metricHeader, percentUnit, settingHeaders } from "./table-headers.js";
import { distinctNames } from "./key-label.js";

export interface MetricStats {
  mean: number | null;
  std: number | null;
  n: number;
}

export interface TableRow {
  configId: string;
  params: Record<string, CsvValue>;
  stats: Record<string, MetricStats>;
  /** The runs not completed, by status ("2 nan_loss"); "" when every run completed. */
  notCompleted: string;
}

/**
 * What a cell's ± says, over a configuration's n seeds (sample std s, n - 1 in its denominator):
 *   std:  s
 *   sem:  s / sqrt(n), the standard error of the mean
 *   ci95: t(0.975, n - 1) * s / sqrt(n), the half-width of the mean's 95% confidence interval
 *         (Student's t; with 3 seeds t = 4.30, so the interval is much wider than ± s/sqrt(n))
 */
export const SPREADS = ["std", "sem", "ci95"] as const;
export type Spread = (typeof SPREADS)[number];

/**
 * The spread when none is asked for: the sweep report's tables and figures, `results table` and
 * `plot` without --spread. Files of another spread are named apart from the report's (`-ci95`).
 */
export const DEFAULT_SPREAD: Spread = "std";

/** A cell's ± for `spread` (null with fewer than two runs, as the std). */
export function spreadOf(s: MetricStats, spread: Spread): number | null {
  if (s.std === null || s.n < 2) return null;
  if (spread === "std") return s.std;
  const sem = s.std / Math.sqrt(s.n);
  // jstat's Student t quantile (dist/jstat.js, no dependencies): a hand-written inverse of the
  // incomplete beta function is what it would replace, and stdlib's is 233 packages.
  return spread === "sem" ? sem : jStat.studentt.inv(0.975, s.n - 1) * sem;
}

/**
 * Each spread in words, in one place so that the table, its notes and the figures say the same:
 * `name`, a noun (the paired differences' note); `band`, a figure's band or error bar; `cell`, what
 * follows "mean ±" under a table.
 */
const SPREAD_WORDS: Record<Spread, { name: string; band: string; cell: string }> = {
  std: { name: "the sample standard deviation", band: "±1 sample std", cell: "sample standard deviation (n - 1 in the denominator)" },
  sem: {
    name: "the standard error",
    band: "± standard error of the mean (std / sqrt(n))",
    cell: "standard error of the mean (sample standard deviation, n - 1 in its denominator, / sqrt(n))",
  },
  ci95: {
    name: "the half-width of the 95% confidence interval (Student's t, n - 1 degrees of freedom)",
    band: "95% confidence interval of the mean (Student's t, n - 1 degrees of freedom)",
    cell: "half-width of the mean's 95% confidence interval (Student's t with n - 1 degrees of freedom x sample standard deviation / sqrt(n))",
  },
};

/** What `spread` is, as a noun ("the standard error"): the paired differences' note says it. */
export const spreadName = (spread: Spread) => SPREAD_WORDS[spread].name;

/** What a band or error bar of `spread` is, in a figure's subtitle (src/results/plot.ts). */
export const spreadPhrase = (spread: Spread) => SPREAD_WORDS[spread].band;

/** Said under the table: what mean ± x means (`pm`: how ± is written, `$\\pm$` in LaTeX), and what n counts. */
export function spreadNote(spread: Spread, pm = "±", n = "n = completed runs with the metric"): string {
  return `mean ${pm} ${SPREAD_WORDS[spread].cell} over seeds; ${n}`;
}

export interface PaperTable {
  paramColumns: string[];
  metrics: string[];
  rows: TableRow[];
  /** Whether any configuration has runs that did not complete: then the table has a NOT_COMPLETED column. */
  showNotCompleted: boolean;
  /** What the cells' ± is. */
  spread: Spread;
  /** Where the figures are not the runs' own (`sideways evaluate <sweep folder>`'s runs.csv): what they are. */
  source?: string;
  /** With `--against`: each row's differences from its baseline (src/results/paired-diff.ts), a Δ column per metric. */
  paired?: { against: Against; cells: Map<string, PairedCell>; note: string };
  /** What is said under the table of metrics that some row's completed runs all lack (absentMetricNote). */
  absentNotes: string[];
}

/** The last column's name, where some runs did not complete, and what it says. */
export const NOT_COMPLETED = "not_completed";
export const NOT_COMPLETED_NOTE = `${NOT_COMPLETED}: that configuration's runs that did not complete, by status (runs.csv has their messages; ${NOT_STARTED}: a sweep process writing here was given it and has not started it; ${OTHER_SHARD}: another shard's run, not collected here; ${NOT_COPIED}: a run results collect found in a shard and did not copy here (runs.csv's message says from where and why); unreadable_*: a file of its record cannot be read); its means are over the completed runs`;

export function meanStd(xs: readonly number[]): MetricStats {
  const n = xs.length;
  if (n === 0) return { mean: null, std: null, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n };
}

/**
 * A runs.csv metric column by name; `eval_clip_top1` is accepted for `final_eval_clip_top1`. A
 * column that says which run it is or how it ended (a setting, the seed, the status) is no metric.
 */
export function resolveMetric(name: string, columns: readonly string[]): string {
  const metrics = (METRIC_COLUMNS as readonly string[]).filter((c) => columns.includes(c));
  if (metrics.includes(name)) return name;
  if (metrics.includes(`final_${name}`)) return `final_${name}`;
  if (columns.includes(name)) throw new InputError(`--metric ${name}: that runs.csv column is not a metric (it says which run it is or how it ended); metrics: ${metrics.join(", ")}`, undefined, "--metric");
  // Every word of the name in a metric's ("eval_top1" -> final_eval_clip_top1, final_eval_frame_top1), else the nearest spelling.
  const words = name.split("_").filter((w) => w !== "");
  const containing = metrics.filter((m) => words.length > 0 && words.every((w) => m.split("_").includes(w)));
  const hint = containing.length > 0 ? ` (did you mean ${containing.map((m) => `'${m}'`).join(" or ")}?)` : suggestionSuffix(`final_${name}`, metrics) || suggestionSuffix(name, metrics);
  throw new InputError(`--metric ${name}: no such column in runs.csv${hint}; metrics: ${metrics.join(", ")}`, undefined, "--metric");
}

export function paperTable(columns: readonly string[], rows: readonly CsvRow[], metricNames: readonly string[], spread: Spread = DEFAULT_SPREAD): PaperTable {
  // A metric asked for twice (by its name and its short name, eval_clip_top1) is one column.
  const metrics = [...new Set(metricNames.map((m) => resolveMetric(m, columns)))];
  const fixed = new Set<string>([...ID_COLUMNS, ...RESULT_COLUMNS, EVAL_OVERRIDES_COLUMN]);
  const paramColumns = columns.filter((c) => !fixed.has(c));
  const groups = new Map<string, CsvRow[]>();
  for (const row of rows) {
    const id = String(row.config_id);
    groups.set(id, [...(groups.get(id) ?? []), row]);
  }
  const configs = [...groups.values()];
  // A run outside the sweep (`sideways run` with another setting into the sweep's folder) has no
  // swept values: its row would be blank where the others say what they are.
  const outside = paramColumns.length > 0 && configs.some((runs) => paramColumns.every((p) => runs[0][p] === null || runs[0][p] === undefined));
  // Its method then names it, as in the plots' legends; so does a folder of runs of several methods none of which swept it.
  if (!paramColumns.includes("train.method") && (outside || new Set(configs.map((runs) => runs[0].method)).size > 1)) paramColumns.push("method");
  // Configurations whose swept values agree (two sweeps into one folder that differ in a setting
  // neither swept) have runs.csv columns for the settings that set them apart, read from their
  // config.yaml (src/results/run-settings.ts). Where that cannot tell them apart (runs without a
  // config.yaml), and for runs outside the sweep, the config_id column does, as in the plots' legends.
  const shown = new Set(configs.map((runs) => JSON.stringify(paramColumns.map((p) => runs[0][p]))));
  if (shown.size < groups.size || outside) paramColumns.push("config_id");
  // Evaluation on the training clips is never silent (docs/RESULT-FILES.md): not in the paper table either.
  if (configs.some((runs) => runs.some((r) => r.status === "completed" && r.eval_on_train === 1))) paramColumns.push("eval_on_train");
  // Nor a completed run that warned (runs.csv's warnings): its row counts them.
  const warned = (runs: readonly CsvRow[]) => runs.filter((r) => r.status === "completed" && typeof r.warnings === "string" && r.warnings !== "").length;
  if (configs.some((runs) => warned(runs) > 0)) paramColumns.push(WARNINGS);
  const tableRows = [...groups].map(([configId, runs]) => {
    const completed = runs.filter((r) => r.status === "completed");
    return {
      configId,
      // train.method is known for every run, swept or not (runs.csv's method column).
      params: Object.fromEntries(paramColumns.map((p) => [p, p === "train.method" ? (runs[0][p] ?? runs[0].method) : p === WARNINGS ? warned(runs) : runs[0][p]])),
      stats: Object.fromEntries(
        metrics.map((m) => [m, meanStd(completed.map((r) => r[m]).filter((v): v is number => typeof v === "number" && Number.isFinite(v)))]),
      ),
      notCompleted: tally(runs.filter((r) => r.status !== "completed").map((r) => String(r.status))),
    };
  });
  // A row whose completed runs all lack a metric is a dash there, which alone reads like a row
  // whose runs did not complete (NOT_COMPLETED_NOTE): the table says why under it.
  const completedRows = tableRows.filter((_, i) => configs[i].some((r) => r.status === "completed"));
  const absentNotes = metrics.flatMap((m) => {
    const lacking = completedRows.filter((r) => r.stats[m].n === 0).length;
    return lacking === 0 ? [] : [absentMetricNote(m, lacking === completedRows.length ? null : lacking)];
  });
  const source = columns.includes(EVAL_OVERRIDES_COLUMN) ? evaluatedAgainNote(rows) : undefined;
  return { paramColumns, metrics, rows: tableRows, showNotCompleted: tableRows.some((r) => r.notCompleted !== ""), spread, absentNotes, ...(source === undefined ? {} : { source }) };
}

/** The note under a table of `sideways evaluate <sweep folder>`'s runs.csv: which figures are new, with which overrides. */
function evaluatedAgainNote(rows: readonly CsvRow[]): string {
  const said = [...new Set(rows.filter((r) => r.status === "completed").map((r) => String(r[EVAL_OVERRIDES_COLUMN] ?? "")))];
  const overrides = said.length === 0 ? "" : said.map((o) => (o === "" ? "none" : o)).join("; ");
  return `final_eval_*: each run's final weights evaluated again by sideways evaluate with its config.yaml and overrides: ${overrides || "none"} (runs.csv's ${EVAL_OVERRIDES_COLUMN}); the other metrics are the runs' training's`;
}

/**
 * Said under a table where `metric` is a dash in rows that have completed runs (`rows` of them, or
 * every such row where null): no completed run there has a value of it, and why where known.
 */
export function absentMetricNote(metric: string, rows: number | null): string {
  const where = rows === null ? "every row" : `${rows} ${rows === 1 ? "row" : "rows"}`;
  const why = whyAbsent(metric);
  return `${metric}: – in ${where} with completed runs, as none of those runs has it (runs.csv's cells are blank)${why === null ? "" : `: ${why}`}`;
}

/** The CSV has mean, std and n of every metric, and the cells' ± (`<metric>_sem`, `_ci95`) where it is not the std. */
export function tableCsv(t: PaperTable): string {
  const extra = t.spread === "std" ? [] : [t.spread];
  const statColumns = (prefix: string) => [`${prefix}_mean`, `${prefix}_std`, ...extra.map((x) => `${prefix}_${x}`), `${prefix}_n`];
  const statCells = (prefix: string, s: MetricStats | null) => [[`${prefix}_mean`, s?.mean ?? null], [`${prefix}_std`, s?.std ?? null], ...extra.map((x) => [`${prefix}_${x}`, s === null ? null : spreadOf(s, t.spread)]), [`${prefix}_n`, s?.n ?? null]];
  // With --against, a row's Δ columns (<metric>_delta_*); blank for the baseline and a row without one.
  const deltas = t.paired ? t.metrics.map((m) => `${m}_delta`) : [];
  const delta = (r: TableRow, m: string) => {
    const cell = t.paired!.cells.get(r.configId);
    return cell === "baseline" || cell === null || cell === undefined ? null : cell[m];
  };
  const columns = [...t.paramColumns, ...t.metrics.flatMap(statColumns), ...deltas.flatMap(statColumns), ...(t.showNotCompleted ? [NOT_COMPLETED] : [])];
  const rows = t.rows.map((r) => ({
    ...r.params,
    ...Object.fromEntries(t.metrics.flatMap((m) => statCells(m, r.stats[m]))),
    ...Object.fromEntries(t.paired ? t.metrics.flatMap((m) => statCells(`${m}_delta`, delta(r, m))) : []),
    ...(t.showNotCompleted ? { [NOT_COMPLETED]: r.notCompleted === "" ? null : r.notCompleted } : {}),
  }));
  return csvText(columns, rows);
}

/**
 * From this magnitude a cell is in scientific notation with `digits` decimals: toFixed switches
 * to exponent form at 1e21 by itself, ignoring the digits ("1.043231143876293e+22", a diverged
 * run's loss), and a LaTeX cell would set its e in italics.
 */
const SCIENTIFIC_FROM = 1e9;

/** `scientific`: the cell's notation, chosen once from its mean so that mean and its ± read alike. */
function fixed(x: number | null, digits: number, scientific: boolean, latex = false): string {
  if (x === null) return "";
  if (!scientific) return x.toFixed(digits);
  const [mantissa, exponent] = x.toExponential(digits).split("e");
  return latex ? `${mantissa} \\times 10^{${Number(exponent)}}` : `${mantissa}e${Number(exponent)}`;
}

const scientificCell = (s: MetricStats, pm: number | null) => s.mean !== null && Math.max(Math.abs(s.mean), pm ?? 0) >= SCIENTIFIC_FROM;

/** Decimals for a metric: counts and rates are whole numbers, seconds have one; the rest `digits`. */
export function metricDigits(metric: string, digits: number): number {
  if (metric.endsWith("frames_per_s") || metric === "steps_done") return 0;
  if (metric.endsWith("wall_s")) return 1;
  return digits;
}

/**
 * How the Markdown and LaTeX tables show their numbers (`results table`; the sweep's own table is
 * the default). `percent`: accuracies (top-1, top-5) x 100, mean and ± alike, two decimals fewer;
 * `boldBest`: each metric column's best mean in bold where the metric has a better direction
 * (metric-label.ts). The CSV keeps runs.csv's numbers either way.
 */
export interface TableStyle {
  percent?: boolean;
  boldBest?: boolean;
}

/** A metric's numbers as its cells show them: x 100 for an accuracy in percent (every spread is a multiple of the std, so it scales alike). */
function shownStats(s: MetricStats, metric: string, style: TableStyle): MetricStats {
  if (!style.percent || !isAccuracy(metric)) return s;
  return { mean: s.mean === null ? null : s.mean * 100, std: s.std === null ? null : s.std * 100, n: s.n };
}

/** A metric's decimals in the table: metricDigits, two fewer for an accuracy in percent (0.771 at 3 decimals, 77.1 at 1). */
function cellDigits(metric: string, digits: number, style: TableStyle): number {
  const d = metricDigits(metric, digits);
  // x 100 moves two digits before the point: two decimals fewer keep the precision (0.771 is 77.1).
  return style.percent && isAccuracy(metric) ? Math.max(0, d - 2) : d;
}

/** A mean as its cell rounds it, as a number: what "best" compares, so that means shown alike tie. */
function roundedMean(s: MetricStats, digits: number, spread: Spread): number | null {
  return s.mean === null ? null : Number(fixed(s.mean, digits, scientificCell(s, spreadOf(s, spread))));
}

/**
 * The rows whose mean of `metric` is the best as shown (every row of a tie), where the metric has
 * a better direction and two or more rows have a mean: one row alone is best of nothing.
 */
function bestRows(t: PaperTable, metric: string, digits: number, style: TableStyle): Set<string> {
  const direction = betterDirection(metric);
  const shown = t.rows.map((r) => [r.configId, roundedMean(shownStats(r.stats[metric], metric, style), cellDigits(metric, digits, style), t.spread)] as const);
  const values = shown.flatMap(([, v]) => (v === null ? [] : [v]));
  if (direction === null || values.length < 2) return new Set();
  const best = direction === "higher" ? Math.max(...values) : Math.min(...values);
  return new Set(shown.filter(([, v]) => v === best).map(([id]) => id));
}

export const BOLD_BEST_NOTE = "bold: the best mean of each accuracy column (highest) and loss column (lowest) as rounded here, every row of a tie; no test of significance";

export const PERCENT_NOTE = "top-1 and top-5 accuracies in percent (runs.csv's fractions x 100), mean and ± alike";

/** A metric's cell: `mean ± spread (n=N)`, or in LaTeX `$mean \pm spread$ (N)`; `signed`: a difference, "+" before a positive mean; `bold`: mean and ± in bold. */
function statsCell(s: MetricStats, digits: number, spread: Spread, latex: boolean, signed = false, bold = false): string {
  if (s.mean === null) return latex ? "--" : "–";
  const pm = spreadOf(s, spread);
  const sci = scientificCell(s, pm);
  // A difference that rounds to zero is written without a sign ("0.000", not "+0.000" or "-0.000").
  const rounded = fixed(s.mean, digits, sci, latex);
  const zero = !sci && Number(rounded) === 0;
  const mean = zero ? rounded.replace(/^-/, "") : `${signed && s.mean > 0 ? "+" : ""}${rounded}`;
  // \boldmath (LaTeX's own, no package) sets the digits and \pm in bold, which \textbf leaves as they are in math.
  if (latex) {
    const math = `$${mean}${pm === null ? "" : ` \\pm ${fixed(pm, digits, sci, true)}`}$`;
    return `${bold ? `{\\boldmath${math}}` : math} (${s.n})`;
  }
  const text = `${mean}${pm === null ? "" : ` ± ${fixed(pm, digits, sci)}`}`;
  return `${bold ? `**${text}**` : text} (n=${s.n})`;
}

/** A row's metric cells, then with --against its Δ cells ("(baseline)" for the baseline, a dash without one). */
function metricCells(t: PaperTable, r: TableRow, digits: number, latex: boolean, style: TableStyle, best: ReadonlyMap<string, Set<string>>): string[] {
  const cell = (s: MetricStats, m: string, signed = false, bold = false) => statsCell(shownStats(s, m, style), cellDigits(m, digits, style), t.spread, latex, signed, bold);
  const cells = t.metrics.map((m) => cell(r.stats[m], m, false, best.get(m)?.has(r.configId) ?? false));
  if (!t.paired) return cells;
  const paired = t.paired.cells.get(r.configId);
  return [...cells, ...t.metrics.map((m) => (paired === "baseline" ? "(baseline)" : paired === null || paired === undefined ? (latex ? "--" : "–") : cell(paired[m], m, true)))];
}

/** Each metric's best rows (bestRows) with `boldBest`; none without. */
function bestOfEach(t: PaperTable, digits: number, style: TableStyle): Map<string, Set<string>> {
  return new Map(style.boldBest ? t.metrics.map((m) => [m, bestRows(t, m, digits, style)]) : []);
}

/** The metric columns' names: each metric, then with --against each metric's Δ; an accuracy in percent says so. */
function metricHeaders(t: PaperTable, style: TableStyle = {}): string[] {
  const percent = style.percent ?? false;
  return [...t.metrics.map((m) => `${m}${percentUnit(m, percent)}`), ...(t.paired ? t.metrics.map((m) => `Δ ${m}${percentUnit(m, percent, true)}`) : [])];
}

/** The notes the style adds under a table (without its options, none). */
function styleNotes(t: PaperTable, style: TableStyle, best: Map<string, Set<string>>): string[] {
  const percent = style.percent && t.metrics.some(isAccuracy) ? [t.paired ? `${PERCENT_NOTE}; their Δ in percentage points (pp)` : PERCENT_NOTE] : [];
  // Said only where a cell is bold: a table of one row, or of metrics without a better direction, has none.
  return [...percent, ...([...best.values()].some((rows) => rows.size > 0) ? [BOLD_BEST_NOTE] : [])];
}

const paramText = (v: CsvValue) => (v === null ? "" : String(v));

/** The column of a table whose configurations have completed runs that warned, and what it says. */
export const WARNINGS = "warnings";
export const WARNINGS_NOTE = `${WARNINGS}: how many of that row's completed runs warned (runs.csv's warnings column says what: clips too short for Sideways to reach every block, a loss that diverged, a last evaluation at chance)`;

export const EVAL_ON_TRAIN_NOTE = "eval_on_train = 1: the evaluation metrics of that row are on the training clips, not held-out ones";

/** Said under every table with the default spread: which standard deviation, and what n counts. */
export const STD_NOTE = spreadNote("std");

export function tableMarkdown(t: PaperTable, digits = 3, style: TableStyle = {}): string {
  const extra = t.showNotCompleted ? [NOT_COMPLETED] : [];
  const numeric = metricHeaders(t, style);
  const best = bestOfEach(t, digits, style);
  const header = [...t.paramColumns, ...numeric, ...extra];
  const escape = (s: string) => s.replace(/\|/g, "\\|");
  const align = (i: number) => (i < t.paramColumns.length || i >= t.paramColumns.length + numeric.length ? " --- " : " ---: ");
  const lines = [`| ${header.map(escape).join(" | ")} |`, `|${header.map((_, i) => align(i)).join("|")}|`];
  for (const r of t.rows) {
    const cells = [...t.paramColumns.map((p) => escape(paramText(r.params[p]))), ...metricCells(t, r, digits, false, style, best)];
    lines.push(`| ${[...cells, ...(t.showNotCompleted ? [r.notCompleted] : [])].join(" | ")} |`);
  }
  // What ± is: a reader of the table alone (or of a paper quoting it) must be able to tell.
  lines.push("", spreadNote(t.spread));
  for (const note of styleNotes(t, style, best)) lines.push("", note);
  if (t.source !== undefined) lines.push("", t.source);
  if (t.paired) lines.push("", t.paired.note);
  for (const note of t.absentNotes) lines.push("", note);
  if (t.paramColumns.includes("eval_on_train")) lines.push("", EVAL_ON_TRAIN_NOTE);
  if (t.paramColumns.includes(WARNINGS)) lines.push("", WARNINGS_NOTE);
  if (t.showNotCompleted) lines.push("", NOT_COMPLETED_NOTE);
  return lines.join("\n") + "\n";
}

const latexEscape = (s: string) => s.replace(/([\\&%$#_{}~^])/g, (c) => (c === "\\" ? "\\textbackslash{}" : c === "~" ? "\\textasciitilde{}" : c === "^" ? "\\textasciicircum{}" : `\\${c}`));

/**
 * A booktabs tabular; cells are `$mean \pm spread$`, with the number of runs in parentheses. Its
 * headers are in words (table-headers.ts: `lr`, `clip top-1`), pasted into a paper as they are;
 * a comment line names runs.csv's column of each.
 */
export function tableLatex(t: PaperTable, digits = 3, style: TableStyle = {}): string {
  const percent = style.percent ?? false;
  const numeric = metricHeaders(t);
  const raw = [...t.paramColumns, ...numeric, ...(t.showNotCompleted ? [NOT_COMPLETED] : [])];
  // A header that reads as another (a swept `train.steps` and the metric `steps_done`, both
  // "steps") is runs.csv's name: the row would not say which is which.
  const words = distinctNames(
    [
      ...settingHeaders(t.paramColumns),
      ...t.metrics.map((m) => metricHeader(m, percent)),
      ...(t.paired ? t.metrics.map((m) => metricHeader(m, percent, true)) : []),
      ...(t.showNotCompleted ? settingHeaders([NOT_COMPLETED]) : []),
    ],
    raw,
  );
  const header = words.map((h) => latexEscape(h).replace(/^Δ /, "$\\Delta$ "));
  const named = columnsComment(words, raw);
  const best = bestOfEach(t, digits, style);
  const body = t.rows.map((r) => {
    const params = t.paramColumns.map((p) => latexEscape(paramText(r.params[p])));
    return `${[...params, ...metricCells(t, r, digits, true, style, best), ...(t.showNotCompleted ? [latexEscape(r.notCompleted)] : [])].join(" & ")} \\\\`;
  });
  return [
    "% needs \\usepackage{booktabs} (\\toprule, \\midrule, \\bottomrule)",
    ...(named === null ? [] : [named]),
    `\\begin{tabular}{${"l".repeat(t.paramColumns.length)}${"r".repeat(numeric.length)}${t.showNotCompleted ? "l" : ""}}`,
    "\\toprule",
    `${header.join(" & ")} \\\\`,
    "\\midrule",
    ...body,
    "\\bottomrule",
    "\\end{tabular}",
    `% ${spreadNote(t.spread, "$\\pm$", "in parentheses n, the completed runs with the metric")}`,
    ...styleNotes(t, style, best).map((note) => `% ${note}`),
    ...(t.source !== undefined ? [`% ${t.source}`] : []),
    ...(t.paired ? [`% ${t.paired.note}`] : []),
    ...t.absentNotes.map((note) => `% ${note.replace("–", "--")}`),
    ...(t.paramColumns.includes("eval_on_train") ? [`% ${EVAL_ON_TRAIN_NOTE}`] : []),
    ...(t.paramColumns.includes(WARNINGS) ? [`% ${WARNINGS_NOTE}`] : []),
    ...(t.showNotCompleted ? [`% ${NOT_COMPLETED_NOTE}`] : []),
  ].join("\n") + "\n";
}
