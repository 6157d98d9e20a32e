/**
 * What someone running an exported model.onnx elsewhere needs besides the graph, and cannot read
 * off it: the frames' layout and preprocessing (the graph does not normalise), how frames' logits
 * make a clip's prediction, the clip length trained on, and which class each logit is.
 * `export` writes it as inference.json beside model.onnx and into model.onnx's metadata_props
 * (shown by Netron; onnxruntime's `get_modelmeta().custom_metadata_map` in Python), so that the
 * file alone says how to use it.
 */
import type { DataSpec } from "../data/data-spec.js";
import { specClassNames } from "../data/source-class-names.js";
import { resolveUserPath } from "../util/user-path.js";
import { videoClassOrder, videoFramesRecipe } from "../data/video/inference-input.js";
import type { Model } from "./model.js";

export const INFERENCE_DESCRIPTION_FILE = "inference.json";

export interface InferenceDescription {
  model: string;
  /** The weights file inside model.onnx, as given. */
  weights: string;
  /** The step of a resume checkpoint (an unfinished run's weights); null for final weights. */
  resume_checkpoint_step: number | null;
  input: { name: string; dtype: "float32"; shape: (string | number)[]; layout: string };
  output: { name: string; dtype: "float32"; shape: (string | number)[] };
  clip_prediction: string;
  /** Frames per clip in training and evaluation (data.clip_length), every frame_stride-th frame; null for a model file. */
  clip_length: number | null;
  frame_stride: number | null;
  /** What `frames` hold, in words. */
  pixels: string;
  /** data.normalize: the caller applies (x - mean[c]) / std[c] per channel c; null when training did not. */
  normalize: { mean: number[]; std: number[] } | null;
  /**
   * The name of each logit's class: as the run recorded them (its summary.json), else as the data
   * source fixes them (moving-mnist digits, shapes' kinds); null where neither says.
   */
  classes: string[] | null;
  /** In words, where `classes` came from, or why it is null. */
  classes_note: string;
  /** Where class names are not recorded: how logits are numbered (video-folder data). */
  class_order: string | null;
  /** video-folder data: how a video's frames are decoded, resized and cropped. */
  video_frames: string | null;
}

/**
 * What model.onnx expects as frames: the training data's preprocessing is not inside the graph,
 * so, say, video frames scaled to [0, 1] but not normalised would be classified silently worse.
 * `data` is undefined when only a model file says what to export (the data is not known).
 */
export function framesPreprocessing(data: DataSpec | undefined): string {
  if (data === undefined) {
    return "as the training data gave them, after its data.normalize (a model file does not say which); model.onnx does not normalise";
  }
  const values = {
    "video-folder": "pixel values / 255 (RGB or gray, in [0, 1])",
    npy: "values as in the clips file (uint8 / 255, float as stored)",
    "moving-mnist": "intensities in [0, 1]",
    shapes: "intensities in [0, 1]",
  }[data.kind];
  if (data.normalize === null) return `${values}, not normalised (the experiment has no data.normalize)`;
  const list = (v: number[]) => `[${v.join(", ")}]`;
  return `${values}, then per channel (x - mean) / std with mean ${list(data.normalize.mean)}, std ${list(data.normalize.std)} ` +
    "(data.normalize); model.onnx does not normalise";
}

export interface DescriptionSource {
  model: Model;
  weights: string;
  resumeStep: number | null;
  /** The training data's spec (undefined for a model file) and the folder its paths are relative to. */
  data?: DataSpec;
  baseDir?: string;
  /** Class names a run recorded (its summary.json); ignored unless one string per logit. */
  classNames?: unknown;
}

export function inferenceDescription(src: DescriptionSource, names: { input: string; output: string }): InferenceDescription {
  const { model, data } = src;
  const { channels, height, width } = model.input;
  const video = data?.kind === "video-folder" ? data : undefined;
  const { classes, note } = logitClassNames(src);
  return {
    model: model.name,
    weights: src.weights,
    resume_checkpoint_step: src.resumeStep,
    input: { name: names.input, dtype: "float32", shape: ["N", channels, height, width], layout: "NCHW: one row per frame, channels, height, width; N frames of any clips" },
    output: { name: names.output, dtype: "float32", shape: ["N", model.classes] },
    clip_prediction: "a clip's predicted class is the argmax of the mean of its frames' logits (as the trainer's evaluation)",
    clip_length: data?.clip_length ?? null,
    frame_stride: data?.frame_stride ?? null,
    pixels: framesPreprocessing(data),
    normalize: data?.normalize ? { mean: [...data.normalize.mean], std: [...data.normalize.std] } : null,
    classes,
    classes_note: note,
    class_order: classes === null && video !== undefined ? videoClassOrder(video, src.baseDir ?? ".") : null,
    video_frames: video === undefined ? null : videoFramesRecipe(video, model.input),
  };
}

/**
 * Each logit's class name and where it came from: the run's summary.json, else the data source's
 * own names (an interrupted run has no summary.json), else null and why.
 */
function logitClassNames(src: DescriptionSource): { classes: string[] | null; note: string } {
  // A summary.json edited by hand may hold anything: names only when one string per logit.
  const recorded: unknown = src.classNames;
  if (Array.isArray(recorded) && recorded.length === src.model.classes && recorded.every((c) => typeof c === "string"))
    return { classes: [...(recorded as string[])], note: "recorded by the run (summary.json beside the weights)" };
  if (src.data === undefined)
    return { classes: null, note: "a model file does not say which data the weights were trained on, and no run's summary.json beside them names the classes (export the run's folder, or its experiment file, for them)" };
  const fromSource = specClassNames(src.data, src.model.classes, (p) => resolveUserPath(src.baseDir ?? ".", p));
  return fromSource.names === null
    ? { classes: null, note: fromSource.why }
    : { classes: fromSource.names, note: `named by the data source (no run's summary.json beside the weights names them): ${fromSource.from}` };
}

/**
 * The description as ONNX metadata_props: each key's value a string as is, anything else as JSON;
 * null entries left out, and the weights' path, which means nothing where the file is deployed.
 */
export function onnxMetadata(d: InferenceDescription): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(d)) if (value !== null && key !== "weights") out[key] = typeof value === "string" ? value : JSON.stringify(value);
  return out;
}
