import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError } from "../../errors.js";
import { writeFileAtomic } from "../../results/atomic-write.js";
import { DEFAULT_SPREAD, SPREADS, resolveMetric, type Spread } from "../../results/paper-table.js";
import { METRIC_X_AXES, plotLearningCurves, type MetricXAxis } from "../../results/plot.js";
import { plotAgainstSetting, resolveSetting } from "../../results/plot-vs-setting.js";
import { MAX_TEXT_PT, MAX_WIDTH_IN, MIN_TEXT_PT, MIN_WIDTH_IN, PAPER_TEXT_PT, parsePaperWidth, parseTextPt, type PaperFigure, type PaperWidth } from "../../results/paper-figure.js";
import { defaultSettingMetrics } from "../../results/sweep-report.js";
import { RUN_META_FILE, UNREADABLE_RUN_META } from "../../results/run-dir.js";
import { RUNS_CSV, collectRuns, refreshRunsCsv } from "../../results/runs-table.js";
import { isUnstarted } from "../../results/sweep-plan.js";
import { NOT_COPIED } from "../../results/not-copied.js";
import { count, firstFew, tally } from "../../util/count.js";
import type { CliIo } from "../cli-io.js";
import { experimentFoldersHint } from "../experiment-folders-hint.js";
import { refuseFileForResultsFolder } from "../results-folder-arg.js";
import type { HelpExamples } from "../help-examples.js";

interface PlotArgs {
  dir: string;
  out?: string;
  metric: string[];
  x: MetricXAxis;
  spread: Spread;
  againstSetting?: string;
  width?: PaperWidth;
  fontSize?: number;
}

export function plotCommand(io: CliIo): CommandModule<object, PlotArgs> & HelpExamples {
  return {
    command: "plot <dir>",
    describe: "SVG learning curves (loss and clip accuracy vs step, clip accuracy vs wall-clock time, the same for video accuracy where runs have it (video-folder data), gradient cosine with diagnostics, any logged column with --metric; mean and ±1 sample std band (or --spread) over seeds per configuration), each with a CSV of its points; with --against-setting, a final metric of runs.csv against a swept setting instead",
    builder: (y: Argv) =>
      y
        .positional("dir", { type: "string", demandOption: true, describe: "an experiment's results directory, or one run's" })
        .option("out", { type: "string", describe: "where to write loss.svg, clip_accuracy.svg, clip_accuracy_vs_time.svg, video_accuracy.svg, video_accuracy_vs_time.svg, gradient_cosine.svg and a .csv of each figure's points (default: DIR)" })
        .option("metric", { type: "string", array: true, nargs: 1, requiresArg: true, default: [], describe: "also draw this column of metrics.csv or eval.csv against step, as METRIC.svg and METRIC.csv (repeatable); with --against-setting, a runs.csv column instead (final_eval_clip_top1, final_eval_loss, wall_s, ...; eval_clip_top1 names final_eval_clip_top1), default final_eval_clip_top1 (final_eval_video_top1 where runs have it)" })
        .option("against-setting", { type: "string", requiresArg: true, describe: "instead of the curves: each --metric (runs.csv's final metrics) against this swept setting (e.g. train.optimizer.lr, model), mean over seeds with an error bar of --spread and a dot per seed, a line per value of the other swept settings, as METRIC-vs-SETTING.svg and .csv" })
        // A long name beside `x`: yargs shows a one-letter option as `-x` alone in --help, though `--x` works too.
        .option("x-axis", { alias: "x", choices: METRIC_X_AXES, default: "step" as MetricXAxis, describe: "the --metric figures' x axis: step, or wall_s (wall-clock seconds; METRIC_vs_time.svg)" })
        .option("width", { type: "string", requiresArg: true, coerce: parsePaperWidth, describe: `for a paper: each figure this wide (3.3in, 8.5cm, mm, or pt as \\the\\columnwidth prints it; ${MIN_WIDTH_IN}in to ${MAX_WIDTH_IN}in) with its text at ${PAPER_TEXT_PT} pt in the PDF rsvg-convert makes, the legend under the plot, and the title and notes in a caption file; files named -WIDTH (loss-3.3in.svg, .csv, .caption.txt) beside the screen figures` })
        .option("font-size", { type: "string", requiresArg: true, coerce: parseTextPt, describe: `with --width: the figures' text size in points (${MIN_TEXT_PT} to ${MAX_TEXT_PT}; default ${PAPER_TEXT_PT}); files named -WIDTH-SIZEpt (loss-3.3in-9pt.svg)` })
        .option("spread", { choices: SPREADS, default: DEFAULT_SPREAD, describe: "the band (the error bar with --against-setting): std (±1 sample std), sem (± standard error of the mean) or ci95 (the mean's 95% confidence interval, Student's t); other than std, the files end in -<spread> (loss-ci95.svg)" }) as unknown as Argv<PlotArgs>,
    examples: [
      ["$0 plot results/exp", "curves of every configuration in the sweep"],
      ["$0 plot results/exp --spread ci95", "bands of the mean's 95% confidence interval (loss-ci95.svg, ...)"],
      ["$0 plot results/exp --width 3.3in", "figures for one column of a paper, 8 pt text (loss-3.3in.svg, loss-3.3in.caption.txt, ...)"],
      ["$0 plot results/exp --width 6.5in --font-size 9", "figures a page wide, 9 pt text (loss-6.5in-9pt.svg, ...)"],
      ["$0 plot results/exp --metric eval_loss --metric eval_frame_top1", "two more figures, from eval.csv"],
      ["$0 plot results/exp --metric train_loss --x-axis wall_s", "training loss against wall-clock time (train_loss_vs_time.svg)"],
      ["$0 plot results/exp --against-setting train.optimizer.lr --metric final_eval_clip_top1 --spread ci95", "final clip top-1 against the learning rate, a line per rule (final_eval_clip_top1-vs-lr-ci95.svg)"],
    ],
    handler: async (argv) => {
      // A text size alone would be ignored: the screen figures keep vega's sizes.
      if (argv.fontSize !== undefined && argv.width === undefined)
        throw new InputError(`plot: --font-size ${argv.fontSize} sets the text of paper figures, and no --width was given; add --width (e.g. --width 3.3in --font-size ${argv.fontSize})`, undefined, "--font-size");
      if (argv.againstSetting !== undefined) return plotSettingFigures(io, argv);
      // Alone, --x-axis would be ignored: the usual figures have fixed axes.
      if (argv.x !== "step" && argv.metric.length === 0)
        throw new InputError(`plot: --x-axis ${argv.x} sets the x axis of the --metric figures, and no --metric was given; add --metric COLUMN (e.g. --metric train_loss --x-axis ${argv.x}). clip_accuracy_vs_time.svg is always drawn against wall-clock time`);
      const dir = resolve(argv.dir);
      refuseFileForResultsFolder("plot", dir, argv.dir);
      const single = existsSync(join(dir, RUN_META_FILE));
      const all = single ? collectRuns(dirname(dir)).filter((r) => basename(r.dir) === basename(dir)) : collectRuns(dir);
      const completed = all.filter((r) => r.status === "completed");
      // With none completed, the unfinished runs are drawn; not one whose run-meta.json is not JSON:
      // which configuration it ran is unknown, so it has no legend entry to go under.
      const runs = completed.length > 0 ? completed : all.filter((r) => !isUnstarted(r.status) && r.status !== NOT_COPIED && r.status !== UNREADABLE_RUN_META);
      if (runs.length === 0) {
        const unreadable = all.filter((r) => r.status === UNREADABLE_RUN_META).map((r) => basename(r.dir));
        if (all.length === 0) {
          if (!existsSync(dir)) throw new InputError(`plot: ${argv.dir} does not exist (expected an experiment's results folder, e.g. results/<experiment name>, or one run's)`);
          throw new InputError(`plot: no runs in ${argv.dir} (expected run directories with ${RUN_META_FILE})${experimentFoldersHint(dir, argv.dir, "plot")}`);
        }
        if (unreadable.length > 0)
          throw new InputError(`plot: nothing to draw in ${argv.dir}: ${count(unreadable.length, "run")} ${unreadable.length === 1 ? "has" : "have"} a ${RUN_META_FILE} that is not JSON (${UNREADABLE_RUN_META}: ${firstFew(unreadable)}), so which configuration ${unreadable.length === 1 ? "it" : "each"} ran is unknown; mend it, then plot again${unreadable.length < all.length ? ` (the others: ${tally(all.filter((r) => r.status !== UNREADABLE_RUN_META).map((r) => r.status))})` : ""}`);
        // A not_copied run did start, in a shard: where, and why it is not here, is its message.
        const elsewhere = all.some((r) => r.status === NOT_COPIED) ? `; each ${NOT_COPIED} run's message says in which shard folder it ran and why results collect did not copy it` : "";
        throw new InputError(`plot: no run in ${argv.dir} has started here (${tally(all.map((r) => r.status))}: runs.csv lists them${elsewhere})`);
      }
      const out = resolve(argv.out ?? argv.dir);
      const left = all.filter((r) => !runs.includes(r));
      const drawn = await plotLearningCurves(runs, (name, text) => writeFileAtomic(join(out, name), text), [...new Set(argv.metric)], argv.x, left, argv.spread, paperFigure(argv));
      if (drawn.length === 0) throw new InputError(`plot: nothing to draw in ${argv.dir}: its runs' metrics.csv and eval.csv have no rows yet`);
      io.err(`${drawn.map((d) => `${join(argv.out ?? argv.dir, d.file)} (${count(d.lines, "line")}; points in ${d.data}${captionIn(d.caption)})`).join(", ")}\n`);
      // A figure without some configurations' lines (their files have no value of its column) says so on it, and here.
      for (const d of drawn) if (d.noLine !== undefined) io.err(`note: ${d.file}: ${d.noLine}\n`);
      // The table keeps such runs (a row of dashes, its not_completed column); the curves leave them out, and say so (on each figure too).
      if (left.length > 0) io.err(`note: the curves are of the ${count(runs.length, completed.length > 0 ? "completed run" : "unfinished run")}; ${count(left.length, "run")} not drawn (${tally(left.map((r) => r.status))}: ${firstFew(left.map((r) => basename(r.dir)))})\n`);
      if (completed.length === 0) io.err(`note: no run has completed; the curves are of ${runs.length === 1 ? "an unfinished run" : "unfinished runs"} (${tally(runs.map((r) => r.status))}), up to the step ${runs.length === 1 ? "it" : "each"} reached\n`);
    },
  };
}

/** `plot DIR --against-setting KEY`: final metrics from DIR/runs.csv against a swept setting (src/results/plot-vs-setting.ts), no curves. */
async function plotSettingFigures(io: CliIo, argv: PlotArgs): Promise<void> {
  const key = argv.againstSetting!;
  if (argv.x !== "step")
    throw new InputError(`plot: --x-axis ${argv.x} sets the learning curves' x axis; with --against-setting ${key} the x axis is that setting and no curves are drawn; leave out one of the two`);
  const dir = resolve(argv.dir);
  refuseFileForResultsFolder("plot", dir, argv.dir);
  // runs.csv written anew from the run folders first, as `results table` does, so that the figure
  // and the table agree: a sweep stopped outright (SIGKILL) or a run finished by another process
  // since leaves it behind the folders.
  const runsCsv = join(dir, RUNS_CSV);
  await refreshRunsCsv(dir, (columns) => {
    resolveSetting(key, columns, runsCsv);
    for (const m of argv.metric) resolveMetric(m, columns);
  });
  if (!existsSync(runsCsv)) {
    if (!existsSync(dir)) throw new InputError(`plot --against-setting: ${argv.dir} does not exist (expected an experiment's results folder holding ${RUNS_CSV}, e.g. results/<experiment name>)`);
    const run = existsSync(join(dir, RUN_META_FILE)) ? `; ${argv.dir} is one run's folder: give its experiment's folder, ${dirname(argv.dir)}` : experimentFoldersHint(dir, argv.dir, "plot");
    throw new InputError(`plot --against-setting: ${join(argv.dir, RUNS_CSV)} does not exist (expected a sweep's results folder: a sweep, or 'sideways results collect', writes it)${run}`);
  }
  const metrics = argv.metric.length > 0 ? argv.metric : defaultSettingMetrics(dir);
  if (metrics.length === 0) throw new InputError(`plot --against-setting: ${join(argv.dir, RUNS_CSV)} has no final_eval_clip_top1 column; name a runs.csv column with --metric`, undefined, "--metric");
  const out = resolve(argv.out ?? argv.dir);
  const drawn = await plotAgainstSetting(runsCsv, key, metrics, argv.spread, (name, text) => writeFileAtomic(join(out, name), text), paperFigure(argv));
  io.err(`${drawn.map((d) => `${join(argv.out ?? argv.dir, d.file)} (${count(d.lines, "line")}, ${count(d.points, "point")}; points in ${d.data}${captionIn(d.caption)})`).join(", ")}\n`);
  // What each figure leaves out, as its subtitle says it.
  for (const d of drawn) for (const note of d.notes) io.err(`note: ${d.file}: ${note}\n`);
}

/** Where a paper figure's title and notes went (it leaves them out for the paper's caption), or "". */
const captionIn = (caption: string | undefined) => (caption === undefined ? "" : `; title and notes for its caption in ${caption}`);

/** The paper figure --width and --font-size ask for; undefined for screen figures. */
const paperFigure = (argv: PlotArgs): PaperFigure | undefined =>
  argv.width === undefined ? undefined : { width: argv.width, textPt: argv.fontSize ?? PAPER_TEXT_PT };
