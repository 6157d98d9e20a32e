import { join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError } from "../../errors.js";
import { RUN_META_FILE, SUMMARY_FILE, checkNoOtherRun, lastAttempt, readRunMeta, runLockHolderNow, runLockPath, runState, unreadableJson } from "../../results/run-dir.js";
import { heldFromAnotherHost } from "../../results/file-lock.js";
import { UNREADABLE_RUN_META, UNREADABLE_SUMMARY } from "../../results/runs-table.js";
import { leftoverNote, leftoversOfMissingRuns } from "../../results/collect-leftovers.js";
import { keepEarlierRunIds } from "../../results/earlier-run-ids.js";
import { writeSweepReport } from "../../results/sweep-report.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { type PlannedRun, planSweep } from "../../spec/sweep-expand.js";
import { ineffectiveSettingsOfRuns, seedDependentEvaluation } from "../../spec/setting-notes.js";
import type { CliIo } from "../cli-io.js";
import { EXIT_INTERRUPTED, EXIT_NON_FINITE_LOSS, EXIT_RUN_FAILED } from "../exit-codes.js";
import { ProgressBoard, displayMode } from "../progress.js";
import { resumesOnChangedData, runSweep, shardRuns, sweepRoot } from "../sweep-runner.js";
import { checkRootOfThisExperiment, otherExperimentsInRoot } from "../run-one.js";
import type { Shard } from "../../spec/sweep-shard.js";
import { count, firstFew } from "../../util/count.js";
import { openProbeSessionInChild, preflightRuns, printedFinding } from "../preflight.js";
import { wholeNumber } from "../whole-number.js";
import { guardLock } from "../../train/stop-signals.js";
import type { HelpExamples } from "../help-examples.js";

interface SweepArgs {
  file: string;
  overrides: string[];
  "dry-run": boolean;
  jobs: number;
  "fail-fast": boolean;
  force: boolean;
  shard?: string;
  quiet: boolean;
}

/**
 * One word of a command line as a POSIX shell reads it back: as it is when it holds only characters
 * no shell treats specially, else in single quotes. By hand: two lines, where a package would add a
 * dependency for a message.
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

export function parseShard(text: string | undefined): Shard | null {
  if (text === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || shard.count < 1 || shard.index >= shard.count)
    throw new InputError(`--shard ${text}: expected i/n with 0 <= i < n (e.g. --shard 0/4 ... --shard 3/4), found '${text}'`);
  return shard;
}

export function sweepCommand(io: CliIo): CommandModule<object, SweepArgs> & HelpExamples {
  return {
    command: "sweep <file> [overrides..]",
    describe: "Run every configuration and seed of the file's sweep: section (resumable)",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file with a sweep: section" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides (sweep.seeds=[0,1,2] too); ~key removes a key the file sets" })
        .option("dry-run", { type: "boolean", default: false, describe: "list every run (id, status: completed, running, todo, or how an earlier attempt ended, such as interrupted@STEP; parameters) and stop (schema and files checked; `validate` also makes the checks a run makes before training)" })
        .option("jobs", { alias: "j", default: 1, coerce: wholeNumber("--jobs", 1), describe: "runs in parallel (one process each)" })
        .option("fail-fast", { type: "boolean", default: false, describe: "stop at the first run that fails or stops at a non-finite loss (default: continue)" })
        .option("force", { type: "boolean", default: false, describe: "redo completed runs too, replacing run folders that hold other runs" })
        .option("shard", { type: "string", describe: "run only shard i of n (i/n, 0-based): runs whose index is i mod n" })
        .option("quiet", { type: "boolean", default: false, describe: "no progress output or notes; warnings and errors still print" }) as unknown as Argv<SweepArgs>,
    examples: [
      ["$0 sweep exp.yaml --dry-run", "list the runs without running them"],
      ["$0 sweep exp.yaml --jobs 4", "four runs at a time; run again to resume"],
      ["$0 sweep exp.yaml --shard $SLURM_ARRAY_TASK_ID/8", "one of 8 machines (scripts/sweeps-slurm.sh)"],
      ["$0 sweep exp.yaml sweep.seeds=[0,1,2,3,4]", "more replicates"],
    ],
    handler: async (argv) => {
      const shard = parseShard(argv.shard);
      const exp = loadExperiment(argv.file, argv.overrides);
      const planned = planSweep(exp);
      const root = sweepRoot(exp);
      // Runs an earlier version named keep their names (earlier-run-ids.ts).
      const runs = keepEarlierRunIds(planned, root);
      // Notes on the sweep's settings (over all its runs: the spread over seeds is the whole
      // sweep's) are advice before training: said by a --dry-run and by a call that will train,
      // not again by every later call of a sweep whose runs are all over (to write its report).
      const sayNotes = () => {
        if (argv.quiet) return;
        const specs = runs.map((r) => r.spec);
        for (const n of [...ineffectiveSettingsOfRuns(runs), seedDependentEvaluation(specs)]) if (n !== null) io.err(`note: ${argv.file}: ${n}\n`);
      };
      if (argv["dry-run"]) {
        // Another experiment's runs in this folder (one output.dir given to both): the sweep refuses
        // them before anything is written (below); --dry-run, which lists what is there, warns.
        const otherExperiments = otherExperimentsInRoot(exp, root);
        if (otherExperiments !== null) io.err(`warning: ${otherExperiments}; the sweep refuses to start\n`);
        sayNotes();
        const mine = shardRuns(runs, shard);
        io.out(`${count(mine.length, "run")}${shard ? ` in shard ${shard.index}/${shard.count}` : ""} of ${runs.length}, into ${root}\n`);
        const notResumed = new Set(argv.force ? [] : resumesOnChangedData(mine, root, exp.baseDir).map((c) => c.run.runId));
        const leftovers = leftoversOfMissingRuns(root, mine.map((r) => r.runId));
        for (const l of leftovers) io.err(`note: ${leftoverNote(root, root, l)}\n`);
        const inLeftover = new Set(leftovers.map((l) => l.runId));
        for (const r of mine) {
          const status = dryRunStatus(join(root, r.runId), r.configHash) +
            (notResumed.has(r.runId) ? " (its data files changed since: the sweep refuses to resume it)" : "") +
            (inLeftover.has(r.runId) ? " (its folder is in a stopped results collect's leftover, noted above: the sweep refuses to start it)" : "");
          const params = Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
          io.out(`${String(r.index).padStart(4)}  ${r.runId}  ${status}  ${params}\n`);
        }
        return;
      }
      // run's own checks before training (as validate makes them), once for each kind of run this
      // process may start (not those completed, nor those another process holds): bad input is
      // exit 2 with nothing written, not a failed run folder each. The provider is tried in a child
      // process, so that this long-lived one holds no GPU context.
      const mayStart = shardRuns(runs, shard).filter((r) => {
        const state = runState(join(root, r.runId), r.configHash);
        return state === "todo" || (argv.force && state === "completed");
      });
      checkRootOfThisExperiment(exp, root);
      refuseRunsInLeftovers(mayStart, root, argv.file);
      if (mayStart.length > 0) sayNotes();
      // A folder holding another run, or whose run-meta.json cannot be read, is exit 2 before any
      // run starts, as `run` and `validate` say it: not a failed run that running the sweep again would not mend.
      if (!argv.force) for (const r of mayStart) checkNoOtherRun(join(root, r.runId), { run_id: r.runId, config_hash: r.configHash });
      if (!argv.force) refuseResumesOnChangedData(mayStart, root, exp.baseDir, argv.file);
      const warnings = await preflightRuns(mayStart, exp.baseDir, exp, true, openProbeSessionInChild);
      // Warnings print with --quiet too (a block that cannot learn is not progress); notes do not.
      for (const w of warnings) if (!(argv.quiet && w.startsWith("note: "))) io.err(`${printedFinding(argv.file, w)}\n`);
      const board = new ProgressBoard(displayMode(argv.quiet, { isTTY: io.errIsTTY }), io.err);
      // Once the runs are over the sweep no longer listens for stops; a signal then (a scheduler's
      // second SIGTERM while runs.csv and the report are written) ends it with status 130 and
      // runs.csv's lock released, not by the signal's default action.
      const unguard = guardLock((signal) => io.err(`${signal}: ending the sweep (\`sideways results collect ${root}\` writes its tables)\n`));
      let outcome: Awaited<ReturnType<typeof runSweep>>;
      let report: string[];
      try {
        outcome = await runSweep(exp, runs, { jobs: argv.jobs, failFast: argv["fail-fast"], force: argv.force, shard, overrides: argv.overrides }, board);
        board.finish();
        // The runs are done whatever their CSVs hold: a broken one (a hand edit, a full disk) costs
        // the report, not the sweep's exit status.
        // A swept setting whose figure cannot be drawn is a note: the rest of the report is written.
        report = await writeSweepReport(root, (line) => {
          if (!argv.quiet) io.err(`note: ${line}\n`);
        }).catch((err: unknown) => {
          if (!(err instanceof InputError)) throw err;
          io.err(`warning: the table, curves and figures were not written: ${err.message}; once the file is mended, \`sideways results collect ${root}\` writes them\n`);
          return [];
        });
      } finally {
        unguard();
      }
      if (!argv.quiet) io.err(`results: ${[join(root, "runs.csv"), ...report.map((f) => join(root, f))].join(", ")}\n`);
      const unfinished = [
        outcome.failed.length ? `${outcome.failed.length} run(s) failed` : "",
        outcome.interrupted.length ? `${outcome.interrupted.length} interrupted (each resumes from its last resume checkpoint)` : "",
        outcome.notStarted.length ? `${outcome.notStarted.length} not started (not_started in runs.csv)` : "",
        outcome.elsewhere.length ? stillRunningElsewhere(root, outcome.elsewhere) : "",
      ].filter(Boolean);
      if (unfinished.length > 0) {
        // The same file, overrides and shard: without the overrides the sweep would plan other runs
        // (other ids); --jobs too, so that the copied command is not a slower sweep.
        const again = ["sideways", "sweep", argv.file, ...argv.overrides, ...(argv.shard === undefined ? [] : ["--shard", argv.shard]), ...(argv.jobs > 1 ? ["--jobs", String(argv.jobs)] : [])].map(shellWord).join(" ");
        io.err(`${unfinished.join(", ")}; run the sweep again to ${outcome.failed.length ? "retry" : "finish"}: ${again}\n`);
        io.exitCode = outcome.failed.length > 0 ? EXIT_RUN_FAILED : EXIT_INTERRUPTED;
      }
      if (outcome.diverged.length > 0) {
        // Runs are deterministic: the sweep leaves these as they are when run again (--force reruns them).
        io.err(`${outcome.diverged.length} run(s) stopped at a non-finite loss (nan_loss in runs.csv; not run again unless --force)\n`);
        // --fail-fast at a diverged run stops the runs still running and keeps the rest from
        // starting: the divergence is why the sweep ended, whether the other runs had started
        // (interrupted) or not (with --jobs 2 that is a matter of timing), so the status is 3.
        // A Ctrl-C or SIGTERM while it stops them is an interrupt all the same: 130, as without --fail-fast.
        const endedByFailFast = outcome.failFastStopped && outcome.stopSignal === null;
        const stoppedByFailFast = endedByFailFast ? 0 : outcome.interrupted.length;
        const nothingElseEnded = outcome.failed.length + stoppedByFailFast + outcome.elsewhere.length === 0;
        if (nothingElseEnded && (unfinished.length === 0 || endedByFailFast)) io.exitCode = EXIT_NON_FINITE_LOSS;
      }
    },
  };
}

/**
 * The closing line's word on runs left to other processes. Those held from another machine by a
 * lock without a heartbeat (an earlier version's) are never taken over (a dead node's lock looks
 * alive from here), so the line repeats the lock files to delete if their processes died: said run
 * by run as they were left, it scrolled away in a long log, and --quiet does not say it at all.
 * A lock that beats is a live process's (a still one was taken over): nothing to delete.
 */
function stillRunningElsewhere(root: string, ids: readonly string[]): string {
  const other = ids.map((id) => ({ dir: join(root, id), holder: runLockHolderNow(join(root, id)) })).filter(({ holder }) => holder !== null && heldFromAnotherHost(holder));
  const held = other.filter(({ holder }) => holder!.heartbeat_s === undefined);
  const head = `${ids.length} still running in another process`;
  if (held.length === 0) {
    if (other.length === 0) return head;
    return other.length === 1 ? `${head} (on ${other[0]!.holder!.host}, pid ${other[0]!.holder!.pid}, its lock beating)` : `${head} (${other.length} on other machines, their locks beating)`;
  }
  const locks = firstFew(held.map(({ dir }) => runLockPath(dir)));
  if (held.length === 1) return `${head} (on ${held[0]!.holder!.host}, pid ${held[0]!.holder!.pid}; if that process died, delete ${locks})`;
  return `${head} (${held.length} on other machines; if those processes died, delete ${locks})`;
}

/**
 * Exit 2 before any run starts where a run to start has no folder but a stopped `results collect`
 * left one beside it (collect-leftovers.ts): that may be the run completed, which training it from
 * step 0 would silently repeat. --force too: the leftover is no run folder it is asked to replace.
 */
function refuseRunsInLeftovers(runs: readonly PlannedRun[], root: string, file: string): void {
  const leftovers = leftoversOfMissingRuns(root, runs.map((r) => r.runId));
  if (leftovers.length === 0) return;
  const ids = [...new Set(leftovers.map((l) => l.runId))];
  const one = ids.length === 1;
  throw new InputError(
    `${file}: ${count(ids.length, "run")} of the sweep (${ids.join(", ")}) ${one ? "has" : "have"} no folder, but a results collect stopped midway left ${one ? "a copy of it" : "copies of them"} beside the runs, ` +
      `so the sweep would train ${one ? "it" : "them"} again from step 0 over what may be a completed run; nothing was started: ${leftovers.map((l) => leftoverNote(root, root, l)).join("; ")}. Then run the sweep again`,
    file,
  );
}

/** Exit 2 before any run starts, naming each run that would resume on changed data and how to redo just those. */
function refuseResumesOnChangedData(runs: readonly PlannedRun[], root: string, baseDir: string, file: string): void {
  const changed = resumesOnChangedData(runs, root, baseDir);
  if (changed.length === 0) return;
  const each = changed.map((c) => `${c.run.runId} (${c.changes.join("; ")})`).join(", ");
  throw new InputError(
    `${file}: ${count(changed.length, "interrupted run")} would resume from ${changed.length === 1 ? "its checkpoint" : "their checkpoints"}, but ${changed.length === 1 ? "its" : "their"} data files changed since ${changed.length === 1 ? "it" : "they"} started, so one run would train on two datasets: ${each}. ` +
      `Put the files back to resume; to train ${changed.length === 1 ? "it" : "them"} again from step 0 on these files, remove ${changed.length === 1 ? "its folder" : "their folders"} first (rm -r ${changed.map((c) => c.dir).join(" ")}); or give the new data another path (--force trains every run of the sweep again)`,
    file,
    "data",
  );
}

/**
 * A run's status as --dry-run lists it: completed, running (another process holds it), todo, or,
 * for a run an earlier attempt left unfinished, how its last attempt ended and at which step
 * (`interrupted@183`, `failed@0`: the sweep runs it again, from its last resume checkpoint where it
 * has one; `nan_loss@57`: the sweep leaves it, as it leaves a completed run, unless --force). An
 * attempt killed outright shows as interrupted at its resume checkpoint's step (lastAttempt), or
 * at 0 without one, as runs.csv calls such a run interrupted.
 */
function dryRunStatus(runDir: string, configHash: string): string {
  // As runs.csv says them; the sweep itself refuses to start over such a folder (checkNoOtherRun).
  if (unreadableJson(join(runDir, RUN_META_FILE))) return UNREADABLE_RUN_META;
  const state = runState(runDir, configHash);
  if (state === "completed" || state === "running" || readRunMeta(runDir)?.config_hash !== configHash) return state;
  if (unreadableJson(join(runDir, SUMMARY_FILE))) return UNREADABLE_SUMMARY;
  const attempt = lastAttempt(runDir);
  return attempt === null ? "interrupted@0" : `${attempt.status}@${attempt.steps}`;
}
