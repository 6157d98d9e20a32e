/**
 * What an evaluation adds to a run's summary: its metrics become the final ones, and the best
 * clip (and, on video-folder data, video) top-1 so far is kept, with the step of the best
 * evaluation and that evaluation's top-5. A resumed run replays eval.csv's rows through it, so the summary's best values cover
 * every attempt.
 */
import { existsSync } from "node:fs";
import { readSafetensorsMetadata } from "../model/safetensors.js";
import type { EvalMetrics, RunSummary } from "./run-types.js";

export type EvalRecord = Pick<EvalMetrics, "step" | "eval_loss" | "eval_clip_top1" | "eval_frame_top1" | "eval_video_top1" | "eval_clip_top5" | "eval_video_top5">;

/** What ranks evaluations: video-level top-1 where the data gives it (what papers report on video), else clip top-1. */
export function bestMetric(m: EvalRecord): { name: "eval_video_top1" | "eval_clip_top1"; value: number } {
  return typeof m.eval_video_top1 === "number" ? { name: "eval_video_top1", value: m.eval_video_top1 } : { name: "eval_clip_top1", value: m.eval_clip_top1 };
}

/** Whether `m` is better than every evaluation the summary has recorded (bestMetric); the first of equal ones stays. */
export function improvesBest(summary: RunSummary, m: EvalRecord): boolean {
  const { name, value } = bestMetric(m);
  return value > ((name === "eval_video_top1" ? summary.best_eval_video_top1 : summary.best_eval_clip_top1) ?? -Infinity);
}

export function recordEvaluation(summary: RunSummary, m: EvalRecord): void {
  if (improvesBest(summary, m)) {
    summary.best_eval_step = m.step;
    // The best evaluation's own top-5 (papers quote top-5 of the checkpoint they quote top-1 of),
    // not the largest over evaluations: a best evaluation without top-5 (an older version's
    // eval.csv row, 5 classes or fewer) leaves none, never an earlier evaluation's.
    setOrDelete(summary, "best_eval_clip_top5", m.eval_clip_top5);
    setOrDelete(summary, "best_eval_video_top5", m.eval_video_top5);
  }
  summary.final_eval_loss = m.eval_loss;
  summary.final_eval_clip_top1 = m.eval_clip_top1;
  summary.final_eval_frame_top1 = m.eval_frame_top1;
  summary.best_eval_clip_top1 = Math.max(summary.best_eval_clip_top1 ?? -Infinity, m.eval_clip_top1);
  // Only data whose evaluation clips vote by video (video-folder) has these; elsewhere they stay absent.
  if (typeof m.eval_video_top1 === "number") {
    summary.final_eval_video_top1 = m.eval_video_top1;
    summary.best_eval_video_top1 = Math.max(summary.best_eval_video_top1 ?? -Infinity, m.eval_video_top1);
  }
  // Top-5 only with more than 5 classes (src/train/top-k.ts); the last evaluation's, like the other final metrics.
  if (typeof m.eval_clip_top5 === "number") summary.final_eval_clip_top5 = m.eval_clip_top5;
  if (typeof m.eval_video_top5 === "number") summary.final_eval_video_top5 = m.eval_video_top5;
}

function setOrDelete(summary: RunSummary, key: "best_eval_clip_top5" | "best_eval_video_top5", value: number | undefined): void {
  if (typeof value === "number") summary[key] = value;
  else delete summary[key];
}

/**
 * Where a finished run's best.safetensors (`bestFile`, metadata `step`) does not hold the weights
 * of its best evaluation (summary best_eval_step): what to say in summary.json's warnings, else
 * null. output.keep_best is no part of the run id, so a run resumed with it switched on has no
 * file for a best evaluation of an earlier attempt, or one of a later, worse step; switched off,
 * an earlier attempt's file stays behind.
 */
export function staleBestCheckpoint(bestFile: string, summary: RunSummary, keepBest: boolean): string | null {
  const best = summary.best_eval_step;
  const step = existsSync(bestFile) ? readSafetensorsMetadata(bestFile)?.step : undefined;
  if (best === undefined || (step === undefined && !keepBest) || step === String(best)) return null;
  const holds = step === undefined ? "is missing" : `holds the weights of step ${step}`;
  return (
    `${bestFile} ${holds}, not those of the best evaluation (step ${best}, summary.json best_eval_step): output.keep_best was ` +
    `${keepBest ? "off when that step was evaluated (switched on at a resume)" : "on in an earlier attempt and is off now"}; ` +
    `the same settings with train.steps=${best} end with those weights`
  );
}
