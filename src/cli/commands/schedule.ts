import type { Argv, CommandModule } from "yargs";
import type { ExperimentSpec } from "../../spec/experiment-spec.js";
import type { Model } from "../../model/model.js";
import { blockFacts } from "../../schedule/analysis.js";
import { formatGrid } from "../../schedule/format-grid.js";
import { RULES } from "../../schedule/registry.js";
import { ineffectiveSettings } from "../../spec/setting-notes.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { sweptKeysNotOverridden } from "../../spec/sweep-expand.js";
import { resolveWorkerCount } from "../../train/create-executor.js";
import { scheduleDiagnostics } from "../../train/diagnostics.js";
import { balancedStages, stageBlocksText } from "../../train/stage-plan.js";
import { count } from "../../util/count.js";
import type { CliIo } from "../cli-io.js";

interface ScheduleArgs {
  file: string;
  overrides: string[];
}

export function scheduleCommand(io: CliIo): CommandModule<object, ScheduleArgs> {
  return {
    command: "schedule <file> [overrides..]",
    describe: "Print the action table of an experiment's update rule (ticks x blocks) and what it implies, without running it",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides" })
        .example("$0 schedule exp.yaml train.method=pipelined-bp data.clip_length=6", "pipelined BP over 6 frames")
        .example("$0 schedule exp.yaml train.update_every=4", "with in-clip updates: which weight version every action reads") as unknown as Argv<ScheduleArgs>,
    handler: (argv) => {
      // The table needs the model and the settings, not the data or the checkpoint: a file written
      // for another machine's data (experiments/ucf101.yaml) can be inspected anywhere.
      const { spec, model, parsedOverrides } = loadExperiment(argv.file, argv.overrides, { checkRunInputs: false });
      // As `run` says: a sweep's runs may use other rules than the base configuration shown here,
      // unless the overrides set every swept key (then this is one run's table: nothing to say).
      const fromBase = spec.sweep === null ? [] : sweptKeysNotOverridden(spec.sweep, parsedOverrides);
      if (fromBase.length > 0) io.err(`note: ${argv.file} has a sweep: section; this is the table of its base configuration's ${fromBase.join(", ")}, not a run's (override ${fromBase.length === 1 ? "it" : "them"} to see a run's)\n`);
      for (const n of ineffectiveSettings(spec, model)) io.err(`note: ${argv.file}: ${n}\n`);
      io.out(describeSchedule(spec, model));
    },
  };
}

/**
 * One convention for every index the command prints, the one `sideways model summary`, the stage
 * plans, the clip-length warning and metrics.csv's columns use, so that a block's row here is the
 * block whose columns end in _b<k> there (docs/design/sideways.md keeps the paper's 1-based rules).
 */
const INDEX_LEGEND =
  "ticks, frames, blocks and stages count from 0, as in `sideways model summary` and metrics.csv (block k's columns end in _b<k>, stage s's in _s<s>); " +
  "the paper's 1-based k, t and frames (docs/design/sideways.md) are these plus 1";

/** Where a run logs what the per-block table predicts (src/train/diagnostics.ts, diagnostics.every). */
const METRICS_COLUMNS =
  "a run with diagnostics logs these per block k in metrics.csv: gradients n_b<k> (for bp, the counts of Sideways, its diagnostic reference), gradient delay grad_delay_ticks_b<k>, weight lag weight_lag_steps_b<k>, " +
  "weights stale weight_stale_ticks_b<k>, inputs from other weights stale_input_frac_b<k>; and per stage s stash_mb_s<s>, the peak of the kept inputs and the forward intermediates their backwards need (kept MB counts the inputs alone)";

/** The grid, per-block facts and the predicted idle fraction of each stage, as text. */
export function describeSchedule(spec: ExperimentSpec, model: Model): string {
  const { method, update_every: every, weight_stashing: stashing, batch_size: B } = spec.train;
  const L = model.blocks.length;
  const T = spec.data.clip_length;
  const rule = RULES[method];
  const s = rule.generate(L, T);
  const lines = [
    `${method}: ${rule.describe}`,
    `model ${model.name}: ${L} blocks; clips of ${T} frames; ${s.ticks} ticks per clip batch; updates ${every === "clip" ? "once per clip batch" : `every ${every} ticks`}${rule.weightStashing ? `; weight stashing ${stashing ? "on" : "off"}` : ""}`,
    "",
    INDEX_LEGEND,
    "F<f> forward of frame f, L loss, B<f> backward of frame f, B<f><<g> backward on frame f's input with frame g's gradient, @<v> weights after v in-clip steps, . idle",
    "",
    formatGrid(s, every, stashing),
    `| block | gradients | steps | gradient delay (ticks) | weight lag (steps) | weights stale (ticks) | inputs from other weights | inputs kept | kept MB at batch size ${B} |`,
    "|---|---|---|---|---|---|---|---|---|",
  ];
  blockFacts(s, every, stashing).forEach((f, k) => {
    const mb = (f.stashedInputs * B * model.blocks[k].inShape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20;
    // A block that gets no gradient has no delay, lag or staleness to state.
    const fact = (v: number) => (f.gradients === 0 ? "-" : v.toFixed(2));
    lines.push(`| ${k} | ${f.gradients} | ${f.steps} | ${fact(f.gradDelayTicks)} | ${fact(f.weightLagSteps)} | ${fact(f.weightStaleTicks)} | ${fact(f.versionMismatch)} | ${f.stashedInputs} | ${mb.toFixed(2)} |`);
  });
  const untrained = blockFacts(s, every, stashing).flatMap((f, k) => (f.gradients === 0 ? [k] : []));
  if (untrained.length > 0)
    lines.push("", `warning: ${count(untrained.length, "block")} (${untrained.join(", ")}) never ${untrained.length === 1 ? "gets" : "get"} a gradient on ${T}-frame clips, so ${untrained.length === 1 ? "it keeps its" : "they keep their"} initial weights; validate refuses this unless --allow-warnings, run and sweep train with a warning (clips of at least ${2 * L - 1} frames, 2L-1, let every block learn)`);
  const workers = resolveWorkerCount(spec.runtime.workers, model);
  const stages = balancedStages(new Array(L).fill(1), workers);
  const idle = scheduleDiagnostics(model, method, T, every, stashing, stages).predictedIdle;
  lines.push(
    "",
    METRICS_COLUMNS,
    "",
    `predicted idle fraction per stage on ${workers} worker(s), blocks of equal cost, a backward costing two forwards, stages running ahead as their messages arrive: ` +
      stages.map((blocks, i) => `stage ${i} (${stageBlocksText(blocks)}) ${idle[i].toFixed(2)}`).join(", "),
  );
  return lines.join("\n") + "\n";
}
