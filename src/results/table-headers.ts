/**
 * The LaTeX paper table's column headers in words (`lr`, `clip top-1`), where runs.csv's names
 * (`train.optimizer.lr`, `final_eval_clip_top1`) would need renaming by hand in the paper. The
 * raw names stay in the file: a comment line pairs each header with its column (columnsComment).
 */
import { isAccuracy, metricLabel } from "./metric-label.js";
import { keyLabel, shortKeyNames } from "./key-label.js";

/** The table's own columns that are no setting, in words. */
const OWN: Readonly<Record<string, string>> = {
  method: "method",
  config_id: "config",
  eval_on_train: "eval on train",
  warnings: "warnings",
  not_completed: "not completed",
};

/**
 * Each setting column by its key's last part as the figures' legends say it (keyLabel:
 * `train.optimizer.lr` -> `lr`), underscores as spaces; where two columns would read the same
 * (`model.x.lr`, `train.optimizer.lr`), both keep their whole key (shortKeyNames, among the
 * columns given: the table's header row).
 */
export const settingHeaders = (columns: readonly string[]): string[] => shortKeyNames(columns, (c) => OWN[c] ?? keyLabel(c).replace(/_/g, " "));

/**
 * A metric column's header: its name in words, `(%)` where `percent` shows an accuracy x 100, and
 * for its `--against` difference (`delta`) `(pp)`: a difference of percentages is in points.
 */
export const metricHeader = (metric: string, percent: boolean, delta = false): string =>
  `${delta ? "Δ " : ""}${metricLabel(metric)}${percentUnit(metric, percent, delta)}`;

/** The unit a header of `metric` says under `--percent`: `(%)`, `(pp)` for a difference, or none. */
export const percentUnit = (metric: string, percent: boolean, delta = false): string => (percent && isAccuracy(metric) ? (delta ? " (pp)" : " (%)") : "");

/** `% columns: header = runs.csv name; ...` for the headers that are not the column's name (null where none). */
export function columnsComment(headers: readonly string[], columns: readonly string[]): string | null {
  const renamed = columns.map((c, i) => [headers[i], c] as const).filter(([h, c]) => h !== c);
  return renamed.length === 0 ? null : `% columns as runs.csv names them: ${renamed.map(([h, c]) => `${h} = ${c}`).join("; ")}`;
}
