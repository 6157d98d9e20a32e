/**
 * Evaluation, the same for both methods (docs/design/sideways.md): per-frame forward with fixed
 * weights; clip prediction = argmax of the mean of the per-frame logits over the clip; where
 * several clips come from one video (video-folder), video prediction = argmax of the mean of its
 * clips' mean logits (multi-clip testing, as video recognition papers report it). With more than
 * TOP_K classes, clip and video top-5 as well (src/train/top-k.ts says how ties count).
 */
import type { ClipBatch } from "../data/source.js";
import { softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Model, Weights } from "../model/model.js";
import type { Tensor } from "../tensor.js";
import type { BlockRunner } from "./block-runner.js";
import type { EvalMetrics } from "./run-types.js";
import { TOP_K, hasTopK, inTopK } from "./top-k.js";

export interface EvalResult {
  loss: number;
  clipTop1: number;
  frameTop1: number;
  clips: number;
  /** Share of clips whose label is among the TOP_K largest mean logits; absent with TOP_K classes or fewer (it would be 1). */
  clipTop5?: number;
  /** With a video for each clip: the share of videos whose clips' mean logits pick their label. */
  videoTop1?: number;
  /** With a video for each clip and more than TOP_K classes: video top-5, on the same summed logits as videoTop1. */
  videoTop5?: number;
  /** How many videos the clips came from. */
  videos?: number;
  /** The counts behind clip (and video) top-1, class by class: `sideways evaluate --per-class`. */
  byClass: ClassCounts;
}

/**
 * Per-class counts of an evaluation. `clipConfusion[t * K + p]`: clips of true class t whose mean
 * logits pick p (its diagonal summed is clip top-1's count). With videos, per true class its
 * videos and those whose summed logits pick it.
 */
export interface ClassCounts {
  classes: number;
  clipConfusion: Int32Array;
  videos?: Int32Array;
  videosCorrect?: Int32Array;
}

/** An evaluation's figures under eval.csv's column names (EvalMetrics without its step). */
export function evalColumns(r: EvalResult): Omit<EvalMetrics, "step"> {
  return {
    eval_loss: r.loss,
    eval_clip_top1: r.clipTop1,
    eval_frame_top1: r.frameTop1,
    eval_clips: r.clips,
    ...(r.videoTop1 !== undefined ? { eval_video_top1: r.videoTop1, eval_videos: r.videos } : {}),
    ...(r.clipTop5 !== undefined ? { eval_clip_top5: r.clipTop5 } : {}),
    ...(r.videoTop5 !== undefined ? { eval_video_top5: r.videoTop5 } : {}),
  };
}

/**
 * Video-level votes: each video's sum of its clips' mean logits (equal-length clips, so the mean
 * over its clips is the mean over all its frames' logits), and its label.
 */
export class VideoVotes {
  private readonly videos = new Map<number, { sum: Float64Array; label: number }>();
  constructor(private readonly classes: number) {}

  add(video: number, label: number, clipMeanLogits: ArrayLike<number>): void {
    let v = this.videos.get(video);
    if (!v) this.videos.set(video, (v = { sum: new Float64Array(this.classes), label }));
    if (v.label !== label) throw new Error(`BUG: evaluation video ${video} has clips labelled ${v.label} and ${label}`);
    for (let k = 0; k < this.classes; k++) v.sum[k] += clipMeanLogits[k];
  }

  /**
   * The share of videos whose summed logits' argmax is their label, how many videos, and with more
   * than TOP_K classes the share whose label is among the TOP_K largest (src/train/top-k.ts).
   */
  accuracy(): { top1: number; top5?: number; videos: number } {
    // Top-1 is byClass's per-class counts summed: one argmax rule for both.
    const correct = this.byClass().videosCorrect.reduce((a, b) => a + b, 0);
    let correct5 = 0;
    for (const v of this.videos.values()) if (inTopK(v.sum, 0, this.classes, v.label, TOP_K)) correct5++;
    const n = this.videos.size;
    return { top1: correct / n, ...(hasTopK(this.classes) ? { top5: correct5 / n } : {}), videos: n };
  }

  /** Per true class: its videos, and those whose summed logits pick it (accuracy's top-1, class by class). */
  byClass(): { videos: Int32Array; videosCorrect: Int32Array } {
    const videos = new Int32Array(this.classes);
    const videosCorrect = new Int32Array(this.classes);
    for (const v of this.videos.values()) {
      videos[v.label]++;
      if (argmax(v.sum, 0, this.classes) === v.label) videosCorrect[v.label]++;
    }
    return { videos, videosCorrect };
  }
}

/** Logits [B*T, K] for every frame of a clip batch, frames of one clip contiguous. */
export async function frameLogits(model: Model, runner: BlockRunner, batch: ClipBatch, weights: Weights): Promise<Tensor> {
  const [b, t, c, h, w] = batch.dims;
  // [B, T, C, H, W] and [B*T, C, H, W] share one memory layout: no copy needed.
  let x: Tensor = { data: batch.clips, dims: [b * t, c, h, w] };
  for (const block of model.blocks) x = await runner.forwardEval(block.index, x, weights);
  return x;
}

function argmax(a: Float32Array | Float64Array, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}

/** `videoOf`: the video of the evaluation set's clip i (clips in order, DataSource.evalVideo), for video-level accuracy. */
export async function evaluate(
  model: Model,
  runner: BlockRunner,
  batches: AsyncIterable<ClipBatch>,
  weights: Weights,
  videoOf?: (clip: number) => number,
): Promise<EvalResult> {
  const K = model.classes;
  const votes = videoOf ? new VideoVotes(K) : null;
  let clips = 0;
  let clipCorrect = 0;
  let clipCorrect5 = 0;
  let frames = 0;
  let frameCorrect = 0;
  let lossSum = 0;
  const clipConfusion = new Int32Array(K * K);
  for await (const batch of batches) {
    const [B, T] = batch.dims;
    const logits = await frameLogits(model, runner, batch, weights);
    const frameLabels = new Int32Array(B * T);
    for (let i = 0; i < B; i++) frameLabels.fill(batch.labels[i], i * T, (i + 1) * T);
    lossSum += softmaxCrossEntropy(logits, frameLabels).loss * B * T;
    const mean = new Float64Array(K);
    for (let i = 0; i < B; i++) {
      mean.fill(0);
      for (let t = 0; t < T; t++) {
        const off = (i * T + t) * K;
        if (argmax(logits.data, off, K) === batch.labels[i]) frameCorrect++;
        for (let k = 0; k < K; k++) mean[k] += logits.data[off + k];
      }
      const predicted = argmax(mean, 0, K);
      if (predicted === batch.labels[i]) clipCorrect++;
      clipConfusion[batch.labels[i] * K + predicted]++;
      if (inTopK(mean, 0, K, batch.labels[i], TOP_K)) clipCorrect5++;
      votes?.add(videoOf!(clips + i), batch.labels[i], mean.map((v) => v / T));
    }
    clips += B;
    frames += B * T;
  }
  if (clips === 0) throw new Error("BUG: evaluation got no clips");
  const video = votes?.accuracy();
  return {
    loss: lossSum / frames,
    clipTop1: clipCorrect / clips,
    frameTop1: frameCorrect / frames,
    clips,
    ...(hasTopK(K) ? { clipTop5: clipCorrect5 / clips } : {}),
    ...(video ? { videoTop1: video.top1, videos: video.videos } : {}),
    ...(video?.top5 !== undefined ? { videoTop5: video.top5 } : {}),
    byClass: { classes: K, clipConfusion, ...(votes ? votes.byClass() : {}) },
  };
}
