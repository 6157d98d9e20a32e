/**
 * One run's directory: results/<experiment>/<run id>/ holding run-meta.json (written first: what
 * the run is), the trainer's files, and summary.json (written last: how it ended). A run is
 * finished when summary.json says completed and its config hash matches; anything else is redone.
 * `<run dir>.lock` (beside the directory, so clearing the directory keeps it) marks a run in
 * progress so two processes never run the same run.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { InputError, RunError } from "../errors.js";
import { safetensorsDamage } from "../model/safetensors.js";
import { RESUME_FILE, resumeCheckpointStep } from "../train/resume-checkpoint.js";
import type { RunSummary } from "../train/run-types.js";
import { writeJsonAtomic } from "./atomic-write.js";
import { readCsv } from "./csv-read.js";
import { type LockHolder, liveLockHolder, tryLock } from "./file-lock.js";
import { heartbeatTiming, staleAfterS } from "./lock-heartbeat.js";
import type { DataFileStamps } from "./data-files.js";
import { type Provenance, runProvenance } from "./provenance.js";

export const RUN_META_FILE = "run-meta.json";
export const SUMMARY_FILE = "summary.json";
/** The run's resolved config, as it started: `sideways run <run folder>/config.yaml` trains it again. */
export const RUN_CONFIG_FILE = "config.yaml";
/** A completed run's trained weights. */
export const FINAL_WEIGHTS_FILE = "final.safetensors";
/** With output.keep_best: the weights of the run's best evaluation so far (summary.json best_eval_step). */
export const BEST_WEIGHTS_FILE = "best.safetensors";
/**
 * runs.csv's status of a run folder whose summary.json says completed but whose final.safetensors
 * is not whole (cut short by a full disk or a copy stopped midway): its figures are there, its
 * trained weights are not, so it is not counted, copied or exported as completed. A missing file
 * is not this (finalWeightsDamage).
 */
export const UNREADABLE_WEIGHTS = "unreadable_weights";
/** runs.csv's status of a run folder whose summary.json, or run-meta.json, is there but is not JSON. */
export const UNREADABLE_SUMMARY = "unreadable_summary";
export const UNREADABLE_RUN_META = "unreadable_run_meta";

/**
 * One attempt at a run, as run-meta.json's provenance lists them: its code, runtime and machine,
 * and where they apply, what else a reader of the folder needs about it.
 */
export type Attempt = Provenance & {
  /**
   * Settings that are no part of the run id (train.checkpoint_every, data.workers, data.prefetch,
   * runtime.steps_per_call, output.*, name) with which this resumed attempt ran other values than
   * config.yaml's (which keeps the values the run started with): dotted key, this attempt's value
   * (null where it left the key out). Absent where it ran config.yaml's.
   */
  settings?: Record<string, unknown>;
  /**
   * The run folder held no resume checkpoint of this attempt when the next one began (killed before
   * its first, or failed), so the next started again from step 0 and its files replaced this one's.
   */
  left_no_checkpoint?: true;
  /** With left_no_checkpoint: the last step metrics.csv had logged then (absent where none). */
  last_step_logged?: number;
};

export interface RunMeta {
  run_id: string;
  /** same for replicates (runs that differ only in seed) */
  config_id: string;
  config_hash: string;
  experiment: string;
  /** position in the sweep; 0 for a single run */
  index: number;
  /** swept parameters (dotted key -> value), seed included when seeds are swept */
  params: Record<string, unknown>;
  seed: number;
  method: string;
  /**
   * one entry per attempt at the run (a resumed run has several; one that failed in its set-up
   * too; one that left no resume checkpoint, restarted from step 0, stays, marked): code, runtime, machine
   */
  provenance?: Attempt[];
  /** the data it reads as its last attempt started: npy and split files by size, time and SHA-256, a video folder by its listing (data-files.ts) */
  data_files?: DataFileStamps;
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return null;
  }
}

/** A file that is there but is not JSON (cut short, edited by hand): not the same as no file. */
export function unreadableJson(path: string): boolean {
  if (!existsSync(path)) return false;
  return readJson<unknown>(path) === null;
}

export const readRunMeta = (dir: string) => readJson<RunMeta>(join(dir, RUN_META_FILE));
export const readSummary = (dir: string) => readJson<RunSummary>(join(dir, SUMMARY_FILE));

export const runLockPath = (runDir: string) => `${runDir.replace(/[/\\]+$/, "")}.lock`;

/**
 * Runs last days; a run lock from another host without a heartbeat (written by an earlier version)
 * is never judged stale by age. One with a heartbeat is, by heartbeatTiming()'s stale margin.
 */
const RUN_LOCK_STALE_MS = Number.POSITIVE_INFINITY;

/** The process holding the run's lock now (pid, host), or null when none does (or it is stale). */
export function runLockHolderNow(runDir: string): LockHolder | null {
  return liveLockHolder(runLockPath(runDir), RUN_LOCK_STALE_MS, heartbeatTiming().staleS);
}

/**
 * diverged: an attempt of this very config stopped at a non-finite loss (nan_loss). Runs are
 * deterministic, so running it again would only diverge again: `run` and `sweep` leave it as it
 * is, an outcome like completed, unless --force.
 */
export type RunState = "completed" | "diverged" | "running" | "todo";

export function runState(runDir: string, configHash: string): RunState {
  if (runLockHolderNow(runDir)) return "running";
  if (readRunMeta(runDir)?.config_hash !== configHash) return "todo";
  const status = readSummary(runDir)?.status;
  // Completed with damaged final weights is not done: `run` and `sweep` then refuse the folder (checkNoOtherRun).
  if (status === "completed") return finalWeightsDamage(runDir) === null ? "completed" : "todo";
  return status === "nan_loss" ? "diverged" : "todo";
}

/**
 * Why a run folder's final.safetensors is not whole (cut short, a header that cannot be read), or
 * null when it is or is not there at all: read from its header alone, so a listing of many runs
 * stays fast. A completed run writes its final weights before its summary (src/train/run-experiment.ts),
 * each atomically, so a missing file was removed after the run completed (to save disk, say): its
 * figures still stand, and `export` says the weights are gone. A cut-short one was damaged.
 */
export function finalWeightsDamage(runDir: string): string | null {
  const weights = join(runDir, FINAL_WEIGHTS_FILE);
  return existsSync(weights) ? safetensorsDamage(weights) : null;
}

/**
 * How a run folder's last attempt ended, as runs.csv calls it, and the step it got to; null for an
 * attempt that left neither a summary nor a resume checkpoint (killed before its first). An
 * attempt killed outright (SIGKILL, a lost node) writes no summary.json: none is there, or an
 * earlier attempt's, and its resume checkpoint, where a next attempt goes on from, is the newest
 * word: interrupted at that step.
 */
export function lastAttempt(runDir: string): { status: string; steps: number; damage?: string } | null {
  const summary = readSummary(runDir);
  const resumeStep = resumeCheckpointStep(join(runDir, RESUME_FILE));
  if (resumeStep !== null && (summary === null || resumeStep > summary.steps_done)) return { status: "interrupted", steps: resumeStep };
  if (summary === null) return null;
  // A completed summary beside cut-short final weights: said as such (damage says why), never completed.
  const damage = summary.status === "completed" ? finalWeightsDamage(runDir) : null;
  return damage === null ? { status: summary.status, steps: summary.steps_done } : { status: UNREADABLE_WEIGHTS, steps: summary.steps_done, damage };
}

export function isRunInProgress(runDir: string): boolean {
  return runLockHolderNow(runDir) !== null;
}

/**
 * What `sweep` and `run` say of a run they leave to a process on another machine. A lock with a
 * heartbeat goes stale once it stops beating, and the next attempt takes it over; one written
 * without (by an earlier version) never does (RUN_LOCK_STALE_MS), so only the user can say its
 * holder died.
 */
export function leftToAnotherHost(runId: string, runDir: string, holder: LockHolder, rerun: string): string {
  const where = `${runId}: running on ${holder.host} (pid ${holder.pid}); left to it`;
  if (holder.heartbeat_s === undefined) return `${where} (if that process died, delete ${runLockPath(runDir)} and ${rerun})`;
  return `${where} while its lock ${runLockPath(runDir)} beats (if it stops, ${rerun} once it has been still for ${staleAfterS(holder.heartbeat_s, heartbeatTiming().staleS)} s: the run is then taken over)`;
}

const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(0));

/**
 * What `run` (a sweep's run too) says where it took over its run's lock from a process that is
 * gone: on this host, one killed outright (SIGKILL, the out-of-memory killer, a node's task
 * resubmitted onto it); on another, one whose heartbeat stopped (a pod killed, a node lost), `ageMs`
 * after its last beat. It names the pid that left it and where the run goes on from
 * (`resumeStep`; null: from step 0).
 */
export function tookOverRunLock(runDir: string, stale: LockHolder | null, resumeStep: number | null, ageMs = 0): string {
  const whose =
    stale === null
      ? "a file naming no process"
      : stale.host === hostname()
        ? `left by pid ${stale.pid}, which is no longer running on this host`
        : `left by pid ${stale.pid} on ${stale.host}, whose heartbeat stopped: last beat ${seconds(ageMs)} s ago`;
  return `took over its lock ${runLockPath(runDir)} (${whose}); ${resumeStep === null ? "starting from step 0" : `resuming from step ${resumeStep}`}`;
}

/**
 * The run folder under `root` that holds the run of config `hash` under another name than the
 * bare hash: a sweep's run, named `<swept values>_<hash>`. `sideways run` on that run's
 * config.yaml (or on the sweep file's base config) is the same run and must find it, not train a
 * second copy beside it that the sweep's table would count twice.
 */
export function findRunFolderByHash(root: string, hash: string): { dir: string; meta: RunMeta } | null {
  if (!existsSync(root)) return null;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.endsWith(`_${hash}`)) continue;
    const dir = join(root, entry.name);
    const meta = readRunMeta(dir);
    if (meta?.config_hash === hash) return { dir, meta };
  }
  return null;
}

/** A run may only be written where nothing else lives: an absent, empty or earlier run directory. */
export function checkRunDirUsable(runDir: string): void {
  if (existsSync(runDir) && readdirSync(runDir).length > 0 && !existsSync(join(runDir, RUN_META_FILE)))
    throw new InputError(`${runDir} is not empty and is not a sideways run directory (no ${RUN_META_FILE}); choose another output.dir`, undefined, "output.dir");
}

/** Found on taking a run's lock: another process completed the run meanwhile; nothing to do. */
export class RunCompletedElsewhere extends Error {}

/** A run folder that holds another run (another config hash): never written into without --force. */
export class RunDirConflictError extends InputError {}

export function checkNoOtherRun(runDir: string, meta: Pick<RunMeta, "run_id" | "config_hash">): void {
  const there = readRunMeta(runDir);
  // An unreadable record (edited by hand, a damaged disk) says nothing of which run the folder
  // holds: taken for none, the folder (final weights, a resume checkpoint) was deleted to start afresh.
  if (there === null && existsSync(join(runDir, RUN_META_FILE)))
    throw new RunDirConflictError(
      `${join(runDir, RUN_META_FILE)} cannot be read (expected the JSON record of the run the folder holds), so which run ${runDir} holds is unknown; ` +
        "nothing was written (mend or delete that file, use --force to replace the folder, or another output.dir)",
      undefined, "output.dir",
    );
  // A summary that cannot be read says nothing of how the run ended (completed, perhaps): taken for
  // none, training again deleted the folder with the figures and weights it may hold.
  if (there !== null && there.config_hash === meta.config_hash && unreadableJson(join(runDir, SUMMARY_FILE)))
    throw new RunDirConflictError(
      `${join(runDir, SUMMARY_FILE)} cannot be read (expected the JSON record of how run ${meta.run_id} ended; runs.csv: ${UNREADABLE_SUMMARY}), so whether it completed is unknown; ` +
        "nothing was written (mend that file, or delete it to resume the run from its resume checkpoint or train it again, or use --force to replace the folder)",
      undefined, "output.dir",
    );
  // A completed record whose final weights are cut short: training again would delete
  // the folder, and with it what is left to mend or restore.
  const damage = there !== null && there.config_hash === meta.config_hash && readSummary(runDir)?.status === "completed" ? finalWeightsDamage(runDir) : null;
  if (damage !== null)
    throw new RunDirConflictError(
      `${damage}, but ${join(runDir, SUMMARY_FILE)} says run ${meta.run_id} completed (runs.csv: ${UNREADABLE_WEIGHTS}); ` +
        "nothing was written (restore that file from a copy, delete the folder to train the run again, or use --force to replace it)",
      undefined, "output.dir",
    );
  if (there !== null && there.config_hash !== meta.config_hash)
    throw new RunDirConflictError(
      `${runDir} holds run ${there.run_id} (config ${there.config_hash}), not run ${meta.run_id} (config ${meta.config_hash}); ` +
        "nothing was written (use --force to replace it, or another output.dir)",
      undefined, "output.dir",
    );
}

/** Whether a run started now continues from an earlier attempt's resume checkpoint (without --force). */
export const wouldResume = (runDir: string, configHash: string): boolean => readRunMeta(runDir)?.config_hash === configHash && existsSync(join(runDir, RESUME_FILE));

/** The last step the run folder's metrics.csv logged, or null where it has none (or no file). */
export function lastLoggedStep(runDir: string): number | null {
  const metrics = join(runDir, "metrics.csv");
  if (!existsSync(metrics)) return null;
  const last = readCsv(metrics).rows.at(-1)?.step;
  return typeof last === "number" ? last : null;
}

/**
 * The attempts recorded in a folder whose run starts again from step 0 without --force (it left
 * no resume checkpoint): kept, so the folder still says they ran, the last marked with the step it
 * had logged; each marked as having left no checkpoint. [] for another run's folder.
 */
function attemptsRestarted(runDir: string, configHash: string): Attempt[] {
  const there = readRunMeta(runDir);
  if (there?.config_hash !== configHash) return [];
  const attempts = there.provenance ?? [];
  let step: number | null = null;
  try {
    step = lastLoggedStep(runDir);
  } catch {
    // A metrics.csv cut short: the attempts are still worth keeping, without the step.
  }
  return attempts.map((a, i) => {
    if (a.left_no_checkpoint === true) return a;
    const last = i === attempts.length - 1 && step !== null ? { last_step_logged: step } : {};
    return { ...a, left_no_checkpoint: true as const, ...last };
  });
}

/**
 * Takes the run's lock, clears what an earlier attempt of the same run left (unless `keep`: a run
 * resuming from its checkpoint keeps its files) and writes run-meta.json. Refuses a non-empty
 * directory that is not a run directory, and one that holds a different run unless `force`.
 * run-meta.json records this attempt's provenance, with `settings` (Attempt), after those of the
 * attempts it resumes or, restarted from step 0, of those that left no checkpoint.
 * `tookOverLock` hears of a stale lock taken over (tryLock). Returns the lock's release.
 */
export function startRunDir(
  runDir: string,
  meta: RunMeta,
  { keep = false, force = false, settings = {} as Record<string, unknown>, tookOverLock = undefined as ((stale: LockHolder | null, ageMs: number) => void) | undefined } = {},
): () => void {
  checkRunDirUsable(runDir);
  if (!force) checkNoOtherRun(runDir, meta);
  mkdirSync(join(runDir, ".."), { recursive: true });
  const release = tryLock(runLockPath(runDir), RUN_LOCK_STALE_MS, tookOverLock, heartbeatTiming());
  if (!release) throw new RunError(`run ${meta.run_id} is already running in another process (lock ${runLockPath(runDir)})`);
  // Checked again under the lock: another process may have completed the run since we looked.
  if (!force && readSummary(runDir)?.status === "completed" && readRunMeta(runDir)?.config_hash === meta.config_hash) {
    release();
    throw new RunCompletedElsewhere(`run ${meta.run_id} was completed by another process`);
  }
  // And a run that another process started and stopped, with a resume checkpoint, since we looked
  // (two shards starting one run): starting afresh would delete that checkpoint.
  if (!force && !keep && wouldResume(runDir, meta.config_hash)) {
    release();
    throw new RunError(`run ${meta.run_id} was started and stopped with a resume checkpoint by another process while this one set up; nothing was removed: run it again to resume from that checkpoint`);
  }
  try {
    // --force replaces the folder and its record; a restart from step 0 keeps the record of what ran.
    const earlier = keep ? (readRunMeta(runDir)?.provenance ?? []) : force ? [] : attemptsRestarted(runDir, meta.config_hash);
    if (existsSync(runDir) && !keep) rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    const attempt: Attempt = { ...runProvenance(), ...(Object.keys(settings).length > 0 ? { settings } : {}) };
    writeJsonAtomic(join(runDir, RUN_META_FILE), { ...meta, provenance: [...earlier, attempt] });
    return release;
  } catch (err) {
    release();
    throw err;
  }
}
