/**
 * The `data:` section of an experiment file. Owned by the data sources (src/data/); the experiment
 * schema (src/spec/experiment-spec.ts) embeds it. Keys common to every kind come first; their
 * names and meanings are fixed by docs/design/conventions.md.
 */
import { z } from "zod";

const finite = () => z.number().finite();

/** Per-channel normalisation applied after pixels are scaled to [0, 1]: (x - mean[c]) / std[c]. */
export const NormalizeSpec = z.strictObject({
  mean: z.array(finite()).min(1),
  std: z.array(finite().positive()).min(1),
});
export type NormalizeSpec = z.infer<typeof NormalizeSpec>;

/**
 * Training-clip augmentation, one draw per clip shared by all its frames (src/data/augment.ts).
 * Optional in `common` rather than defaulted, like eval_seed: a key with a default would enter
 * every resolved config and change every existing run's id.
 */
export const AugmentSpec = z.strictObject({
  /** Mirror each training clip left-right with probability 1/2. */
  flip: z.boolean().default(false),
  /** Shift each training clip by a random (dy, dx) in [-pad_crop, pad_crop]^2, zero pixels coming in (RandomCrop with padding). */
  pad_crop: z.number().int().min(0).max(1024).default(0),
  /**
   * Zoom each training clip in on a random window of area fraction s ~ U[min, max) of its frame,
   * the frame's aspect ratio, resized back bilinearly (RandomResizedCrop). Optional rather than
   * defaulted so that existing runs keep their ids; [1, 1] zooms nowhere (the clips of no
   * scale, under another run id, as a no-op augment's).
   */
  scale: z
    .tuple([finite(), finite()])
    .refine(([lo, hi]) => lo > 0 && lo <= hi && hi <= 1, "expected [min, max] area fractions with 0 < min <= max <= 1")
    .describe("[min, max]")
    .optional(),
});
export type AugmentSpec = z.infer<typeof AugmentSpec>;

/** `data.clip_length` where an experiment leaves it out. */
export const DEFAULT_CLIP_LENGTH = 16;

const common = {
  /** T: frames per clip as the model sees them. */
  clip_length: z.number().int().min(1).max(4096).default(DEFAULT_CLIP_LENGTH),
  /** Keep every k-th frame: larger strides make clips less smooth (the paper's knob). */
  frame_stride: z.number().int().min(1).max(1024).default(1),
  /** Permute the frames of every clip with a seeded permutation (the paper's no-smoothness control). */
  shuffle_frames: z.boolean().default(false),
  /** Order of training clips; false = file / index order. */
  shuffle: z.boolean().default(true),
  normalize: NormalizeSpec.nullable().default(null),
  /**
   * Seed of the evaluation clips: the generated kinds (moving-mnist, shapes) draw them from it,
   * and shuffle_frames permutes every kind's evaluation clips with it, so every seed of a sweep
   * is evaluated on the same clips. Absent: the run's seed. Optional rather than defaulted: a key with a default would enter every resolved
   * config and change every existing run's id.
   */
  eval_seed: z.number().int().min(0).optional(),
  /** Training clips zoomed, mirrored and shifted (absent: none). Evaluation clips never are. */
  augment: AugmentSpec.optional(),
  /** Batches prepared ahead of the one being trained on. */
  prefetch: z.number().int().min(0).max(64).default(2),
  /**
   * Worker threads that generate the clips (moving-mnist and shapes); absent or 0: the thread that
   * runs the training step does. The batches are the same either way. Optional rather than
   * defaulted, like eval_seed, so that existing runs keep their ids.
   */
  workers: z.number().int().min(0).max(64).optional(),
};

export const NpyDataSpec = z.strictObject({
  kind: z.literal("npy"),
  clips: z.string().min(1),
  labels: z.string().min(1),
  /** Held-out clips for evaluation. Without them, eval_on_train: true must say that evaluation uses the training clips. */
  eval_clips: z.string().min(1).optional(),
  eval_labels: z.string().min(1).optional(),
  /** Evaluate on the training clips, on purpose (only without eval_clips; marked in summary.json and eval.csv). */
  eval_on_train: z.boolean().default(false),
  /**
   * The name of each class by label (src/data/class-names.ts): a list, or a text file of one name
   * a line (relative to the experiment file; classes.txt as `sideways data` writes it). Video
   * folders take names from their folders and the generated kinds have fixed ones, so only npy
   * has the key. Names change no number: the run id leaves them out (resolved-config.ts).
   */
  class_names: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
  ...common,
});

/** [height, width] in pixels; null = the model input's. */
const frameSize = z.tuple([z.number().int().min(4), z.number().int().min(4)]).describe("[height, width]").nullable().default(null);
const speedRange = z
  .tuple([finite().min(0), finite().min(0)])
  .refine(([lo, hi]) => lo <= hi, "expected [min, max] with min <= max")
  .describe("[min, max]");

/**
 * The generated kinds' training set size: absent, every training clip is drawn anew (an endless
 * set); N, the run trains on N fixed clips, epoch after epoch. Optional, so existing runs keep their ids.
 */
// At most a million: a shuffled epoch holds a permutation of them (8 bytes a clip).
const trainClips = z.number().int().min(1).max(1_000_000).optional();

/** data.train_clips of a generated kind as generatedClips (src/data/clip.ts) takes it. */
export function finiteTrainingSet(spec: { train_clips?: number; shuffle: boolean }): { clips: number; shuffle: boolean } | undefined {
  return spec.train_clips === undefined ? undefined : { clips: spec.train_clips, shuffle: spec.shuffle };
}

export const ShapesDataSpec = z.strictObject({
  kind: z.literal("shapes"),
  frame_size: frameSize,
  /** Pixels per frame (before frame_stride). */
  speed: speedRange.default([0.5, 1.5]),
  train_clips: trainClips,
  ...common,
});

export const MovingMnistDataSpec = z.strictObject({
  kind: z.literal("moving-mnist"),
  /** digit: class = the first digit's value; direction: class = the first digit's motion bucket. */
  task: z.enum(["digit", "direction"]).default("digit"),
  digits: z.number().int().min(1).max(8).default(1),
  /** Digit side in pixels; null = min(28, half the smaller frame side). */
  digit_size: z.number().int().min(4).nullable().default(null),
  /**
   * Brightness of the digits after the first (the labelled one is drawn at 1.0): below 1 the
   * labelled digit is identifiable from the pixels alone.
   */
  distractor_intensity: finite().min(0).max(1).default(0.5),
  /** Number of direction buckets (classes) for task: direction. */
  directions: z.number().int().min(2).max(64).default(4),
  frame_size: frameSize,
  /** Pixels per frame (before frame_stride). */
  speed: speedRange.default([0.5, 1.5]),
  /** true: digits bounce off the frame edges; false: start positions keep every path inside. */
  bounce: z.boolean().default(true),
  train_clips: trainClips,
  ...common,
});

/** Official split files beside (or inside) the class folders. */
export const VideoSplitSpec = z.strictObject({
  /** ucf101: trainlistNN.txt / testlistNN.txt (+ classInd.txt); hmdb51: <class>_test_splitN.txt */
  format: z.enum(["ucf101", "hmdb51"]),
  /** Folder holding the split files (relative to the experiment file). */
  dir: z.string().min(1),
  /** Which official split (1-3). */
  index: z.number().int().min(1).max(9).default(1),
});
export type VideoSplitSpec = z.infer<typeof VideoSplitSpec>;

export const VideoFolderDataSpec = z.strictObject({
  kind: z.literal("video-folder"),
  /** One folder per class (UCF101 / HMDB51 layout). */
  root: z.string().min(1),
  split: VideoSplitSpec.nullable().default(null),
  /**
   * Without split files: share of each class's videos (last by name) held out for evaluation.
   * 0 = evaluate on the training videos (an explicit choice, marked in the results); a share that
   * holds out no video is an error.
   */
  eval_fraction: finite().min(0).max(0.9).default(0.2),
  /** Resample to this frame rate when decoding; null = the file's own frames. */
  fps: finite().positive().max(1000).nullable().default(null),
  /** Decode at most this many frames per video (after fps); null = all. */
  max_frames: z.number().int().min(1).nullable().default(null),
  extensions: z.array(z.string().regex(/^\.[A-Za-z0-9]+$/)).min(1)
    .default([".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v"]),
  /**
   * Decode frames at [height, width], at least the model input's: training clips take a random
   * window of the model's size (one per clip, every frame alike), evaluation clips the centre one,
   * as torchvision's RandomCrop / CenterCrop after a resize. Absent: decode at the model's size.
   * Optional, so existing runs keep their ids.
   */
  decode_size: z.tuple([z.number().int().min(4).max(4096), z.number().int().min(4).max(4096)]).describe("[height, width]").optional(),
  /**
   * Spatial crops per evaluation window, with decode_size: 1 (the centre) or 3 (the start, centre
   * and end of the longer side: three-crop testing). Each video's evaluation clips then cycle
   * through the crops of one temporal window before the next (eval.clips = windows x 3 x videos).
   */
  eval_crops: z.union([z.literal(1), z.literal(3)]).optional(),
  /** Skip (and count) videos ffmpeg cannot decode instead of failing. */
  skip_bad_files: z.boolean().default(false),
  /** ffmpeg processes decoding at once. */
  decode_concurrency: z.number().int().min(1).max(64).default(2),
  ...common,
});

export const DataSpec = z.discriminatedUnion("kind", [
  MovingMnistDataSpec,
  ShapesDataSpec,
  NpyDataSpec,
  VideoFolderDataSpec,
]);
export type DataSpec = z.infer<typeof DataSpec>;
export type NpyDataSpec = z.infer<typeof NpyDataSpec>;
export type ShapesDataSpec = z.infer<typeof ShapesDataSpec>;
export type MovingMnistDataSpec = z.infer<typeof MovingMnistDataSpec>;
export type VideoFolderDataSpec = z.infer<typeof VideoFolderDataSpec>;
