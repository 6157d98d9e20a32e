/**
 * The checks `sideways run` makes before it trains, made without training, so that `validate`
 * saying "ok" means `run` will start: the data against the model (classes, channels, normalize,
 * clip length, every file readable and finite), the initial checkpoint against the model, the
 * execution provider (a one-node session on it), and the clip length against the model's depth.
 */
import { InputError, SpecError } from "../errors.js";
import { GraphBuilder } from "../graph/graph-builder.js";
import { readCheckpoint } from "../model/checkpoint.js";
import type { Model } from "../model/model.js";
import { GraphSession } from "../runtime/session.js";
import type { ExperimentSpec } from "../spec/experiment-spec.js";
import { openRunData, providerOptionsFor, resolvePath } from "../train/run-experiment.js";
import { clipLengthWarning } from "../train/sideways-stage.js";
import { deviceStepModelBlocker } from "../train/device-step.js";

/** Creates (and releases) a session of a one-node Identity graph on the configured provider. */
export async function checkProvider(spec: ExperimentSpec): Promise<void> {
  const g = new GraphBuilder("provider-check");
  g.output(g.op("Identity", [g.input("x", [1])]), [1], "y");
  const session = await GraphSession.create(g.toBytes(), `the provider check (runtime.provider: ${spec.runtime.provider})`, { ...providerOptionsFor(spec.runtime), threads: 1 });
  await session.release();
}

/**
 * Runs every pre-training check for one resolved spec; returns the warnings (clip length), which
 * are errors unless `allowWarnings`. Errors are InputErrors (exit 2) naming `file`.
 */
export async function preflight(spec: ExperimentSpec, model: Model, baseDir: string, file: string, allowWarnings: boolean): Promise<string[]> {
  try {
    if (spec.train.init_checkpoint !== null) readCheckpoint(resolvePath(baseDir, spec.train.init_checkpoint), model);
    const data = await openRunData(spec, model, baseDir);
    const frames = data.clipShape[0];
    await data.close();
    await checkProvider(spec);
    const deviceBlocker = spec.runtime.device_step === true ? deviceStepModelBlocker(spec.train.method, model.blocks.length, frames) : null;
    if (deviceBlocker !== null) throw new SpecError(`${file}: runtime.device_step: expected false or auto: ${deviceBlocker}`, file, "runtime.device_step");
    const warning = spec.train.method === "sideways" ? clipLengthWarning(model.blocks.length, frames) : null;
    if (warning === null) return [];
    if (!allowWarnings) throw new SpecError(`${file}: data.clip_length: ${warning.replace(/^warning: /, "")} (--allow-warnings accepts this)`, file, "data.clip_length");
    return [warning];
  } catch (err) {
    if (err instanceof InputError && err.file === undefined && !err.message.startsWith(file)) err.message = `${file}: ${err.message}`;
    throw err;
  }
}

/** The runs of a sweep that differ in what preflight checks (model, data, checkpoint, provider, method). */
export function distinctForPreflight<R extends { spec: ExperimentSpec; model: Model }>(runs: readonly R[]): R[] {
  const seen = new Map<string, R>();
  for (const r of runs) {
    const s = r.spec;
    const key = JSON.stringify([s.model, s.data, s.train.init_checkpoint, s.train.method, s.runtime.provider, s.runtime.device_id]);
    if (!seen.has(key)) seen.set(key, r);
  }
  return [...seen.values()];
}
