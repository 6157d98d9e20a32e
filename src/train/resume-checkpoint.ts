/**
 * The checkpoint a run resumes from: weights, optimizer state and progress counters in ONE
 * safetensors file (written atomically, so weights and optimizer state always belong to the same
 * step). Weights keep their PyTorch names; optimizer state is stored as "optimizer/{param}/{slot}".
 */
import { existsSync, readFileSync } from "node:fs";
import { RunError } from "../errors.js";
import { RESUME_FORMAT, RESUME_OPTIMIZER_PREFIX } from "../model/checkpoint.js";
import type { Model, Weights } from "../model/model.js";
import { float32Tensor, parseSafetensors, readSafetensorsMetadata, serializeSafetensors, toFloat32, type RawTensor } from "../model/safetensors.js";
import { writeFileAtomic } from "../results/atomic-write.js";

export const RESUME_FILE = "resume.safetensors";
const DATA_ERROR = "data_error";

export interface ResumeState {
  /** Optimizer updates done. */
  step: number;
  weights: Weights;
  optimizer: Map<string, Float32Array>;
  /** Training frames and seconds so far (for frames/s over the whole run). */
  trainFrames: number;
  trainSeconds: number;
  /** Seconds the training steps waited for data. */
  dataWaitSeconds: number;
  /** Wall seconds of the earlier attempts. */
  wallSeconds: number;
  /** The config hash of the run that wrote it: a changed config never resumes from it. */
  configHash: string;
  /**
   * Saved as a data error ended the run (an unreadable video), to go on once the data is mended:
   * a change to the data is then what the run waits for, not another dataset (savedAtDataError).
   */
  atDataError?: boolean;
}

export function writeResumeCheckpoint(path: string, model: Model, state: ResumeState): void {
  const tensors = new Map<string, RawTensor>();
  // Parameters and buffers (all float32 here: this file is only read back by readResumeCheckpoint).
  for (const p of [...model.params, ...model.buffers]) tensors.set(p.name, float32Tensor(p.shape, state.weights.get(p.name)!));
  for (const [name, value] of state.optimizer) tensors.set(RESUME_OPTIMIZER_PREFIX + name, float32Tensor([value.length], value));
  const metadata = {
    format: RESUME_FORMAT,
    step: String(state.step),
    train_frames: String(state.trainFrames),
    train_seconds: String(state.trainSeconds),
    data_wait_seconds: String(state.dataWaitSeconds),
    wall_seconds: String(state.wallSeconds),
    config_hash: state.configHash,
    ...(state.atDataError ? { saved_at: DATA_ERROR } : {}),
  };
  writeFileAtomic(path, serializeSafetensors({ tensors, metadata }));
}

export function readResumeCheckpoint(path: string, model: Model): ResumeState {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(path)), path);
  if (metadata?.format !== RESUME_FORMAT) throw new RunError(`${path} is not a sideways resume checkpoint (format ${metadata?.format ?? "missing"})`);
  const weights: Weights = new Map();
  for (const p of [...model.params, ...model.buffers]) {
    const t = tensors.get(p.name);
    if (!t || t.shape.join(",") !== p.shape.join(",")) throw new RunError(`${path}: no tensor ${p.name} of shape [${p.shape}] for model ${model.name}`);
    weights.set(p.name, toFloat32(p.name, t, path));
  }
  const optimizer = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.startsWith(RESUME_OPTIMIZER_PREFIX)) optimizer.set(name.slice(RESUME_OPTIMIZER_PREFIX.length), toFloat32(name, t, path));
  }
  const num = (key: string) => {
    const v = Number(metadata[key]);
    if (!Number.isFinite(v)) throw new RunError(`${path}: metadata ${key} is ${metadata[key]}, expected a number`);
    return v;
  };
  return {
    step: num("step"),
    weights,
    optimizer,
    trainFrames: num("train_frames"),
    trainSeconds: num("train_seconds"),
    dataWaitSeconds: num("data_wait_seconds"),
    wallSeconds: num("wall_seconds"),
    configHash: metadata.config_hash ?? "",
    atDataError: metadata.saved_at === DATA_ERROR,
  };
}

/** A resume checkpoint's metadata, from its header alone; null without one, or when it is not a readable resume checkpoint. */
function resumeMetadata(path: string): Record<string, string> | null {
  if (!existsSync(path)) return null;
  try {
    const metadata = readSafetensorsMetadata(path);
    return metadata?.format === RESUME_FORMAT ? metadata : null;
  } catch {
    return null; // for listings and checks: resuming from it says what is wrong
  }
}

/** The step a resume checkpoint holds; null without a readable one. */
export function resumeCheckpointStep(path: string): number | null {
  const step = Number(resumeMetadata(path)?.step);
  return Number.isSafeInteger(step) ? step : null;
}

/** Whether the resume checkpoint was saved as a data error ended its run (ResumeState.atDataError). */
export const savedAtDataError = (path: string): boolean => resumeMetadata(path)?.saved_at === DATA_ERROR;
