/**
 * What an evaluation adds to a run's summary: its metrics become the final ones, and the best
 * clip (and, on video-folder data, video) top-1 so far is kept, with the step of the best
 * evaluation. A resumed run replays eval.csv's rows through it, so the summary's best values cover
 * every attempt.
 */
import type { EvalMetrics, RunSummary } from "./run-types.js";

export type EvalRecord = Pick<EvalMetrics, "step" | "eval_loss" | "eval_clip_top1" | "eval_frame_top1" | "eval_video_top1">;

/**
 * Whether `m` is better than every evaluation the summary has recorded: by video-level top-1 where
 * the data gives it (what papers report on video), else by clip top-1; the first of equal ones stays.
 */
export function improvesBest(summary: RunSummary, m: EvalRecord): boolean {
  if (typeof m.eval_video_top1 === "number") return m.eval_video_top1 > (summary.best_eval_video_top1 ?? -Infinity);
  return m.eval_clip_top1 > (summary.best_eval_clip_top1 ?? -Infinity);
}

export function recordEvaluation(summary: RunSummary, m: EvalRecord): void {
  if (improvesBest(summary, m)) summary.best_eval_step = m.step;
  summary.final_eval_loss = m.eval_loss;
  summary.final_eval_clip_top1 = m.eval_clip_top1;
  summary.final_eval_frame_top1 = m.eval_frame_top1;
  summary.best_eval_clip_top1 = Math.max(summary.best_eval_clip_top1 ?? -Infinity, m.eval_clip_top1);
  // Only data whose evaluation clips vote by video (video-folder) has these; elsewhere they stay absent.
  if (typeof m.eval_video_top1 === "number") {
    summary.final_eval_video_top1 = m.eval_video_top1;
    summary.best_eval_video_top1 = Math.max(summary.best_eval_video_top1 ?? -Infinity, m.eval_video_top1);
  }
}
