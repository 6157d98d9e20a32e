/**
 * Trained weights evaluated on an experiment's evaluation set, as a run's evaluations do
 * (train/evaluate.ts over the same clips: data.evalBatches(eval.clips, train.batch_size), the same
 * provider and graphs), for `sideways evaluate`: a run's final weights give its last eval.csv row.
 */
import type { ClipBatch } from "../data/source.js";
import type { Model, Weights } from "../model/model.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";
import type { ExperimentSpec } from "../spec/experiment-spec.js";
import { BlockRunner, buildAllBlockGraphs } from "./block-runner.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { openRunData, providerOptionsFor } from "./run-experiment.js";

/** What --json holds: eval.csv's column names for the figures, so the two files join. */
export interface EvaluationRecord {
  weights: string;
  /** The step the weights are of, as their file says (final: the run's steps; best, resume: their step). */
  weights_step: number | null;
  /** The weights file's SHA-256 (hex): a sweep's evaluation folder tells weights trained again from those it evaluated. */
  weights_sha256: string;
  run_id: string | null;
  experiment: string;
  overrides: string[];
  provider: string;
  eval_clips: number;
  eval_loss: number;
  eval_clip_top1: number;
  eval_frame_top1: number;
  eval_video_top1?: number;
  eval_videos?: number;
  /** With more than 5 classes (src/train/top-k.ts). */
  eval_clip_top5?: number;
  eval_video_top5?: number;
  eval_on_train: boolean;
  sideways_version: string | null;
  evaluated_at: string;
}

export interface WeightsEvaluation {
  result: EvalResult;
  /** The evaluation set is the training clips (data.eval_on_train, or npy data without held-out clips). */
  evalOnTrain: boolean;
  /** What the data source says of its evaluation set (e.g. a video folder's clips per video), or null. */
  note: string | null;
  /** The name of each class by label, where the data source knows them (DataSource.classNames). */
  classNames?: readonly string[];
}

/** `progress(clipsDone, clipsInAll)` is called after each batch. */
export async function evaluateWeights(
  spec: ExperimentSpec,
  model: Model,
  weights: Weights,
  baseDir: string,
  progress: (done: number, total: number) => void = () => {},
): Promise<WeightsEvaluation> {
  const provider = providerOptionsFor(spec.runtime);
  const data = await openRunData(spec, model, baseDir);
  try {
    const graphs = buildAllBlockGraphs(model, await graphTargetFor(provider));
    const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), graphs, provider, false);
    try {
      const total = data.evalCount?.(spec.eval.clips) ?? spec.eval.clips;
      const evalVideo = data.evalVideo;
      const videoOf = evalVideo && ((i: number) => evalVideo(i, total));
      const batches = reporting(data.evalBatches(spec.eval.clips, spec.train.batch_size), (done) => progress(done, total));
      const result = await evaluate(model, runner, batches, weights, videoOf);
      return { result, evalOnTrain: data.evalIsTrain ?? false, note: data.evalNote?.(spec.eval.clips) ?? null, classNames: data.classNames };
    } finally {
      await runner.release();
    }
  } finally {
    await data.close();
  }
}

/** The batches as they come, telling `done` the clips handed out so far after each. */
async function* reporting(batches: AsyncIterable<ClipBatch>, done: (clips: number) => void): AsyncIterable<ClipBatch> {
  let clips = 0;
  for await (const batch of batches) {
    yield batch;
    clips += batch.dims[0];
    done(clips);
  }
}
