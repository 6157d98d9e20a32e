import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError } from "../../errors.js";
import { readCsv } from "../../results/csv-read.js";
import { DEFAULT_SPREAD, SPREADS, resolveMetric, tableMarkdown, type Spread } from "../../results/paper-table.js";
import { defaultTableMetrics, writePaperTables, writeSweepReport } from "../../results/sweep-report.js";
import { parseAgainst, type Against } from "../../results/paired-diff.js";
import { FINAL_WEIGHTS_FILE, RUN_META_FILE, SUMMARY_FILE, UNREADABLE_SUMMARY, UNREADABLE_WEIGHTS, lastAttempt, readRunMeta, type RunMeta, runLockHolderNow, unreadableJson } from "../../results/run-dir.js";
import { COLLECT_REPLACED_DIR, EVAL_OVERRIDES_COLUMN, RUNS_CSV, UNREADABLE_RUN_META, collectRuns, refreshRunsCsv, writeRunsCsv } from "../../results/runs-table.js";
import { isEvaluationRunsCsv } from "../../results/evaluated-runs.js";
import { experimentFoldersHint } from "../experiment-folders-hint.js";
import { refuseFileForResultsFolder } from "../results-folder-arg.js";
import { collectLeftoversIn, collectTempPath, isCollectLeftover, leftoverNote } from "../../results/collect-leftovers.js";
import { recordNotCopied } from "../../results/not-copied.js";
import { experimentsInFolder } from "../../results/folder-experiments.js";
import { runIdsOf, sameRunUnderOtherId } from "../../results/earlier-run-ids.js";
import { OTHER_SHARD, type PlanShardCount, SWEEP_PLAN_FILE, collectedShardCountsNote, isUnstarted, mergeSweepPlan, readSweepPlan, unstartedNote } from "../../results/sweep-plan.js";
import type { CliIo } from "../cli-io.js";
import { type AnyCommand, type ParentCommand, commandNames, withSubcommands } from "../subcommands.js";
import { EXIT_BAD_INPUT } from "../exit-codes.js";
import { count, tally } from "../../util/count.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

interface CollectArgs {
  dir: string;
  from: string[];
}

interface TableArgs {
  dir: string;
  metric?: string[];
  digits: number;
  spread: Spread;
  against?: Against;
  percent: boolean;
  "bold-best": boolean;
  out?: string;
}

/** One run's folder where an experiment's folder belongs: name the folder that was meant. */
function checkNotRunFolder(command: string, dir: string, given: string): void {
  if (existsSync(join(dir, RUN_META_FILE)))
    throw new InputError(`results ${command}: ${given} is one run's folder (it has ${RUN_META_FILE}); give the experiment's folder that holds the runs: sideways results ${command} ${dirname(given)}`);
}

/**
 * A folder with no runs, no sweep plan and no runs.csv is not an experiment's results folder (the
 * results folder above the experiments', a typo'd path that exists): collecting it would leave an
 * empty runs.csv there and say all is well. Names the experiment folders inside it, if any.
 */
function checkHoldsRuns(dir: string, given: string): void {
  if (collectRuns(dir).length > 0 || existsSync(join(dir, RUNS_CSV))) return;
  const hint = experimentFoldersHint(dir, given, "results collect");
  throw new InputError(`results collect: ${given} holds no runs (expected run folders with ${RUN_META_FILE}, or a sweep's ${SWEEP_PLAN_FILE}); nothing was written${hint}`);
}

/**
 * A shard folder that holds no runs, no sweep plan and no stopped collect's leftover (the folder
 * above the experiment's, `shard1/results` for `shard1/results/exp`; one run's folder; an empty
 * one) has nothing to merge: collecting it said "0 copied in" and exit 0, so a sweep whose shards
 * were all given one level too high merged nothing without a word. Names what to give instead.
 */
function checkShardHoldsRuns(from: string, given: string, dirGiven: string): void {
  if (existsSync(join(from, RUN_META_FILE)))
    throw new InputError(`results collect: ${given} is one run's folder (it has ${RUN_META_FILE}); give the shard's experiment folder that holds the runs: sideways results collect ${dirGiven} ${dirname(given)}; nothing was copied`);
  if (collectRuns(from).length > 0 || existsSync(join(from, SWEEP_PLAN_FILE)) || collectLeftoversIn(from).length > 0) return;
  const hint = experimentFoldersHint(from, given, `results collect ${dirGiven}`);
  throw new InputError(`results collect: ${given} holds no runs (expected a shard's experiment folder: run folders with ${RUN_META_FILE}, or a sweep's ${SWEEP_PLAN_FILE}); nothing was copied${hint}`);
}

/**
 * Shards merged into the folder above the experiments' (`results` for `results/exp`) would put
 * their run folders beside the experiment folders, one of which is the one meant.
 */
function checkTargetNotAboveExperiments(dir: string, given: string, from: string[]): void {
  if (collectRuns(dir).length > 0 || existsSync(join(dir, SWEEP_PLAN_FILE)) || existsSync(join(dir, RUNS_CSV))) return;
  const hint = experimentFoldersHint(dir, given, "results collect", from);
  if (hint !== "") throw new InputError(`results collect: ${given} holds no runs but experiment folders, so it is not an experiment's results folder to merge shards into; nothing was copied${hint}`);
}

/**
 * `sideways evaluate <sweep folder> --out DIR`'s runs.csv holds no run folders to regenerate it
 * from: refused with or without shard folders (with them, its runs.csv would be rebuilt from the
 * copied runs alone, its figures lost, and run folders mixed into an evaluation's folder).
 */
function checkNotEvaluationFolder(dir: string, given: string): void {
  if (isEvaluationRunsCsv(join(dir, RUNS_CSV)))
    throw new InputError(`results collect: ${given} holds sideways evaluate's figures of a sweep's runs (its ${RUNS_CSV} has ${EVAL_OVERRIDES_COLUMN}), not run folders; nothing was written ('sideways results table ${given}' makes its table; 'sideways evaluate' again rebuilds it)`);
}

/** What merging one shard folder did with each of its runs. */
export interface MergeReport {
  copied: string[];
  /** the same run, already completed in the target: nothing to do */
  present: string[];
  /** runs not copied, each with the reason (another run under the same id, an unfinished copy) */
  notCopied: NotCopied[];
  /** how many of notCopied are real conflicts: the same id holding different configs */
  conflicts: number;
  /** target runs whose final weights were cut short, replaced by a completed copy (also in copied), each with where the damaged folder went */
  replacedDamaged: string[];
}

/** A run not copied: its id, the line saying why, and whether that line says to train it again (else what to do instead). */
export interface NotCopied {
  runId: string;
  line: string;
  trainAgain: boolean;
  /** its config hash and swept values, where its run-meta.json could be read: the target's plan may name it by its other id (earlier-run-ids.ts) */
  run?: Pick<RunMeta, "config_hash" | "params">;
}

/** A free folder for run `id` under DIR/collect-replaced/ (`id`, else `id-2`, `id-3`, ...): an earlier one is never overwritten. */
function asidePath(dir: string, id: string): string {
  const base = join(dir, COLLECT_REPLACED_DIR, id);
  let path = base;
  for (let n = 2; existsSync(path); n++) path = `${base}-${n}`;
  return path;
}

/**
 * Every folder of a merge holds runs of one experiment, or the merge is refused before anything is
 * copied: a shard folder given by mistake would mix another study into the table, and finding it
 * run by run, while copying, would leave a half-done merge.
 */
export function checkOneExperiment(dir: string, from: readonly string[], given: readonly string[]): void {
  const found = [dir, ...from].map((d, i) => ({ folder: i === 0 ? given[0] : given[i], names: experimentsInFolder(d).map((e) => e.name) }));
  const all = new Set(found.flatMap((f) => f.names));
  if (all.size <= 1) return;
  const said = found.filter((f) => f.names.length > 0).map((f) => `${f.folder}: ${f.names.map((n) => `'${n}'`).join(", ")}`);
  throw new InputError(`results collect: the folders hold runs of ${all.size} experiments (${said.join("; ")}); expected one experiment's runs; nothing was copied`);
}

/**
 * Copies run folders from `from` into `dir`. A run is copied when the target has no run of that
 * id, or an unfinished attempt of the same config that the copy is further along than (a
 * completed copy, or more steps done), or a completed run whose final weights are cut short that
 * the copy is the completed run of, with its final weights there and whole (moved aside to
 * collect-replaced/, not deleted); a completed
 * run whose weights are whole is never replaced, a run that a process
 * holds (in either folder) is never touched, and neither is a folder holding another config under
 * the same id. A copy replaces the target's folder whole, never a mix of the two. Every run not
 * copied is reported with the reason: nothing is dropped without a word.
 */
export function mergeRunDirs(from: string, dir: string): MergeReport {
  if (!existsSync(from)) throw new InputError(`results collect: ${from} does not exist`);
  const report: MergeReport = { copied: [], present: [], notCopied: [], conflicts: 0, replacedDamaged: [] };
  const notCopy = (runId: string, line: string, trainAgain = false, run?: Pick<RunMeta, "config_hash" | "params">) => report.notCopied.push({ runId, line, trainAgain, ...(run === undefined ? {} : { run }) });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    // A collect's temporary folder in a shard is no run of its own (the note on the shard says what it is).
    const srcMeta = entry.isDirectory() && !isCollectLeftover(entry.name) ? readRunMeta(src) : null;
    // A run folder whose record of what it ran cannot be read is not copied, and not passed over without a word.
    if (srcMeta === null && entry.isDirectory() && unreadableJson(join(src, RUN_META_FILE)))
      notCopy(entry.name, `${entry.name}: ${join(src, RUN_META_FILE)} is not JSON (${UNREADABLE_RUN_META}), so which run it holds is unknown; not copied: mend that file, then collect again`);
    if (srcMeta === null) continue;
    const notCopyRun = (line: string, trainAgain = false) => notCopy(entry.name, line, trainAgain, { config_hash: srcMeta.config_hash, params: srcMeta.params });
    // `into` is where the copy goes; `dst`, the target's folder of this run it is compared with:
    // the same name, or, where the target has none, the run under its other id (an earlier
    // version's, earlier-run-ids.ts), which a copy replaces as it would a folder of the same name.
    const into = join(dir, entry.name);
    const dst = (existsSync(into) ? null : sameRunUnderOtherId(dir, entry.name, srcMeta)) ?? into;
    const dstMeta = readRunMeta(dst);
    const srcAttempt = lastAttempt(src);
    const dstAttempt = lastAttempt(dst);
    const srcStatus = srcAttempt?.status ?? "unfinished";
    const dstStatus = dstAttempt?.status ?? "unfinished";
    const held = [src, dst].map((d) => ({ d, holder: runLockHolderNow(d) })).find((h) => h.holder !== null);
    const inTheWay = tempNameTaken(dst) ?? tempNameTaken(into);
    if (held !== undefined) {
      notCopyRun(`${entry.name}: ${held.d} is running in another process (pid ${held.holder!.pid} on ${held.holder!.host}); not copied: collect again once it has stopped`);
    } else if (inTheWay !== null) {
      // A stopped collect whose pid this one has (pids repeat: a container's process is often pid 1)
      // left a folder under the name the swap would use: the swap would delete it or fail halfway.
      notCopyRun(`${entry.name}: ${inTheWay} is in the way, a folder a stopped collect left under the name this one would use (see its note); not copied: move or delete it as the note says, then collect again`);
    } else if (dstMeta === null && existsSync(dst) && unreadableJson(join(dst, RUN_META_FILE))) {
      // Damage, as an unreadable record on the shard's side is (not copied, exit 0), not a conflict of configs.
      notCopyRun(`${entry.name}: ${join(dst, RUN_META_FILE)} is not JSON (${UNREADABLE_RUN_META}), so which run that folder holds is unknown; not copied: mend that file, then collect again`);
    } else if (dstMeta === null && existsSync(dst) && readdirSync(dst).length > 0) {
      notCopyRun(`${entry.name}: ${dst} exists and is not a run folder; not copied`);
      report.conflicts++;
    } else if (dstMeta !== null && dstMeta.config_hash !== srcMeta.config_hash) {
      notCopyRun(`${entry.name}: CONFLICT: ${src} holds config ${srcMeta.config_hash} (${srcStatus}), ${dst} holds config ${dstMeta.config_hash} (${dstStatus}); not copied`);
      report.conflicts++;
    } else if (unreadableJson(join(src, SUMMARY_FILE))) {
      // How either run ended is unknown (completed, perhaps: its final weights are there): a copy
      // would pass for what it is not, and replacing the target's folder would delete its weights.
      notCopyRun(`${entry.name}: ${join(src, SUMMARY_FILE)} is not JSON (${UNREADABLE_SUMMARY}), so how its run ended is unknown; not copied: mend that file, then collect again`);
    } else if (unreadableJson(join(dst, SUMMARY_FILE))) {
      notCopyRun(`${entry.name}: ${join(dst, SUMMARY_FILE)} is not JSON (${UNREADABLE_SUMMARY}), so how its run ended is unknown; left as it is (${src} is ${srcStatus}): mend that file, or delete that folder to collect the copy in its place`);
    } else if (srcAttempt?.damage !== undefined) {
      // Its summary says completed, its weights are not whole: copied, it would pass for a completed run, or replace a resumable one.
      notCopyRun(`${entry.name}: ${srcAttempt.damage}, though its summary.json says completed (${UNREADABLE_WEIGHTS}); not copied: restore that file, then collect again`);
    } else if (dstAttempt?.damage !== undefined && srcStatus === "completed" && !existsSync(join(src, FINAL_WEIGHTS_FILE))) {
      // A completed copy whose final weights were removed (to save disk) has none to give: in the
      // target's place it would leave the run with no weights at all, where some may be mended.
      notCopyRun(`${entry.name}: ${dstAttempt.damage}, though its summary.json says completed (${UNREADABLE_WEIGHTS}); left as it is (${src} is completed, but its ${FINAL_WEIGHTS_FILE} was removed, so it has no weights to replace it with): restore either folder's ${FINAL_WEIGHTS_FILE}, then collect again`);
    } else if (dstAttempt?.damage !== undefined && srcStatus === "completed") {
      // The same config, completed with whole weights: the copy wins, and the damaged folder is
      // moved aside, not deleted (its weights may be only partly lost: the user decides).
      const aside = asidePath(dir, basename(dst));
      replaceRunFolder(src, into, aside, dst);
      report.copied.push(entry.name);
      report.replacedDamaged.push(`${entry.name}: ${dstAttempt.damage}, though its summary.json says completed (${UNREADABLE_WEIGHTS}); replaced by ${src} (completed), the damaged folder moved to ${aside}: delete it once it is not needed`);
    } else if (dstAttempt?.damage !== undefined) {
      notCopyRun(`${entry.name}: ${dstAttempt.damage}, though its summary.json says completed (${UNREADABLE_WEIGHTS}); left as it is (${src} is ${srcStatus}, not a completed copy): restore that file, or delete that folder to collect the copy in its place`);
    } else if (dstStatus === "completed") {
      if (srcStatus === "completed") report.present.push(entry.name);
      else notCopyRun(`${entry.name}: ${src} is ${srcStatus}, ${dst} is completed; kept the completed run`);
    } else if (srcAttempt === null) {
      // Nothing to collect: training it again is what to do, as the unstarted note says.
      notCopyRun(`${entry.name}: ${src} was stopped before its first resume checkpoint (no summary.json): nothing to resume from; not copied`, true);
    } else if (srcStatus !== "completed" && dstAttempt !== null && srcAttempt.steps <= dstAttempt.steps) {
      notCopyRun(`${entry.name}: ${src} is ${srcStatus} at step ${srcAttempt.steps}, ${dst} is ${dstStatus} at step ${dstAttempt.steps}; kept the one further along`);
    } else {
      replaceRunFolder(src, into, undefined, dst);
      report.copied.push(entry.name);
    }
  }
  return report;
}

/** This process's temporary folder beside run folder `dst` that already exists (another process's, of the same pid), if any. */
function tempNameTaken(dst: string): string | null {
  return [collectTempPath(dst, "collect"), collectTempPath(dst, "replaced")].find((p) => existsSync(p)) ?? null;
}

/**
 * dst becomes a copy of src: copied beside it first and renamed into place, so that a merge
 * stopped midway leaves the old folder or the new one, never files of both (a resume checkpoint
 * of one attempt beside the metrics of another). The old folder is `old` (dst, or the same run
 * under its other id); with `keepAt`, it is moved there instead of deleted.
 */
function replaceRunFolder(src: string, dst: string, keepAt?: string, old = dst): void {
  const incoming = collectTempPath(dst, "collect");
  const outgoing = keepAt ?? collectTempPath(old, "replaced");
  rmSync(incoming, { recursive: true, force: true });
  cpSync(src, incoming, { recursive: true });
  if (keepAt !== undefined) mkdirSync(dirname(keepAt), { recursive: true });
  if (existsSync(old)) renameSync(old, outgoing);
  renameSync(incoming, dst);
  if (keepAt === undefined) rmSync(outgoing, { recursive: true, force: true });
}

function collectCommand(io: CliIo): CommandModule<object, CollectArgs> & HelpExamples {
  return {
    command: "collect <dir> [from..]",
    describe: "Regenerate DIR/runs.csv, the table (table.*), the curves and the figures against the swept settings (METRIC-vs-SETTING.svg) from its run directories, first copying in runs from other shard directories",
    builder: (y: Argv) =>
      y
        .positional("dir", { type: "string", demandOption: true, describe: "results directory of an experiment" })
        .positional("from", { type: "string", array: true, default: [], describe: "shard result directories to merge in" }) as unknown as Argv<CollectArgs>,
    examples: [
      ["$0 results collect results/exp", "rebuild runs.csv"],
      ["$0 results collect results/exp shard0/results/exp shard1/results/exp", "merge shards run on separate disks"],
    ],
    handler: async (argv) => {
      const dir = resolve(argv.dir);
      refuseFileForResultsFolder("results collect", dir, argv.dir);
      for (const f of argv.from) refuseFileForResultsFolder("results collect", resolve(f), f);
      checkNotRunFolder("collect", dir, argv.dir);
      if (!existsSync(dir) && argv.from.length === 0) throw new InputError(`results collect: ${argv.dir} does not exist`);
      // Every shard folder is checked before any is copied: a mistyped last one must not leave a half-done merge.
      for (const f of argv.from) if (!existsSync(resolve(f))) throw new InputError(`results collect: ${f} does not exist; nothing was copied`);
      for (const f of argv.from) checkShardHoldsRuns(resolve(f), f, argv.dir);
      checkNotEvaluationFolder(dir, argv.dir);
      if (argv.from.length === 0) checkHoldsRuns(dir, argv.dir);
      else checkTargetNotAboveExperiments(dir, argv.dir, argv.from);
      checkOneExperiment(dir, argv.from.map((f) => resolve(f)), [argv.dir, ...argv.from]);
      const reports = argv.from.map((f) => mergeRunDirs(resolve(f), dir));
      // Kept for runs.csv, which is regenerated from the folders long after this collect: such a run
      // ran in its shard, and is not_copied there, not not_started. One to train again is not_started.
      for (const [i, f] of argv.from.entries()) await recordNotCopied(dir, resolve(f), reports[i]!.notCopied.filter((n) => !n.trainAgain));
      // Left by a collect killed between its renames: said, never read as runs, never deleted unasked.
      const targetLeftovers = collectLeftoversIn(dir);
      for (const l of targetLeftovers) io.err(`note: ${leftoverNote(dir, argv.dir, l)}\n`);
      for (const f of argv.from) for (const l of collectLeftoversIn(resolve(f))) io.err(`note: ${leftoverNote(resolve(f), f, l)}\n`);
      for (const line of reports.flatMap((r) => [...r.replacedDamaged, ...r.notCopied.map((n) => n.line)])) io.err(`${line}\n`);
      // The shard counts of the plans merged, the target's own first: compared once all are merged.
      const targetCount = readSweepPlan(dir)?.shard_count;
      const shardCounts: PlanShardCount[] = targetCount === undefined ? [] : [{ file: join(argv.dir, SWEEP_PLAN_FILE), count: targetCount }];
      for (const f of argv.from) {
        const { note, shardCount } = await mergeSweepPlan(resolve(f), dir);
        if (note !== null) io.err(`note: ${note}\n`);
        if (shardCount !== null) shardCounts.push({ file: join(f, SWEEP_PLAN_FILE), count: shardCount });
      }
      const runs = await writeRunsCsv(dir);
      const countsNote = collectedShardCountsNote(join(argv.dir, SWEEP_PLAN_FILE), shardCounts, runs.filter((r) => r.status === OTHER_SHARD).map((r) => r.meta));
      if (countsNote !== null) io.err(`warning: ${countsNote}\n`);
      const sum = (f: (r: MergeReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      const merged = argv.from.length
        ? `, ${sum((r) => r.copied.length)} copied in, ${sum((r) => r.present.length)} already present, ${sum((r) => r.notCopied.length)} not copied`
        : "";
      io.err(`${join(argv.dir, RUNS_CSV)}: ${count(runs.length, "run")} (${tally(runs.map((r) => r.status)) || "none"})${merged}\n`);
      // A planned run whose folder is in a stopped collect's leftover (its note above says to move it
      // back, or collect it again), or in a shard that it was not copied from (said above, with why:
      // weights cut short, ...), is not one to train again, as the unstarted note would say.
      const saidAbove = new Set([
        ...targetLeftovers.filter((l) => !existsSync(join(dir, l.runId))).map((l) => l.runId),
        ...reports.flatMap((r) => r.notCopied.filter((n) => !n.trainAgain).map((n) => n.runId)),
      ]);
      // By either id the run may have (earlier-run-ids.ts): the leftover's name may be the other one than the plan's.
      const unstarted = runs.filter((r) => isUnstarted(r.status) && !runIdsOf(r.meta).some((id) => saidAbove.has(id)));
      if (unstarted.length > 0) io.err(`note: ${unstartedNote(unstarted.map((r) => r.status))}\n`);
      // The same table and curves a sweep leaves at its end, now over the merged runs: otherwise
      // table.* and the plots copied in with a shard would still show that shard alone.
      const report = await writeSweepReport(dir, (line) => io.err(`note: ${line}\n`));
      if (report.length > 0) io.err(`wrote ${report.join(", ")} to ${argv.dir}\n`);
      const conflicts = sum((r) => r.conflicts);
      if (conflicts > 0) {
        io.err(`${conflicts} conflict(s): the same run id holds different configs; those runs were left where they are\n`);
        io.exitCode = EXIT_BAD_INPUT;
      }
    },
  };
}

function tableCommand(io: CliIo): CommandModule<object, TableArgs> & HelpExamples {
  return {
    command: "table <dir>",
    describe: "Mean, standard deviation (or --spread) and count over seeds per configuration: table.csv, table.md, table.tex",
    builder: (y: Argv) =>
      y
        .positional("dir", { type: "string", demandOption: true, describe: "results directory holding runs.csv" })
        .option("metric", { type: "string", array: true, describe: "runs.csv columns (eval_clip_top1 = final_eval_clip_top1); default: the sweep's own table (table.*); chosen metrics go to table-<metrics>.* so the sweep's table stays" })
        // Checked by the parser, before anything is written (toFixed throws on -1).
        .option("digits", { default: 3, coerce: wholeNumber("results table: --digits", 0, 20), describe: "decimals in the Markdown and LaTeX tables" })
        .option("spread", { choices: SPREADS, default: DEFAULT_SPREAD, describe: "what ± is: std (sample standard deviation), sem (standard error of the mean) or ci95 (95% confidence interval's half-width, Student's t); other than std, the files end in -<spread>" })
        // Checked by the parser: KEY=VALUE; the key and value against the table before anything is written.
        .option("against", { type: "string", coerce: (v: string) => parseAgainst(v), describe: "KEY=VALUE: add each metric's difference from the configuration with KEY = VALUE and the row's other settings, paired by seed (Δ columns; the files end in -vs-KEY_VALUE)" })
        .option("percent", { type: "boolean", default: false, describe: "top-1 and top-5 accuracies in percent (mean and ± x 100, two decimals fewer: 0.771 is 77.1) in the Markdown and LaTeX tables; the CSV keeps runs.csv's fractions; the files end in -percent" })
        .option("bold-best", { type: "boolean", default: false, describe: "each accuracy column's highest mean and each loss column's lowest in bold (every row of a tie) in the Markdown and LaTeX tables; the files end in -bold" })
        .option("out", { type: "string", describe: "where to write the tables (default: DIR)" }) as unknown as Argv<TableArgs>,
    examples: [
      ["$0 results table results/exp --metric eval_clip_top1 --metric wall_s", "two metrics"],
      ["$0 results table results/exp --against train.method=bp", "each rule's difference from BP at the same seed and settings"],
      ["$0 results table results/exp --spread ci95", "mean ± 95% confidence interval: table-ci95.*"],
      ["$0 results table results/exp --metric eval_clip_top1 --metric eval_loss --percent --bold-best", "for a paper: accuracy in %, the best of each column in bold"],
    ],
    handler: async (argv) => {
      const dir = resolve(argv.dir);
      refuseFileForResultsFolder("results table", dir, argv.dir);
      checkNotRunFolder("table", dir, argv.dir);
      await refreshRunsCsv(dir, (columns) => {
        if (argv.metric !== undefined) firstNameOfEachMetric(argv.metric, columns);
      });
      const runsCsv = join(dir, RUNS_CSV);
      if (!existsSync(dir)) throw new InputError(`results table: ${argv.dir} does not exist (expected an experiment's results folder, e.g. results/<experiment name>)`);
      if (!existsSync(runsCsv)) {
        const hint = experimentFoldersHint(dir, argv.dir, "results table");
        throw new InputError(`results table: ${runsCsv} does not exist${hint === "" ? " (run a sweep, or 'sideways results collect')" : hint}`);
      }
      // The table is over completed runs only: with none, say why instead of writing a header-only table over the last one.
      const csv = readCsv(runsCsv);
      const statuses = csv.rows.map((r) => String(r.status));
      if (!statuses.includes("completed")) {
        const found = statuses.length === 0 ? "no runs" : `${count(statuses.length, "run")}: ${tally(statuses)}`;
        throw new InputError(`results table: ${join(argv.dir, RUNS_CSV)} has no completed run (${found}); the table is over completed runs, so nothing was written`);
      }
      const metrics = argv.metric === undefined ? defaultTableMetrics(dir) : firstNameOfEachMetric(argv.metric, csv.columns);
      // Other metrics, another spread or a baseline get their own files: the sweep's table.md (mean ± std
      // of its metrics) is never replaced by a subset, another ± or added columns.
      const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, "_");
      const named = [
        ...(argv.metric === undefined ? [] : [safe(metrics.join("-"))]),
        ...(argv.spread === DEFAULT_SPREAD ? [] : [argv.spread]),
        ...(argv.against === undefined ? [] : [`vs-${safe(`${argv.against.key}_${argv.against.value}`)}`]),
        ...(argv.percent ? ["percent"] : []),
        ...(argv["bold-best"] ? ["bold"] : []),
      ];
      const base = ["table", ...named].join("-");
      const style = { percent: argv.percent, boldBest: argv["bold-best"] };
      const table = writePaperTables(dir, metrics, resolve(argv.out ?? argv.dir), argv.digits, base, argv.spread, argv.against, style);
      io.out(tableMarkdown(table, argv.digits, style));
      io.err(`wrote ${base}.csv, ${base}.md, ${base}.tex to ${argv.out ?? argv.dir}\n`);
    },
  };
}

/**
 * The metrics asked for, each once, as first spelled: `--metric eval_clip_top1 --metric
 * final_eval_clip_top1` is one column (src/results/paper-table.ts) and names its files once.
 */
function firstNameOfEachMetric(names: readonly string[], columns: readonly string[]): string[] {
  const byColumn = new Map<string, string>();
  for (const name of names) {
    const column = resolveMetric(name, columns);
    if (!byColumn.has(column)) byColumn.set(column, name);
  }
  return [...byColumn.values()];
}

export function resultsCommand(io: CliIo): ParentCommand {
  const subcommands = [collectCommand(io), tableCommand(io)] as AnyCommand[];
  return {
    command: "results",
    describe: "Merge shards into runs.csv; build the paper table",
    subcommands,
    builder: (y: Argv) => withSubcommands(y, subcommands).demandCommand(1, `a results subcommand is required: ${commandNames(subcommands).join(" or ")} (sideways results --help)`),
    handler: () => undefined,
  };
}
