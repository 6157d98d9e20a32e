/**
 * A final metric against one swept setting, for papers (`sideways plot DIR --against-setting KEY`):
 * from runs.csv, each configuration's mean over its completed seeds with an error bar of the
 * chosen spread (paperTable's numbers, so the figure and `results table` agree to the last digit),
 * each seed's value as a faint dot, and one line per combination of the other swept settings,
 * labelled and dashed as the learning curves label and dash theirs (src/results/plot.ts), less
 * those that go with the setting (a `sweep.zip` partner, setting-partners.ts): they are part of
 * the x value, not of a line, and said on the figure: in a note, and under each tick's label
 * where there is room.
 * Which settings those are, the sweep's own structure says where the folder's sweep-plan.json
 * records it (a grid key or a random `choice` is never one, however few runs there are).
 * The x axis: numbers on a linear axis, or a log one where they are all positive and span a
 * factor of 8 or more (LOG_AXIS_FROM: four learning rates a factor 2 apart); anything else as
 * categories in sweep order (runs.csv's row order), a path by its file's stem as run ids name it
 * (`depth-3`).
 */
import { dirname } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { InputError } from "../errors.js";
import { suggestionSuffix } from "../spec/did-you-mean.js";
import { isPathLike } from "../spec/run-id.js";
import { findRule, METHOD_NAMES } from "../schedule/registry.js";
import { count, tally } from "../util/count.js";
import { whyAbsent } from "./absent-metric.js";
import { isCellValue, readCsv, type CsvRow, type CsvValue } from "./csv-read.js";
import { csvText } from "./csv-text.js";
import { partnersOf } from "./setting-partners.js";
import { readSweepPlan } from "./sweep-plan.js";
import type { SweepStructure } from "./sweep-structure.js";
import { DEFAULT_SPREAD, paperTable, resolveMetric, spreadOf, spreadPhrase, type Spread } from "./paper-table.js";
import { UNKNOWN_RULE_LINE, type FigureNames, figureFiles, settingsLabel, stemValues, wholeValue, type ValueText } from "./plot.js";
import { keyLabel, shortKeyNames } from "./key-label.js";
import { EVAL_OVERRIDES_COLUMN, ID_COLUMNS, RESULT_COLUMNS } from "./runs-table.js";
import { valueTexts } from "./value-text.js";
import { wrapLine } from "./wrap-line.js";
import { paperCharPx, paperPlotWidth, paperYTitle, type PaperFigure } from "./paper-figure.js";

/** runs.csv's setting columns: the swept keys, and those that set configurations apart (runs-table.ts). */
export function settingColumns(columns: readonly string[]): string[] {
  const fixed = new Set<string>([...ID_COLUMNS, ...RESULT_COLUMNS, EVAL_OVERRIDES_COLUMN]);
  return columns.filter((c) => !fixed.has(c));
}

/**
 * `key` as one of runs.csv's setting columns, or an InputError naming --against-setting, the swept
 * keys, and the one meant: a misspelling, or a key's last part (`lr` for `train.optimizer.lr`).
 */
export function resolveSetting(key: string, columns: readonly string[], runsCsv: string): string {
  const settings = settingColumns(columns);
  if (settings.includes(key)) return key;
  const swept = settings.length === 0 ? "none: every run has the same settings" : settings.join(", ");
  if (key === "seed") throw new InputError(`plot --against-setting seed: the points are the mean over seeds; expected a swept setting of ${runsCsv} (swept: ${swept})`, undefined, "--against-setting");
  const ending = settings.filter((s) => s.endsWith(`.${key}`));
  const hint = ending.length > 0 ? ` (did you mean ${ending.map((s) => `'${s}'`).join(" or ")}?)` : suggestionSuffix(key, settings);
  throw new InputError(`plot --against-setting ${key}: not a setting swept in ${runsCsv}${hint}; expected one of its swept keys: ${swept}`, undefined, "--against-setting");
}

export interface SettingPoint {
  /** The line: the other swept settings' values as runs.csv has them (a path whole), the .csv's `config` column. */
  config: string;
  /** The line's legend text: `config` with a path by its file's stem, as the curves' legends (plot.ts). */
  label: string;
  config_id: string;
  method: string;
  /** The setting's value as runs.csv has it (a path whole). */
  value: CsvValue;
  /** The value of each setting that goes with it (SettingFigure.partners), as runs.csv has it. */
  partnerValues: Record<string, CsvValue>;
  /** What the x axis shows: the number, or the category (a path's file stem). */
  x: number | string;
  mean: number;
  std: number | null;
  lo: number;
  hi: number;
  /** Completed runs with a value of the metric. */
  n: number;
  /** Their seeds and values, in runs.csv's order (the faint dots). */
  seeds: number[];
  values: number[];
  /** The configuration's runs that did not complete, by status ("1 nan_loss"); "" where none. */
  not_completed: string;
}

export type SettingScale = "linear" | "log" | "categories";

export interface SettingFigure {
  key: string;
  metric: string;
  spread: Spread;
  points: SettingPoint[];
  /**
   * The other swept settings whose value the setting's fixes among runs.csv's configurations with a
   * value of it (a zip partner: data.clip_length with model), of those the sweep pairs with it
   * where its plan says (sweep-structure.ts): they do not split lines.
   */
  partners: string[];
  scale: SettingScale;
  /** The setting's values in runs.csv (with a point or not): the categories in sweep order, or the numbers, ascending. */
  ticks: (number | string)[];
  /**
   * At each tick, the value of each partner there ("clip_length=12"), drawn under the tick's label
   * so a reader of the figure sees what each x also is (on a numeric axis where the labels fit side
   * by side: numericLabelsFit); none where there are no partners, or more ticks than PARTNER_TICKS
   * (a random search's draws: the .csv says them).
   */
  tickPartners: string[][];
  /** Said on the figure and by the command: what it leaves out, and why. */
  notes: string[];
}

/**
 * From this ratio of the largest value to the smallest, positive values get a log axis: learning
 * rates swept over a decade, or three doublings or more (0.0125 to 0.1, which a linear axis would
 * crowd into its left quarter; experiments/depth-lr.yaml sweeps four, 0.00625 to 0.1); [1, 2, 4]
 * (workers, update_every) stays linear.
 */
export const LOG_AXIS_FROM = 8;

/** A log axis for positive numbers spanning a factor of LOG_AXIS_FROM or more (learning rates, weight decays); else linear. */
export function numericScale(xs: readonly number[]): "linear" | "log" {
  const positive = xs.length > 0 && xs.every((x) => x > 0);
  return positive && Math.max(...xs) / Math.min(...xs) >= LOG_AXIS_FROM ? "log" : "linear";
}

/**
 * The categories' texts on the axis, from all of the setting's values: a path as its file's stem
 * (run ids' `model-depth-3`), a list or mapping as JSON; paths whose stems are the same whole
 * (value-text.ts).
 */
const categoryTexts = (values: readonly CsvValue[]): ((v: CsvValue) => string) => valueTexts(values, String);

/** Whether a figure puts these values (a setting's, one per configuration) on a numeric axis: all numbers, two or more of them; else they are categories in the order given. */
export const isNumericAxis = (values: readonly (string | number)[]): boolean => values.length > 0 && values.every((v) => typeof v === "number") && new Set(values).size > 1;

/**
 * The lines (legend labels from the other swept settings) on which two configurations have the
 * same value of the setting: runs without a config.yaml that differ in a setting runs.csv cannot
 * show. Which of the line's points at another value belongs with which is then unknown, so no such
 * line is drawn joined: no line joins or averages two configurations. A configuration without a
 * value of the setting has no place on a line and sets none apart.
 */
function unjoinedLines(ids: readonly string[], lineOf: ReadonlyMap<string, string>, valueOf: (id: string) => CsvValue | undefined): string[] {
  const seen = new Set<string>();
  const unjoined = new Set<string>();
  for (const id of ids) {
    const value = valueOf(id);
    if (!isCellValue(value)) continue;
    const at = JSON.stringify([lineOf.get(id), value]);
    if (seen.has(at)) unjoined.add(lineOf.get(id)!);
    seen.add(at);
  }
  return [...unjoined];
}

/**
 * The points of `metric` (a runs.csv column, resolved as `results table --metric` resolves it)
 * against the setting `key`, over runs.csv's `columns` and `rows`; `structure`, the sweep's as its
 * plan records it (null: none recorded), says which settings may go with the key.
 */
export function settingFigure(columns: readonly string[], rows: readonly CsvRow[], key: string, metricName: string, spread: Spread = DEFAULT_SPREAD, structure: SweepStructure | null = null): SettingFigure {
  const metric = resolveMetric(metricName, columns);
  // The table's own numbers: one configuration per config_id, mean, std and n over its completed runs with a value.
  const table = paperTable(columns, rows, [metric], spread);
  const others = settingColumns(columns).filter((c) => c !== key);
  // A setting that goes with the key (a zip partner) is the same at each x on every line: as a
  // line's setting it would make each line a single point. The lines are the other settings'.
  // The rule is never a partner: each line is drawn in its rule's dash (a line per rule even with
  // no other setting swept), so a zip of train.method with the key keeps a line, a point, per rule.
  const partners = partnersOf(rows, key, others.filter((c) => c !== "train.method"), structure);
  const lineSettings = others.filter((c) => !partners.includes(c));
  const runsOf = new Map<string, CsvRow[]>();
  for (const r of rows) {
    const id = String(r.config_id);
    if (!runsOf.has(id)) runsOf.set(id, []);
    runsOf.get(id)!.push(r);
  }
  const first = (id: string) => runsOf.get(id)![0];
  const labelOf = (id: string, valueText: ValueText) => {
    const row = first(id);
    const params = Object.fromEntries(lineSettings.filter((c) => isCellValue(row[c])).map((c) => [c, row[c]]));
    return settingsLabel(params, String(row.method), valueText);
  };
  const stems = stemValues(new Map(lineSettings.map((c) => [c, table.rows.map((t) => first(t.configId)[c]).filter(isCellValue)])));
  const lineOf = new Map(table.rows.map((t) => [t.configId, labelOf(t.configId, wholeValue)]));
  const unjoined = unjoinedLines(table.rows.map((t) => t.configId), lineOf, (id) => first(id)[key]);
  // Each configuration of such a line by its config id, as the curves' legend tells configurations
  // apart, at every value: a plain entry for the rest of the line would split one legend entry in two.
  const withId = (id: string, line: string) => (unjoined.includes(lineOf.get(id)!) ? `${line} [${id.slice(0, 8)}]` : line);
  const lines = new Map([...lineOf].map(([id, line]) => [id, withId(id, line)]));
  // What the figure says of a line (its legend, its notes): a path by its file's stem.
  const labels = new Map(table.rows.map((t) => [t.configId, withId(t.configId, labelOf(t.configId, stems))]));

  // Every value of the setting in runs.csv, those of configurations without a point yet included
  // (a sweep in progress): the axis, its scale and its ticks are the sweep's, and the empty places
  // are the "no point for" note's. One number alone is a category: a numeric axis would have no
  // span to draw the lines' points apart in.
  const values = table.rows.map((t) => first(t.configId)[key]).filter(isCellValue);
  const numeric = isNumericAxis(values);
  const scale: SettingScale = numeric ? numericScale(values as number[]) : "categories";
  const categoryText = categoryTexts(values);
  const finite = (v: CsvValue | undefined): v is number => typeof v === "number" && Number.isFinite(v);

  const points: SettingPoint[] = [];
  const noPoint: string[] = [];
  const noValue: string[] = [];
  /** The runs whose values are drawn (the dots): what the table flags of them, the figure says. */
  const drawn: CsvRow[] = [];
  let blank = 0;
  for (const t of table.rows) {
    const runs = runsOf.get(t.configId)!;
    const row = runs[0];
    const value = row[key];
    const completed = runs.filter((r) => r.status === "completed");
    blank += completed.filter((r) => !finite(r[metric])).length;
    const stats = t.stats[metric];
    if (!isCellValue(value)) {
      if (completed.length > 0) noValue.push(labels.get(t.configId)!);
      continue;
    }
    const x = numeric ? (value as number) : categoryText(value);
    if (stats.mean === null) {
      noPoint.push(`${labels.get(t.configId)} at ${x} (${completed.length > 0 ? `no value of ${metric}` : t.notCompleted})`);
      continue;
    }
    // The same runs, in the same order, as paperTable averaged: the dots are the numbers behind the mean.
    const withValue = completed.filter((r) => finite(r[metric]));
    drawn.push(...withValue);
    const bar = spreadOf(stats, spread) ?? 0;
    points.push({
      config: lines.get(t.configId)!,
      label: labels.get(t.configId)!,
      config_id: t.configId,
      method: String(row.method),
      value,
      partnerValues: Object.fromEntries(partners.map((c) => [c, row[c] ?? null])),
      x,
      mean: stats.mean,
      std: stats.std,
      lo: stats.mean - bar,
      hi: stats.mean + bar,
      n: stats.n,
      seeds: withValue.map((r) => Number(r.seed)),
      values: withValue.map((r) => r[metric] as number),
      not_completed: t.notCompleted,
    });
  }
  const ticks = numeric ? [...new Set(values as number[])].sort((a, b) => a - b) : [...new Set(values.map(categoryText))];

  const configs = table.rows.map((t) => first(t.configId));
  const tickOf = (v: CsvValue) => (numeric ? (v as number) : categoryText(v));
  const partnerTexts = partners.map((c) => partnerTicks(c, key, configs, ticks, tickOf));
  const notes: string[] = partners.map((c, i) => partnerNote(c, key, ticks, partnerTexts[i]));
  // A partner's name under a tick: its short name, as the legend's, unless another partner's is the same.
  const partnerNames = shortKeyNames(partners);
  const tickPartners = ticks.map((_, t) => (ticks.length > PARTNER_TICKS ? [] : partnerNames.map((name, i) => `${name}=${partnerTexts[i][t]}`)));
  const left = rows.filter((r) => r.status !== "completed");
  if (left.length > 0) notes.push(`not counted: ${count(left.length, "run")} that did not complete (${tally(left.map((r) => String(r.status)))}; runs.csv says why)`);
  if (blank > 0) {
    const why = whyAbsent(metric);
    notes.push(`left out: ${count(blank, "completed run")} without a value of ${metric} (a blank runs.csv cell)${why === null ? "" : `: ${why}`}`);
  }
  if (noPoint.length > 0) notes.push(`no point for ${noPoint.join(", ")}`);
  if (noValue.length > 0) notes.push(`no point for ${[...new Set(noValue)].join(", ")}: no value of ${key} in runs.csv`);
  if (unjoined.length > 0) notes.push(`not joined into a line: ${[...new Set(table.rows.filter((t) => unjoined.includes(lineOf.get(t.configId)!)).map((t) => labelOf(t.configId, stems)))].join(", ")} (configurations that read the same at one value of ${key}, runs without a config.yaml to say how they differ): a point per configuration, by its config id`);
  // One run has no spread: its point has no bar, which would otherwise read as a spread of 0.
  const single = points.filter((p) => p.n === 1);
  if (single.length > 0) notes.push(`no bar: ${count(single.length, "point")} of one run (${single.map((p) => `${p.label} at ${p.x}`).join(", ")})`);
  notes.push(...flaggedRunNotes(drawn, metric, table.source));
  return { key, metric, spread, points, partners, scale, ticks, tickPartners, notes };
}

/** The most ticks whose partner values a note lists one by one, and the axis shows under each. */
const PARTNER_TICKS = 8;

/**
 * The partner's value at each tick of the axis, as text: a path by its file's stem, as the axis
 * shows the key's; "none" where runs.csv has no value of it there.
 */
function partnerTicks(partner: string, key: string, configs: readonly CsvRow[], ticks: readonly (number | string)[], tickOf: (v: CsvValue) => number | string): string[] {
  const withKey = configs.filter((r) => isCellValue(r[key]));
  const text = categoryTexts(withKey.map((r) => r[partner]).filter(isCellValue));
  return ticks.map((tick) => {
    const v = withKey.find((r) => tickOf(r[key]) === tick)?.[partner];
    return isCellValue(v) ? text(v) : "none";
  });
}

/**
 * "data.clip_length goes with model: 12 at depth-3, 20 at depth-5, 32 at depth-8": the partner's
 * value at each tick (`texts`, partnerTicks), so the figure says what each x also is.
 */
function partnerNote(partner: string, key: string, ticks: readonly (number | string)[], texts: readonly string[]): string {
  // A random search pairs every draw's values: a value at each of many ticks would not fit a subtitle.
  if (ticks.length > PARTNER_TICKS) return `${partner} goes with ${key}: a value of it at each of the ${ticks.length} values (the .csv has them; a line is not split by it)`;
  return `${partner} goes with ${key}: ${ticks.map((tick, i) => `${texts[i]} at ${tick}`).join(", ")} (a line is not split by it)`;
}

/**
 * What the paper table flags in its rows (src/results/paper-table.ts), said of the drawn runs: an
 * evaluation metric measured on the training clips (never silent: README), runs that warned, and
 * final_eval_* figures that `sideways evaluate` measured again (`source`, the table's own note).
 */
function flaggedRunNotes(drawn: readonly CsvRow[], metric: string, source: string | undefined): string[] {
  const notes: string[] = [];
  const onTrain = metric.includes("eval") ? drawn.filter((r) => r.eval_on_train === 1).length : 0;
  if (onTrain > 0) notes.push(`evaluated on the training clips, not held-out ones: ${count(onTrain, "drawn run")} (runs.csv's eval_on_train = 1)`);
  const warned = drawn.filter((r) => typeof r.warnings === "string" && r.warnings !== "").length;
  if (warned > 0) notes.push(`${count(warned, "drawn run")} warned (runs.csv's warnings column says what: clips too short for Sideways to reach every block, a loss that diverged, a last evaluation at chance)`);
  if (source !== undefined && metric.startsWith("final_eval_")) notes.push(source);
  return notes;
}

/** The x axis's title: the setting's short name and key, and the scale where it is a log one. */
export function settingAxisTitle(fig: Pick<SettingFigure, "key" | "scale" | "points">): string {
  const short = keyLabel(fig.key);
  const name = short === fig.key ? short : `${short} (${fig.key})`;
  const paths = fig.points.some((p) => typeof p.value === "string" && isPathLike(p.value));
  return `${name}${fig.scale === "log" ? ", log scale" : ""}${paths ? ", each file by its name" : ""}`;
}

/** The dash of each line: its rule's where a line is one rule's, else solid (the rule is then on the x axis, or mixed). */
function lineDash(points: readonly SettingPoint[], key: string): { dashes: Map<string, readonly number[]>; legend: string | null } {
  const methodsOf = new Map<string, Set<string>>();
  for (const p of points) methodsOf.set(p.label, (methodsOf.get(p.label) ?? new Set()).add(p.method));
  const single = key !== "train.method" && [...methodsOf.values()].every((m) => m.size === 1);
  const dashes = new Map([...methodsOf].map(([config, ms]) => [config, single ? (findRule([...ms][0])?.line ?? UNKNOWN_RULE_LINE).dash : [1, 0]]));
  if (!single) return { dashes, legend: null };
  const drawn = new Set(points.map((p) => p.method));
  const known = METHOD_NAMES.filter((m) => drawn.has(m));
  const unknown = [...drawn].filter((m) => findRule(m) === null).sort();
  if (known.length + unknown.length < 2 && unknown.length === 0) return { dashes, legend: null };
  const name = (m: string) => {
    const rule = findRule(m);
    return rule === null ? `${UNKNOWN_RULE_LINE.name}: ${m} (not a rule of this version)` : `${rule.line.name}: ${rule.label}`;
  };
  return { dashes, legend: [...known, ...unknown].map(name).join(", ") };
}

const WIDTH = 560;

/**
 * A subtitle line's most characters: about the plot's and legend's width. A longer note (the
 * configurations without a point, while a sweep runs) was one line thousands of pixels wide, the
 * plot a small part of the figure.
 */
const SUBTITLE_CHARS = 130;

/**
 * The numeric axis's ends: the smallest and largest swept value, each a little inside (AXIS_MARGIN
 * of the span, in the axis's scale), so that no point or error bar sits on the frame. Not vega's
 * "nice" ends, which on a log axis round out to powers of ten and left 0.0003 to 0.003 in the
 * middle half of the plot.
 */
export function numericDomain(ticks: readonly number[], scale: "linear" | "log"): [number, number] {
  const [lo, hi] = [ticks[0], ticks[ticks.length - 1]];
  if (scale === "log") {
    const pad = (hi / lo) ** AXIS_MARGIN;
    return [lo / pad, hi * pad];
  }
  const pad = (hi - lo) * AXIS_MARGIN;
  return [lo - pad, hi + pad];
}

/** More than the lines' points drawn apart take beside a value (at most 3% of the span). */
const AXIS_MARGIN = 0.06;

/**
 * Category labels are all shown and whole (vega drops labels that overlap, and cuts long ones at
 * 180 pixels: every other model's name was gone with eight models, a mapping's JSON cut short):
 * slanted where they would not fit side by side. Width from a character's approximate width at
 * the axis's 10 px font.
 */
export function categoryLabelLayout(categories: readonly string[], width: number, charPx = LABEL_CHAR_PX): { labelOverlap: false; labelLimit: 0; labelAngle?: number } {
  const longest = Math.max(0, ...categories.map((c) => c.length)) * charPx;
  return longest > width / Math.max(1, categories.length) - LABEL_GAP_PX ? { labelOverlap: false, labelLimit: 0, labelAngle: -30 } : { labelOverlap: false, labelLimit: 0 };
}

/**
 * A character's approximate width in pixels at the axis's 10 px font, as a viewer draws it (vega,
 * without a canvas to measure text, counts 8 a character: the width it hides and cuts labels by).
 */
const LABEL_CHAR_PX = 6;
/** The least room between two tick labels side by side. */
const LABEL_GAP_PX = 8;

/** The longest of a label's lines: what its width is. */
const longestLine = (lines: readonly string[]): string => lines.reduce((a, b) => (b.length > a.length ? b : a), "");

/**
 * Whether tick labels of these lines (a label of several lines is as wide as its longest), at
 * these values of a numeric axis `width` pixels wide (numericDomain's ends), each clear their
 * neighbours. A zip partner's line under each number is drawn only then: vega hides a label that
 * overlaps another, and with it the number, which alone would have fit (clip lengths 8, 10, 12
 * with their models: 10 and 12 were gone), and cuts a label at 180 pixels.
 */
export function numericLabelsFit(ticks: readonly number[], lines: readonly (readonly string[])[], scale: "linear" | "log", width: number, charPx = LABEL_CHAR_PX): boolean {
  const [lo, hi] = numericDomain(ticks, scale);
  const along = scale === "log" ? Math.log : (v: number) => v;
  const px = ticks.map((t) => (width * (along(t) - along(lo))) / (along(hi) - along(lo)));
  const half = lines.map((l) => (longestLine(l).length * charPx) / 2);
  return px.every((p, i) => i === 0 || p - px[i - 1] >= half[i - 1] + half[i] + LABEL_GAP_PX);
}

/** What the x axis's tick labels are laid out against: the plot's width and a character's, in pixels. */
export interface TickRoom {
  plotWidth: number;
  charPx: number;
}

/** The screen figure's: a plot WIDTH wide, labels at the axis's 10 px font. */
const SCREEN_TICK_ROOM: TickRoom = { plotWidth: WIDTH, charPx: LABEL_CHAR_PX };

/** The y axis's title of a figure against a setting: its metric. settingSpec draws it; paperTickRoom makes room for it. */
const settingYTitle = (fig: SettingFigure): string => fig.metric;

/** A paper figure's (paper-figure.ts): its plot's estimated width beside `fig`'s y title, a character's at its text size. */
export function paperTickRoom(paper: PaperFigure, fig: SettingFigure): TickRoom {
  const title = paperYTitle(settingYTitle(fig), paper);
  return { plotWidth: paperPlotWidth(paper, Array.isArray(title) ? title.length : 1), charPx: paperCharPx(paper.textPt) };
}

export function settingSpec(fig: SettingFigure, room: TickRoom = SCREEN_TICK_ROOM): TopLevelSpec {
  // Lines by their legend text (`label`, one per line as `config` is).
  const configs = [...new Set(fig.points.map((p) => p.label))];
  const color = { field: "label", type: "nominal", title: "configuration", scale: { domain: configs } } as const;
  const { dashes, legend } = lineDash(fig.points, fig.key);
  const title = settingAxisTitle(fig);
  // Said only where two lines have a point at one value (not of train.method alone, a line per rule, each at its own value).
  const sharedValue = fig.ticks.some((t) => new Set(fig.points.filter((p) => p.x === t).map((p) => p.label)).size > 1);
  // Categories are drawn at 0, 1, 2, ... (axis labels: the categories). Each line's points sit a
  // little to the side of the others' (`pos`), so that error bars at one value do not hide each
  // other: by a fraction of a category, or of the numbers' span in the axis's scale (the CSV's x
  // is the value itself).
  const categories = fig.scale === "categories";
  const side = (config: string) => configs.indexOf(config) - (configs.length - 1) / 2;
  const numbers = fig.ticks as number[];
  const span = categories || numbers.length < 2 ? 0 : fig.scale === "log" ? Math.log(numbers[numbers.length - 1] / numbers[0]) : numbers[numbers.length - 1] - numbers[0];
  const step = categories ? Math.min(0.08, 0.5 / configs.length) : (span * Math.min(0.012, 0.06 / configs.length));
  const pos = (p: { x: number | string; label: string }) =>
    categories ? fig.ticks.indexOf(p.x) + side(p.label) * step : fig.scale === "log" ? (p.x as number) * Math.exp(side(p.label) * step) : (p.x as number) + side(p.label) * step;
  // A tick's label: the value, and under it each partner's value there (a label of several lines is
  // an array of texts; vega draws one line under another); on a numeric axis only where the labels
  // fit side by side, else the values alone (the note says the partners' at each).
  const tickLines = fig.ticks.map((t, i) => [String(t), ...(fig.tickPartners[i] ?? [])]);
  const withPartners = fig.tickPartners.some((lines) => lines.length > 0) && (categories || numericLabelsFit(numbers, tickLines, fig.scale === "log" ? "log" : "linear", room.plotWidth, room.charPx));
  const labels = withPartners ? `${JSON.stringify(tickLines)}[round(datum.value)]` : `[${fig.ticks.map((t) => JSON.stringify(String(t))).join(", ")}][round(datum.value)]`;
  // The number to 6 significant digits (`~g`: 12, 0.00625; not the axis's own format, which vega rounds to the
  // precision its tick step would need on a linear axis: batch sizes 8, 16, 32 read 8, 2e+1,
  // 3e+1), the partners' values under it, by the tick's place among the swept values.
  const number = `format(datum.value, "~g")`;
  const numberLabels = withPartners ? `[${fig.tickPartners.map((lines) => `[${[number, ...lines.map((l) => JSON.stringify(l))].join(", ")}]`).join(", ")}][indexof(${JSON.stringify(fig.ticks)}, datum.value)]` : number;
  const x = categories
    ? ({ field: "pos", type: "quantitative", title, scale: { domain: [-0.5, fig.ticks.length - 0.5], nice: false, zero: false }, axis: { values: fig.ticks.map((_, i) => i), labelExpr: labels, grid: false, ...categoryLabelLayout(tickLines.map(longestLine), room.plotWidth, room.charPx) } } as const)
    : // Ticks at the swept values: a reader reads off the learning rates run, not 2e-4, 5e-4, ...
      ({ field: "pos", type: "quantitative", title, scale: { ...(fig.scale === "log" ? { type: "log" } : { zero: false }), domain: numericDomain(numbers, fig.scale === "log" ? "log" : "linear"), nice: false }, axis: { values: fig.ticks, format: "~g", labelExpr: numberLabels, ...(withPartners ? { labelOverlap: false, labelLimit: 0 } : {}) } } as const);
  const y = (field: string) => ({ field, type: "quantitative", title: settingYTitle(fig), scale: { zero: false } }) as const;
  const dots = fig.points.flatMap((p) => p.values.map((value, i) => ({ label: p.label, x: p.x, pos: pos(p), seed: p.seeds[i], value })));
  const points = fig.points.map((p) => ({ ...p, pos: pos(p) })) as unknown as Record<string, unknown>[];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `${fig.metric} (runs.csv) against ${keyLabel(fig.key)}`,
      subtitle: [
        `point: mean over seeds, bar: ${spreadPhrase(fig.spread)}, dot: each seed`,
        ...[[...(legend === null ? [] : [legend]), ...(sharedValue ? ["the lines' points drawn slightly apart at each value"] : [])].join("; ")].filter((line) => line !== ""),
        ...fig.notes,
      ].flatMap((line) => wrapLine(line, SUBTITLE_CHARS)),
    },
    width: WIDTH,
    height: 320,
    config: { legend: { labelLimit: 0, symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2 } },
    encoding: { x },
    layer: [
      { data: { values: dots }, mark: { type: "point", filled: true, size: 22, opacity: 0.3 }, encoding: { y: y("value"), color } },
      { data: { values: points }, mark: { type: "rule", strokeWidth: 1.4 }, encoding: { y: y("lo"), y2: { field: "hi" }, color } },
      {
        data: { values: points },
        mark: { type: "line", point: true, strokeWidth: 1.6 },
        encoding: { y: y("mean"), color, strokeDash: { field: "label", type: "nominal", title: "configuration", scale: { domain: configs, range: configs.map((c) => [...dashes.get(c)!]) } } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The figure's points as CSV, a row per configuration: its line (`config`), the setting's value
 * as runs.csv has it (a column named by the key), that of each setting that goes with it (a
 * column named by that key: the SVG says them in a note) and as drawn (`x`), mean, std, the spread's
 * half-width where it is not the std (spreadOf, as table-<spread>.csv), the bar's ends, n, and
 * the seeds and their values (space-separated, in the same order) that the dots are, and last
 * the line's legend text (`label`: `config` with a path by its file's stem).
 */
export function settingCsv(fig: SettingFigure): string {
  const extra = fig.spread === "std" ? [] : [fig.spread];
  // `label` last: the columns before it are as they were before it was added, for scripts that read them by place.
  const columns = ["config", "config_id", "method", fig.key, ...fig.partners, "x", "mean", "std", ...extra, "lo", "hi", "n", "seeds", "values", "not_completed", "label"];
  return csvText(
    columns,
    fig.points.map((p) => ({
      ...p,
      [fig.key]: p.value,
      ...p.partnerValues,
      ...Object.fromEntries(extra.map((s) => [s, spreadOf(p, fig.spread)])),
      seeds: p.seeds.join(" "),
      values: p.values.map(String).join(" "),
      not_completed: p.not_completed === "" ? null : p.not_completed,
    })),
  );
}

/**
 * `<metric>-vs-<setting>.svg` (final_eval_clip_top1-vs-lr.svg), the setting by its short name
 * unless another swept setting has the same; `-<spread>` before .svg where that is not the std, as
 * the curves' names. No curve is named with "-vs-".
 */
export function settingFigureName(metric: string, key: string, columns: readonly string[], spread: Spread): string {
  // Among every setting column (each may have a figure in the folder); `key` first, as one of them.
  const settings = [key, ...settingColumns(columns).filter((c) => c !== key)];
  const name = `${metric}-vs-${shortKeyNames(settings)[0]}`.replace(/[^A-Za-z0-9_.,-]/g, "_");
  return `${name}${spread === DEFAULT_SPREAD ? "" : `-${spread}`}.svg`;
}

export interface SettingPlotOutput extends FigureNames {
  lines: number;
  points: number;
  notes: string[];
}

/**
 * Draws each of `metrics` against `key` from the runs.csv at `runsCsv` (an InputError for a key
 * or metric it does not have, before anything is written), hands each SVG and its CSV to `write`
 * once all are drawn, and returns what was drawn. With `paper`, a width, each figure is sized for
 * a paper (paper-figure.ts), named `-<width>` last, with a caption file.
 */
export async function plotAgainstSetting(runsCsv: string, key: string, metrics: readonly string[], spread: Spread, write: (name: string, text: string) => void, paper?: PaperFigure): Promise<SettingPlotOutput[]> {
  const { columns, rows } = readCsv(runsCsv);
  const setting = resolveSetting(key, columns, runsCsv);
  const structure = readSweepPlan(dirname(runsCsv))?.structure ?? null;
  // A metric asked for twice (eval_clip_top1 and final_eval_clip_top1) is one figure.
  const resolved = [...new Set(metrics.map((m) => resolveMetric(m, columns)))];
  const files: [string, string][] = [];
  const out: SettingPlotOutput[] = [];
  for (const metric of resolved) {
    const fig = settingFigure(columns, rows, setting, metric, spread, structure);
    if (fig.points.length === 0) throw new InputError(`plot --against-setting ${setting} --metric ${metric}: no configuration in ${runsCsv} has a completed run with a value of it${fig.notes.length > 0 ? ` (${fig.notes.join("; ")})` : ""}; nothing was written`, undefined, "--metric");
    const spec = paper === undefined ? settingSpec(fig) : settingSpec(fig, paperTickRoom(paper, fig));
    const figure = await figureFiles(settingFigureName(metric, setting, columns, spread), spec, settingCsv(fig), paper);
    files.push(...figure.files);
    out.push({ ...figure.names, lines: new Set(fig.points.map((p) => p.config)).size, points: fig.points.length, notes: fig.notes });
  }
  for (const [name, text] of files) write(name, text);
  return out;
}
