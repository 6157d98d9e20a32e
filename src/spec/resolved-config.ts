/**
 * The fully resolved config of a run: every default filled in, the model inline (its architecture
 * as loaded, not a path to a file that may change later) and every path absolute. It is what a run
 * folder's config.yaml holds, so `sideways run <run folder>/config.yaml` trains the same run from
 * anywhere, and its hash is the run's identity: two runs share an id only when everything that
 * determines their result is equal.
 */
import { type DataSpec, ShapesDataSpec } from "../data/data-spec.js";
import type { Model } from "../model/model.js";
import type { ModelSpec } from "../model/model-spec.js";
import { type ExperimentSpec, TrainSpec } from "./experiment-spec.js";
import { withoutAbsentAs } from "./absent-as.js";
import { shortHash } from "./run-id.js";
import { fileDigest } from "../util/file-digest.js";
import { resolveUserPath } from "../util/user-path.js";

/** The model's architecture in model-file form (defaults filled in). */
export function inlineModel(model: Model): ModelSpec {
  return { name: model.name, input: { ...model.input }, classes: model.classes, layers: model.layers.map((l) => structuredClone(l.spec)) };
}

function absoluteDataPaths(data: DataSpec, baseDir: string): DataSpec {
  const abs = (p: string) => resolveUserPath(baseDir, p);
  if (data.kind === "npy") {
    return {
      ...data,
      clips: abs(data.clips),
      labels: abs(data.labels),
      ...(data.eval_clips === undefined ? {} : { eval_clips: abs(data.eval_clips) }),
      ...(data.eval_labels === undefined ? {} : { eval_labels: abs(data.eval_labels) }),
      ...(typeof data.class_names === "string" ? { class_names: abs(data.class_names) } : {}),
    };
  }
  if (data.kind === "video-folder") return { ...data, root: abs(data.root), split: data.split === null ? null : { ...data.split, dir: abs(data.split.dir) } };
  return data;
}

/** The spec with its data and checkpoint paths, and its model's where it is a file, resolved against `baseDir`; nothing else changed (the sweep's values neither). */
export function withAbsolutePaths(spec: ExperimentSpec, baseDir: string): ExperimentSpec {
  return {
    ...spec,
    model: typeof spec.model === "string" ? resolveUserPath(baseDir, spec.model) : spec.model,
    data: absoluteDataPaths(spec.data, baseDir),
    train: { ...spec.train, init_checkpoint: spec.train.init_checkpoint === null ? null : resolveUserPath(baseDir, spec.train.init_checkpoint) },
  };
}

/**
 * The self-contained config of one run: model inline, data and checkpoint paths absolute,
 * output.dir absolute (where the run's experiment folder is), no sweep (a run is one point of it).
 */
export function resolvedConfig(spec: ExperimentSpec, model: Model, baseDir: string, outputRoot: string | null = null): ExperimentSpec {
  return {
    ...withAbsolutePaths(spec, baseDir),
    model: inlineModel(model),
    output: { ...spec.output, dir: outputRoot ?? (spec.output.dir === null ? null : resolveUserPath(process.cwd(), spec.output.dir)) },
    sweep: null,
  };
}

/** Settings that cannot change a run's numbers, at the defaults they are hashed as (configHash). */
const RESULT_NEUTRAL = {
  checkpoint_every: TrainSpec.shape.checkpoint_every.parse(undefined),
  prefetch: ShapesDataSpec.shape.prefetch.parse(undefined),
} as const;

/**
 * Keys in which runs of one configuration may differ: the seed (replicates, replicateId) and what
 * configHash leaves out or hashes at a default (name, where it is written, the sweep, the data
 * workers, npy class names, steps_per_call, checkpoint_every, prefetch).
 */
export const outsideConfiguration = (key: string) =>
  key === "seed" || key === "name" || key === "data.workers" || key === "data.class_names" || key === "runtime.steps_per_call" || key === "data.prefetch" || key === "train.checkpoint_every" || key === "sweep" || key.startsWith("output.") || key.startsWith("sweep.");

/**
 * Hash of everything that determines a run's result: the resolved config without where it is
 * written (output), the sweep it came from, or the experiment's name (which names the folder), and
 * the contents of its init checkpoint (a path names a file that can change: another run's
 * resume.safetensors does as that run goes on). Data files are identified by path (README.md).
 */
export function configHash(spec: ExperimentSpec, model: Model, baseDir: string): string {
  const { output: _output, sweep: _sweep, name: _name, ...rest } = resolvedConfig(spec, model, baseDir);
  // data.workers changes which threads make the clips, not the clips (src/data/clip-workers.ts):
  // the same run, resumable with or without them. Keys older than it stay in, so ids stay put.
  // An npy data set's class_names label the results and change no number: naming the classes of
  // an experiment already run finds its runs (to resume or skip) rather than training them again.
  const { workers: _workers, ...data } = withoutClassNames(withoutNoOpVideoKeys(rest.data, model));
  // How often resume.safetensors is written and how many batches are made ahead change when work
  // happens, not a number of the run (the same weights bit for bit, test/run-identity.test.ts): hashed at
  // their defaults, so a run with another value is the same run (and resumes), and runs at the
  // defaults keep their ids. runtime.threads stays in: onnxruntime's thread count changes float
  // rounding.
  // Keys whose absence trains as one written value does (label_smoothing 0, accumulate 1,
  // absent-as.ts) are hashed as absent at that value, so a config that spells out the default
  // finds the runs made without the key.
  const train = { ...withoutAbsentAs("train", rest.train), checkpoint_every: RESULT_NEUTRAL.checkpoint_every };
  // runtime.steps_per_call chains the same steps in fewer onnxruntime calls: the same weights bit
  // for bit on the CPU and WebGPU (test/chain-calls.test.ts); on CUDA another session's kernel
  // choice, as between any two runs there. Left out, as data.workers is.
  const { steps_per_call: _stepsPerCall, ...runtime } = rest.runtime;
  const init = rest.train.init_checkpoint;
  return shortHash({
    ...rest,
    runtime,
    data: { ...data, prefetch: RESULT_NEUTRAL.prefetch },
    train,
    ...(init === null ? {} : { init_checkpoint_sha256: fileDigest(init, "train.init_checkpoint") }),
  });
}

/**
 * A video folder's data.decode_size equal to the model input decodes frames at the size the key's
 * absence does (no windows), and data.eval_crops: 1 is the absence's centre crop (absent-as.ts):
 * the same clips bit for bit (src/data/video/video-folder.ts), so both are hashed as absent and a
 * config that spells out the default finds the runs made without it. (A no-op data.augment is
 * not: the augment study sweeps pad_crop: [0, 4], and hashing {flip: false, pad_crop: 0} as absent
 * would give its pad_crop 0 runs new ids.)
 */
function withoutNoOpVideoKeys(data: DataSpec, model: Model): DataSpec {
  if (data.kind !== "video-folder") return data;
  const { decode_size: size, ...rest } = withoutAbsentAs("data", data);
  const modelSize = size !== undefined && size[0] === model.input.height && size[1] === model.input.width;
  return { ...rest, ...(size === undefined || modelSize ? {} : { decode_size: size }) };
}

/** `data` without npy's class_names (configHash). */
function withoutClassNames(data: DataSpec): DataSpec {
  if (data.kind !== "npy") return data;
  const { class_names: _names, ...rest } = data;
  return rest;
}

/** Identifies a configuration regardless of seed: runs sharing it are replicates. */
export function replicateId(spec: ExperimentSpec, model: Model, baseDir: string): string {
  return configHash({ ...spec, seed: 0 }, model, baseDir);
}
