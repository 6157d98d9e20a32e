/**
 * What a finished sweep leaves for the paper next to runs.csv: the mean ± std table over seeds
 * (table.csv, table.md, table.tex), the learning curves (loss.svg, clip_accuracy.svg, and
 * video_accuracy.svg for video-folder runs, ..., each with a .csv of its points), and the table's
 * first metric against each setting the sweep varies (final_eval_clip_top1-vs-lr.svg and .csv:
 * swept-setting-figures.ts). `sideways results table` and `sideways plot` write the same files with other choices.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-write.js";
import { readCsv } from "./csv-read.js";
import { DEFAULT_SPREAD, paperTable, spreadName, tableCsv, tableLatex, tableMarkdown, type PaperTable, type Spread, type TableStyle } from "./paper-table.js";
import { noBaselineNote } from "./no-baseline.js";
import { pairedDifferences, pairedNote, type Against } from "./paired-diff.js";
import { plotLearningCurves } from "./plot.js";
import { RUNS_CSV, collectRuns } from "./runs-table.js";
import { sweptSettingFigures } from "./swept-setting-figures.js";

/** The metrics a sweep's own table shows, where runs.csv has them. */
export const DEFAULT_TABLE_METRICS = ["final_eval_clip_top1", "final_eval_frame_top1", "final_train_loss", "frames_per_s", "wall_s"];

/**
 * Writes <base>.csv, <base>.md and <base>.tex for `metrics` of DIR/runs.csv into `out`; with
 * `against`, each row's differences from its baseline too (src/results/paired-diff.ts), checked
 * before anything is written; `style`, how the .md and .tex show the numbers (--percent, --bold-best).
 */
export function writePaperTables(dir: string, metrics: readonly string[], out: string, digits = 3, base = "table", spread: Spread = DEFAULT_SPREAD, against?: Against, style: TableStyle = {}): PaperTable {
  const { columns, rows } = readCsv(join(dir, RUNS_CSV));
  const table = paperTable(columns, rows, metrics, spread);
  if (against) {
    const cells = pairedDifferences(table, rows, against);
    table.paired = { against, cells, note: pairedNote(against, spreadName(spread), noBaselineNote(table, against, cells)) };
  }
  writeFileAtomic(join(out, `${base}.csv`), tableCsv(table));
  // The CSV keeps runs.csv's numbers whatever the style: scripts read it, and a _mean column in percent in one file and a fraction in another would mislead them.
  writeFileAtomic(join(out, `${base}.md`), tableMarkdown(table, digits, style));
  writeFileAtomic(join(out, `${base}.tex`), tableLatex(table, digits, style));
  return table;
}

/** Shown first where any run has it (video-folder data): the accuracy video recognition papers report. */
const VIDEO_TOP1 = "final_eval_video_top1";

/** The sweep's own table uses these metrics (where runs.csv has them), video-level top-1 first where a run has one. */
export function defaultTableMetrics(dir: string): string[] {
  const { columns, rows } = readCsv(join(dir, RUNS_CSV));
  const video = rows.some((r) => typeof r[VIDEO_TOP1] === "number") ? [VIDEO_TOP1] : [];
  return [...video, ...DEFAULT_TABLE_METRICS.filter((m) => columns.includes(m))];
}

/** `plot --against-setting`'s default metric: the sweep's table's first (final_eval_video_top1 where runs have it). */
export function defaultSettingMetrics(dir: string): string[] {
  return defaultTableMetrics(dir).slice(0, 1);
}

/**
 * Table, curves and figures against the swept settings of the completed runs under `root`; returns
 * the files written (none without completed runs). The curves and figures are drawn before anything
 * is written, so a run's broken CSV (an InputError) leaves the earlier table and curves as they
 * were. A swept setting whose figure cannot be drawn costs that figure alone: `note` is told the
 * key and why.
 */
export async function writeSweepReport(root: string, note: (line: string) => void = () => {}): Promise<string[]> {
  const all = collectRuns(root);
  const completed = all.filter((r) => r.status === "completed");
  if (completed.length === 0 || !existsSync(join(root, RUNS_CSV))) return [];
  const figures: [string, string][] = [];
  const drawn = await plotLearningCurves(completed, (name, text) => figures.push([name, text]), [], "step", all.filter((r) => r.status !== "completed"));
  const settings = await sweptSettingFigures(root, completed, defaultSettingMetrics(root));
  writePaperTables(root, defaultTableMetrics(root), root);
  for (const [name, text] of [...figures, ...settings.files]) writeFileAtomic(join(root, name), text);
  for (const line of settings.skipped) note(line);
  return ["table.csv", "table.md", "table.tex", ...[...drawn, ...settings.drawn].flatMap((d) => [d.file, d.data])];
}
