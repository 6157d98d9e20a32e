/**
 * `sideways evaluate --per-class FILE.csv`: one row per class (UCF101's 101, HMDB51's 51), so that
 * a researcher sees which actions a rule gets wrong. Columns: `class` (the label), `class_name`
 * (where the data knows it, else empty), `clips`, `clip_top1` (empty for a class without clips), on
 * video folders `videos` and `video_top1`, then the clip-level confusion matrix's row of the class:
 * `predicted_<k>`, how many of its clips the evaluation predicted as class k.
 */
import type { ClassCounts } from "../train/evaluate.js";
import { csvText } from "./csv-text.js";

export function perClassCsvText(counts: ClassCounts, classNames: readonly string[] | undefined): string {
  const K = counts.classes;
  const predicted = Array.from({ length: K }, (_, k) => `predicted_${k}`);
  const video = counts.videos !== undefined ? ["videos", "video_top1"] : [];
  const columns = ["class", "class_name", "clips", "clip_top1", ...video, ...predicted];
  const rows = Array.from({ length: K }, (_, t) => {
    const row = counts.clipConfusion.subarray(t * K, (t + 1) * K);
    const clips = row.reduce((s, n) => s + n, 0);
    const videos = counts.videos?.[t] ?? 0;
    return {
      class: t,
      class_name: classNames?.[t] ?? "",
      clips,
      clip_top1: clips === 0 ? null : row[t] / clips,
      ...(counts.videos !== undefined ? { videos, video_top1: videos === 0 ? null : counts.videosCorrect![t] / videos } : {}),
      ...Object.fromEntries(predicted.map((c, k) => [c, row[k]])),
    };
  });
  return csvText(columns, rows);
}
