import type { Argv, CommandModule } from "yargs";
import type { ExperimentSpec } from "../../spec/experiment-spec.js";
import type { Model } from "../../model/model.js";
import { blockFacts } from "../../schedule/analysis.js";
import { formatGrid } from "../../schedule/format-grid.js";
import { METHOD_NAMES, RULES } from "../../schedule/registry.js";
import { ineffectiveSettings } from "../../spec/setting-notes.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { sweptKeysNotOverridden } from "../../spec/sweep-expand.js";
import { resolveWorkerCount } from "../../train/create-executor.js";
import { framesPerPass } from "../../train/bp-stage.js";
import { largestShare } from "../../train/replica-executor.js";
import { trainsOnDevice } from "../../train/device-step.js";
import { scheduleDiagnostics } from "../../train/diagnostics.js";
import { balancedStages, stageBlocksText } from "../../train/stage-plan.js";
import { count } from "../../util/count.js";
import type { CliIo } from "../cli-io.js";
import type { HelpExamples } from "../help-examples.js";

interface ScheduleArgs {
  file: string;
  overrides: string[];
  compare: boolean;
}

export function scheduleCommand(io: CliIo): CommandModule<object, ScheduleArgs> & HelpExamples {
  return {
    command: "schedule <file> [overrides..]",
    describe: "Print the action table of an experiment's update rule (ticks x blocks) and what it implies, without running it",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides" })
        .option("compare", { type: "boolean", default: false, describe: "one row per rule instead of one rule's table: ticks, gradient delay, stash and predicted idle of every train.method on this model, clip length, batch and workers (updates once per clip batch)" }) as unknown as Argv<ScheduleArgs>,
    examples: [
      ["$0 schedule exp.yaml train.method=pipelined-bp data.clip_length=6", "pipelined BP over 6 frames"],
      ["$0 schedule exp.yaml --compare runtime.workers=4", "every rule side by side on 4 workers"],
      ["$0 schedule exp.yaml train.update_every=4", "with in-clip updates: which weight version every action reads"],
    ],
    handler: (argv) => {
      // The table needs the model and the settings, not the data or the checkpoint: a file written
      // for another machine's data (experiments/ucf101.yaml) can be inspected anywhere.
      const { spec, model, parsedOverrides, raw } = loadExperiment(argv.file, argv.overrides, { checkRunInputs: false });
      // As `run` says: a sweep's runs may use other rules than the base configuration shown here,
      // unless the overrides set every swept key (then this is one run's table: nothing to say).
      const fromBase = spec.sweep === null ? [] : sweptKeysNotOverridden(spec.sweep, parsedOverrides);
      if (argv.compare) {
        // Every rule, so the file's own train.method and update settings are not what is shown.
        const { method, update_every: every, weight_stashing: stashing } = spec.train;
        const accumulate = spec.train.accumulate ?? 1;
        const notApplied = [`train.method (${method})`, ...(every === "clip" ? [] : [`update_every (${every})`]), ...(stashing ? ["weight_stashing (true)"] : []), ...(accumulate === 1 ? [] : [`accumulate (${accumulate})`])];
        io.err(`note: --compare shows a row for every train.method, each with updates once per clip batch; ${argv.file}'s ${notApplied.join(", ")} ${notApplied.length === 1 ? "does" : "do"} not apply here\n`);
        // The other swept keys (clip length, model, workers) do change the rows: they are the base configuration's.
        const baseKeys = fromBase.filter((k) => !COMPARE_SETS.some((c) => k === c || k.startsWith(`${c}.`)));
        if (baseKeys.length > 0) io.err(`note: ${argv.file} has a sweep: section; these rows are of its base configuration's ${baseKeys.join(", ")}, not a run's (override ${baseKeys.length === 1 ? "it" : "them"} to see a run's)\n`);
        io.out(compareRules(spec, model));
        return;
      }
      if (fromBase.length > 0) io.err(`note: ${argv.file} has a sweep: section; this is the table of its base configuration's ${fromBase.join(", ")}, not a run's (override ${fromBase.length === 1 ? "it" : "them"} to see a run's)\n`);
      for (const n of ineffectiveSettings(spec, model, raw)) io.err(`note: ${argv.file}: ${n}\n`);
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
  const { method, update_every: every, weight_stashing: stashing } = spec.train;
  const plan = plannedStages(spec, model);
  // With train.accumulate k (refused beside in-clip updates) one optimizer step takes k clip
  // batches: the grid is one clip batch's, so each block steps 1/k times per batch shown.
  const k = spec.train.accumulate ?? 1;
  const L = model.blocks.length;
  const T = spec.data.clip_length;
  const rule = RULES[method];
  const s = rule.generate(L, T);
  const updates = every !== "clip" ? `every ${every} ticks` : k === 1 ? "once per clip batch" : `once every ${k} clip batches (train.accumulate ${k}: a step sums their gradients; the grid is one clip batch's)`;
  const lines = [
    `${method}: ${rule.describe}`,
    `model ${model.name}: ${L} blocks; clips of ${T} frames; ${s.ticks} ticks per clip batch; updates ${updates}${rule.weightStashing ? `; weight stashing ${stashing ? "on" : "off"}` : ""}`,
    "",
    INDEX_LEGEND,
    "F<f> forward of frame f, L loss, B<f> backward of frame f, B<f><<g> backward on frame f's input with frame g's gradient, @<v> weights after v in-clip steps, . idle",
    "",
    formatGrid(s, every, stashing),
    `| block | gradients | steps per clip batch | gradient delay (ticks) | weight lag (steps) | weights stale (ticks) | inputs from other weights | inputs kept | kept MB ${plan.keptAt} |`,
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const facts = blockFacts(s, every, stashing);
  const bpPass = method === "bp" ? bpPassFrames(spec, model, plan) : null;
  facts.forEach((f, b) => {
    const kept = bpPass ?? f.stashedInputs;
    const mb = keptMiB(model, b, kept, plan.clips);
    // A block that gets no gradient has no delay, lag or staleness to state.
    const fact = (v: number) => (f.gradients === 0 ? "-" : v.toFixed(2));
    const steps = k === 1 || f.steps === 0 ? String(f.steps) : `${f.steps}/${k}`;
    lines.push(`| ${b} | ${f.gradients} | ${steps} | ${fact(f.gradDelayTicks)} | ${fact(f.weightLagSteps)} | ${fact(f.weightStaleTicks)} | ${fact(f.versionMismatch)} | ${kept} | ${mb.toFixed(2)} |`);
  });
  if (bpPass !== null) lines.push("", bpPassNote(bpPass, T));
  if (every !== "clip") lines.push("", blockStepsInRun(every, spec.train.steps, facts));
  const untrained = facts.flatMap((f, k) => (f.gradients === 0 ? [k] : []));
  if (untrained.length > 0)
    lines.push("", `warning: ${count(untrained.length, "block")} (${untrained.join(", ")}) never ${untrained.length === 1 ? "gets" : "get"} a gradient on ${T}-frame clips, so ${untrained.length === 1 ? "it keeps its" : "they keep their"} initial weights; validate refuses this unless --allow-warnings, run and sweep train with a warning (clips of at least ${2 * L - 1} frames, 2L-1, let every block learn)`);
  const { stages } = plan;
  const idle = scheduleDiagnostics(model, method, T, every, stashing, stages).predictedIdle;
  lines.push(
    "",
    METRICS_COLUMNS,
    "",
    `${IDLE_ASSUMPTIONS(plan)}: ` + stages.map((blocks, i) => `stage ${i} (${plan.replicas > 1 ? `replica ${i}, ` : ""}${stageBlocksText(blocks)}) ${idle[i].toFixed(2)}`).join(", "),
  );
  return lines.join("\n") + "\n";
}

/**
 * With in-clip updates the learning-rate schedule counts each block's own steps (optim/schedule.ts
 * blockLearningRates): the counts a researcher sets warmup_steps, step_size and milestones by.
 */
function blockStepsInRun(every: number, steps: number, facts: readonly { steps: number }[]): string {
  return (
    `steps in the run, train.steps ${steps} x steps per clip batch: ` +
    facts.map((f, b) => `block ${b} ${steps * f.steps}`).join(", ") +
    `; with train.update_every: ${every} train.schedule counts each block's own steps (warmup_steps, step_size and milestones count these; cosine and linear end at each block's own count)`
  );
}

/** The settings `--compare` sets itself, for every rule: a sweep over them needs no note. */
const COMPARE_SETS = ["train.method", "train.update_every", "train.weight_stashing", "train.accumulate"];

const IDLE_ASSUMPTIONS = (plan: StagePlan) =>
  plan.replicas > 1
    ? `predicted idle fraction per stage on ${plan.replicas} data-parallel replicas (a stage each, as metrics.csv's _s<s> columns: each holds every block and runs the whole table on its share of the clips, so nothing in the table makes it wait)`
    : `predicted idle fraction per stage on ${plan.workers} worker(s), blocks of equal cost, a backward costing two forwards, stages running ahead as their messages arrive`;

interface StagePlan {
  workers: number;
  replicas: number;
  stages: number[][];
  /** The clips one stage holds inputs of: the batch, or with replicas the largest replica's share. */
  clips: number;
  /** How the "kept MB" header names those clips. */
  keptAt: string;
}

/**
 * The stages runtime.workers gives (blocks of equal cost, balanced), or with runtime.replicas one
 * per replica, each with every block and a contiguous share of the batch (src/train/replica-executor.ts
 * splitClips, sizes differing by at most one): a run's stash_mb_s<s> is then one replica's, so the
 * kept MB is the largest share's (largestShare, as the run sizes its BP passes by).
 */
function plannedStages(spec: ExperimentSpec, model: Model): StagePlan {
  const B = spec.train.batch_size;
  const R = spec.runtime.replicas;
  if (R > 1) {
    const every = model.blocks.map((_, k) => k);
    const clips = largestShare(B, R);
    return { workers: 1, replicas: R, stages: Array.from({ length: R }, () => every), clips, keptAt: `per replica (${clips} of the batch's ${B} clips on ${R} replicas)` };
  }
  const workers = resolveWorkerCount(spec.runtime.workers, model);
  return { workers, replicas: 1, stages: balancedStages(new Array(model.blocks.length).fill(1), workers), clips: B, keptAt: `at batch size ${B}` };
}

/**
 * The frames of each clip the BP run `bpRun` takes in one pass (src/train/bp-stage.ts framesPerPass,
 * as summary.json's execution.bp_frames_per_pass records it; every frame with the device step): BP's
 * grid goes a frame at a time, but a run does not follow it, and a block keeps a pass's inputs.
 */
function bpPassFrames(bpRun: ExperimentSpec, model: Model, plan: StagePlan): number {
  const T = bpRun.data.clip_length;
  return trainsOnDevice(bpRun, model.blocks.length, T) ? T : framesPerPass(bpRun.train.bp_frames_per_pass, plan.clips, T, model);
}

/**
 * The run a --compare row stands for: `method` with the settings --compare sets itself
 * (COMPARE_SETS: updates once per clip batch, no stashing, no accumulation). train.accumulate
 * matters to BP's row: above 1 it keeps a GPU run off the device step, which takes every frame.
 */
const comparedRun = (spec: ExperimentSpec, method: ExperimentSpec["train"]["method"]): ExperimentSpec => ({
  ...spec,
  train: { ...spec.train, method, update_every: "clip", weight_stashing: false, accumulate: 1 },
});

/** The note under a table with BP's kept inputs: they are a pass's, not the grid's. */
const bpPassNote = (F: number, T: number) =>
  `bp's inputs kept are a pass's: a run takes ${F === T ? `all ${T} frames` : `${F} of the ${T} frames`} of each clip in one pass (train.bp_frames_per_pass; summary.json's execution.bp_frames_per_pass), not the grid's one frame at a time`;

/** MiB of `inputs` inputs of block k at batch size B (float32): what the tables' "kept MB" columns say. */
const keptMiB = (model: Model, k: number, inputs: number, B: number) => (inputs * B * model.blocks[k].inShape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20;

/**
 * `schedule --compare`: every rule on this model, clip length, batch and workers, one row each,
 * with updates once per clip batch. "exact" where every backward pairs a frame's input with that
 * frame's own gradient and every block gets all T frames' gradients: the rule's gradient is BP's.
 */
export function compareRules(spec: ExperimentSpec, model: Model): string {
  const L = model.blocks.length;
  const T = spec.data.clip_length;
  const B = spec.train.batch_size;
  const plan = plannedStages(spec, model);
  const { workers, stages } = plan;
  const bpPass = bpPassFrames(comparedRun(spec, "bp"), model, plan);
  const lines = [
    `model ${model.name}: ${L} blocks; clips of ${T} frames; batch size ${B}; every rule with updates once per clip batch`,
    "",
    `| rule | gradient | ticks per clip batch | blocks that learn | mean gradient delay (ticks) | most inputs a block keeps | kept MB, all blocks${plan.replicas > 1 ? `, ${plan.keptAt}` : ""} | predicted idle per stage on ${plan.replicas > 1 ? `${plan.replicas} replicas` : `${workers} worker(s)`} |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const method of METHOD_NAMES) {
    const s = RULES[method].generate(L, T);
    const facts = blockFacts(s, "clip", false);
    const learning = facts.filter((f) => f.gradients > 0);
    const exact = facts.every((f) => f.gradients === T) && s.actions.every((a) => a.op !== "backward" || a.gradFrame === a.frame);
    const delay = learning.length === 0 ? "-" : (learning.reduce((sum, f) => sum + f.gradDelayTicks, 0) / learning.length).toFixed(2);
    const inputs = facts.map((f) => (method === "bp" ? bpPass : f.stashedInputs));
    const kept = inputs.reduce((sum, n, k) => sum + keptMiB(model, k, n, plan.clips), 0);
    const idle = scheduleDiagnostics(model, method, T, "clip", false, stages).predictedIdle;
    lines.push(`| ${method} | ${exact ? "exact (BP's)" : "approximate"} | ${s.ticks} | ${learning.length} of ${L} | ${delay} | ${Math.max(...inputs)} | ${kept.toFixed(2)} | ${idle.map((x) => x.toFixed(2)).join(" ")} |`);
  }
  lines.push("", `${IDLE_ASSUMPTIONS(plan)}; stages ${stages.map(stageBlocksText).join(" / ")}. ${bpPassNote(bpPass, T)}. \`sideways schedule FILE train.method=<rule>\` prints one rule's table and per-block facts.`);
  return lines.join("\n") + "\n";
}
