/**
 * Runs a planned sweep: each run in a child process (`sideways run ... --child`), at most `jobs`
 * at a time. Completed runs are skipped (unless forced), runs in progress in another process on
 * this machine are waited for (on another machine: left to it, unless its lock's heartbeat stops),
 * and runs.csv is regenerated after every run. A child notices when its parent dies (its stdin closes) and stops at its next step
 * boundary with a resume checkpoint, as on a stop signal, so killing a sweep never leaves orphans
 * writing into run directories and running the sweep again resumes its runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { heldFromAnotherHost, lockHolder } from "../results/file-lock.js";
import { BeatingLocks } from "./beating-locks.js";
import { changesBarringResume, stampsOncePerData } from "../results/data-files.js";
import { isRunInProgress, leftToAnotherHost, readRunMeta, runLockHolderNow, runLockPath, runState, wouldResume } from "../results/run-dir.js";
import { resolvedConfig } from "../spec/resolved-config.js";
import { writeRunsCsv } from "../results/runs-table.js";
import { type PlanEntry, recordSweepPlan } from "../results/sweep-plan.js";
import { sweepStructure } from "../results/sweep-structure.js";
import { EXPERIMENT_PATH_KEYS, type LoadedExperiment } from "../spec/load-experiment.js";
import { resolveUserPath } from "../util/user-path.js";
import type { PlannedRun } from "../spec/sweep-expand.js";
import { type Shard, shardOfRun } from "../spec/sweep-shard.js";
import { EXIT_INTERRUPTED, EXIT_NON_FINITE_LOSS, EXIT_OK } from "./exit-codes.js";
import { experimentRoot } from "./run-one.js";
import { completedRunNotes } from "./completed-run-notes.js";
import { FAIL_FAST_STOP_LINE, type StopSignal, isStopSignal, onStopSignals, stopCauseText } from "../train/stop-signals.js";
import { type ProgressBoard, type ProgressEvent, dispatchEvent } from "./progress.js";

export interface SweepOptions {
  jobs: number;
  failFast: boolean;
  force: boolean;
  shard: Shard | null;
  /** the user's command-line overrides, passed on to every child */
  overrides: readonly string[];
}

export interface SweepOutcome {
  completed: string[];
  failed: string[];
  /** already completed before this sweep started them, here or in another process */
  skipped: string[];
  /**
   * runs held by a process on another machine (left to it: its liveness cannot be checked from
   * here), or on this one and not finished when this sweep stopped waiting
   */
  elsewhere: string[];
  /** runs stopped by a stop signal (Ctrl-C, SIGTERM): each resumes from its last resume checkpoint (the stop's own, unless a second Ctrl-C aborted it) */
  interrupted: string[];
  /** runs a stop (a signal, --fail-fast) ended or kept from starting before they made their folder (runs.csv's not_started); run again, the sweep starts them */
  notStarted: string[];
  /** --fail-fast stopped the sweep at a failed or diverged run (not a signal) */
  failFastStopped: boolean;
  /**
   * the first stop signal (Ctrl-C, SIGTERM) the sweep took while its runs ran, or null: the sweep
   * was interrupted, even where --fail-fast had already begun to stop its runs
   */
  stopSignal: StopSignal | null;
  /**
   * runs stopped at a non-finite loss (nan_loss), in this sweep or an earlier attempt of the same
   * config: final, as a completed run is (run-dir.ts runState), unless --force
   */
  diverged: string[];
}

/** How often a sweep looks whether runs held by another process have finished. */
const ELSEWHERE_POLL_MS = 500;

const BIN = fileURLToPath(new URL("../../../bin/sideways.js", import.meta.url));

/** The runs of shard i/n (sweep-shard.ts), or all of them without --shard. */
export function shardRuns(runs: readonly PlannedRun[], shard: Shard | null): PlannedRun[] {
  return shard === null ? [...runs] : runs.filter((r) => shardOfRun(r.index, shard.count) === shard.index);
}

export const sweepRoot = experimentRoot;

/** A run as sweep-plan.json lists it: what its run-meta.json will say of it. */
const planEntry = (run: PlannedRun): PlanEntry => ({
  run_id: run.runId,
  config_id: run.configId,
  config_hash: run.configHash,
  experiment: run.spec.name,
  index: run.index,
  params: run.params,
  seed: run.spec.seed,
  method: run.spec.train.method,
});

/**
 * The plan's entries; the first run of each configuration also holds its resolved config (its
 * seeds' differ only in the seed), so that a configuration with no run started still has its
 * settings (src/results/run-settings.ts). Once per configuration, not per run: a config with the
 * whole model is a few kB, and a sweep of many seeds would repeat it for each.
 */
function planEntries(runs: readonly PlannedRun[], baseDir: string, root: string): PlanEntry[] {
  const withConfig = new Set<string>();
  return runs.map((run) => {
    if (withConfig.has(run.configId)) return planEntry(run);
    withConfig.add(run.configId);
    return { ...planEntry(run), config: resolvedConfig(run.spec, run.model, baseDir, root) };
  });
}

/**
 * The child's command line: the same file and overrides, the run's parameters, no sweep, and how
 * many runs train at once as it starts (they share the machine's cores: its data-workers note).
 */
export function childArgs(exp: LoadedExperiment, run: PlannedRun, root: string, opts: SweepOptions, concurrentRuns: number): string[] {
  // A swept path is written in the file, so relative to it; the child reads overrides' paths
  // relative to the current directory (load-experiment.ts), so it gets the path made absolute.
  const params = Object.entries(run.params).map(([k, v]) => `${k}=${JSON.stringify(EXPERIMENT_PATH_KEYS.has(k) && typeof v === "string" ? resolveUserPath(exp.baseDir, v) : v)}`);
  const meta = { index: run.index, params: run.params, config_id: run.configId, context: run.context };
  return [BIN, "run", exp.file, ...opts.overrides, ...params, "sweep=null", "--child", "--run-id", run.runId, "--run-dir", join(root, run.runId), "--sweep-meta", JSON.stringify(meta), "--sweep-jobs", String(concurrentRuns), ...(opts.force ? ["--force"] : [])];
}

/**
 * The sweep's runs that would resume from a checkpoint on data files changed since they started,
 * each with what changed. `run` refuses such a run (run-one.ts); a sweep refuses them all before
 * any run starts, rather than each child failing as if a retry could mend it.
 */
export function resumesOnChangedData(runs: readonly PlannedRun[], root: string, baseDir: string): { run: PlannedRun; dir: string; changes: string[] }[] {
  const now = stampsOncePerData();
  return runs.flatMap((run) => {
    const dir = join(root, run.runId);
    if (!wouldResume(dir, run.configHash)) return [];
    const changes = changesBarringResume(dir, readRunMeta(dir)?.data_files, resolvedConfig(run.spec, run.model, baseDir).data, now);
    return changes.length === 0 ? [] : [{ run, dir, changes }];
  });
}

/**
 * A run held by another live process on this machine (another sweep of the same folder, a second
 * terminal) is not failed: the sweep waits for it, takes it as done when the other process
 * completes it, and runs it itself when that process stops without completing it. A run held from
 * another machine (a cluster node) is left to it and reported as such: its pid cannot be checked
 * from here. Where its lock beats (src/results/lock-heartbeat.ts) the sweep looks at it again once
 * its own runs are done (beating-locks.ts), and takes over a lock whose heartbeat stopped; a lock
 * without a heartbeat (an earlier version's) never goes stale, so waiting for it would never end.
 * A stop signal (Ctrl-C, SIGTERM: src/train/stop-signals.ts) is passed on to the runs (children sit
 * in their own process group, so a terminal's Ctrl-C reaches them only this way): each writes a
 * resume checkpoint and stops; the sweep then records runs.csv and reports them as interrupted.
 * A child ignores the same stop coming twice (Slurm signals every process of a job, the children
 * too: src/train/early-interrupt.ts), so a second signal to the sweep aborts the runs with SIGKILL.
 */
export async function runSweep(exp: LoadedExperiment, runs: readonly PlannedRun[], opts: SweepOptions, board: ProgressBoard): Promise<SweepOutcome> {
  const root = sweepRoot(exp);
  const outcome: SweepOutcome = { completed: [], failed: [], skipped: [], elsewhere: [], interrupted: [], notStarted: [], failFastStopped: false, stopSignal: null, diverged: [] };
  const queue: PlannedRun[] = [];
  const waiting = new Map<string, PlannedRun>();
  /** Runs held from another machine by a lock with a heartbeat: looked at again once the rest are done. */
  const beating = new BeatingLocks(root);
  /** A run another process holds: waited for when that process is on this machine. */
  const heldElsewhere = (run: PlannedRun) => {
    const dir = join(root, run.runId);
    const holder = runLockHolderNow(dir);
    if (holder !== null && heldFromAnotherHost(holder) && holder.heartbeat_s !== undefined) {
      beating.add(run);
      board.message(`${run.runId}: running on ${holder.host} (pid ${holder.pid}); left to it while its lock ${runLockPath(dir)} beats (looked at again once this sweep's other runs are done)`);
    } else if (holder !== null && heldFromAnotherHost(holder)) {
      outcome.elsewhere.push(run.runId);
      board.message(leftToAnotherHost(run.runId, dir, holder, "run the sweep again"));
    } else {
      waiting.set(run.runId, run);
      board.message(`${run.runId}: running in another process; waiting for it`);
    }
  };
  /**
   * A run a stop ended or kept from starting: interrupted where it has a folder of its config (it
   * resumes from its last checkpoint), else not started (a stop while its child set up, or before
   * it was launched: runs.csv's not_started).
   */
  const countStopped = (run: PlannedRun) =>
    (readRunMeta(join(root, run.runId))?.config_hash === run.configHash ? outcome.interrupted : outcome.notStarted).push(run.runId);
  const planned = shardRuns(runs, opts.shard);
  // Before any run starts: runs.csv then names every run of the sweep this process leaves unstarted.
  // (exp.spec.sweep is set: planSweep refuses a file without one.)
  const planNote = await recordSweepPlan(root, exp.spec.name, planEntries(runs, exp.baseDir, root), planned.map((r) => r.runId), sweepStructure(exp.spec.sweep!), opts.shard);
  // Even with --quiet: shards given other files, overrides or shard counts leave runs to no shard without a word.
  if (planNote !== null) board.message(`warning: ${planNote}`, true);
  const held: PlannedRun[] = [];
  const dataNow = stampsOncePerData();
  for (const run of planned) {
    const dir = join(root, run.runId);
    const state = opts.force ? "todo" : runState(dir, run.configHash);
    if (isRunInProgress(dir)) held.push(run);
    else if (state === "completed") {
      outcome.skipped.push(run.runId);
      const found = { spec: run.spec, model: run.model, baseDir: exp.baseDir, file: exp.file, overrides: opts.overrides };
      for (const note of completedRunNotes(found, dir, resolvedConfig(run.spec, run.model, exp.baseDir).data, dataNow)) board.message(note);
    } else if (state === "diverged") {
      outcome.diverged.push(run.runId);
      board.message(`${run.runId}: stopped at a non-finite loss in an earlier attempt (nan_loss); not run again (--force does)`);
    } else queue.push(run);
  }
  const total = planned.length;
  const counts = () => ({
    total,
    done: outcome.completed.length,
    failed: outcome.failed.length,
    diverged: outcome.diverged.length,
    interrupted: outcome.interrupted.length,
    skipped: outcome.skipped.length,
  });
  board.setCounts(counts(), opts.jobs);
  held.forEach(heldElsewhere);

  const running = new Set<ChildProcess>();
  let stopping = false;
  let signals = 0;
  let aborted = false;
  const stopListening = onStopSignals((signal) => {
    signals++;
    stopping = true;
    outcome.stopSignal ??= signal;
    if (signals === 1) {
      board.message(`${stopCauseText(signal)}: the running runs save resume checkpoints and stop (a second Ctrl-C aborts them)`);
      for (const c of running) c.kill(signal);
    } else if (signal === "SIGTERM") {
      // A scheduler may send SIGTERM again (Slurm's --signal=B:TERM@N, then its time limit): the
      // runs keep finishing their step; the scheduler's own SIGKILL ends them if it must.
      board.message("SIGTERM again: the runs are already saving and stopping");
    } else {
      aborted = true;
      board.message(`${signal} again: aborting the running runs`);
      for (const c of running) c.kill("SIGKILL");
    }
  });
  let poll: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((allDone) => {
      const launchNext = () => {
        while (!stopping && running.size < opts.jobs && queue.length > 0) launch(queue.shift()!);
        // The sweep's own runs done: the runs left to another machine whose lock's heartbeat
        // stopped are taken over, those beating left to it, those still since first seen waited for.
        if (!stopping && running.size === 0 && queue.length === 0 && waiting.size === 0 && beating.size > 0) lookAgainAtBeating();
        while (!stopping && running.size < opts.jobs && queue.length > 0) launch(queue.shift()!);
        if (running.size === 0 && (stopping || (queue.length === 0 && waiting.size === 0 && beating.size === 0))) allDone();
      };
      /** A run another process held and no longer holds: done when it completed it, ours again when it gave up. */
      const heldNoLonger = (id: string, run: PlannedRun) => {
        const state = runState(join(root, id), run.configHash);
        if (state === "completed") {
          outcome.skipped.push(id);
          board.message(`${id}: completed by another process`);
        } else if (state === "diverged") {
          outcome.diverged.push(id);
          board.message(`${id}: stopped at a non-finite loss in another process (nan_loss)`);
        } else queue.push(run);
      };
      const lookAgainAtBeating = () => {
        const seen = beating.lookAgain();
        for (const { run, holder } of seen.gone) {
          // Its child takes the stale lock over and says so (tookOverRunLock), a note; this, with --quiet too.
          if (holder !== null) board.message(`${run.runId}: the heartbeat of its lock (${holder.host}, pid ${holder.pid}) stopped: that process is taken as gone`, true);
          heldNoLonger(run.runId, run);
        }
        for (const { run } of seen.heldHere) waiting.set(run.runId, run);
        for (const { run, holder } of seen.alive) {
          outcome.elsewhere.push(run.runId);
          board.message(`${run.runId}: still running on ${holder.host} (pid ${holder.pid}), its lock beating; left to it`);
        }
        if (seen.newlyStill.length > 0)
          board.message(
            `waiting up to ${Math.ceil(seen.waitS)} s for ${seen.newlyStill.map(({ run, holder }) => `${run.runId} (${holder.host}, pid ${holder.pid})`).join(", ")}: ` +
              `${seen.newlyStill.length === 1 ? "its lock has" : "their locks have"} not beaten since this sweep first looked; taken over if still until then, left to ${seen.newlyStill.length === 1 ? "its holder" : "their holders"} at the next beat (Ctrl-C stops waiting)`,
            true,
          );
        board.setCounts(counts());
      };
      /** Runs another process held: done when it completed them, ours again when it gave up. */
      const checkWaiting = () => {
        for (const [id, run] of waiting) {
          if (isRunInProgress(join(root, id))) continue;
          waiting.delete(id);
          heldNoLonger(id, run);
        }
        board.setCounts(counts());
        launchNext();
      };
      poll = setInterval(checkWaiting, ELSEWHERE_POLL_MS);
      const launch = (run: PlannedRun) => {
        // detached: its own process group, so a terminal's Ctrl-C reaches it only through us.
        const child = spawn(process.execPath, childArgs(exp, run, root, opts, Math.min(opts.jobs, running.size + 1 + queue.length)), { stdio: ["pipe", "pipe", "pipe"], detached: true });
        running.add(child);
        // A stop line (--fail-fast) written as the child ends meets a closed pipe: nothing to tell it then.
        child.stdin!.on("error", () => {});
        const reporter = board.reporter(run.runId);
        let stdoutRest = "";
        let stderrTail = "";
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
          const lines = (stdoutRest + chunk).split("\n");
          stdoutRest = lines.pop()!;
          for (const line of lines) {
            if (!line.trim()) continue;
            try {
              dispatchEvent(JSON.parse(line) as ProgressEvent, reporter);
            } catch {
              board.message(`${run.runId}: ${line}`);
            }
          }
        });
        child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-4000)));
        child.on("close", async (code, signal) => {
          running.delete(child);
          board.runGone(run.runId);
          const dir = join(root, run.runId);
          // A run we killed could not release its lock: it is ours to remove (the run resumes from
          // its last checkpoint when the sweep runs again, on this machine or another).
          if (signal === "SIGKILL" && aborted && child.pid !== undefined && lockHolder(runLockPath(dir))?.pid === child.pid) rmSync(runLockPath(dir), { force: true });
          if (code === EXIT_OK) outcome.completed.push(run.runId);
          // (killed by the stop signal itself before it could catch one, or aborted by a second)
          else if (code === EXIT_INTERRUPTED || isStopSignal(signal) || (signal === "SIGKILL" && aborted)) countStopped(run);
          // Another process took the run's lock between our check and the child's start, or while
          // the child trained (its node stopped answering for the lock's stale margin): the run is
          // that process's, not failed, and its lock stays; the child said why it ended.
          else if (isRunInProgress(dir)) {
            if (code !== null && stderrTail.trim()) board.message(`${run.runId}: its process ended (exit status ${code}):\n${indent(stderrTail.trim())}`);
            heldElsewhere(run);
          }
          else if (!opts.force && runState(dir, run.configHash) === "completed") outcome.skipped.push(run.runId);
          else {
            const diverged = code === EXIT_NON_FINITE_LOSS;
            (diverged ? outcome.diverged : outcome.failed).push(run.runId);
            const said = stderrTail.trim() ? `:\n${indent(stderrTail.trim())}` : "";
            board.message(diverged ? `${run.runId}: stopped at a non-finite loss (nan_loss)${said}` : `${run.runId}: failed (${signal ?? `exit status ${code}`})${said}`);
            if (opts.failFast && !stopping) {
              stopping = true;
              outcome.failFastStopped = true;
              // As Ctrl-C does: each saves a resume checkpoint and is counted as interrupted, not
              // failed; told by a line on its stdin, so that its summary.json names --fail-fast.
              board.message("--fail-fast: stopping the other runs (each saves a resume checkpoint)");
              for (const c of running) c.stdin!.write(`${FAIL_FAST_STOP_LINE}\n`);
            }
          }
          board.setCounts(counts());
          try {
            await writeRunsCsv(root);
          } catch (err) {
            board.message(`runs.csv not updated: ${(err as Error).message}`);
          }
          launchNext();
        });
      };
      launchNext();
    });
  } finally {
    clearInterval(poll);
    stopListening();
  }
  outcome.elsewhere.push(...waiting.keys(), ...beating.ids());
  // Runs a stop (a signal, --fail-fast) left in the queue: counted, as runs.csv lists them.
  queue.forEach(countStopped);
  await writeRunsCsv(root);
  return outcome;
}

const indent = (s: string) => s.split("\n").map((l) => `    ${l}`).join("\n");
