/**
 * Learning curves as SVG, rendered headless with vega-lite + vega: training loss and evaluation
 * clip accuracy against step, one line per configuration (the mean over its seeds) with a band of
 * one standard deviation; colour tells configurations apart (one legend) and the dash tells the
 * rules apart (the registry's: BP dashed, Sideways solid; a rule not in it dash-dot-dot), said in
 * the subtitle when more than one is drawn or one is not in the registry. Blocks are numbered
 * from 0 as in the cos_b{k} columns. Beside each figure, a CSV of the points it draws, for
 * redrawing it in another tool (pgfplots, matplotlib) without averaging the runs again.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { InputError } from "../errors.js";
import { suggestionSuffix } from "../spec/did-you-mean.js";
import { orderedParamKeys } from "../spec/run-id.js";
import { numericColumn, readCsv, readCsvColumns } from "./csv-read.js";
import { csvText } from "./csv-text.js";
import { DEFAULT_SPREAD, meanStd, spreadOf, spreadPhrase, type Spread } from "./paper-table.js";
import type { RunRecord } from "./runs-table.js";
import { RunSettings, settingsSettingApart } from "./run-settings.js";
import { count, tally } from "../util/count.js";
import { METHOD_NAMES, findRule } from "../schedule/registry.js";
import { whyAbsent } from "./absent-metric.js";
import { valueTexts } from "./value-text.js";
import { keyLabel } from "./key-label.js";
import { metricLabel } from "./metric-label.js";
import { captionFileName, captionText, paperFileName, paperSpec, type PaperFigure } from "./paper-figure.js";

/** How the figures name a rule (train.method) in titles and notes. */
const ruleLabel = (method: string) => findRule(method)?.label ?? method;

/** How the plots read a run's CSV: readCsv, or a cache of it while one set of figures is drawn. */
export type CsvReader = typeof readCsv;

export interface CurvePoint {
  /** The configuration's swept values as written (a path as given): the .csv's `config` column. */
  config: string;
  /** The legend's text: `config` with a path by its file's stem, as run ids name it (value-text.ts). */
  label: string;
  /** The configuration's id (runs.csv's config_id), to key on where a label is not enough. */
  config_id: string;
  method: string;
  step: number;
  /** The x value drawn: the step, or the mean over runs of another column (e.g. wall_s). */
  x: number;
  mean: number;
  /** The sample std over runs (null for one run); the band is mean ± std, or ± another spread (lo, hi). */
  std: number | null;
  lo: number;
  hi: number;
  n: number;
  /** How many consecutive logged steps the point averages (1 unless the curve is binned, MAX_POINTS). */
  bin_steps: number;
}

/**
 * Curves longer than this are averaged over bins of consecutive steps: per-step training loss is
 * noisy, and the SVG stays small.
 */
const MAX_POINTS = 100;

export function configLabel(r: RunRecord, valueText: ValueText = wholeValue): string {
  return settingsLabel(r.meta.params, r.meta.method, valueText);
}

/** How a label writes a setting's value: the key, and the value. */
export type ValueText = (key: string, value: unknown) => string;

/** A value as written: text as it is (a path as given), the rest as JSON. */
export const wholeValue: ValueText = (_key, v) => (typeof v === "string" ? v : JSON.stringify(v));

/**
 * Each key's values as the legends write them: a path by its file's stem unless two of the key's
 * `values` share one (value-text.ts), the rest as wholeValue.
 */
export function stemValues(values: ReadonlyMap<string, readonly unknown[]>): ValueText {
  const texts = new Map([...values].map(([key, vs]) => [key, valueTexts(vs, (v) => wholeValue(key, v))]));
  return (key, v) => (texts.get(key) ?? ((x: unknown) => wholeValue(key, x)))(v);
}

/**
 * A label from swept values (`method=bp, lr=0.1`: each key's last part, keys sorted, the seed
 * left out, each value as `valueText` writes it), or `method` where there are none: the curves'
 * and plotAgainstSetting's lines.
 */
export function settingsLabel(params: Record<string, unknown>, method: string, valueText: ValueText = wholeValue): string {
  const keys = orderedParamKeys(params).filter((k) => k !== "seed");
  return keys.length ? keys.map((k) => `${k.split(".").pop()}=${valueText(k, params[k])}`).join(", ") : method;
}

/** A setting's value in a legend, as `valueText` writes it (null as JSON), cut at 24 characters. */
function labelValue(key: string, v: unknown, valueText: ValueText): string {
  const text = valueText(key, v ?? null);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/**
 * One legend label per configuration (config_id: the runs that differ only in their seed): its
 * swept values, or its method. Configurations whose labels agree (e.g. two sweeps into one folder
 * that differ in a setting neither swept) get the settings that set them apart appended, from
 * their config.yaml (at most three; `steps=60`), or where that does not tell them apart, their
 * config id: no line averages runs of different configurations. `paths`: "whole", values as
 * written (the .csv's `config` column); "stem", a path by its file's stem as run ids name it,
 * unless two of a setting's values share one (the legends, CurvePoint's `label`).
 */
export function configLabels(runs: readonly RunRecord[], paths: "whole" | "stem" = "whole"): Map<string, string> {
  const settings = new RunSettings(runs);
  // A run outside the sweep (`sideways run` into its folder, no swept values) is labelled by the
  // sweep's keys too, from its config.yaml, as runs.csv fills its cells: a bare method beside
  // `method=bp` would not say that it is another configuration, nor how it differs.
  const swept = [...new Set(runs.flatMap((r) => Object.keys(r.meta.params)))].filter((k) => k !== "seed");
  const ownParams = (r: RunRecord): Record<string, unknown> => {
    if (swept.length === 0 || Object.keys(r.meta.params).length > 0) return r.meta.params;
    return Object.fromEntries(swept.map((k) => [k, settings.value(r, k)]).filter(([, v]) => v !== undefined));
  };
  // Each setting's values over every run (those the appended settings below show too), for the stems.
  const valuesOf = (keys: readonly string[], of: (r: RunRecord, k: string) => unknown) => new Map(keys.map((k) => [k, runs.map((r) => of(r, k)).filter((v) => v !== undefined)]));
  const valueText = (keys: readonly string[], of: (r: RunRecord, k: string) => unknown) => (paths === "whole" ? wholeValue : stemValues(valuesOf(keys, of)));
  const sweptText = valueText(swept, (r, k) => ownParams(r)[k]);
  const labelOf = (r: RunRecord) => configLabel({ ...r, meta: { ...r.meta, params: ownParams(r) } }, sweptText);
  const base = new Map(runs.map((r) => [r.meta.config_id, labelOf(r)]));
  const byLabel = new Map<string, string[]>();
  for (const [id, label] of base) byLabel.set(label, [...(byLabel.get(label) ?? []), id]);
  const labels = new Map(base);
  for (const [label, ids] of byLabel) {
    if (ids.length < 2) continue;
    const group = runs.filter((r) => ids.includes(r.meta.config_id));
    const keys = settingsSettingApart(group, swept, settings);
    const shown = keys.slice(0, 3);
    const shownText = valueText(shown, (r, k) => settings.of(r.meta.config_id)?.get(k) ?? undefined);
    // A setting a configuration does not have (momentum for Adam) is left out of its label.
    const parts = (id: string) => shown.filter((k) => settings.of(id)?.get(k) != null).map((k) => `${keyLabel(k)}=${labelValue(k, settings.of(id)?.get(k), shownText)}`);
    const named = new Map(ids.map((id) => [id, [label, ...parts(id)].join(", ") + (keys.length > 3 ? ", …" : "")]));
    const distinct = shown.length > 0 && new Set(named.values()).size === ids.length;
    for (const id of ids) labels.set(id, distinct ? named.get(id)! : `${label} [${id.slice(0, 8)}]`);
  }
  return labels;
}

/**
 * Mean and ±1 std band (or ± `spread`) over the runs of each configuration, at every step any of
 * them logged. `xColumn` other than "step" (e.g. wall_s) puts the mean of that column over runs on the x axis.
 */
export function curvePoints(runs: readonly RunRecord[], file: string, column: string, xColumn = "step", read: CsvReader = readCsv, spread: Spread = DEFAULT_SPREAD): CurvePoint[] {
  const labels = configLabels(runs);
  const legends = configLabels(runs, "stem");
  const byConfig = new Map<string, { configId: string; method: string; series: Map<number, number>[]; xs: Map<number, number>[] }>();
  for (const r of runs) {
    const path = join(r.dir, file);
    if (!existsSync(path)) continue;
    const series = new Map<number, number>();
    const xs = new Map<number, number>();
    // Empty and non-finite cells are steps without that value (e.g. no diagnostics there); text is an error.
    const csv = read(path);
    const [steps, values, xValues] = [numericColumn(path, csv, "step"), numericColumn(path, csv, column), numericColumn(path, csv, xColumn)];
    steps.forEach((step, i) => {
      const [v, x] = [values[i], xValues[i]];
      if (step !== null && v !== null && Number.isFinite(v) && x !== null) {
        series.set(step, v);
        xs.set(step, x);
      }
    });
    const label = labels.get(r.meta.config_id)!;
    const entry = byConfig.get(label) ?? { configId: r.meta.config_id, method: r.meta.method, series: [], xs: [] };
    entry.series.push(series);
    entry.xs.push(xs);
    byConfig.set(label, entry);
  }
  const points: CurvePoint[] = [];
  for (const [config, { configId, method, series, xs }] of byConfig) {
    const steps = [...new Set(series.flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    const bin = Math.max(1, Math.ceil(steps.length / MAX_POINTS));
    for (let i = 0; i < steps.length; i += bin) {
      const binSteps = steps.slice(i, i + bin);
      // Each run contributes the mean of its values in the bin; the band is over runs.
      const perRun = series.map((s) => binSteps.filter((st) => s.has(st)).map((st) => s.get(st)!)).filter((v) => v.length > 0).map((v) => meanStd(v).mean!);
      const { mean, std, n } = meanStd(perRun);
      if (mean === null) continue;
      const band = spreadOf({ mean, std, n }, spread) ?? 0;
      const step = binSteps[binSteps.length - 1];
      const x = meanStd(xs.filter((m) => m.has(step)).map((m) => m.get(step)!)).mean ?? step;
      points.push({ config, label: legends.get(configId)!, config_id: configId, method, step, x, mean, std, lo: mean - band, hi: mean + band, n, bin_steps: binSteps.length });
    }
  }
  return points;
}

/**
 * Said where a curve is binned (past MAX_POINTS logged steps): a point is then not one step's value,
 * and a reader comparing the figure with metrics.csv must know. A curve's bin is its largest
 * point's (its last bin may hold fewer steps, as bin_steps says); curves that logged different
 * numbers of steps have different bins, hence "up to".
 */
export function binNote(points: readonly CurvePoint[]): string[] {
  const bins = new Map<string, number>();
  for (const p of points) bins.set(p.config, Math.max(bins.get(p.config) ?? 1, p.bin_steps));
  const most = Math.max(1, ...bins.values());
  if (most === 1) return [];
  const upTo = new Set(bins.values()).size > 1 ? "up to " : "";
  return [`each point: the mean of ${upTo}${most} consecutive logged steps (the CSV's bin_steps), drawn at the last of them`];
}

/**
 * Colour by configuration (its legend text, `label`), the legend in the order the points come: the
 * runs' order, which is runs.csv's and the paper table's (sweep order, src/results/runs-table.ts).
 * vega's default domain is sorted as text, which puts `blocks=10` before `blocks=2` and the legend
 * out of the table's order.
 */
function configColor(points: readonly { label: string }[]) {
  return { field: "label", type: "nominal", title: "configuration", scale: { domain: [...new Set(points.map((p) => p.label))] } } as const;
}

/** Said in every curve's subtitle: what the line and the band are (the std is meanStd's: n - 1 in the denominator). */
export const bandNote = (spread: Spread) => `line: mean over seeds, band: ${spreadPhrase(spread)}`;
export const BAND_NOTE = bandNote("std");

/** The x axis of clip_accuracy_vs_time.svg: eval.csv's wall_s, taken after each evaluation. */
export const WALL_AXIS_TITLE = "wall-clock seconds since the run started, evaluations included (mean over seeds)";

/**
 * Said on loss.svg when Sideways is drawn beside a BP rule: their training losses average
 * different frames (docs/design/sideways.md: Sideways' top block sees frames 1..T-L+1 within a clip).
 */
export function lossFramesNote(others: readonly string[]): string {
  const names = others.map((m) => `${findRule(m)!.label}'s`);
  const listed = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  return `Sideways' loss is over the frames that reach the top block within the clip, ${listed} over every frame`;
}
export const SIDEWAYS_LOSS_NOTE = lossFramesNote(["bp"]);

/**
 * The line of a run whose train.method is not in the registry (another version's or branch's
 * rule): a dash no rule of the registry has, named in the subtitle even where it is the only rule
 * drawn, so that it is not taken for Sideways' solid line.
 */
export const UNKNOWN_RULE_LINE = { dash: [8, 2, 2, 2, 2, 2], name: "dash-dot-dot" } as const;

export interface CurveFigure {
  title: string;
  yTitle: string;
  /** Include 0 on the y axis (accuracy) or fit the data (loss). */
  zeroBased?: boolean;
  xTitle?: string;
  /** A training-loss chart, where the rules' losses cover different frames. */
  sidewaysLossNote?: boolean;
  /** More subtitle lines (the runs not drawn: notDrawnNote). */
  notes?: readonly string[];
  /** What the band is (curvePoints' spread). */
  spread?: Spread;
}

export function curveSpec(points: readonly CurvePoint[], figure: CurveFigure): TopLevelSpec {
  const { title, yTitle, zeroBased = false, xTitle = "step", sidewaysLossNote = false, notes = [], spread = DEFAULT_SPREAD } = figure;
  const color = configColor(points);
  const y = (field: string) => ({ field, type: "quantitative", title: yTitle, scale: { zero: zeroBased } }) as const;
  // Only the methods drawn: a Sideways-only chart has no "bp" entry anywhere. Each rule's dash is the registry's.
  const known = METHOD_NAMES.filter((m) => points.some((p) => p.method === m));
  const unknown = [...new Set(points.map((p) => p.method))].filter((m) => findRule(m) === null).sort();
  const methods: string[] = [...known, ...unknown];
  const dash = (method: string) => (findRule(method)?.line ?? UNKNOWN_RULE_LINE).dash;
  const dashName = (m: string) => {
    const rule = findRule(m);
    return rule === null ? `${UNKNOWN_RULE_LINE.name}: ${m} (not a rule of this version)` : `${rule.line.name}: ${rule.label}`;
  };
  const configs = [...new Map(points.map((p) => [p.label, p])).values()];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    // What the line and the band are, on the figure itself: a paper's caption must say it.
    title: {
      text: title,
      subtitle: [
        [bandNote(spread), ...(methods.length > 1 || unknown.length > 0 ? [methods.map(dashName).join(", ")] : [])].join("; "),
        // The exact rules' losses average every frame (an unknown rule's: not said).
        ...(sidewaysLossNote && methods.includes("sideways") && known.length > 1 ? [lossFramesNote(known.filter((m) => m !== "sideways"))] : []),
        ...binNote(points),
        ...notes,
      ],
    },
    width: 560,
    height: 320,
    // Full configuration names in the legend, drawn as solid lines rather than the faint band.
    config: { legend: { labelLimit: 0, symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2 } },
    data: { values: points as unknown as Record<string, unknown>[] },
    // Steps are whole: no 1.5 between them on a short run's axis.
    encoding: { x: { field: "x", type: "quantitative", title: xTitle, ...(xTitle === "step" ? { axis: { tickMinStep: 1 } } : {}) } },
    layer: [
      { mark: { type: "area", opacity: 0.18 }, encoding: { y: y("lo"), y2: { field: "hi" }, color } },
      {
        mark: { type: "line", strokeWidth: 1.6 },
        encoding: {
          y: y("mean"),
          color,
          // The dash by configuration, each its method's, so that the one legend (colour and dash on
          // the same field merge) draws every line as the chart does; the subtitle says the dashes.
          strokeDash: { field: "label", type: "nominal", title: "configuration", scale: { domain: configs.map((c) => c.label), range: configs.map((c) => [...dash(c.method)]) } },
        },
      },
    ],
  };
}

export interface CosinePoint {
  /** As CurvePoint's: the swept values as written, and the legend's text. */
  config: string;
  label: string;
  config_id: string;
  /** The configuration's train.method: what the figure's titles say is compared with BP. */
  method: string;
  block: number;
  mean: number;
  std: number | null;
  n: number;
  lo: number;
  hi: number;
}

/**
 * The diagnostic of `diagnostics.every`: per configuration and block, the cosine between
 * the rule's and BP's gradient (bp: BP's and Sideways'; metrics.csv columns cos_b{k}), averaged over a run's diagnostic
 * steps, then mean and ±1 std (or ± `spread`) over the configuration's runs. Empty without diagnostics.
 */
export function cosinePoints(runs: readonly RunRecord[], read: CsvReader = readCsv, spread: Spread = DEFAULT_SPREAD): CosinePoint[] {
  const labels = configLabels(runs);
  const legends = configLabels(runs, "stem");
  const byConfig = new Map<string, { configId: string; method: string; perBlock: Map<number, number[]> }>();
  for (const r of runs) {
    const path = join(r.dir, "metrics.csv");
    if (!existsSync(path)) continue;
    const csv = read(path);
    const blocks = csv.columns.filter((c) => /^cos_b\d+$/.test(c));
    if (blocks.length === 0) continue;
    const label = labels.get(r.meta.config_id)!;
    const perBlock = byConfig.get(label)?.perBlock ?? new Map<number, number[]>();
    for (const c of blocks) {
      const values = numericColumn(path, csv, c).filter((v): v is number => v !== null && Number.isFinite(v));
      const runMean = meanStd(values).mean;
      if (runMean === null) continue;
      const k = Number(c.slice("cos_b".length));
      perBlock.set(k, [...(perBlock.get(k) ?? []), runMean]);
    }
    byConfig.set(label, { configId: r.meta.config_id, method: r.meta.method, perBlock });
  }
  const points: CosinePoint[] = [];
  for (const [config, { configId, method, perBlock }] of byConfig) {
    for (const [block, values] of [...perBlock].sort((a, b) => a[0] - b[0])) {
      const { mean, std, n } = meanStd(values);
      if (mean === null) continue;
      const bar = spreadOf({ mean, std, n }, spread) ?? 0;
      points.push({ config, label: legends.get(configId)!, config_id: configId, method, block, mean, std, n, lo: mean - bar, hi: mean + bar });
    }
  }
  return points;
}

export function cosineSpec(points: readonly CosinePoint[], notes: readonly string[] = [], spread: Spread = DEFAULT_SPREAD): TopLevelSpec {
  const color = configColor(points);
  // Each run's cos_b columns compare its rule with that rule's diagnostic reference (the registry:
  // exact BP; Sideways for bp itself). Where every configuration compares the same two rules the
  // figure is that pair, BP second; otherwise each rule against BP, and a note for a rule whose
  // reference is another.
  const methods = [...new Set(points.map((p) => p.method))];
  // null: a rule this version does not know (a run of another branch's or version's rule); its
  // points are drawn and a note says that what its cos_b columns compare with is not known here.
  const reference = (m: string) => findRule(m)?.diagnosticReference ?? null;
  const possessive = (m: string) => (ruleLabel(m).endsWith("s") ? `${ruleLabel(m)}'` : `${ruleLabel(m)}'s`);
  const pairs = new Set(methods.map((m) => [m, reference(m)].sort().join(" ")));
  const first = pairs.size === 1 && methods.every((m) => reference(m) !== null) ? (methods.flatMap((m) => [m, reference(m)!]).find((m) => m !== "bp") ?? null) : null;
  const yTitle = first !== null ? `cosine(G_k ${ruleLabel(first)}, G_k BP)` : "cosine(G_k of the rule, G_k BP)";
  const title = `How close ${first !== null ? possessive(first) : "each rule's"} gradient is to BP's, per block (0 = lowest, as in cos_b0)`;
  const bpNote = first !== null ? [] : methods.filter((m) => reference(m) !== "bp").map((m) => {
    const r = reference(m);
    return r === null ? `${m}: not a rule of this version (src/schedule/registry.ts), so what its cos_b columns compare with is not known here` : `${m}: ${possessive(m)} gradient against ${possessive(r)} on the same batch`;
  });
  const y = (field: string) => ({ field, type: "quantitative", title: yTitle, scale: { zero: false } }) as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle: [`point: mean over seeds of each run's mean over its diagnostic steps, bar: ${spreadPhrase(spread)}`, ...bpNote, ...notes] },
    width: 560,
    height: 320,
    config: { legend: { labelLimit: 0, symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2 } },
    data: { values: points as unknown as Record<string, unknown>[] },
    encoding: { x: { field: "block", type: "ordinal", title: "block (cos_b column)", axis: { labelAngle: 0 } } },
    layer: [
      { mark: { type: "rule", strokeWidth: 1.2 }, encoding: { y: y("lo"), y2: { field: "hi" }, color } }, // ±1 std (or the spread) over seeds
      { mark: { type: "line", point: true, strokeWidth: 1.6 }, encoding: { y: y("mean"), color } },
    ],
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PlotOutput extends FigureNames {
  lines: number;
  /** Where some configurations have no line (no value of the column in their files): what the figure says of them (noLineNote). */
  noLine?: string;
}

/** A figure's files' names. */
export interface FigureNames {
  /** The figure (SVG). */
  file: string;
  /** The CSV of its points beside it. */
  data: string;
  /** A paper figure's (--width) caption file: its title and notes, which the figure leaves out. */
  caption?: string;
}

/**
 * A figure's files, each [name, text]: the SVG of `spec` (sized for a paper where `paper` is given:
 * paper-figure.ts), `csv` beside it, and for a paper figure its caption file; and their names.
 * `name` is the screen figure's; a paper figure's ends in `-<width>`.
 */
export async function figureFiles(name: string, spec: TopLevelSpec, csv: string, paper: PaperFigure | undefined): Promise<{ files: [string, string][]; names: FigureNames }> {
  const sized = paper === undefined ? null : paperSpec(spec, paper);
  const file = paperFileName(name, paper);
  const data = file.replace(/\.svg$/, ".csv");
  const files: [string, string][] = [[file, await renderSvg(sized?.spec ?? spec)], [data, csv]];
  if (sized === null) return { files, names: { file, data } };
  const caption = captionFileName(file);
  return { files: [...files, [caption, captionText(sized.caption)]], names: { file, data, caption } };
}

/**
 * A curve's points as CSV: what the figure draws (bins of consecutive steps past 100 points;
 * bin_steps says how many), with the band's half-width in a column named by its spread where that
 * is not the std.
 */
function curveCsv(points: readonly CurvePoint[], xColumn: string, spread: Spread): string {
  // `label` last: the columns before it are as they were before it was added, for scripts that read them by place.
  const columns = ["config", "config_id", "method", "step", ...(xColumn === "step" ? [] : [xColumn]), "mean", "std", ...spreadColumn(spread), "n", "bin_steps", "label"];
  return csvText(columns, points.map((p) => ({ ...p, [xColumn]: p.x, ...spreadCell(p, spread) })));
}

/**
 * The CSV column of a band other than the std (`sem`, `ci95`), and its cell: the band's half-width,
 * blank for one run. spreadOf again rather than hi - mean, whose rounding would make it differ in
 * the last digits from the same value in table-<spread>.csv.
 */
const spreadColumn = (spread: Spread) => (spread === "std" ? [] : [spread]);
const spreadCell = (p: { mean: number; std: number | null; n: number }, spread: Spread) => (spread === "std" ? {} : { [spread]: spreadOf(p, spread) });

interface Chart {
  name: string;
  file: string;
  column: string;
  title: string;
  y: string;
  zero: boolean;
  x: string;
  lossNote?: boolean;
  /** Asked for by `--metric`: a figure with no points is an error, not left out. */
  asked?: boolean;
}

/** The x axes `plot --metric` draws against: the step, or the wall-clock seconds each row was logged at. */
export const METRIC_X_AXES = ["step", "wall_s"] as const;
export type MetricXAxis = (typeof METRIC_X_AXES)[number];

/**
 * The chart of one more metric (`plot --metric`): the metrics.csv or eval.csv column of that name
 * against step, as `<metric>.svg`, or against the wall_s of the same file, as
 * `<metric>_vs_time.svg`. A column no run's files have is an InputError listing those they have.
 */
function metricChart(runs: readonly RunRecord[], metric: string, x: MetricXAxis): Chart {
  const available = new Map<string, string>();
  for (const file of ["metrics.csv", "eval.csv"]) {
    for (const r of runs) {
      const path = join(r.dir, file);
      if (!existsSync(path)) continue;
      for (const c of readCsvColumns(path)) if (c !== "step" && !available.has(c)) available.set(c, file);
    }
  }
  const file = available.get(metric);
  if (file === undefined) {
    const names = [...available.keys()];
    throw new InputError(`plot --metric ${metric}: no run's metrics.csv or eval.csv has that column${suggestionSuffix(metric, names)}${because(metric)}; columns: ${names.join(", ")}`, undefined, "--metric");
  }
  if (x === "wall_s") return { name: `${metric}_vs_time.svg`, file, column: metric, title: `${metric} (${file}) against wall-clock time`, y: metric, zero: false, x, asked: true };
  return { name: `${metric}.svg`, file, column: metric, title: `${metric} (${file})`, y: metric, zero: false, x, asked: true };
}

/** " (why)" where a column's name says why a run may have no value of it (src/results/absent-metric.ts), else "". */
function because(column: string): string {
  const why = whyAbsent(column);
  return why === null ? "" : ` (${why})`;
}

/**
 * Said on a figure that has no line for some configurations (`labels`), as their runs' `file` has
 * no value of `column` (with `x` other than the step, none in a row with x; an older version's eval.csv without top-5, a model of 5 classes or
 * fewer): a figure copied into a paper must not pass for a comparison of every configuration.
 */
export function noLineNote(labels: readonly string[], column: string, file: string, x = "step"): string {
  const what = x === "step" ? `value of ${column}` : `row with both ${column} and ${x}`;
  return `no line for ${labels.join(", ")}: no ${what} in ${labels.length === 1 ? "its runs'" : "their runs'"} ${file}${because(column)}`;
}

/**
 * Said on each figure drawn without some runs (those that did not complete), so that a figure
 * copied into a paper carries it: a configuration whose every seed diverged has no line at all.
 */
export function notDrawnNote(notDrawn: readonly RunRecord[]): string {
  return `not drawn: ${count(notDrawn.length, "run")} that did not complete (${tally(notDrawn.map((r) => r.status))}; runs.csv says why)`;
}

/**
 * Renders loss.svg, clip_accuracy.svg, clip_accuracy_vs_time.svg, where runs have video-level
 * accuracy (video-folder data) video_accuracy.svg and video_accuracy_vs_time.svg, for runs with
 * diagnostics gradient_cosine.svg, and a `<metric>.svg` (against `x`) for each of `metrics`, each with a `.csv` of its
 * points; hands every file to `write` only once all are drawn (a run's bad CSV found half-way
 * leaves the earlier figures as they were); returns what was drawn. With a `spread` other than
 * the std, every name ends in `-<spread>` (loss-ci95.svg), so the sweep's own figures stay; with
 * `paper`, a width, the figures are sized for a paper (paper-figure.ts), named `-<width>` last
 * (loss-ci95-3.3in.svg), each with a caption file.
 */
export async function plotLearningCurves(runs: readonly RunRecord[], write: (name: string, text: string) => void, metrics: readonly string[] = [], x: MetricXAxis = "step", notDrawn: readonly RunRecord[] = [], spread: Spread = DEFAULT_SPREAD, paper?: PaperFigure): Promise<PlotOutput[]> {
  const notes = notDrawn.length > 0 ? [notDrawnNote(notDrawn)] : [];
  const charts: Chart[] = [
    { name: "loss.svg", file: "metrics.csv", column: "train_loss", title: "Training loss", y: metricLabel("train_loss"), zero: false, x: "step", lossNote: true },
    // Video-folder runs: the accuracy video papers report, and the sweep's table shows first
    // (sweep-report.ts); left out where no run's eval.csv has it, as any default figure without points.
    { name: "video_accuracy.svg", file: "eval.csv", column: "eval_video_top1", title: "Evaluation video accuracy", y: metricLabel("eval_video_top1"), zero: true, x: "step" },
    { name: "video_accuracy_vs_time.svg", file: "eval.csv", column: "eval_video_top1", title: "Evaluation video accuracy against wall-clock time", y: metricLabel("eval_video_top1"), zero: true, x: "wall_s" },
    { name: "clip_accuracy.svg", file: "eval.csv", column: "eval_clip_top1", title: "Evaluation clip accuracy", y: metricLabel("eval_clip_top1"), zero: true, x: "step" },
    // The trade-off Sideways is about: accuracy against the time it took to get there.
    { name: "clip_accuracy_vs_time.svg", file: "eval.csv", column: "eval_clip_top1", title: "Evaluation clip accuracy against wall-clock time", y: metricLabel("eval_clip_top1"), zero: true, x: "wall_s" },
    ...metrics.map((m) => metricChart(runs, m, x)),
  ];
  // Each run's metrics.csv and eval.csv are read once for every figure that draws from them.
  const csvs = new Map<string, ReturnType<CsvReader>>();
  const read: CsvReader = (path) => csvs.get(path) ?? csvs.set(path, readCsv(path)).get(path)!;
  const files: [string, string][] = [];
  const out: PlotOutput[] = [];
  const add = async (chart: string, spec: TopLevelSpec, csv: string, lines: number, noLine?: string) => {
    const figure = await figureFiles(spread === DEFAULT_SPREAD ? chart : chart.replace(/\.svg$/, `-${spread}.svg`), spec, csv, paper);
    files.push(...figure.files);
    out.push({ ...figure.names, lines, ...(noLine === undefined ? {} : { noLine }) });
  };
  // Each configuration's legend text, as curvePoints gives them: those a figure has no line for are named on it.
  const labels = configLabels(runs, "stem");
  for (const c of charts) {
    const points = curvePoints(runs, c.file, c.column, c.x, read, spread);
    if (points.length === 0 && c.asked) {
      throw new InputError(`plot --metric ${c.column}${c.x === "step" ? "" : ` --x-axis ${c.x}`}: no run's ${c.file} has a row with ${c.x === "step" ? "a value of it" : `both it and ${c.x}`}${because(c.column)}; nothing was written`, undefined, "--metric");
    }
    if (points.length === 0) continue; // e.g. eval.csv files written before they had wall_s
    const drawn = new Set(points.map((p) => p.label));
    const missing = [...new Set(labels.values())].filter((l) => !drawn.has(l));
    const noLine = missing.length > 0 ? noLineNote(missing, c.column, c.file, c.x) : undefined;
    const figure = { title: c.title, yTitle: c.y, zeroBased: c.zero, xTitle: c.x === "step" ? "step" : WALL_AXIS_TITLE, sidewaysLossNote: c.lossNote === true, notes: [...notes, ...(noLine === undefined ? [] : [noLine])], spread };
    await add(c.name, curveSpec(points, figure), curveCsv(points, c.x, spread), drawn.size, noLine);
  }
  const cosines = cosinePoints(runs, read, spread);
  if (cosines.length > 0) {
    const csv = csvText(["config", "config_id", "method", "block", "mean", "std", ...spreadColumn(spread), "n", "label"], cosines.map((p) => ({ ...p, ...spreadCell(p, spread) })) as unknown as Record<string, number | string | null>[]);
    await add("gradient_cosine.svg", cosineSpec(cosines, notes, spread), csv, new Set(cosines.map((p) => p.label)).size);
  }
  for (const [name, text] of files) write(name, text);
  return out;
}
