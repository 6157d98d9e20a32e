/**
 * The checks `sideways run` makes before it trains, made without training, so that `validate`
 * saying "ok" means `run` will start: the data against the model (classes, channels, normalize,
 * clip length, every file readable and finite), the initial checkpoint against the model, the
 * execution provider (a one-node session on it), the clip length against the model's depth, and the
 * model against data-parallel replicas and the device step (the functions `run` itself calls).
 */
import { checkDataWorkers } from "../data/create-source.js";
import { InputError, nameExperimentFile, ProviderError, SpecError } from "../errors.js";
import { GraphBuilder } from "../graph/graph-builder.js";
import { readInitCheckpoint } from "../model/checkpoint.js";
import type { Model } from "../model/model.js";
import { refuseTooFewClipsPerFrame } from "../model/buffers.js";
import { CUDA_HELP, type ProviderOptions } from "../runtime/providers.js";
import { probeInChild } from "./commands/gpu.js";
import { GraphSession } from "../runtime/session.js";
import type { ExperimentSpec } from "../spec/experiment-spec.js";
import { openRunData, providerOptionsFor } from "../train/run-experiment.js";
import { resolveUserPath } from "../util/user-path.js";
import { clipLengthWarning } from "../train/sideways-stage.js";
import { trainsOnDevice } from "../train/device-step.js";
import { refuseBatchStatistics } from "../train/replica-executor.js";
import { resolveWorkerCount } from "../train/create-executor.js";
import { count } from "../util/count.js";

/** Opens and releases a session with `opts`; the provider check's one use of onnxruntime (tests pass a fake). */
export type ProviderSessionOpener = (opts: ProviderOptions, label: string) => Promise<void>;

/** A session of a one-node Identity graph on `opts`' provider and device. */
export const openIdentitySession: ProviderSessionOpener = async (opts, label) => {
  const g = new GraphBuilder("provider-check");
  g.output(g.op("Identity", [g.input("x", [1])]), [1], "y");
  const session = await GraphSession.create(g.toBytes(), label, { ...opts, threads: 1 });
  await session.release();
};

/**
 * Creates (and releases) a session on the configured provider, on every distinct GPU that
 * runtime.device_id names: a list puts depth-parallel stages on several GPUs, and a bad later
 * index would otherwise be found only when its stage's worker starts, as a failed run (exit 1).
 * The CPU provider takes no device, and WebGPU only GPU 0 (the schema says so): one session each.
 * When some listed GPUs work and others do not, the index is what is wrong (a SpecError naming
 * runtime.device_id); when none works, the provider's own error stands (not installed, no GPU).
 */
export async function checkProvider(spec: ExperimentSpec, open: ProviderSessionOpener = openIdentitySession): Promise<void> {
  const { provider, device_id } = spec.runtime;
  const base = providerOptionsFor(spec.runtime);
  if (provider !== "cuda") {
    await open(base, `the provider check (runtime.provider: ${provider})`);
    return;
  }
  const ids = [...new Set([device_id].flat())];
  const working: number[] = [];
  const failed: { id: number; err: unknown }[] = [];
  for (const id of ids) {
    try {
      await open({ ...base, deviceId: id }, `the provider check (runtime.provider: cuda, runtime.device_id: GPU ${id})`);
      working.push(id);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      failed.push({ id, err });
    }
  }
  if (failed.length === 0) return;
  if (working.length === 0) throw failed[0].err;
  // onnxruntime's own words, without session.ts's "cannot create a CUDA session for <label>: " and advice.
  const reason = (err: unknown) => (err as Error).message.split("\n")[0].replace(/^cannot create a CUDA session for the provider check \([^)]*\): /, "");
  const why = failed.length === 1 ? reason(failed[0].err) : failed.map(({ id, err }) => `GPU ${id}: ${reason(err)}`).join("; ");
  const bad = failed.map((f) => `GPU ${f.id}`).join(", ");
  throw new SpecError(
    `runtime.device_id: ${JSON.stringify(device_id).replace(/,/g, ", ")}: ${bad} cannot run a CUDA session (GPU ${working.join(", GPU ")} can): ${why}.\n` +
      "Expected the indices of GPUs this machine has (`nvidia-smi -L` lists them; CUDA_VISIBLE_DEVICES renumbers them from 0).",
    undefined,
    "runtime.device_id",
  );
}

/**
 * GPUs of a runtime.device_id list that no part of the run would use, said as an error naming
 * the key (a list that is silently cut short is a setting silently ignored). Stage s runs on
 * device_id[s mod n] (runtime/providers.ts stageProvider); data-parallel replicas and a single
 * stage all run on device_id[0]. Only CUDA places sessions on GPUs (WebGPU takes only 0, the CPU none).
 */
export function checkDevicePlacement(spec: ExperimentSpec, model: Model): void {
  const { provider, device_id, replicas, workers } = spec.runtime;
  if (provider !== "cuda" || !Array.isArray(device_id)) return;
  const stages = replicas > 1 ? 1 : resolveWorkerCount(workers, model);
  const used = new Set(Array.from({ length: stages }, (_, s) => device_id[s % device_id.length]));
  const unused = [...new Set(device_id)].filter((id) => !used.has(id));
  if (unused.length === 0) return;
  const list = JSON.stringify(device_id).replace(/,/g, ", ");
  const gpus = `GPU${unused.length > 1 ? "s" : ""} ${unused.join(", ")}`;
  // runtime.workers as resolved: auto is the core count, and there is at most one stage per block.
  const resolved = workers === stages ? "" : ` = ${count(stages, "stage")} here: ${workers === "auto" ? "one per core, " : ""}at most one per block of ${model.blocks.length}`;
  const why =
    replicas > 1
      ? `with runtime.replicas: ${replicas} every data-parallel replica runs on GPU ${device_id[0]} (a list places depth-parallel stages, runtime.workers)`
      : stages === 1
        ? `with one stage (runtime.workers: ${workers}${resolved}) everything runs on GPU ${device_id[0]}`
        : `${stages} depth-parallel stages (runtime.workers: ${workers}${resolved}) run on device_id[s mod ${device_id.length}]`;
  throw new SpecError(
    `runtime.device_id: ${list}: ${gpus} would never be used: ${why}. Expected one index per stage (runtime.workers), or a single index.`,
    undefined,
    "runtime.device_id",
  );
}

/**
 * What the checks of a sweep's runs found once and need not find again for its other kinds of
 * run (another method, other stages): the clip length of each data set, the providers that work.
 * Reading an npy data set or starting a GPU session once per method would repeat seconds of work.
 */
export interface PreflightMemo {
  /** Per data set: its clips' frames and what a run would be told about it (DataSource.notes). */
  openedData: Map<string, { frames: number; notes: readonly string[] }>;
  providersChecked: Set<string>;
}

export const newPreflightMemo = (): PreflightMemo => ({ openedData: new Map(), providersChecked: new Set() });

/** The experiment file a run's settings come from, and the overrides applied over it (named in errors about their keys). */
export interface SettingsOrigin {
  file: string;
  overrides: readonly string[];
  /** Which run of a sweep ("sweep run 1 (sweep.grid: ...)") and its swept keys: said after the file in an error about one of them. */
  sweepRun?: { context: string; keys: readonly string[] };
}

/**
 * Runs every pre-training check for one resolved spec; returns the warnings (clip length), which
 * are errors unless `allowWarnings`, each "warning: ...", and the data's notes, each "note: ..."
 * (printedFinding says them). Errors are InputErrors (exit 2) naming the file, and the
 * overrides that set their key.
 */
export async function preflight(
  spec: ExperimentSpec,
  model: Model,
  baseDir: string,
  origin: SettingsOrigin,
  allowWarnings: boolean,
  openSession: ProviderSessionOpener = openIdentitySession,
  memo: PreflightMemo = newPreflightMemo(),
): Promise<string[]> {
  try {
    if (spec.train.init_checkpoint !== null) readInitCheckpoint(resolveUserPath(baseDir, spec.train.init_checkpoint), model);
    // data.workers checked, then left out: this thread's producer makes every other check, and
    // starting workers only to close them cost seconds (each loads its own digits).
    checkDataWorkers(spec.data);
    const dataKey = JSON.stringify([spec.data, model.input, model.classes]);
    let checked = memo.openedData.get(dataKey);
    if (checked === undefined) {
      const data = await openRunData({ ...spec, data: { ...spec.data, workers: undefined } }, model, baseDir);
      checked = { frames: data.clipShape[0], notes: data.notes ?? [] };
      await data.close();
      memo.openedData.set(dataKey, checked);
    }
    const frames = checked.frames;
    const dataNotes = checked.notes.map((n) => `note: ${n}`);
    checkDevicePlacement(spec, model);
    const providerKey = JSON.stringify([spec.runtime.provider, spec.runtime.device_id]);
    if (!memo.providersChecked.has(providerKey)) {
      await checkProvider(spec, openSession);
      memo.providersChecked.add(providerKey);
    }
    refuseBatchStatistics(model, spec.runtime.replicas);
    refuseTooFewClipsPerFrame(model, spec.train.batch_size);
    trainsOnDevice(spec, model.blocks.length, frames);
    const warning = spec.train.method === "sideways" ? clipLengthWarning(model.blocks.length, frames) : null;
    if (warning === null) return dataNotes;
    if (!allowWarnings) throw new SpecError(`data.clip_length: ${warning} (--allow-warnings accepts this)`, undefined, "data.clip_length");
    return [`warning: ${warning}`, ...dataNotes];
  } catch (err) {
    nameExperimentFile(err, origin.file, origin.overrides, origin.sweepRun);
    throw err;
  }
}

/**
 * The provider check made in a child process (`sideways gpu probe`) on a GPU provider, for a
 * process that lives on after it: a GPU session's context (CUDA, Dawn) would otherwise stay in it,
 * holding GPU memory for the whole of a sweep whose runs each have their own. The CPU's is
 * made here.
 */
export const openProbeSessionInChild: ProviderSessionOpener = async (opts, label) => {
  if (opts.provider === "cpu") return openIdentitySession(opts, label);
  const r = probeInChild(opts.provider, {}, undefined, opts.deviceId ?? 0);
  if (!r.ok) throw new ProviderError(`cannot create a ${opts.provider} session for ${label}: ${r.reason}${opts.provider === "cuda" ? `\n${CUDA_HELP}` : ""}`);
};

/**
 * preflight for each run of a sweep that differs in what it checks (distinctForPreflight); the
 * warnings, each once.
 */
export async function preflightRuns(
  runs: readonly { spec: ExperimentSpec; model: Model; context?: string; params?: Record<string, unknown> }[],
  baseDir: string,
  origin: SettingsOrigin,
  allowWarnings: boolean,
  openSession: ProviderSessionOpener = openIdentitySession,
): Promise<string[]> {
  const warnings = new Set<string>();
  const memo = newPreflightMemo();
  for (const { spec, model, context, params } of distinctForPreflight(runs)) {
    const sweepRun = context === undefined ? undefined : { context, keys: Object.keys(params ?? {}) };
    for (const w of await preflight(spec, model, baseDir, { ...origin, sweepRun }, allowWarnings, openSession, memo)) warnings.add(w);
  }
  return [...warnings];
}

/** The runs of a sweep that differ in what preflight checks (model, data, checkpoint, method, provider and its GPUs, stages, device step, clips per batch, steps per call). */
export function distinctForPreflight<R extends { spec: ExperimentSpec; model: Model }>(runs: readonly R[]): R[] {
  const seen = new Map<string, R>();
  for (const r of runs) {
    const s = r.spec;
    const key = JSON.stringify([s.model, s.data, s.train.init_checkpoint, s.train.method, s.runtime.provider, s.runtime.device_id, s.runtime.workers, s.runtime.replicas, s.runtime.device_step, s.train.batch_size, s.runtime.steps_per_call]);
    if (!seen.has(key)) seen.set(key, r);
  }
  return [...seen.values()];
}

/** How validate and sweep print a finding of preflight about `file`: "warning:"s after the file's name, "note:"s before it, as the other notes. */
export function printedFinding(file: string, finding: string): string {
  return finding.startsWith("note: ") ? `note: ${file}: ${finding.slice("note: ".length)}` : `${file}: ${finding}`;
}
