/**
 * Clips users bring from their own pipelines (docs/design/conventions.md): clips float32, or
 * uint8 scaled to [0, 1], shaped [N, T, C, H, W]; labels integer [N]. A clip's frames are
 * 0, s, 2s, ... (s = frame_stride), the first clip_length of them. Training visits the clips
 * epoch by epoch, shuffled or in file order; evaluation uses eval_clips/eval_labels when given,
 * else the training clips, in file order. Classes are named where data.class_names names them
 * (class-names.ts).
 */
import { existsSync, statSync } from "node:fs";
import { DataError, DataSettingError } from "../errors.js";
import { readClassNames } from "./class-names.js";
import { fileDigest } from "../util/file-digest.js";
import type { Rng } from "../util/rng.js";
import type { ClipProducer, ClipShape, RawClip } from "./clip.js";
import { DEFAULT_CLIP_LENGTH, type NpyDataSpec } from "./data-spec.js";
import { EpochOrder } from "./epoch-order.js";
import { formatShape, readNpy } from "./npy.js";

interface ClipTable {
  file: string;
  pixels: Uint8Array | Float32Array;
  /** Frames per clip in the file. */
  fileFrames: number;
  labels: Int32Array;
  /** What a run should be told about the file's values (float clips that look like unscaled 8-bit pixels), or null. */
  note: string | null;
}

export async function createNpySource(
  spec: NpyDataSpec,
  shape: ClipShape,
  classes: number,
  rng: Rng,
  resolvePath: (p: string) => string,
): Promise<ClipProducer> {
  if ((spec.eval_clips === undefined) !== (spec.eval_labels === undefined)) {
    throw new DataError("data: eval_clips and eval_labels go together (give both or neither)", undefined, "data.eval_clips");
  }
  // Checked before the clips are read: a name short fails at once, not after a large file.
  const classNames = spec.class_names === undefined ? undefined : readClassNames(spec.class_names, classes, resolvePath);
  const train = await readTable(resolvePath(spec.clips), resolvePath(spec.labels), "clips", shape, classes, spec.frame_stride);
  if (spec.eval_clips !== undefined && existsSync(resolvePath(spec.eval_clips)) && sameFileContents(resolvePath(spec.clips), resolvePath(spec.eval_clips))) {
    throw new DataError(
      `data.eval_clips: ${spec.eval_clips} holds the same clips as data.clips (${spec.clips}): evaluation would be on the training clips while the run records held-out ones; give held-out clips, or leave eval_clips and eval_labels out and set data.eval_on_train: true`,
      // A setting of the experiment, not a fault of either file: the experiment file is named (errors.ts nameExperimentFile).
      undefined,
      "data.eval_clips",
    );
  }
  const evalSet = spec.eval_clips !== undefined && spec.eval_labels !== undefined
    ? await readTable(resolvePath(spec.eval_clips), resolvePath(spec.eval_labels), "eval_clips", shape, classes, spec.frame_stride)
    : train;
  // Evaluating on the training clips is a choice the config states (issue 15), checked once the files are known good.
  if (evalSet === train && !spec.eval_on_train) {
    throw new DataError(
      "data: without eval_clips, evaluation would use the training clips; give data.eval_clips and data.eval_labels (held-out clips), or set data.eval_on_train: true to evaluate on the training clips on purpose",
      undefined,
      "data.eval_on_train",
    );
  }
  if (evalSet !== train && spec.eval_on_train) {
    throw new DataError("data.eval_on_train: expected false (or no key) when data.eval_clips gives held-out clips", undefined, "data.eval_on_train");
  }
  const order = new EpochOrder(train.labels.length, spec.shuffle, rng.fork("order"));
  const clipAt = (table: ClipTable, n: number): RawClip => {
    const { channels, height, width, frames } = shape;
    const frameSize = channels * height * width;
    const pixels = table.pixels instanceof Uint8Array ? new Uint8Array(frames * frameSize) : new Float32Array(frames * frameSize);
    for (let t = 0; t < frames; t++) {
      const from = (n * table.fileFrames + t * spec.frame_stride) * frameSize;
      pixels.set(table.pixels.subarray(from, from + frameSize), t * frameSize);
    }
    return { pixels, label: table.labels[n]! };
  };
  return {
    description: `npy (${train.labels.length} clips from ${spec.clips}${evalSet === train ? ", eval = the training clips (no eval_clips)" : `, ${evalSet.labels.length} eval clips`}, T=${shape.frames}, stride ${spec.frame_stride}${spec.shuffle ? "" : ", file order"}${spec.shuffle_frames ? ", shuffled frames" : ""})`,
    trainClip: async (index) => clipAt(train, order.at(index)),
    evalCount: (requested) => Math.min(requested, evalSet.labels.length),
    evalClip: async (index) => clipAt(evalSet, index),
    skippedFiles: () => [],
    evalIsTrain: evalSet === train,
    trainClips: train.labels.length,
    uint8Pixels: train.pixels instanceof Uint8Array,
    // With data.normalize the user has chosen a scale for the values: no note about them.
    notes: spec.normalize ? [] : [...new Set([train.note, evalSet.note].filter((n) => n !== null))],
    synchronous: true,
    ...(classNames === undefined ? {} : { classNames }),
    close: async () => undefined,
  };
}

async function readTable(
  clipsFile: string,
  labelsFile: string,
  key: string,
  shape: ClipShape,
  classes: number,
  stride: number,
): Promise<ClipTable> {
  const clips = await readNpy(clipsFile, `data.${key}`);
  const labelKey = key === "clips" ? "labels" : "eval_labels";
  const [n, fileFrames, c, h, w] = clips.shape;
  if (clips.shape.length !== 5 || n === undefined || fileFrames === undefined) {
    // Grayscale clips saved without their channel axis ([N, T, H, W]) for a one-channel model.
    const noChannelAxis = clips.shape.length === 4 && shape.channels === 1 && clips.shape[2] === shape.height && clips.shape[3] === shape.width;
    const hint = noChannelAxis ? ` (the file looks like grayscale clips without a channel axis, [N, T, H, W]; numpy: clips[:, :, None] adds it)` : "";
    throw new DataError(`${clipsFile} (data.${key}): clips have shape ${formatShape(clips.shape)}, expected 5 dimensions [N, T, C, H, W]${hint}`, clipsFile, `data.${key}`);
  }
  if (c !== shape.channels || h !== shape.height || w !== shape.width) {
    // Clips saved channels-last ([N, T, H, W, C], as images usually are) read as C=H, H=W, W=C.
    const channelsLast = c === shape.height && h === shape.width && w === shape.channels;
    const hint = channelsLast ? `: the file looks channels-last [N, T, H, W, C]; expected [N, T, C, H, W] (numpy: clips.transpose(0, 1, 4, 2, 3))` : "";
    throw new DataError(
      `${clipsFile} (data.${key}): frames are [C=${c}, H=${h}, W=${w}], the model input is [${shape.channels}, ${shape.height}, ${shape.width}]${hint}`,
      clipsFile, `data.${key}`,
    );
  }
  const span = (shape.frames - 1) * stride + 1;
  if (fileFrames < span) {
    // The longest clip the file's clips hold; a user who never wrote clip_length meets its default
    // (said only where the value is the default: another value was written, and the note would mislead).
    const longest = Math.floor((fileFrames - 1) / stride) + 1;
    const byDefault = shape.frames === DEFAULT_CLIP_LENGTH ? ` (${DEFAULT_CLIP_LENGTH} is also data.clip_length's default, taken where the experiment does not set it)` : "";
    const fix = fileFrames === 0 ? "" : `: set data.clip_length to ${longest} or less${stride > 1 ? `, or a smaller data.frame_stride` : ""}${byDefault}`;
    throw new DataSettingError(
      `${clipsFile} (data.${key}): clips have ${fileFrames} frames; data.clip_length ${shape.frames} with data.frame_stride ${stride} needs ${span}${fix}`,
      clipsFile, "data.clip_length", ["data.frame_stride"],
    );
  }
  if (n < 1) throw new DataError(`${clipsFile} (data.${key}): the file holds no clips`, clipsFile, `data.${key}`);
  let pixels: Uint8Array | Float32Array;
  if (clips.data instanceof Uint8Array || clips.data instanceof Float32Array) pixels = clips.data;
  // numpy's default float is float64: say the conversion rather than only the dtype.
  else throw new DataError(`${clipsFile} (data.${key}): dtype ${clips.dtype}, expected float32 (f4) or uint8 (u1)${clips.dtype === "f8" ? " (numpy: np.save(path, clips.astype(np.float32)))" : ""}`, clipsFile, `data.${key}`);
  if (pixels instanceof Float32Array) checkFinite(pixels, clipsFile, key, [fileFrames, c!, h!, w!]);
  const note = pixels instanceof Float32Array && looksLikeUnscaledPixels(pixels) ? unscaledPixelsNote(clipsFile, key) : null;

  const labels = await readNpy(labelsFile, `data.${labelKey}`);
  if (labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new DataError(`${labelsFile} (data.${labelKey}): labels have shape ${formatShape(labels.shape)}, expected ${formatShape([n])} to match the clips`, labelsFile, `data.${labelKey}`);
  }
  if (labels.data instanceof Float32Array || labels.data instanceof Float64Array) {
    throw new DataError(`${labelsFile} (data.${labelKey}): dtype ${labels.dtype}, expected integers (int64, int32 or uint8) (numpy: np.save(path, labels.astype(np.int64)))`, labelsFile, `data.${labelKey}`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(labels.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new DataError(
        `${labelsFile} (data.${labelKey}): label ${v} at index ${i} is out of range, expected 0..${classes - 1} (the model has ${classes} classes)`,
        labelsFile, `data.${labelKey}`,
      );
    }
    out[i] = v;
  }
  return { file: clipsFile, pixels, fileFrames, labels: out, note };
}

/**
 * A NaN or infinity in the clips is named where it enters (file, clip, frame, channel, pixel)
 * rather than surfacing later as a non-finite loss that looks like a too-high learning rate.
 */
function checkFinite(pixels: Float32Array, file: string, key: string, [frames, channels, height, width]: number[]): void {
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v - v === 0) continue; // finite (NaN - NaN and inf - inf are NaN)
    const pixel = i % (height * width);
    const channel = Math.floor(i / (height * width)) % channels;
    const frame = Math.floor(i / (channels * height * width)) % frames;
    const clip = Math.floor(i / (frames * channels * height * width));
    throw new DataError(
      `${file} (data.${key}): clip ${clip}, frame ${frame} holds ${Number.isNaN(v) ? "NaN" : v} ` +
        `(channel ${channel}, row ${Math.floor(pixel / width)}, column ${pixel % width}); expected finite values`,
      file, `data.${key}`,
    );
  }
}

/**
 * Float clips of whole numbers in 0..255, some above 1: 8-bit pixels saved as float32 without the
 * division by 255 (`clips.astype(np.float32)`). The trainer takes float clips as stored and scales
 * only uint8 ones, so such clips reach the model 255 times too large, which trains badly or not
 * at all without a word. Clips scaled to [0, 1] or standardised are never all whole numbers.
 */
export function looksLikeUnscaledPixels(pixels: Float32Array): boolean {
  let above1 = false;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v < 0 || v > 255 || !Number.isInteger(v)) return false;
    if (v > 1) above1 = true;
  }
  return above1;
}

function unscaledPixelsNote(file: string, key: string): string {
  return `${file} (data.${key}): float32 clips of whole numbers 0..255 look like 8-bit pixels not divided by 255; ` +
    "float32 clips are used as stored (only uint8 clips are scaled to [0, 1]), so the model sees values up to 255: " +
    "save them as uint8 (numpy: clips.astype(np.uint8)) or divided by 255, or set data.normalize (the mean and std per channel on this 0..255 scale), which silences this note";
}

/**
 * Whether two paths hold the same bytes: one file (the same path, a link to it) or a copy. Sizes
 * are compared before any byte is read, so only files of equal size are hashed (file-digest.ts).
 */
function sameFileContents(a: string, b: string): boolean {
  const [sa, sb] = [statSync(a), statSync(b)];
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  return sa.size === sb.size && fileDigest(a, "data.clips") === fileDigest(b, "data.eval_clips");
}
