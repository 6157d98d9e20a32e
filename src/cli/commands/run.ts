import type { Argv, CommandModule } from "yargs";
import { dirname, join } from "node:path";
import { loadExperiment } from "../../spec/load-experiment.js";
import { ineffectiveSettings } from "../../spec/setting-notes.js";
import { heldFromAnotherHost, type LockHolder } from "../../results/file-lock.js";
import { isRunInProgress, leftToAnotherHost, runLockHolderNow, type RunMeta } from "../../results/run-dir.js";
import { InputError, RunError } from "../../errors.js";
import { RunLockTakenOver } from "../../results/run-lock-watch.js";
import { configHash } from "../../spec/resolved-config.js";
import { overrideKey } from "../../spec/override-source.js";
import type { CliIo } from "../cli-io.js";
import { EXIT_INTERRUPTED } from "../exit-codes.js";
import { RESUME_FILE } from "../../train/resume-checkpoint.js";
import { FAIL_FAST_STOP_LINE, requestStop } from "../../train/stop-signals.js";
import { JsonlProgress, ProgressBoard, displayMode } from "../progress.js";
import { checkRootOfThisExperiment, placeSingleRun, runOne, type RunOutcome, type RunPlacement } from "../run-one.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

interface RunArgs {
  file: string;
  overrides: string[];
  force: boolean;
  quiet: boolean;
  child: boolean;
  "run-id"?: string;
  "run-dir"?: string;
  "sweep-meta"?: string;
  "sweep-jobs"?: number;
}

export function runCommand(io: CliIo): CommandModule<object, RunArgs> & HelpExamples {
  return {
    command: "run <file> [overrides..]",
    describe: "Train one experiment (a file's sweep: section is ignored; see `sweep`)",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides, e.g. train.optimizer.lr=0.1; ~key removes a key the file sets (its default applies)" })
        .option("force", { type: "boolean", default: false, describe: "run again even if this config already completed, and replace a run folder that holds another run" })
        .option("quiet", { type: "boolean", default: false, describe: "no progress output or notes; warnings and errors still print" })
        .option("child", { type: "boolean", default: false, hidden: true, describe: "run as a sweep's child process (JSON progress on stdout)" })
        .option("run-id", { type: "string", hidden: true })
        .option("run-dir", { type: "string", hidden: true })
        .option("sweep-meta", { type: "string", hidden: true })
        .option("sweep-jobs", { coerce: wholeNumber("--sweep-jobs", 1), hidden: true, describe: "runs the sweep trains at once (they share the cores)" }) as unknown as Argv<RunArgs>,
    examples: [
      ["$0 run experiments/quickstart.yaml", "train with the file's settings (the quickstart: about 20 s on an idle machine)"],
      ["$0 run exp.yaml train.method=bp train.optimizer.lr=0.1", "override keys"],
      ["$0 run exp.yaml --force", "redo a run that already completed"],
    ],
    handler: async (argv) => {
      // A sweep's run gets the user's overrides, then its swept values, which may set the same keys.
      const loaded = loadExperiment(argv.file, argv.overrides, { oneValuePerKey: !argv.child });
      let place = placeSingleRun(loaded);
      // A sweep's child is not: its sweep checked the folder before planning it.
      if (!argv.child) checkRootOfThisExperiment(loaded, dirname(place.runDir));
      let exp = loaded;
      if (argv.child) {
        // Launched by `sideways sweep`: when the sweep dies (its end of stdin closes), stop as a
        // stop signal does (a resume checkpoint after this step), so no orphan trains on and a
        // resubmitted sweep resumes the run. Its output then goes nowhere: writes fail (EPIPE)
        // and are dropped instead of ending the process.
        // Its sweep's --fail-fast comes as a line on stdin (FAIL_FAST_STOP_LINE), and stops it the same way.
        for (const out of [process.stdout, process.stderr]) out.on("error", () => {});
        let stdinRest = "";
        process.stdin
          .setEncoding("utf8")
          .on("data", (chunk: string) => {
            const lines = (stdinRest + chunk).split("\n");
            stdinRest = lines.pop()!;
            if (lines.includes(FAIL_FAST_STOP_LINE)) requestStop("sweep-fail-fast");
          })
          .on("end", () => requestStop("sweep-gone"))
          .resume();
        place = childPlacement(argv, place.meta, configHash(exp.spec, exp.model, exp.baseDir));
        // The swept values (and sweep=null) came from the sweep, not the user: errors about them
        // name the sweep's run (place.sweepContext), not overrides nobody typed.
        const swept = new Set([...Object.keys(place.meta.params), "sweep"]);
        exp = { ...loaded, overrides: loaded.overrides.filter((o) => !swept.has(overrideKey(o))) };
      } else if (!argv.quiet) {
        if (exp.spec.sweep !== null) io.err(`note: ${argv.file} has a sweep: section; 'run' trains the base configuration once ('sideways sweep' runs the sweep)\n`);
        for (const n of ineffectiveSettings(exp.spec, exp.model, exp.raw)) io.err(`note: ${argv.file}: ${n}\n`);
      }
      const board = new ProgressBoard(displayMode(argv.quiet, { isTTY: io.errIsTTY }), io.err);
      const progress = argv.child ? new JsonlProgress(io.out) : board.reporter(place.runId);
      try {
        // A sweep's child never waits: its sweep waits for runs other processes hold.
        const outcome = argv.child
          ? await runOne(exp, place, progress, argv.force, true)
          : await runOnceHeldRunsEnd(place, () => runOne(exp, place, progress, argv.force), (m) => board.message(m));
        if ("heldFrom" in outcome) {
          // As a sweep does (src/cli/sweep-runner.ts): its liveness cannot be checked from here.
          board.message(leftToAnotherHost(place.runId, place.runDir, outcome.heldFrom, "run this again"));
          io.exitCode = EXIT_INTERRUPTED;
        } else if (outcome.skipped) board.message(`${place.runDir}: already completed (use --force to run it again, or output.dir=DIR to train it again elsewhere)`);
        else if (outcome.summary.status === "interrupted") {
          // A stop signal: the trainer saved a resume checkpoint; the same command continues from it.
          board.message(`interrupted at step ${outcome.summary.steps_done} (${outcome.summary.message ?? "stopped"}): ${join(place.runDir, RESUME_FILE)} written; run the same command again to resume`);
          io.exitCode = EXIT_INTERRUPTED;
        } else board.message(`results: ${place.runDir}`);
      } finally {
        if (argv.child) process.stdin.pause();
      }
    },
  };
}

function childPlacement(argv: RunArgs, base: RunMeta, hash: string): RunPlacement {
  if (!argv["run-id"] || !argv["run-dir"] || !argv["sweep-meta"]) throw new Error("BUG: --child needs --run-id, --run-dir and --sweep-meta");
  const { context, ...sweep } = JSON.parse(argv["sweep-meta"]) as Pick<RunMeta, "index" | "params" | "config_id"> & { context?: string };
  // The sweep named the run by the config hash it computed when it planned the runs; an input
  // read since (the init checkpoint's contents) may have changed, and then this is another run.
  if (argv["run-id"] !== hash && !argv["run-id"].endsWith(`_${hash}`))
    throw new InputError(
      `${argv.file}: run ${argv["run-id"]}'s config hash is now ${hash}: an input changed since the sweep planned it (train.init_checkpoint's contents); run the sweep again to plan it anew`,
      argv.file,
      "train.init_checkpoint",
    );
  return { runId: argv["run-id"], runDir: join(argv["run-dir"]), meta: { ...base, ...sweep, run_id: argv["run-id"], config_hash: hash }, sweepContext: context, concurrentRuns: argv["sweep-jobs"] };
}

const HELD_RUN_POLL_MS = 500;

/**
 * Two `sideways run`s of one config (two terminals): the second waits while the first holds the
 * run, as a sweep does, then finds it completed (skipped), or resumes it from its checkpoint when
 * the first was interrupted. `attempt` losing the race for the run's lock is the same case. A run
 * held from another machine is not waited for (its pid cannot be checked: a lock without a
 * heartbeat never goes stale, and one whose heartbeat stopped is already stale, taken over by
 * `attempt`): its holder is returned.
 */
async function runOnceHeldRunsEnd(place: RunPlacement, attempt: () => Promise<RunOutcome>, say: (m: string) => void): Promise<RunOutcome | { heldFrom: LockHolder }> {
  for (;;) {
    const holder = runLockHolderNow(place.runDir);
    if (holder !== null && heldFromAnotherHost(holder)) return { heldFrom: holder };
    if (holder !== null) {
      say(`${place.runId}: running in another process; waiting for it (Ctrl-C stops waiting)`);
      while (isRunInProgress(place.runDir)) await new Promise((r) => setTimeout(r, HELD_RUN_POLL_MS));
    }
    try {
      return await attempt();
    } catch (err) {
      // Our own failure released the lock; a lock held now is another process's. One that took
      // the lock over while this attempt trained is said as such (exit 1), not waited for.
      if (err instanceof RunError && !(err instanceof RunLockTakenOver) && isRunInProgress(place.runDir)) continue;
      throw err;
    }
  }
}
