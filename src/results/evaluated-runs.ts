/**
 * The runs.csv of `sideways evaluate <sweep folder> --out DIR`: the sweep's rows and columns (the
 * same records, so the same settings columns), with each evaluated run's final_eval_* figures and
 * eval_on_train replaced by its new evaluation's, and EVAL_OVERRIDES_COLUMN last. The figures of
 * the runs' own evaluations that were not made again (best_eval_*) are left blank rather than set
 * beside new figures of other settings; training's figures (loss, time, speed) stay, and its
 * warnings but the one about its last evaluation, which one of the new figures replaces (in a row
 * not evaluated again, nothing replaces it: its figures are blank, so no warning speaks of them).
 */
import { existsSync, readFileSync } from "node:fs";
import { chanceLevelWarning, isChanceLevelWarning } from "../train/chance-level.js";
import type { EvaluationRecord } from "../train/evaluate-weights.js";
import type { RunSummary } from "../train/run-types.js";
import { EVAL_OVERRIDES_COLUMN, type RunRecord, runsCsvText } from "./runs-table.js";

/**
 * Whether `file` is such a runs.csv (its header ends in EVAL_OVERRIDES_COLUMN). Only the header is
 * read: a sweep's runs.csv cut short must still be taken for a sweep's, which `results collect` mends.
 */
export function isEvaluationRunsCsv(file: string): boolean {
  if (!existsSync(file)) return false;
  const header = readFileSync(file, "utf8").split("\n", 1)[0].trim();
  return header.split(",").at(-1) === EVAL_OVERRIDES_COLUMN;
}

/** The status of a completed run whose final weights are gone, so it could not be evaluated again. */
export const NOT_EVALUATED = "not_evaluated";

/** The chance-level warning of an evaluation's own figures (src/train/chance-level.ts), or null. */
export function evaluationChanceWarning(e: EvaluationRecord, classes: number): string | null {
  return chanceLevelWarning(e.eval_loss, e.eval_clip_top1, classes, e.eval_clips, "sideways evaluate's");
}

/**
 * `evaluations` by run id, `classes` (each evaluated run's model's) by run id; `missing`: completed
 * runs not evaluated, each with why.
 */
export function evaluatedRunsCsvText(records: readonly RunRecord[], evaluations: ReadonlyMap<string, EvaluationRecord>, classes: ReadonlyMap<string, number>, missing: ReadonlyMap<string, string>, overrides: readonly string[]): string {
  const rows = records.map((r): RunRecord => {
    const e = evaluations.get(r.meta.run_id);
    const why = missing.get(r.meta.run_id);
    const summary = r.summary === null ? null : withFigures(r.summary, e, classes.get(r.meta.run_id));
    return { ...r, summary, ...(why === undefined ? {} : { status: NOT_EVALUATED, message: why }) };
  });
  return runsCsvText(rows, { [EVAL_OVERRIDES_COLUMN]: (r) => (evaluations.has(r.meta.run_id) ? overrides.join(" ") : null) });
}

/**
 * The summary with the evaluation's figures, or none (a run not evaluated again). An evaluated run's
 * warnings say what holds beside its new figures: the training's chance-level warning (about its
 * own last evaluation, whose figures are replaced) gives way to one of the new figures, if they are
 * at chance; the training's other warnings (clips too short, a diverged loss) still hold.
 */
function withFigures(s: RunSummary, e: EvaluationRecord | undefined, classes: number | undefined): RunSummary {
  const blank = {
    final_eval_loss: null, final_eval_clip_top1: null, final_eval_frame_top1: null, best_eval_clip_top1: null,
    final_eval_video_top1: undefined, best_eval_video_top1: undefined, final_eval_clip_top5: undefined, final_eval_video_top5: undefined, best_eval_step: undefined,
  };
  // Not evaluated again (not_evaluated, or a run that did not complete): its training's figures of
  // its last evaluation are blanked, so its warning about them goes too; the rest of its training's stay.
  if (e === undefined) return { ...s, ...blank, eval_on_train: undefined as unknown as boolean, warnings: trainingWarnings(s.warnings) };
  return {
    ...s,
    ...blank,
    final_eval_loss: e.eval_loss,
    final_eval_clip_top1: e.eval_clip_top1,
    final_eval_frame_top1: e.eval_frame_top1,
    final_eval_video_top1: e.eval_video_top1,
    final_eval_clip_top5: e.eval_clip_top5,
    final_eval_video_top5: e.eval_video_top5,
    eval_on_train: e.eval_on_train,
    warnings: evaluatedWarnings(s.warnings, e, classes),
  };
}

function evaluatedWarnings(training: readonly string[] | undefined, e: EvaluationRecord, classes: number | undefined): string[] | undefined {
  const atChance = classes === undefined ? null : evaluationChanceWarning(e, classes);
  const warnings = [...(trainingWarnings(training) ?? []), ...(atChance === null ? [] : [atChance])];
  return warnings.length === 0 ? undefined : warnings;
}

/** The training's warnings that still hold beside figures other than its own last evaluation's: all but the chance-level one. */
function trainingWarnings(training: readonly string[] | undefined): string[] | undefined {
  const kept = (training ?? []).filter((w) => !isChanceLevelWarning(w));
  return kept.length === 0 ? undefined : kept;
}
