/**
 * Typed errors. The CLI maps each class to an exit status in one place (cli/exit-codes.ts):
 * bad user input (spec, model, data, runtime set-up) exits 2; a failed run exits 1; a run stopped
 * by a non-finite loss exits 3. Internal invariants throw plain Errors whose message starts "BUG:".
 */
import { settingSource, sweptContext } from "./spec/override-source.js";

/** Something the user wrote is wrong: a file, a key, a value. Exit status 2. */
export class InputError extends Error {
  constructor(message: string, readonly file?: string, readonly keyPath?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * An input error found while setting up a run from an experiment file (data, checkpoint,
 * provider) names its key; where it names no file of its own, or its file holds what the
 * experiment's setting does not fit (DataSettingError), say the experiment's first, with the
 * overrides that set its key (spec/override-source.ts) and, for a run of a sweep that sweeps
 * one of the error's keys, which run (`sweep.context`).
 */
export function nameExperimentFile(err: unknown, file: string, overrides: readonly string[] = [], sweep?: { keys: readonly string[]; context?: string }): void {
  if (!(err instanceof InputError) || err.message.startsWith(file)) return;
  if (err.file !== undefined && !(err instanceof DataSettingError)) return;
  const keys = err instanceof DataSettingError ? [err.keyPath, ...err.alsoKeys].filter((k) => k !== undefined) : err.keyPath === undefined ? [] : [err.keyPath];
  // data.clip_length's error is also about data.frame_stride: a sweep of either names its run.
  const context = keys.map((k) => sweptContext(k, sweep?.keys ?? [], sweep?.context)).find((c) => c !== undefined);
  err.message = `${settingSource(file, overrides, keys)}: ${context === undefined ? "" : `${context}: `}${err.message}`;
}

/** Experiment or override file is invalid. */
export class SpecError extends InputError {}

/** A model file is invalid (unknown layer, bad shapes, ...). */
export class ModelError extends InputError {}

/** Data cannot be read or does not fit the model. */
export class DataError extends InputError {}

/**
 * A data file that is fine in itself but does not fit a setting of the experiment (an npy file's
 * frames against data.clip_length): the message names the file, and the experiment file (with the
 * overrides) that set the key is named before it, since the fix may be in either.
 */
export class DataSettingError extends DataError {
  /** Other settings the file does not fit with keyPath's (data.frame_stride beside data.clip_length): overrides of them are named too. */
  constructor(message: string, file: string, keyPath: string, readonly alsoKeys: readonly string[] = []) {
    super(message, file, keyPath);
  }
}

/** The execution provider cannot be set up (e.g. CUDA libraries missing). */
export class ProviderError extends InputError {}

/** A run failed while training (an onnxruntime error, a worker crash). Exit status 1. */
export class RunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunError";
  }
}

/** The loss became NaN or infinite; the run stopped without writing garbage. Exit status 3. */
export class NonFiniteLossError extends RunError {
  constructor(readonly step: number, readonly loss: number, detail?: string) {
    super(`${detail ?? `loss is ${loss}`} at step ${step}: stopping the run before the update (lower the learning rate?)`);
    this.name = "NonFiniteLossError";
  }
}

/** A run of this config stopped at a non-finite loss before (run-dir.ts runState "diverged"): not trained again. */
export class DivergedEarlierError extends NonFiniteLossError {
  constructor(step: number, runDir: string, earlier: string | undefined) {
    super(step, NaN);
    this.message = `${runDir} stopped at a non-finite loss in an earlier attempt${earlier ? ` (${earlier})` : ""}; the same config diverges the same way, so it is not run again: lower the learning rate, or --force runs it again`;
    this.name = "DivergedEarlierError";
  }
}
