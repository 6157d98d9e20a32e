/**
 * A runs.csv metric as a paper names it (the LaTeX table's column headers), whether it is an
 * accuracy (a fraction that `results table --percent` shows x 100), and which way is better.
 * The words are the learning-curve figures' y titles too (src/results/plot.ts names metrics.csv's
 * and eval.csv's columns with it: "train loss", "clip top-1", "video top-1"): runs.csv's final_*
 * are the last evaluation's, what a paper quotes, so they drop "final"; best_* say "best".
 */

/** Those the rule in metricLabel would name badly: counts, seconds, rates. */
const NAMED: Readonly<Record<string, string>> = {
  steps_done: "steps",
  wall_s: "wall time (s)",
  frames_per_s: "frames/s",
  data_wait_share: "data wait share",
};

/**
 * `final_eval_clip_top1` -> "clip top-1", `best_eval_video_top5` -> "best video top-5",
 * `final_eval_loss` -> "eval loss"; eval.csv's `eval_clip_top1` and metrics.csv's `train_loss` alike
 * ("clip top-1", "train loss"); any other column as it is.
 */
export function metricLabel(metric: string): string {
  const named = NAMED[metric];
  if (named !== undefined) return named;
  const m = /^(?:(final|best)_)?(train|eval)_(.+)$/.exec(metric);
  if (m === null) return metric;
  const [, which, split, what] = m;
  const top = /^(clip|frame|video)_top(\d+)$/.exec(what);
  // An accuracy is the evaluation's by nature ("clip top-1"); a loss says which ("eval loss", "train loss").
  const words = top !== null ? `${top[1]} top-${top[2]}` : `${split} ${what.replace(/_/g, " ")}`;
  return which === "best" ? `best ${words}` : words;
}

/** A top-k accuracy: runs.csv holds it as a fraction of clips (frames, videos) in [0, 1]. */
export const isAccuracy = (metric: string): boolean => /_top\d+$/.test(metric);

/**
 * Which way a metric is better, where it has one: accuracy higher (as the best evaluation is
 * chosen, src/train/eval-summary.ts), loss lower. Time, speed and step counts have none: a table
 * compares them, it does not rank them.
 */
export function betterDirection(metric: string): "higher" | "lower" | null {
  if (isAccuracy(metric)) return "higher";
  if (/_loss$/.test(metric)) return "lower";
  return null;
}
