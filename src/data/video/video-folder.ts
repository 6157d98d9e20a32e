/**
 * Real videos in class folders (UCF101 / HMDB51 layout), decoded by ffmpeg and cached on disk.
 *
 * A clip is `clip_length` frames, `frame_stride` apart, of the decoded video (after the optional
 * fps resampling). Training clips start at a random frame (seeded by the clip's index in the run);
 * evaluation clip i takes video i mod V and, of the ceil(count / V) windows spread uniformly over
 * that video, window floor(i / V), so evaluating k V clips gives each video k windows (video-level
 * accuracy averages them: evalVideo). Videos shorter than a clip's span repeat their last frame; each
 * is recorded once (the run logs it and lists it in summary.json's short_videos).
 * With data.decode_size larger than the model input, frames are decoded at that size and each
 * clip is a window of the model's size: random per training clip (every frame alike), the centre
 * for evaluation clips, or with eval_crops: 3 three crops along the longer side (centre, start,
 * end): a video's view floor(i / V) is temporal window floor(view / 3) at crop view mod 3.
 * With skip_bad_files an unreadable video is recorded once (file and why: the run logs it and
 * lists it in summary.json) and replaced by the next readable one of its class in the list.
 */
import { DataError } from "../../errors.js";
import type { Rng } from "../../util/rng.js";
import type { ClipProducer, ClipShape, RawClip } from "../clip.js";
import type { VideoFolderDataSpec } from "../data-spec.js";
import { EpochOrder } from "../epoch-order.js";
import { findFfmpegTools } from "./ffmpeg-tools.js";
import { UnreadableVideoError } from "./decode.js";
import { FrameCache, type CachedVideo } from "./frame-cache.js";
import { indexVideos, type LabelledVideo } from "./video-index.js";

export async function createVideoFolder(
  spec: VideoFolderDataSpec,
  shape: ClipShape,
  classes: number,
  rng: Rng,
  resolvePath: (p: string) => string,
  cacheDir: string,
): Promise<ClipProducer & { cache: FrameCache }> {
  if (shape.channels !== 1 && shape.channels !== 3) {
    throw new DataError(`data.kind: video-folder gives 1 (grayscale) or 3 (RGB) channels, the model input has ${shape.channels}`, undefined, "data.kind");
  }
  const decoded = decodeSize(spec, shape);
  const root = resolvePath(spec.root);
  const index = await indexVideos(spec, root, spec.split === null ? null : resolvePath(spec.split.dir));
  if (index.classNames.length !== classes) {
    const names = index.classNames.slice(0, 6).join(", ") + (index.classNames.length > 6 ? ", ..." : "");
    throw new DataError(`${root} (data.root): ${index.classNames.length} classes (${names}), the model has ${classes}`, root, "data.root");
  }
  if (index.evalIsTrain && spec.split === null && spec.eval_fraction > 0) {
    const fewest = Math.min(...index.classNames.map((_, label) => index.train.filter((v) => v.label === label).length));
    throw new DataError(
      `${root} (data.eval_fraction): eval_fraction ${spec.eval_fraction} holds out no video (the smallest class has ${fewest}; ` +
        `holding one out needs ${Math.max(2, Math.ceil(1 / spec.eval_fraction))} per class); set data.eval_fraction: 0 to evaluate on ` +
        "the training videos (marked eval_on_train in summary.json and eval.csv), add videos, or give split files",
      root, "data.eval_fraction",
    );
  }
  const span = (shape.frames - 1) * spec.frame_stride + 1;
  if (spec.max_frames !== null && spec.max_frames < span) {
    // Shorter videos repeat their last frame (clipFrom); with max_frames below a clip's span every
    // clip would, which is a setting to fix, not data to train on.
    throw new DataError(
      `data.max_frames: ${spec.max_frames} frames per video, but a clip spans ${span} (clip_length ${shape.frames}, frame_stride ` +
        `${spec.frame_stride}), so every clip would end in copies of its last frame; expected max_frames >= ${span} or null`,
      undefined, "data.max_frames",
    );
  }
  const tools = await findFfmpegTools();
  const cache = new FrameCache(
    cacheDir, tools,
    { height: decoded.height, width: decoded.width, channels: shape.channels, fps: spec.fps, maxFrames: spec.max_frames },
    spec.decode_concurrency,
  );
  const bad = new Map<string, string>();

  /**
   * The video at `position` of `list`, or with skip_bad_files the next readable one of the same
   * class (then of any class, if none of its class can be read): a replacement from another class
   * would shift the class balance, and in the evaluation list (interleaved by class) it would
   * count the next class's video twice.
   */
  const readable = async (list: LabelledVideo[], which: "training" | "evaluation", position: number): Promise<{ video: CachedVideo; label: number }> => {
    const wanted = list[position % list.length]!.label;
    for (const sameClass of [true, false]) {
      for (let k = 0; k < list.length; k++) {
        const item = list[(position + k) % list.length]!;
        if (bad.has(item.file) || (sameClass && item.label !== wanted)) continue;
        try {
          return { video: await cache.get(item.file), label: item.label };
        } catch (err) {
          if (!spec.skip_bad_files || !(err instanceof DataError)) throw err;
          // Recorded with the file (summary.json, the run's log): the reason alone, without the
          // message's hint to turn skip_bad_files on.
          bad.set(item.file, err instanceof UnreadableVideoError ? err.reason : err.message);
        }
      }
    }
    const some = list.slice(0, 3).map((v) => `${v.file}: ${bad.get(v.file)}`).join("; ");
    throw new DataError(`${root} (data.root): none of the ${list.length} ${which} videos could be decoded (skip_bad_files skipped them all: ${some}${list.length > 3 ? "; ..." : ""})`, root, "data.root");
  };
  const short = new Map<string, number>();
  const clipFrom = async (video: CachedVideo, label: number, start: number, window: Window): Promise<RawClip> => {
    if (video.frames < span) short.set(video.file, video.frames);
    const frames = Array.from({ length: shape.frames }, (_, t) => Math.min(start + t * spec.frame_stride, video.frames - 1));
    const pixels = await cache.readFrames(video, frames);
    return { pixels: decoded.cropped ? cropFrames(pixels, shape, decoded, window) : pixels, label };
  };
  const centre: Window = { y: Math.floor((decoded.height - shape.height) / 2), x: Math.floor((decoded.width - shape.width) / 2) };
  const crops = evalCrops(spec, decoded);

  const order = new EpochOrder(index.train.length, spec.shuffle, rng.fork("order"));
  // A class with too few videos for eval_fraction to hold one out is never evaluated: say which.
  const unheld = index.evalIsTrain ? [] : index.classNames.filter((_, label) => !index.eval.some((v) => v.label === label));
  const unheldText = unheld.length === 0 ? "" : ` (none of class${unheld.length === 1 ? "" : "es"} ${unheld.slice(0, 3).join(", ")}${unheld.length > 3 ? ", ..." : ""}: too few videos)`;
  const splitText = spec.split === null
    ? (index.evalIsTrain ? "eval = the training videos (eval_fraction: 0)" : `${index.eval.length} held out${unheldText}`)
    : `${spec.split.format} split ${spec.split.index}, ${index.eval.length} test`;
  return {
    cache,
    classNames: index.classNames,
    description:
      `video-folder (${root}: ${classes} classes, ${index.train.length} train videos, ${splitText}, ` +
      `${shape.height}x${shape.width}x${shape.channels}${decoded.cropped ? ` windows of frames decoded at ${decoded.height}x${decoded.width} (random in training, ${crops === 1 ? "the centre" : `${crops} along the longer side`} in evaluation)` : ""}, T=${shape.frames}, stride ${spec.frame_stride}` +
      `${spec.fps !== null ? `, ${spec.fps} fps` : ""}${spec.shuffle_frames ? ", shuffled frames" : ""})`,
    async trainClip(i) {
      const { video, label } = await readable(index.train, "training", order.at(i));
      const start = rng.fork("start").fork(i).int(Math.max(video.frames - span + 1, 1));
      const draw = rng.fork("window").fork(i);
      return clipFrom(video, label, start, decoded.cropped ? { y: draw.int(decoded.height - shape.height + 1), x: draw.int(decoded.width - shape.width + 1) } : centre);
    },
    evalCount: (requested) => requested,
    evalNote: (count) => {
      // Three-crop testing cycles each video through its crops: a count that is no multiple of
      // 3 x the videos leaves some videos with fewer crops (and the last views at start crops).
      const videos = index.eval.length;
      if (crops === 1 || count % (crops * videos) === 0) return null;
      const whole = Math.max(1, Math.round(count / (crops * videos)));
      return `eval.clips is ${count}: with data.eval_crops ${crops} and ${videos} evaluation videos, some videos get fewer crops than others; eval.clips=${whole * crops * videos} gives each ${whole === 1 ? "one temporal window" : `${whole} temporal windows`} in all ${crops} crops`;
    },
    // The eval list's position (a skipped unreadable video's replacement stands in for it).
    evalVideo: (i) => i % index.eval.length,
    async evalClip(i, count) {
      const videos = index.eval.length;
      const { video, label } = await readable(index.eval, "evaluation", i % videos);
      // View floor(i / V) of its video: temporal window floor(view / crops), spatial crop view mod crops.
      const view = Math.floor(i / videos);
      const windows = Math.ceil(Math.ceil(count / videos) / crops);
      const slack = Math.max(video.frames - span, 0);
      const start = Math.min(Math.floor(((Math.floor(view / crops) + 0.5) * (slack + 1)) / windows), slack);
      return clipFrom(video, label, start, crops === 1 ? centre : spatialCrop(view % crops, shape, decoded));
    },
    skippedFiles: () => [...bad].map(([file, reason]) => ({ file, reason })),
    shortVideos: () => [...short].map(([file, frames]) => ({ file, frames, span })),
    evalIsTrain: index.evalIsTrain,
    uint8Pixels: true,
    close: async () => undefined,
  };
}

/** Where a clip's frames are cut from decoded frames larger than the model's (data.decode_size): the top-left corner. */
interface Window {
  y: number;
  x: number;
}

/** The size frames are decoded at, and whether clips are windows of them: an exit-2 error for a size below the model's. */
function decodeSize(spec: VideoFolderDataSpec, shape: ClipShape): { height: number; width: number; cropped: boolean } {
  const [height, width] = spec.decode_size ?? [shape.height, shape.width];
  if (height < shape.height || width < shape.width) {
    throw new DataError(
      `data.decode_size: [${height}, ${width}] is smaller than the model input ${shape.height}x${shape.width}; expected at least [${shape.height}, ${shape.width}] (clips are windows of the decoded frames) or the key left out`,
      undefined, "data.decode_size",
    );
  }
  return { height, width, cropped: height !== shape.height || width !== shape.width };
}

/** Frames [T, C, decoded.height, decoded.width] cut to [T, C, shape.height, shape.width] at `window`. */
function cropFrames(pixels: Uint8Array, shape: ClipShape, decoded: { height: number; width: number }, window: Window): Uint8Array {
  const out = new Uint8Array(shape.frames * shape.channels * shape.height * shape.width);
  const planes = shape.frames * shape.channels;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < shape.height; y++) {
      const src = (p * decoded.height + window.y + y) * decoded.width + window.x;
      out.set(pixels.subarray(src, src + shape.width), (p * shape.height + y) * shape.width);
    }
  }
  return out;
}

/** Where evaluation crop k sits along the longer side, in halves of its spare pixels: centre, start, end. */
const CROP_HALVES = [1, 0, 2];

/** data.eval_crops, checked against the decode: several crops need frames larger than the model input. */
function evalCrops(spec: VideoFolderDataSpec, decoded: { height: number; width: number; cropped: boolean }): number {
  const crops = spec.eval_crops ?? 1;
  if (crops > 1 && !decoded.cropped) {
    throw new DataError(
      `data.eval_crops: ${crops} crops per evaluation window need frames decoded larger than the model input, but they are decoded at its size; expected data.decode_size larger than the input (e.g. [72, 96] for 64x64) or eval_crops: 1`,
      undefined, "data.eval_crops",
    );
  }
  return crops;
}

/**
 * Evaluation crop k of 3 (SlowFast's and X3D's three-crop testing): the centre, the start and the
 * end of the longer spare side (centre, left, right of a landscape frame), centred on the other.
 * The centre comes first so that evaluating fewer clips than 3 per video still takes centre crops.
 */
function spatialCrop(k: number, shape: ClipShape, decoded: { height: number; width: number }): Window {
  const [spareY, spareX] = [decoded.height - shape.height, decoded.width - shape.width];
  const along = (spare: number) => Math.floor((CROP_HALVES[k]! * spare) / 2);
  return spareX >= spareY ? { y: Math.floor(spareY / 2), x: along(spareX) } : { y: along(spareY), x: Math.floor(spareX / 2) };
}
