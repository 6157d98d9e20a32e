/**
 * Runs a planned sweep: each run in a child process (`sideways run ... --child`), at most `jobs`
 * at a time. Completed runs are skipped (unless forced), runs in progress elsewhere are left
 * alone, and runs.csv is regenerated after every run. A child notices when its parent dies (its
 * stdin closes) and stops, so killing a sweep never leaves orphans writing into run directories.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isRunInProgress, runState } from "../results/run-dir.js";
import { writeRunsCsv } from "../results/runs-table.js";
import type { LoadedExperiment } from "../spec/load-experiment.js";
import type { PlannedRun } from "../spec/sweep-expand.js";
import { type ProgressBoard, type ProgressEvent, dispatchEvent } from "./progress.js";

export interface Shard {
  index: number;
  count: number;
}

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
  skipped: string[];
  /** runs another process is running right now */
  elsewhere: string[];
}

const BIN = fileURLToPath(new URL("../../../bin/sideways.js", import.meta.url));

/** Runs whose index is i mod n belong to shard i/n (0 <= i < n). */
export function shardRuns(runs: readonly PlannedRun[], shard: Shard | null): PlannedRun[] {
  return shard === null ? [...runs] : runs.filter((r) => r.index % shard.count === shard.index);
}

export function sweepRoot(exp: LoadedExperiment): string {
  return resolve(exp.spec.output.dir ?? join("results", exp.spec.name));
}

/** The child's command line: the same file and overrides, the run's parameters, no sweep. */
export function childArgs(exp: LoadedExperiment, run: PlannedRun, root: string, opts: SweepOptions): string[] {
  const params = Object.entries(run.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const meta = { index: run.index, params: run.params, config_id: run.configId };
  return [BIN, "run", exp.file, ...opts.overrides, ...params, "sweep=null", "--child", "--run-id", run.runId, "--run-dir", join(root, run.runId), "--sweep-meta", JSON.stringify(meta), ...(opts.force ? ["--force"] : [])];
}

export async function runSweep(exp: LoadedExperiment, runs: readonly PlannedRun[], opts: SweepOptions, board: ProgressBoard): Promise<SweepOutcome> {
  const root = sweepRoot(exp);
  const outcome: SweepOutcome = { completed: [], failed: [], skipped: [], elsewhere: [] };
  const queue: PlannedRun[] = [];
  for (const run of shardRuns(runs, opts.shard)) {
    const dir = join(root, run.runId);
    if (isRunInProgress(dir)) outcome.elsewhere.push(run.runId);
    else if (!opts.force && runState(dir, run.configHash) === "completed") outcome.skipped.push(run.runId);
    else queue.push(run);
  }
  const total = queue.length + outcome.skipped.length;
  const counts = () => ({ total, done: outcome.completed.length, failed: outcome.failed.length, skipped: outcome.skipped.length });
  board.setCounts(counts());
  for (const id of outcome.elsewhere) board.message(`${id}: running in another process; left alone`);

  const running = new Set<ChildProcess>();
  let stopping = false;
  await new Promise<void>((allDone) => {
    const launchNext = () => {
      while (!stopping && running.size < opts.jobs && queue.length > 0) launch(queue.shift()!);
      if (running.size === 0) allDone();
    };
    const launch = (run: PlannedRun) => {
      const child = spawn(process.execPath, childArgs(exp, run, root, opts), { stdio: ["pipe", "pipe", "pipe"] });
      running.add(child);
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
        if (code === 0) outcome.completed.push(run.runId);
        else {
          outcome.failed.push(run.runId);
          board.message(`${run.runId}: failed (${signal ?? `exit status ${code}`})${stderrTail.trim() ? `:\n${indent(stderrTail.trim())}` : ""}`);
          if (opts.failFast && !stopping) {
            stopping = true;
            board.message("--fail-fast: stopping the other runs");
            for (const c of running) c.kill("SIGTERM");
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
  await writeRunsCsv(root);
  return outcome;
}

const indent = (s: string) => s.split("\n").map((l) => `    ${l}`).join("\n");
