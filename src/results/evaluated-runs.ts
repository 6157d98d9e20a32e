/**
 * The runs.csv of `sideways evaluate <sweep folder> --out DIR`: the sweep's rows and columns (the
 * same records, so the same settings columns), with each evaluated run's final_eval_* figures and
 * eval_on_train replaced by its new evaluation's, and EVAL_OVERRIDES_COLUMN last. The figures of
 * the runs' own evaluations that were not made again (best_eval_*) are left blank rather than set
 * beside new figures of other settings; training's figures (loss, time, speed) stay.
 */
import { existsSync, readFileSync } from "node:fs";
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

/** `evaluations` by run id; `missing`: completed runs not evaluated, each with why. */
export function evaluatedRunsCsvText(records: readonly RunRecord[], evaluations: ReadonlyMap<string, EvaluationRecord>, missing: ReadonlyMap<string, string>, overrides: readonly string[]): string {
  const rows = records.map((r): RunRecord => {
    const e = evaluations.get(r.meta.run_id);
    const why = missing.get(r.meta.run_id);
    const summary = r.summary === null ? null : withFigures(r.summary, e);
    return { ...r, summary, ...(why === undefined ? {} : { status: NOT_EVALUATED, message: why }) };
  });
  return runsCsvText(rows, { [EVAL_OVERRIDES_COLUMN]: (r) => (evaluations.has(r.meta.run_id) ? overrides.join(" ") : null) });
}

/** The summary with the evaluation's figures, or none (a run not evaluated again). */
function withFigures(s: RunSummary, e: EvaluationRecord | undefined): RunSummary {
  const blank = {
    final_eval_loss: null, final_eval_clip_top1: null, final_eval_frame_top1: null, best_eval_clip_top1: null,
    final_eval_video_top1: undefined, best_eval_video_top1: undefined, final_eval_clip_top5: undefined, final_eval_video_top5: undefined, best_eval_step: undefined,
  };
  if (e === undefined) return { ...s, ...blank, eval_on_train: undefined as unknown as boolean };
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
  };
}
