/**
 * One run of a validated experiment into its run directory: skip it when already completed,
 * take its lock, write run-meta.json, train, and make sure a summary.json records how it ended.
 * Used by `sideways run` and, in a child process per run, by `sideways sweep`.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeJsonAtomic } from "../results/atomic-write.js";
import type { LockHolder } from "../results/file-lock.js";
import { codeChanges } from "../results/code-changes.js";
import type { DataSpec } from "../data/data-spec.js";
import { dataChangesSince, dataFileStamps, resumeOnChangedData } from "../results/data-files.js";
import { type RunMeta, RUN_CONFIG_FILE, RUN_META_FILE, SUMMARY_FILE, findRunFolderByHash, lastLoggedStep, readRunMeta, readSummary, runState, startRunDir, wouldResume, checkNoOtherRun, RunCompletedElsewhere, tookOverRunLock } from "../results/run-dir.js";
import { attemptSettings, otherSettingsNote, settingsOtherThanConfigFile } from "../results/attempt-settings.js";
import { type LoadedExperiment, loadExperiment } from "../spec/load-experiment.js";
import { dataGivenAnewChanges } from "../results/data-given-anew.js";
import { configHash, replicateId, resolvedConfig } from "../spec/resolved-config.js";
import { RESUME_FILE, resumeCheckpointStep } from "../train/resume-checkpoint.js";
import { runExperiment } from "../train/run-experiment.js";
import { RunLockTakenOver } from "../results/run-lock-watch.js";
import { guardLock } from "../train/stop-signals.js";
import { newRunSummary, type ProgressReporter, type RunStatus, type RunSummary } from "../train/run-types.js";
import { DivergedEarlierError, InputError, NonFiniteLossError, nameExperimentFile } from "../errors.js";
import { settingSource } from "../spec/override-source.js";
import { otherExperimentsNote } from "../results/folder-experiments.js";
import { findRule } from "../schedule/registry.js";
import { completedRunNotes } from "./completed-run-notes.js";
import { checkDevicePlacement, checkProvider, openIdentitySession, type ProviderSessionOpener } from "./preflight.js";
import { resolveUserPath } from "../util/user-path.js";

export interface RunPlacement {
  runId: string;
  runDir: string;
  meta: RunMeta;
  /** A sweep's run: which one, and its swept values ("sweep run 1 (sweep.grid: ...)"), named in errors about a swept key. */
  sweepContext?: string;
  /** Runs the sweep trains at once (its --jobs), which share this machine's cores; absent for a single run. */
  concurrentRuns?: number;
}

/**
 * The folder an experiment's runs go under: output.dir (relative to the current directory) or
 * results/<name>. A run's own folder is refused: runs would nest inside it (before the run
 * folders of issue 15, output.dir was the run folder itself).
 */
export function experimentRoot(exp: LoadedExperiment): string {
  const root = resolveUserPath(process.cwd(), exp.spec.output.dir ?? join("results", exp.spec.name));
  if (existsSync(join(root, RUN_META_FILE)))
    throw new InputError(
      `${exp.file}: output.dir: ${root} is one run's folder (it has ${RUN_META_FILE}); expected the experiment folder that holds the runs, such as ${dirname(root)}`,
      exp.file,
      "output.dir",
    );
  return root;
}

/**
 * What `run`, `sweep` and `validate` say where `root`, the folder `exp`'s runs go under, holds runs
 * or a sweep plan of an experiment of another name (one output.dir given to two experiments), or
 * null: the two would share run ids and one table (folder-experiments.ts). Named by the file and
 * the overrides that set the name or the folder.
 */
export function otherExperimentsInRoot(exp: LoadedExperiment, root: string): string | null {
  const note = otherExperimentsNote(root, exp.spec.name);
  return note === null ? null : `${settingSource(exp.file, exp.overrides, ["name", "output.dir"])}: ${note}`;
}

/** Exit 2, before anything is written, where `root` holds another experiment's runs (otherExperimentsInRoot). */
export function checkRootOfThisExperiment(exp: LoadedExperiment, root: string): void {
  const said = otherExperimentsInRoot(exp, root);
  if (said !== null) throw new InputError(`${said}; nothing was written`, exp.file, "output.dir");
}

/**
 * Where a single run goes: <experiment root>/<run id>, the run id being the hash of the fully
 * resolved config, so running the same config again finds the finished run and a run with any
 * other setting gets a folder of its own.
 */
export function placeSingleRun(exp: LoadedExperiment): RunPlacement {
  const hash = configHash(exp.spec, exp.model, exp.baseDir);
  const root = experimentRoot(exp);
  // The same config run by a sweep into this folder is this run: its folder, id and sweep record.
  const swept = existsSync(join(root, hash, RUN_META_FILE)) ? null : findRunFolderByHash(root, hash);
  if (swept !== null) return { runId: swept.meta.run_id, runDir: swept.dir, meta: { ...swept.meta, experiment: exp.spec.name } };
  const runId = hash;
  const runDir = join(root, runId);
  // Runs of the same config with other seeds are replicates: same config_id.
  const configId = replicateId(exp.spec, exp.model, exp.baseDir);
  return { runId, runDir, meta: { run_id: runId, config_id: configId, config_hash: hash, experiment: exp.spec.name, index: 0, params: {}, seed: exp.spec.seed, method: exp.spec.train.method } };
}

export type RunOutcome = { skipped: true; summary: RunSummary | null } | { skipped: false; summary: RunSummary };

/**
 * The run directory is created (and locked) only when training is about to start, after the
 * model, data, checkpoint and execution provider have all been set up: bad input found on the
 * way leaves nothing on disk. `recordEarlyFailures` (sweeps) still writes a run directory with a
 * failed summary for such runs, so that runs.csv can say what happened.
 */
export async function runOne(
  exp: LoadedExperiment,
  place: RunPlacement,
  progress: ProgressReporter,
  force: boolean,
  recordEarlyFailures = false,
  openSession: ProviderSessionOpener = openIdentitySession,
): Promise<RunOutcome> {
  const resolved = resolvedConfig(exp.spec, exp.model, exp.baseDir, dirname(place.runDir));
  const state = force ? "todo" : runState(place.runDir, place.meta.config_hash);
  if (state === "completed") {
    for (const note of completedRunNotes(exp, place.runDir, resolved.data)) progress.log(note);
    return { skipped: true, summary: readSummary(place.runDir) };
  }
  if (state === "diverged") {
    const earlier = readSummary(place.runDir);
    throw new DivergedEarlierError(earlier?.steps_done ?? 0, place.runDir, earlier?.message);
  }
  if (!force) checkNoOtherRun(place.runDir, place.meta);
  // An earlier attempt of this very config that left a resume checkpoint continues from it.
  const resume = !force && wouldResume(place.runDir, place.meta.config_hash);
  const changedData = resume ? resumeOnChangedData(place.runDir, readRunMeta(place.runDir)?.data_files, resolved.data) : null;
  if (changedData !== null) throw new InputError(changedData, exp.file, "data");
  const lost = force || resume ? null : stepsOfUnsavedAttempt(place.runDir, place.meta.config_hash);
  // A run folder's config.yaml run into another folder: compared with the run it records.
  const source = sourceRunOf(exp, place);
  const copied = dataOfCopiedRun(exp, source, place, resolved.data) ?? dataGivenAnew(exp, source, place, resolved.data);
  if (copied !== null) progress.log(copied);
  let release: (() => void) | null = null;
  let unguard: (() => void) | null = null;
  const prepareRunDir = () => {
    // A stop signal the trainer does not hear (it listens only while it trains) must still release the lock.
    unguard ??= guardLock((signal) => progress.log(`${signal}: ending ${place.runId} without a resume checkpoint (its lock is released)`));
    if (release !== null) return;
    // A resumed attempt keeps config.yaml as the run started (run-experiment.ts) and records its own
    // values of the settings outside the id where they differ.
    const otherSettings = resume ? settingsOtherThanConfigFile(join(place.runDir, RUN_CONFIG_FILE), resolved) : [];
    const staleLocks: Array<{ holder: LockHolder | null; ageMs: number }> = [];
    release = startRunDir(place.runDir, { ...place.meta, data_files: dataFileStamps(resolved.data, true) }, { keep: resume, force, settings: attemptSettings(otherSettings), tookOverLock: (holder, ageMs) => staleLocks.push({ holder, ageMs }) });
    // Said once the folder is ours: a process killed outright left the lock, taken over without a word before.
    for (const { holder, ageMs } of staleLocks) progress.log(tookOverRunLock(place.runDir, holder, resume ? resumeCheckpointStep(join(place.runDir, RESUME_FILE)) : null, ageMs));
    const settingsNote = otherSettingsNote(place.runId, otherSettings);
    if (settingsNote !== null) progress.log(settingsNote);
    // After set-up, so that the onnxruntime build this attempt runs is known.
    const otherCode = codeOfEarlierTraining(exp, source, place, resume);
    if (otherCode !== null) progress.log(otherCode);
    // Said once the lock is ours: before, the "earlier attempt" may have been a process still running it.
    if (lost !== null)
      progress.log(`an earlier attempt of this run reached step ${lost} and left no resume checkpoint (one is written every train.checkpoint_every updates, and at Ctrl-C or SIGTERM): starting again from step 0`);
  };
  try {
    // Every GPU of a runtime.device_id list, before any stage's worker starts (a bad index there
    // would otherwise end the run with exit 1); the other providers are checked by the set-up itself.
    if (exp.spec.runtime.provider === "cuda") {
      checkDevicePlacement(exp.spec, exp.model);
      await checkProvider(exp.spec, openSession);
    }
    const summary = await runExperiment(exp.spec, {
      specFile: resolve(exp.file),
      baseDir: exp.baseDir,
      runDir: place.runDir,
      runId: place.runId,
      progress,
      prepareRunDir,
      resume,
      configHash: place.meta.config_hash,
      resolvedConfig: resolved,
      concurrentRuns: place.concurrentRuns,
    });
    return { skipped: false, summary };
  } catch (err) {
    if (err instanceof RunCompletedElsewhere) return { skipped: true, summary: readSummary(place.runDir) };
    // The run's lock, and so its folder, is another process's now: nothing more is written there.
    if (err instanceof RunLockTakenOver) throw err;
    nameExperimentFile(err, exp.file, exp.overrides, { keys: Object.keys(place.meta.params), context: place.sweepContext });
    const started = release !== null;
    if (started || recordEarlyFailures) {
      prepareRunDir();
      // The trainer writes summary.json once training has started; a run that failed before that
      // still gets one.
      if (readSummary(place.runDir) === null) {
        const status: RunStatus = err instanceof NonFiniteLossError ? "nan_loss" : "failed";
        writeJsonAtomic(join(place.runDir, SUMMARY_FILE), failedSummary(place, status, err));
      }
    }
    throw err;
  } finally {
    (release as (() => void) | null)?.();
    (unguard as (() => void) | null)?.();
  }
}

/** The run folder whose config.yaml `exp.file` is, with its run-meta.json, where that is not this run's own folder; else null. */
interface SourceRun {
  dir: string;
  meta: RunMeta;
}

function sourceRunOf(exp: LoadedExperiment, place: RunPlacement): SourceRun | null {
  const dir = dirname(resolve(exp.file));
  if (dir === resolve(place.runDir)) return null;
  const meta = readRunMeta(dir);
  return meta === null ? null : { dir, meta };
}

/**
 * A run folder's config.yaml trained into another folder (a colleague's run copied here, as
 * README.md's Re-runnable configs says): the same config hash names the same data paths, but the
 * files there may not be the ones that run read. Its run-meta.json recorded their stamps; a warning
 * names each file that differs, or null.
 */
function dataOfCopiedRun(exp: LoadedExperiment, source: SourceRun | null, place: RunPlacement, data: DataSpec): string | null {
  if (source === null || source.meta.config_hash !== place.meta.config_hash) return null;
  const changes = dataChangesSince(source.meta.data_files, data);
  if (changes.length === 0) return null;
  return `warning: ${exp.file} is the config of the run in ${source.dir}, whose data files differ from the files here (${changes.join("; ")}): this run trains on the files as they are now, so its results need not match that run's`;
}

/**
 * A run folder's config.yaml trained as another run (its data given at new paths, or any other
 * setting changed): a warning naming each data key whose file is not the one that run read (its
 * run-meta.json's SHA-256 under the path its config.yaml gives the key), or null. The files are
 * hashed once: startRunDir's stamps of them take the same digests (data-files.ts caches them).
 */
function dataGivenAnew(exp: LoadedExperiment, source: SourceRun | null, place: RunPlacement, data: DataSpec): string | null {
  // The same run (dataOfCopiedRun compares the same paths) or no record to compare with.
  if (source === null || source.meta.config_hash === place.meta.config_hash || source.meta.data_files === undefined) return null;
  let then: LoadedExperiment;
  try {
    then = loadExperiment(exp.file, [], { checkRunInputs: false });
  } catch {
    return null; // the file alone does not load (the overrides mended it): nothing to compare by key
  }
  const thenData = resolvedConfig(then.spec, then.model, then.baseDir).data;
  const changes = dataGivenAnewChanges(thenData, data, source.meta.data_files, dataFileStamps(data, true));
  if (changes.length === 0) return null;
  return `warning: ${exp.file} is the config of the run in ${source.dir}, and the data given here are not the files that run read (${changes.join("; ")}): this run trains on them, so its results need not match that run's`;
}

/**
 * A warning where this attempt trains with other code, runtime or CPU than the run it continues
 * (resumed: its last attempt) or repeats (a run folder's config.yaml trained elsewhere: that run's
 * last attempt), or null. Not an error: the same config is the same run, and across commits that
 * did not touch its path the weights are the same bit for bit; where they are not, the reader is told why.
 */
function codeOfEarlierTraining(exp: LoadedExperiment, source: SourceRun | null, place: RunPlacement, resume: boolean): string | null {
  const attempts = readRunMeta(place.runDir)?.provenance ?? [];
  const now = attempts.at(-1);
  if (now === undefined) return null;
  const why = "its numbers need not match bit for bit (run-meta.json records each attempt's code)";
  if (resume) {
    const changes = attempts.length < 2 ? [] : codeChanges(attempts.at(-2)!, now);
    return changes.length === 0 ? null : `warning: resuming ${place.runId} with code that may differ from its earlier attempt's (${changes.join("; ")}): ${why}`;
  }
  const trained = source?.meta.provenance?.at(-1);
  if (source?.meta.config_hash !== place.meta.config_hash || trained === undefined) return null;
  const changes = codeChanges(trained, now);
  return changes.length === 0 ? null : `warning: ${exp.file} is the config of the run in ${source.dir}, trained with code that may differ from this (${changes.join("; ")}): the same run by its id, but ${why}`;
}

/**
 * The last step an earlier attempt of this config logged in `runDir` when it left no resume
 * checkpoint (killed, or failed before its first one), or null: restarting it from step 0 is then
 * said, not silent.
 */
function stepsOfUnsavedAttempt(runDir: string, configHash: string): number | null {
  if (readRunMeta(runDir)?.config_hash !== configHash || existsSync(join(runDir, RESUME_FILE))) return null;
  const last = lastLoggedStep(runDir);
  return last !== null && last > 0 ? last : null;
}

function failedSummary(place: RunPlacement, status: RunStatus, err: unknown): RunSummary {
  const method = findRule(place.meta.method)?.name ?? "sideways";
  const summary = newRunSummary(place.runId, method);
  return { ...summary, status, message: err instanceof Error ? err.message : String(err) };
}
