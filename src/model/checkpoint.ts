/**
 * Model checkpoints: safetensors files of float32 tensors named and laid out as PyTorch's
 * `torch.nn.Sequential(*layers).state_dict()` (docs/design/conventions.md), so they load in
 * Python with `model.load_state_dict(safetensors.torch.load_file(path))` and the reverse.
 */
import { readFileSync } from "node:fs";
import { InputError, ModelError } from "../errors.js";
import { writeFileAtomic } from "../results/atomic-write.js";
import type { Model, Weights } from "./model.js";
import { FLOAT_DTYPES, float32Tensor, notFloatError, parseSafetensors, readSafetensorsHeader, serializeSafetensors, toFloat32, type RawTensor } from "./safetensors.js";
import { count } from "../util/count.js";

/**
 * A run's resume checkpoint (src/train/resume-checkpoint.ts) is marked by this metadata format and
 * holds the weights under their checkpoint names, plus optimizer state under this prefix.
 */
export const RESUME_FORMAT = "sideways-resume-1";
export const RESUME_OPTIMIZER_PREFIX = "optimizer/";

/** Reads a checkpoint for `model`; see decodeWeights for the checks. */
export function readCheckpoint(path: string, model: Model): Weights {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read checkpoint ${path}: ${(e as Error).message}`, path);
  }
  return decodeWeights(bytes, model, path);
}

/**
 * The weights a run starts from (`train.init_checkpoint`, its path resolved): a checkpoint that
 * cannot be read or does not fit names the key, so that the experiment file (and the override
 * that set it) is named before it (errors.ts nameExperimentFile).
 */
export function readInitCheckpoint(path: string, model: Model): Weights {
  try {
    return readCheckpoint(path, model);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`train.init_checkpoint: ${err.message}`, undefined, "train.init_checkpoint");
    throw err;
  }
}

/** Writes `weights` of `model` as a safetensors file, atomically (temp file + rename). */
export function writeCheckpoint(path: string, model: Model, weights: Weights, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeWeights(model, weights, metadata));
}

/** What a checkpoint holds: every parameter (F32) and buffer (F32, or I64 for counters). */
export function stateEntries(model: Model): { name: string; shape: number[]; dtype: "F32" | "I64" }[] {
  return [...model.params.map((p) => ({ name: p.name, shape: p.shape, dtype: "F32" as const })), ...model.buffers];
}

/**
 * The safetensors bytes of `weights` (every model parameter, F32, and buffer). A missing tensor
 * or a wrong length is a bug in the caller, not bad input.
 */
export function encodeWeights(model: Model, weights: Weights, metadata?: Record<string, string>): Uint8Array {
  const tensors = new Map<string, RawTensor>();
  for (const param of stateEntries(model)) {
    const values = weights.get(param.name);
    const count = param.shape.reduce((p, d) => p * d, 1);
    if (values === undefined) throw new Error(`BUG: weights of model ${model.name} lack parameter "${param.name}"`);
    if (values.length !== count) {
      throw new Error(`BUG: parameter "${param.name}" of model ${model.name} has ${values.length} values, expected ${count} for shape [${param.shape.join(", ")}]`);
    }
    tensors.set(param.name, param.dtype === "I64" ? int64Tensor(param.shape, values) : float32Tensor(param.shape, values));
  }
  const extra = [...weights.keys()].filter((name) => !tensors.has(name));
  if (extra.length > 0) throw new Error(`BUG: weights hold tensors that model ${model.name} does not have: ${extra.join(", ")}`);
  return serializeSafetensors({ tensors, metadata: metadata ?? null });
}

/**
 * Weights for `model` from safetensors bytes. Every model parameter must be present with its
 * exact shape and no other tensor may be in the file (like PyTorch's strict load_state_dict);
 * all problems are listed in one ModelError. F16/BF16/F64 tensors are converted to float32.
 * A resume checkpoint gives its weights (an interrupted run's, to export or start from); its
 * optimizer state is the run's own, for resuming it.
 */
export function decodeWeights(bytes: Uint8Array, model: Model, source: string): Weights {
  return decodeCheckpoint(bytes, model, source).weights;
}

/** decodeWeights, with the file's metadata (null where it has none) from the same parse. */
export function decodeCheckpoint(bytes: Uint8Array, model: Model, source: string): { weights: Weights; metadata: Record<string, string> | null } {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  if (metadata?.format === RESUME_FORMAT) for (const name of [...tensors.keys()]) if (name.startsWith(RESUME_OPTIMIZER_PREFIX)) tensors.delete(name);
  const weights: Weights = new Map();
  // Converted before the fit is checked, as before: a tensor of a dtype that cannot be weights is named first.
  for (const param of stateEntries(model)) {
    const tensor = tensors.get(param.name);
    if (tensor === undefined || !sameShape(tensor.shape, param.shape)) continue;
    weights.set(param.name, param.dtype === "I64" && tensor.dtype === "I64" ? int64Values(tensor) : toFloat32(param.name, tensor, source));
  }
  checkFit(tensors, model, source);
  return { weights, metadata };
}

/**
 * Whether a checkpoint fits `model`, from its header alone (the tensors' names, shapes and dtypes),
 * with decodeWeights's errors, in its order: for a check of many files before any is read whole
 * (`evaluate` of a sweep), so that one decodeWeights would refuse is refused before anything is written.
 */
export function checkCheckpointFits(path: string, model: Model): void {
  const { tensors, metadata } = readSafetensorsHeader(path);
  if (metadata?.format === RESUME_FORMAT) for (const name of [...tensors.keys()]) if (name.startsWith(RESUME_OPTIMIZER_PREFIX)) tensors.delete(name);
  for (const param of stateEntries(model)) {
    const tensor = tensors.get(param.name);
    if (tensor === undefined || !sameShape(tensor.shape, param.shape)) continue;
    // As decodeCheckpoint: an int64 buffer is kept as it is, any other tensor converted by toFloat32.
    if (!(param.dtype === "I64" && tensor.dtype === "I64") && !FLOAT_DTYPES.has(tensor.dtype)) throw notFloatError(param.name, tensor.dtype, path);
  }
  checkFit(tensors, model, path);
}

/**
 * Every model parameter present with its exact shape and no other tensor (like PyTorch's strict
 * load_state_dict), else one ModelError listing all problems.
 */
function checkFit(tensors: ReadonlyMap<string, { shape: number[] }>, model: Model, source: string): void {
  const missing: string[] = [];
  const reshaped: string[] = [];
  for (const param of stateEntries(model)) {
    const tensor = tensors.get(param.name);
    if (tensor === undefined) {
      missing.push(`"${param.name}" [${param.shape.join(", ")}]`);
    } else if (!sameShape(tensor.shape, param.shape)) {
      reshaped.push(`"${param.name}" has shape [${tensor.shape.join(", ")}], expected [${param.shape.join(", ")}]`);
    }
  }
  const expected = new Set(stateEntries(model).map((p) => p.name));
  const unexpected = [...tensors].filter(([name]) => !expected.has(name)).map(([name, tensor]) => `"${name}" [${tensor.shape.join(", ")}]`);
  if (missing.length + reshaped.length + unexpected.length > 0) {
    // A checkpoint of another model lists dozens of names: the first few of each kind say enough.
    // `what` is counted ("2 missing tensors"), `which` follows it ("2 tensors with another shape").
    const some = (what: string, items: string[], which = "") => (items.length === 0 ? [] : [`${count(items.length, what)}${which}: ${items.slice(0, 4).join(", ")}${items.length > 4 ? `, ... (${items.length - 4} more)` : ""}`]);
    const fitting = expected.size - missing.length - reshaped.length;
    const hint =
      fitting === 0
        ? `none of its ${count(tensors.size, "tensor")} fits the model's ${expected.size}: a checkpoint of another model? (\`sideways model summary MODEL --tensors\` lists the tensors a model's checkpoint holds)`
        : `${fitting} of the model's ${expected.size} tensors fit`;
    throw new ModelError(
      `checkpoint ${source} does not fit model ${model.name} (${model.source}): ${[...some("tensor", reshaped, " with another shape"), ...some("missing tensor", missing), ...some("unexpected tensor", unexpected)].join("; ")}; ${hint}`,
      source,
    );
  }
}

/**
 * A counter buffer (kept as float32 in memory, exact up to 2^24) as PyTorch stores it: int64.
 */
function int64Tensor(shape: number[], values: Float32Array): RawTensor {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(Math.round(values[i]!)), true);
  return { dtype: "I64", shape: [...shape], bytes };
}

function int64Values(tensor: RawTensor): Float32Array {
  const view = new DataView(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.byteLength);
  return Float32Array.from({ length: tensor.bytes.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
