/**
 * The common middle of every data source: a producer yields raw clips (frames already sampled
 * with the frame stride), and `assembleBatch` turns a list of them into a ClipBatch, applying the
 * steps every kind shares: uint8 scaling to [0, 1], the seeded frame shuffle, normalisation, and
 * the training clips' augmentation (data.augment, src/data/augment.ts).
 */
import { Rng } from "../util/rng.js";
import { EpochOrder } from "./epoch-order.js";
import { cropScratch, drawTransform, transformClip, type ClipAugment } from "./augment.js";
import type { ClipBatch, ClipPixels, ShortVideo, SkippedFile } from "./source.js";
import type { NormalizeSpec } from "./data-spec.js";

/** One clip as a producer returns it: [T, C, H, W]; uint8 pixels mean value/255. */
export interface RawClip {
  pixels: Uint8Array | Float32Array;
  label: number;
}

/** The two streams of clips a producer makes. */
export type ClipStream = "train" | "eval";

export interface ClipProducer {
  readonly description: string;
  /** Training clip number `index` of the run (0, 1, 2, ... across epochs). */
  trainClip(index: number): Promise<RawClip>;
  /** How many evaluation clips exist when `requested` are asked for (at most `requested`). */
  evalCount(requested: number): number;
  /** Evaluation clip `index` of a set of `count` clips (fixed: the same every call). */
  evalClip(index: number, count: number): Promise<RawClip>;
  /**
   * Where several evaluation clips come from one video (video-folder): the video evaluation clip
   * `index` of `count` comes from, numbered from 0, for video-level accuracy (train/evaluate.ts).
   */
  evalVideo?(index: number, count: number): number;
  /** What a run evaluating `count` clips should be told about how they fall on the videos (video-folder's crops), or null. */
  evalNote?(count: number): string | null;
  /** The name of each class by label, where the source knows them (video-folder's class folders, digits, shape kinds). */
  readonly classNames?: readonly string[];
  /** What a run should be told about the data as read (npy float clips that look like unscaled 8-bit pixels); absent: nothing. */
  readonly notes?: readonly string[];
  /** Unreadable files skipped so far, with why. */
  skippedFiles(): readonly SkippedFile[];
  /** Videos read so far that are shorter than a clip's span (absent: none can be). */
  shortVideos?(): readonly ShortVideo[];
  /** True when evaluation uses the training clips (chosen explicitly, or npy without eval_clips). */
  readonly evalIsTrain: boolean;
  /** How many distinct training clips there are, where a batch of more repeats some (npy); absent where every clip is drawn anew. */
  readonly trainClips?: number;
  /** True when every training clip's pixels are 8-bit (Uint8Array). */
  readonly uint8Pixels: boolean;
  /**
   * Where a producer makes many clips at once faster than one by one (data workers): clips
   * first..first+count-1 of `stream`, in order; evalTotal as evalClip's `count`.
   */
  clipRange?(stream: ClipStream, first: number, count: number, evalTotal: number): Promise<RawClip[]>;
  /**
   * Where a producer makes whole training batches elsewhere (data workers): the pixels [B, T, C,
   * H, W] of clips first..first+count-1, frames in the batch's order (assembleBatch's), and labels.
   */
  trainPixelBatch?(first: number, count: number): Promise<{ pixels: Uint8Array; labels: Int32Array }>;
  /** Where clipRange's or trainPixelBatch's memory can be filled again: it, read, with no view of it kept. */
  recycle?(clips: readonly { pixels: ArrayBufferView }[]): void;
  /** True when trainClip and evalClip compute in the calling thread and await no I/O (their time is that thread's). */
  readonly synchronous?: boolean;
  close(): Promise<void>;
}

/**
 * A producer of clips drawn from random streams (moving-mnist, shapes): clip `index` of a stream
 * is rendered from its own fork of that stream's generator, so any clip can be made alone, in any
 * order and in any thread (data workers), and is the same every time. 8-bit, in this thread.
 * With `finite` (data.train_clips), training clip `index` of the run is one of a fixed set of
 * `finite.clips` clips, epoch after epoch (in a seeded order each epoch where `finite.shuffle`):
 * a training set of known size, for studies of overfitting and augmentation.
 */
export function generatedClips(
  description: string,
  rng: Rng,
  evalRng: Rng,
  render: (clipRng: Rng, stream: ClipStream) => RawClip,
  finite?: { clips: number; shuffle: boolean },
): ClipProducer {
  const make = (stream: ClipStream, index: number) => render((stream === "eval" ? evalRng : rng).fork(stream).fork(index), stream);
  const order = finite === undefined ? null : new EpochOrder(finite.clips, finite.shuffle, rng.fork("order"));
  return {
    description: finite === undefined ? description : description.replace(/\)$/, `, ${finite.clips} training clips)`),
    trainClip: async (index) => make("train", order === null ? index : order.at(index)),
    evalCount: (requested) => requested,
    evalClip: async (index) => make("eval", index),
    skippedFiles: () => [],
    evalIsTrain: false,
    ...(finite === undefined ? {} : { trainClips: finite.clips }),
    uint8Pixels: true,
    synchronous: true,
    close: async () => undefined,
  };
}

/** Clip `index` of `stream` from `producer` (evalTotal: the evaluation set's size, evalClip's `count`). */
export function clipOf(producer: ClipProducer, stream: ClipStream, index: number, evalTotal: number): Promise<RawClip> {
  return stream === "train" ? producer.trainClip(index) : producer.evalClip(index, evalTotal);
}

export interface ClipShape {
  frames: number;
  channels: number;
  height: number;
  width: number;
}

export interface Preprocess {
  shuffleFrames: boolean;
  normalize: NormalizeSpec | null;
  /** Root of the training clips' frame-shuffle permutations (one fork per clip). */
  rng: Rng;
  /** The same for the evaluation clips (data.eval_seed's, or `rng` itself). */
  evalRng: Rng;
  /** data.augment: the training clips' resized crops, flips and shifts; absent or null: none. */
  augment?: ClipAugment | null;
}

/** The frame order of one clip: identity, or a seeded permutation when frames are shuffled. */
export function frameOrder(frames: number, pre: Preprocess, stream: string, index: number): number[] {
  const order = Array.from({ length: frames }, (_, t) => t);
  return pre.shuffleFrames ? (stream === "eval" ? pre.evalRng : pre.rng).fork(stream).fork(index).shuffle(order) : order;
}

/**
 * Builds one batch from raw clips. `stream` ("train" / "eval") and `firstIndex` pick each clip's
 * frame permutation so that it depends only on the seed and the clip's position in its stream.
 * Where every clip is 8-bit, the batch carries those pixels too (ClipBatch.pixels), and its float
 * clips are computed from them as a GPU graph does: a float32 multiply, then a float32 add
 * (Math.fround of a float64 product or sum of two float32 values is the float32 result), on first
 * read: a device step taking the pixels (CUDA) never reads them, and they cost 4-11 ms of this
 * thread, the one that runs the step, per batch of 256 x 8 frames of 32 x 32 (docs/PERFORMANCE.md
 * attempt 71).
 */
export function assembleBatch(
  clips: readonly RawClip[],
  shape: ClipShape,
  pre: Preprocess,
  stream: string,
  firstIndex: number,
  /** Where the clips are 8-bit: memory of a released batch to hold this one's pixels (ClipSource's or a data worker's spares). */
  reuse?: Uint8Array,
): ClipBatch {
  const { frames, channels, height, width } = shape;
  const plane = height * width;
  const frameSize = channels * plane;
  const clipSize = frames * frameSize;
  const labels = new Int32Array(clips.length);
  const mean = pre.normalize?.mean ?? new Array<number>(channels).fill(0);
  const std = pre.normalize?.std ?? new Array<number>(channels).fill(1);
  const eightBit = clips.filter((c) => c.pixels instanceof Uint8Array).length;
  if (eightBit > 0 && eightBit < clips.length) throw new Error("BUG: a batch mixes 8-bit and float clips");
  if (reuse && reuse.length !== clips.length * clipSize) throw new Error(`BUG: reused pixel memory of ${reuse.length} bytes for a batch of ${clips.length * clipSize}`);
  const bytes = eightBit > 0 ? (reuse ?? new Uint8Array(clips.length * clipSize)) : null;
  const out = bytes ? null : new Float32Array(clips.length * clipSize);
  clips.forEach((clip, b) => {
    if (clip.pixels.length !== clipSize) {
      throw new Error(`BUG: clip has ${clip.pixels.length} values, expected ${clipSize} for [${frames},${channels},${height},${width}]`);
    }
    labels[b] = clip.label;
  });
  if (bytes && !pre.shuffleFrames) copyClipRuns(clips as readonly { pixels: Uint8Array }[], bytes, clipSize);
  else {
    clips.forEach((clip, b) => {
      const order = frameOrder(frames, pre, stream, firstIndex + b);
      for (let t = 0; t < frames; t++) {
        const src = order[t]! * frameSize;
        const dst = b * clipSize + t * frameSize;
        if (bytes) {
          bytes.set(clip.pixels.subarray(src, src + frameSize) as Uint8Array, dst);
          continue;
        }
        for (let c = 0; c < channels; c++) {
          const m = mean[c]!;
          const invStd = 1 / std[c]!;
          const base = c * plane;
          for (let i = 0; i < plane; i++) out![dst + base + i] = clip.pixels[src + base + i]! * invStd - m * invStd;
        }
      }
    });
  }
  if (stream === "train" && pre.augment) augmentBatch((bytes ?? out)!, clips.length, shape, pre.augment, firstIndex, bytes ? () => 0 : (p) => normalisedZero(mean[p % channels]!, std[p % channels]!));
  if (!bytes) return { clips: out!, labels, dims: [clips.length, frames, channels, height, width] };
  return pixelBatch(bytes, labels, shape, pre);
}

/** A 0 pixel normalised as the float path above computes it (x * invStd - m * invStd). */
function normalisedZero(m: number, s: number): number {
  const invStd = 1 / s;
  return 0 * invStd - m * invStd;
}

/**
 * Each of a batch's `count` clips (training clips firstIndex, firstIndex + 1, ...) zoomed, flipped
 * and shifted in place by its own draw; `fill(p)`: the value of a pixel from outside plane p of a
 * clip. One scratch plane for the whole batch where the draws zoom.
 */
function augmentBatch(data: Uint8Array | Float32Array, count: number, shape: ClipShape, aug: ClipAugment, firstIndex: number, fill: (plane: number) => number): void {
  const planes = shape.frames * shape.channels;
  const size = shape.height * shape.width;
  const scratch = aug.scale === null ? undefined : cropScratch(shape.height, shape.width);
  for (let b = 0; b < count; b++) {
    transformClip(data, b * planes * size, planes, shape.height, shape.width, drawTransform(aug, firstIndex + b, shape.height, shape.width), fill, scratch);
  }
}

/**
 * A batch of 8-bit clips from its pixels [B, T, C, H, W] (frames in the batch's order) and labels,
 * assembled here or by a data worker: the pixels' per-channel scale and shift, and the float
 * clips made from them on first read.
 */
export function pixelBatch(bytes: Uint8Array, labels: Int32Array, shape: ClipShape, pre: Preprocess): ClipBatch {
  const { frames, channels, height, width } = shape;
  const mean = pre.normalize?.mean ?? new Array<number>(channels).fill(0);
  const std = pre.normalize?.std ?? new Array<number>(channels).fill(1);
  const dims: ClipBatch["dims"] = [labels.length, frames, channels, height, width];
  if (bytes.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`BUG: ${bytes.length} pixels for a batch of [${dims}]`);
  const pixels = { data: bytes, scale: Float32Array.from(std, (s) => 1 / (255 * s)), shift: Float32Array.from(mean, (m, c) => -m / std[c]!) };
  let floats: Float32Array | undefined;
  const batch = { labels, dims, pixels } as ClipBatch;
  // Enumerable, so that a spread or a structured clone of the batch carries the float clips too.
  Object.defineProperty(batch, "clips", { enumerable: true, configurable: true, get: () => (floats ??= floatClips(pixels, height * width)) });
  return batch;
}

/**
 * Unshuffled 8-bit clips into a batch, one copy per run of clips that lie back to back in one
 * buffer (a data worker's share of a batch is one), else one per clip.
 */
function copyClipRuns(clips: readonly { pixels: Uint8Array }[], bytes: Uint8Array, clipSize: number): void {
  for (let b = 0; b < clips.length; ) {
    const first = clips[b]!.pixels;
    let end = b + 1;
    while (end < clips.length) {
      const next = clips[end]!.pixels;
      if (next.buffer !== first.buffer || next.byteOffset !== first.byteOffset + (end - b) * clipSize) break;
      end += 1;
    }
    bytes.set(new Uint8Array(first.buffer, first.byteOffset, (end - b) * clipSize), b * clipSize);
    b = end;
  }
}

/** The float clips of 8-bit pixels [B, T, C, H, W] (ClipPixels' formula), planes of `plane` values. */
function floatClips({ data, scale, shift }: ClipPixels, plane: number): Float32Array {
  const out = new Float32Array(data.length);
  const channels = scale.length;
  for (let start = 0; start < data.length; start += plane) {
    const c = (start / plane) % channels;
    const [k, d] = [scale[c]!, shift[c]!];
    for (let i = start; i < start + plane; i++) out[i] = Math.fround(data[i]! * k) + d;
  }
  return out;
}
