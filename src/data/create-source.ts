/**
 * The one entry point from a `data:` spec to a DataSource: checks the spec against the model's
 * input, builds the kind's clip producer and wraps it with the shared preprocessing and prefetch.
 */
import { DataError } from "../errors.js";
import { Rng } from "../util/rng.js";
import { count } from "../util/count.js";
import { clipAugment } from "./augment.js";
import type { ClipProducer, ClipShape, Preprocess } from "./clip.js";
import { ClipSource } from "./clip-source.js";
import { ClipWorkers } from "./clip-workers.js";
import type { DataSpec } from "./data-spec.js";
import { createMovingMnist } from "./moving-mnist.js";
import { createNpySource } from "./npy-source.js";
import { createShapes } from "./shapes.js";
import type { DataSource } from "./source.js";
import { createVideoFolder } from "./video/video-folder.js";
import { resolveUserPath } from "../util/user-path.js";

export interface DataContext {
  /** The model's per-frame input. */
  input: { channels: number; height: number; width: number };
  classes: number;
  seed: number;
  /** Relative paths in the spec resolve against this folder (the experiment file's). */
  baseDir: string;
  /** Where decoded videos are cached (relative: against baseDir). */
  cacheDir: string;
}

export async function createDataSource(spec: DataSpec, ctx: DataContext): Promise<DataSource> {
  const { shape, pre } = dataPlan(spec, ctx);
  checkDataWorkers(spec);
  const workers = spec.workers ?? 0;
  const local = await createLocalProducer(spec, ctx);
  const producer = workers > 0 ? await ClipWorkers.start(local, spec, ctx, workers) : local;
  return new ClipSource(producer, shape, ctx.classes, pre, spec.prefetch);
}

/** The kinds whose clips data workers make (data.workers): generated ones, a pure function of seed and index. */
function workersMake(kind: DataSpec["kind"]): boolean {
  return kind === "moving-mnist" || kind === "shapes";
}

/** data.workers on a kind whose clips workers would not make faster: an exit-2 error naming the key. */
export function checkDataWorkers(spec: DataSpec): void {
  const workers = spec.workers ?? 0;
  if (workers > 0 && !workersMake(spec.kind)) {
    throw new DataError(
      `data.workers: ${workers} worker threads generate clips for moving-mnist and shapes only; ${spec.kind} clips are ${spec.kind === "npy" ? "copies of arrays already in memory" : "decoded by ffmpeg processes"} (expected workers absent or 0)`,
      undefined, "data.workers",
    );
  }
}

/** The share of the steps' time on data over which a finished run suggests data.workers. */
const DATA_BOUND_SHARE = 0.3;

/** What else runs beside a run's data: the cores it may count as its own, and the threads that step its blocks. */
export interface CoreShare {
  /** the machine's cores (os.availableParallelism) */
  cores: number;
  /** runs of this machine's sweep training at once (sweep --jobs); 1 for a single run */
  concurrentRuns: number;
  /** threads that step the blocks: 1 on one thread, one per stage or replica on worker threads */
  steppingThreads: number;
}

/**
 * What a run that finished with `share` of its steps' time on data (summary.json data_wait_share)
 * could do about it, where data workers can make its clips and it has none; null otherwise. The
 * count leaves a core to the main thread and one to each thread that steps blocks, out of the
 * run's share of the machine's cores (a sweep's --jobs runs share them). Under 4 cores of its own
 * a run gets no note: on 2 cores one worker was slower than none (docs/PERFORMANCE.md attempt 72).
 */
export function dataBoundNote(spec: DataSpec, share: number, room: CoreShare): string | null {
  if (share <= DATA_BOUND_SHARE || (spec.workers ?? 0) > 0 || !workersMake(spec.kind)) return null;
  const ownCores = Math.floor(room.cores / Math.max(1, room.concurrentRuns));
  const suggested = Math.min(8, ownCores - 1 - Math.max(1, room.steppingThreads));
  if (ownCores < 4 || suggested < 1) return null;
  const shared = room.concurrentRuns > 1 ? ` (${count(ownCores, "core")} of this machine's ${room.cores} for each of the sweep's ${room.concurrentRuns} runs at once)` : "";
  return (
    `the training steps spent ${Math.round(100 * share)}% of their time making ${spec.kind} batches on the step's thread ` +
    `(summary.json data_wait_share); data.workers=${suggested} makes the clips in ${suggested} worker threads${shared}, the same batches bit for bit`
  );
}

/** The clip shape and the preprocessing of a spec and seed: a data worker assembling batches needs them too. */
export function clipPlan(spec: DataSpec, ctx: DataContext): { shape: ClipShape; pre: Preprocess } {
  const { shape, pre } = dataPlan(spec, ctx);
  return { shape, pre };
}

/** `spec`'s clip producer in this thread: a data worker builds its own with this too, so its clips are these. */
export function createLocalProducer(spec: DataSpec, ctx: DataContext): Promise<ClipProducer> {
  const { shape, clipRng, evalClipRng } = dataPlan(spec, ctx);
  return createProducer(spec, shape, ctx, clipRng, evalClipRng);
}

/** The clip shape, the preprocessing and the clips' random streams of a spec and seed. */
function dataPlan(spec: DataSpec, ctx: DataContext): { shape: ClipShape; pre: Preprocess; clipRng: Rng; evalClipRng: Rng } {
  const shape = clipShape(spec, ctx);
  const rng = new Rng(ctx.seed).fork("data");
  // data.eval_seed holds the evaluation clips fixed across the run seeds of a sweep; without it
  // they come from the run's seed, as they did before the key existed.
  const evalRng = spec.eval_seed === undefined ? rng : new Rng(spec.eval_seed).fork("data");
  const pre: Preprocess = {
    shuffleFrames: spec.shuffle_frames,
    normalize: spec.normalize,
    rng: rng.fork("frames"),
    evalRng: evalRng.fork("frames"),
    augment: clipAugment(spec.augment, rng.fork("augment")),
  };
  return { shape, pre, clipRng: rng.fork("clips"), evalClipRng: evalRng.fork("clips") };
}

function clipShape(spec: DataSpec, ctx: DataContext): ClipShape {
  const { channels, height, width } = ctx.input;
  if (spec.normalize !== null) {
    for (const key of ["mean", "std"] as const) {
      if (spec.normalize[key].length !== channels) {
        throw new DataError(
          `data.normalize.${key}: ${spec.normalize[key].length} values, expected one per input channel (${channels})`,
          undefined, `data.normalize.${key}`,
        );
      }
    }
  }
  if ((spec.kind === "moving-mnist" || spec.kind === "shapes") && spec.frame_size !== null) {
    const [h, w] = spec.frame_size;
    if (h !== height || w !== width) {
      throw new DataError(
        `data.frame_size: [${h}, ${w}] does not match the model input ${height}x${width} (leave frame_size out to use the model's)`,
        undefined, "data.frame_size",
      );
    }
  }
  checkAugment(spec, height, width);
  return { frames: spec.clip_length, channels, height, width };
}

/** data.augment against the data and the frame size: exit-2 errors naming the key. */
function checkAugment(spec: DataSpec, height: number, width: number): void {
  if (spec.augment === undefined) return;
  if (spec.augment.flip && spec.kind === "moving-mnist" && spec.task === "direction") {
    // A mirrored clip moves the other way along x: its direction bucket would no longer be its label.
    throw new DataError(
      "data.augment.flip: a mirrored clip's digit moves the other way along x, so task direction's label would be wrong for it; expected flip: false with task: direction",
      undefined, "data.augment.flip",
    );
  }
  const most = Math.floor(Math.min(height, width) / 2);
  if (spec.augment.pad_crop > most) {
    throw new DataError(
      `data.augment.pad_crop: ${spec.augment.pad_crop} pixels would shift a ${height}x${width} frame mostly out of view; expected at most ${most} (half the smaller side)`,
      undefined, "data.augment.pad_crop",
    );
  }
}

function createProducer(spec: DataSpec, shape: ClipShape, ctx: DataContext, rng: Rng, evalRng: Rng): Promise<ClipProducer> {
  const resolvePath = (p: string) => resolveUserPath(ctx.baseDir, p);
  switch (spec.kind) {
    case "moving-mnist":
      return createMovingMnist(spec, shape, ctx.classes, rng, evalRng);
    case "shapes":
      return Promise.resolve(createShapes(spec, shape, ctx.classes, rng, evalRng));
    case "npy":
      return createNpySource(spec, shape, ctx.classes, rng, resolvePath);
    case "video-folder":
      return createVideoFolder(spec, shape, ctx.classes, rng, resolvePath, resolvePath(ctx.cacheDir));
  }
}
