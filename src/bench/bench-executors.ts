/**
 * The depth-parallel benchmark: frames/s of BP (all frames at once, and frame by frame) and of
 * Sideways, each on one stage and on 2..cores worker stages, and BP also on one stage with
 * onnxruntime's intra-op threads. One process, one model; the configurations run interleaved
 * round by round so that machine noise hits them alike. Prints a table, returns the figures.
 */
import { availableParallelism } from "node:os";
import type { ClipBatch } from "../data/source.js";
import { initWeights } from "../model/init.js";
import type { Model } from "../model/model.js";
import { BlockRunner, buildAllBlockGraphs } from "../train/block-runner.js";
import { measureBlockCosts } from "../train/create-executor.js";
import type { BatchOptions, Executor, Method } from "../train/executor.js";
import { ParallelExecutor } from "../train/parallel-executor.js";
import { ReplicaExecutor } from "../train/replica-executor.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { balancedStages } from "../train/stage-plan.js";
import { Rng } from "../util/rng.js";
import { predictedIdleFractions, type OpCosts } from "../schedule/analysis.js";
import { interpreterSteps, sidewaysTickSteps, simulatedIdleFractions, simulatedMakespan } from "../schedule/simulate.js";
import type { Weights } from "../model/model.js";
import type { Tensor } from "../tensor.js";
import { RULES } from "../schedule/registry.js";
import { median } from "./stats.js";
import { otherProcessesMeter } from "./machine-load.js";
import type { Provider } from "../runtime/providers.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";

export interface ExecutorBenchOptions {
  model: Model;
  batchSize: number;
  clipLength: number;
  rounds: number;
  maxWorkers: number;
  /** Execution provider of every session (default cpu). */
  provider?: Provider;
}

export interface ExecutorBenchRow {
  method: string;
  /** parallel: depth-parallel stages; replicas: data-parallel copies of the whole model. */
  executor: "sequential" | "parallel" | "replicas";
  workers: number;
  intra_op_threads: number;
  stages: string;
  frames_per_s: number;
  step_ms_median: number;
  busy_fraction_per_stage: number[];
  /**
   * Per stage, the shares of its wall time spent awaiting a neighbouring stage's message and
   * handing its own over (postMessage); the rest of 1 - busy is other work outside onnxruntime.
   */
  wait_fraction_per_stage: number[];
  send_fraction_per_stage: number[];
  /**
   * Per stage, the idle fraction the rule's table predicts: the stages simulated running ahead as
   * soon as their messages arrive, as the executors do (src/schedule/simulate.ts), each call with
   * the measured forward and backward cost of its blocks and the time a call of the rule takes
   * outside onnxruntime on one stage (`outside_ms_per_action`). BP's table is frame by frame;
   * Sideways' follows its one-graph tick (sidewaysTickSteps), the others one call per action.
   */
  predicted_idle_per_stage: number[];
  /**
   * The same simulation's speed-up over the rule on one stage (all blocks, same costs): what the
   * split and the table allow at best, with no cost for messages or for sharing the cores.
   */
  predicted_speedup_over_one_stage: number;
  /** Time outside onnxruntime per forward or backward of this rule's table on one stage (its sequential row), ms. */
  outside_ms_per_action: number;
  /**
   * As predicted_idle_per_stage, with each stage's costs scaled so that they sum to the time the
   * stage actually spent inside onnxruntime in this configuration (median over rounds): the
   * stages' real work when both cores run at once, which the costs measured one call at a time on
   * an otherwise idle thread miss. What is left between this and the measured idle is what the
   * executor adds (messages, waking a sleeping neighbour, sharing the cores with other processes).
   */
  predicted_idle_measured_work_per_stage: number[];
  /** The same table with every tick a barrier lasting as long as the busiest stage's work in it (src/schedule/analysis.ts). */
  predicted_idle_tick_barrier_per_stage: number[];
  /** Most MB of stashed inputs per stage (schedule interpreter); null where a stage ran a one-graph path, which does not measure it. */
  stash_mb_per_stage: (number | null)[];
  /**
   * Median over rounds of the cores other processes on the machine took while this
   * configuration's batch ran (src/bench/machine-load.ts); null where /proc/stat is missing.
   */
  other_processes_cores: number | null;
  /**
   * Growth of the process's resident memory over this configuration's first (warm-up) batch:
   * what its sessions, activations and onnxruntime arenas take (configurations share a process).
   */
  memory_mb: number;
}

export interface ExecutorBenchResult {
  model: string;
  blocks: number;
  block_cost_ms: number[];
  /** Per block, one activation-keeping forward call and one backward-from-saved call, measured apart (median, ms). */
  block_forward_ms: number[];
  block_backward_ms: number[];
  batch_size: number;
  clip_length: number;
  rounds: number;
  cores: number;
  rows: ExecutorBenchRow[];
  peak_rss_mb: number;
  /** Sideways on `cores` stages over the fastest BP on the same stages. */
  speedup_sideways_parallel_over_bp: number;
  /** Sideways on `cores` stages over the fastest BP configuration of all (data-parallel replicas included). */
  speedup_sideways_parallel_over_best_bp: number;
  /** Sideways on `cores` stages over BP as `cores` data-parallel replicas; null on one core. */
  speedup_sideways_parallel_over_bp_replicas: number | null;
  speedup_sideways_parallel_over_sequential: number;
}

interface Variant {
  label: string;
  method: Method;
  options: BatchOptions;
}

function variants(): Variant[] {
  return [
    // Each stage (a replica: its share of the clips) sizes its own passes: bp-stage.ts framesPerPass.
    { label: "bp (auto passes)", method: "bp", options: { bpFramesPerPass: "auto" } },
    { label: "bp (frame by frame)", method: "bp", options: { bpFramesPerPass: 1 } },
    { label: "sideways", method: "sideways", options: {} },
    // Exact BP through the depth-parallel stages, frames as micro-batches (the schedule interpreter):
    // one forward and one backward a tick, and GPipe's all forwards, then all backwards.
    { label: "pipelined-bp", method: "pipelined-bp", options: {} },
    { label: "gpipe", method: "gpipe", options: {} },
  ];
}

interface Setup {
  executor: Executor;
  kind: ExecutorBenchRow["executor"];
  workers: number;
  threads: number;
  /** Sideways cannot use intra-op threads for depth parallelism; it is not run on this set-up. */
  bpOnly: boolean;
}

interface Measured {
  variant: Variant;
  setup: Setup;
  stepSeconds: number[];
  busy: number[][];
  /** Per round and stage, seconds inside onnxruntime. */
  busySeconds: number[][];
  wait: number[][];
  send: number[][];
  /** Per round, the cores other processes took during this configuration's batch (null: not measurable). */
  others: (number | null)[];
  /** Per round, stage 0's seconds outside onnxruntime and not waiting on its neighbours. */
  outside: number[];
  stashBytes: (number | null)[];
  memoryBytes: number;
}

function syntheticBatch(model: Model, B: number, T: number, seed: number): ClipBatch {
  const rng = new Rng(seed);
  const { channels: C, height: H, width: W } = model.input;
  const clips = new Float32Array(B * T * C * H * W);
  for (let i = 0; i < clips.length; i++) clips[i] = rng.next();
  const labels = Int32Array.from({ length: B }, () => rng.int(model.classes));
  return { clips, labels, dims: [B, T, C, H, W] };
}

async function createSetups(model: Model, costs: number[], maxWorkers: number, clips: number, provider: Provider): Promise<Setup[]> {
  const graphs = buildAllBlockGraphs(model, await graphTargetFor({ provider }));
  const cpu = (threads: number) => ({ provider, threads });
  const setups: Setup[] = [{ executor: await SequentialExecutor.create(model, graphs, cpu(1)), kind: "sequential", workers: 1, threads: 1, bpOnly: false }];
  if (maxWorkers > 1) {
    const executor = await SequentialExecutor.create(model, graphs, cpu(maxWorkers));
    setups.push({ executor, kind: "sequential", workers: 1, threads: maxWorkers, bpOnly: true });
  }
  for (let w = 2; w <= maxWorkers; w++) {
    const executor = await ParallelExecutor.create(model, graphs, balancedStages(costs, w), cpu(1));
    setups.push({ executor, kind: "parallel", workers: w, threads: 1, bpOnly: false });
  }
  // Data parallelism is the other way to use the cores (one replica per core, clips shared out):
  // BP's fastest configuration has to include it. Not for models with batch_norm, which replicas
  // refuse (replica-executor.ts).
  if (maxWorkers > 1 && clips >= maxWorkers && model.buffers.length === 0) {
    const executor = await ReplicaExecutor.create(model, graphs, maxWorkers, cpu(1));
    setups.push({ executor, kind: "replicas", workers: maxWorkers, threads: 1, bpOnly: false });
  }
  return setups;
}

export async function benchExecutors(opts: ExecutorBenchOptions, log: (line: string) => void): Promise<ExecutorBenchResult> {
  const { model, batchSize: B, clipLength: T } = opts;
  const cores = availableParallelism();
  const weights = initWeights(model, 0);
  const provider = opts.provider ?? "cpu";
  const probe = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model, await graphTargetFor({ provider })), { provider, threads: 1 });
  const costs = await measureBlockCosts(model, probe, weights, B, 5);
  const opCosts = await measureOpCosts(model, probe, weights, B, 15);
  await probe.release();

  const maxWorkers = Math.min(opts.maxWorkers, cores, model.blocks.length);
  // Stages balanced by the round-by-round forward + backward costs (block_cost_ms is kept for
  // comparison with earlier runs: one block after another, five calls each, it drifted with load).
  const setups = await createSetups(model, opCosts.forward.map((f, k) => f + opCosts.backward[k]), maxWorkers, B, provider);
  const measured: Measured[] = [];
  for (const setup of setups) {
    for (const variant of variants()) {
      if (!(setup.bpOnly && variant.method !== "bp")) measured.push({ variant, setup, stepSeconds: [], busy: [], busySeconds: [], wait: [], send: [], outside: [], others: [], stashBytes: [], memoryBytes: 0 });
    }
  }
  try {
    const warm = syntheticBatch(model, B, T, 1);
    for (const m of measured) {
      const before = process.memoryUsage().rss;
      await m.setup.executor.runBatch(m.variant.method, warm, weights, m.variant.options);
      m.memoryBytes = process.memoryUsage().rss - before;
    }
    for (let r = 0; r < opts.rounds; r++) {
      const batch = syntheticBatch(model, B, T, 2 + r);
      for (const m of measured) {
        const others = otherProcessesMeter();
        const t0 = performance.now();
        const res = await m.setup.executor.runBatch(m.variant.method, batch, weights, m.variant.options);
        m.stepSeconds.push((performance.now() - t0) / 1000);
        m.others.push(others());
        m.busy.push(res.stageBusySeconds.map((b, s) => b / res.stageWallSeconds[s]));
        m.busySeconds.push(res.stageBusySeconds);
        m.wait.push(res.stageWaitSeconds.map((w, s) => w / res.stageWallSeconds[s]));
        m.send.push(res.stageSendSeconds.map((w, s) => w / res.stageWallSeconds[s]));
        m.outside.push(res.stageWallSeconds[0] - res.stageBusySeconds[0] - res.stageWaitSeconds[0]);
        m.stashBytes = res.stashPeakBytes;
      }
      log(`round ${r + 1}/${opts.rounds} done`);
    }
  } finally {
    for (const s of setups) await s.executor.close();
  }

  // The time outside onnxruntime per forward or backward of the table, as the rule's sequential
  // run shows it (one stage, nothing to wait for): what the simulated stages spend besides costs.
  // BP on one stage runs fused passes, not its table's calls: BP's stages go block by block, one
  // call per block and frame as the interpreter does, so BP takes pipelined-bp's figure.
  const outsidePerAction = (m: Measured) => {
    const method = m.variant.method === "bp" ? "pipelined-bp" : m.variant.method;
    const seq = measured.find((q) => q.variant.method === method && q.setup.kind === "sequential" && q.setup.threads === 1);
    if (!seq) return 0;
    const actions = RULES[method].generate(model.blocks.length, T).actions.filter((a) => a.op !== "loss").length;
    return median(seq.outside) / actions;
  };
  const rows: ExecutorBenchRow[] = measured.map((m) => {
    const stepMs = median(m.stepSeconds) * 1000;
    return {
      method: m.variant.label,
      executor: m.setup.kind,
      workers: m.setup.workers,
      intra_op_threads: m.setup.threads,
      stages: m.setup.executor.stages.map((s) => s.join("+")).join(" / "),
      frames_per_s: (B * T) / (stepMs / 1000),
      step_ms_median: stepMs,
      busy_fraction_per_stage: m.busy[0].map((_, s) => median(m.busy.map((b) => b[s]))),
      wait_fraction_per_stage: m.wait[0].map((_, s) => median(m.wait.map((w) => w[s]))),
      send_fraction_per_stage: m.send[0].map((_, s) => median(m.send.map((w) => w[s]))),
      ...predictions(m, model.blocks.length, T, opCosts, outsidePerAction(m)),
      outside_ms_per_action: outsidePerAction(m) * 1000,
      stash_mb_per_stage: m.stashBytes.map((b) => (b === null ? null : b / 2 ** 20)),
      other_processes_cores: m.others.some((o) => o === null) ? null : median(m.others as number[]),
      memory_mb: m.memoryBytes / 2 ** 20,
    };
  });
  const best = (pick: (r: ExecutorBenchRow) => boolean) => Math.max(...rows.filter(pick).map((r) => r.frames_per_s));
  // "Sideways parallel": depth-parallel stages on every core (on one core, the sequential executor).
  const onTopStages = (r: ExecutorBenchRow) => (maxWorkers > 1 ? r.executor === "parallel" && r.workers === maxWorkers : r.executor === "sequential" && r.intra_op_threads === 1);
  const sidewaysParallel = best((r) => r.method === "sideways" && onTopStages(r));
  return {
    model: model.name,
    blocks: model.blocks.length,
    block_cost_ms: costs.map((c) => c * 1000),
    block_forward_ms: opCosts.forward.map((c) => c * 1000),
    block_backward_ms: opCosts.backward.map((c) => c * 1000),
    batch_size: B,
    clip_length: T,
    rounds: opts.rounds,
    cores,
    rows,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    speedup_sideways_parallel_over_bp: sidewaysParallel / best((r) => r.method.startsWith("bp") && onTopStages(r)),
    speedup_sideways_parallel_over_best_bp: sidewaysParallel / best((r) => r.method.startsWith("bp")),
    speedup_sideways_parallel_over_bp_replicas: rows.some((r) => r.executor === "replicas") ? sidewaysParallel / best((r) => r.method.startsWith("bp") && r.executor === "replicas") : null,
    speedup_sideways_parallel_over_sequential: sidewaysParallel / best((r) => r.method === "sideways" && r.workers === 1),
  };
}

/**
 * Per block, the median time of one activation-keeping forward call and of one backward call from
 * its kept activations on `batchSize` rows (what the interpreter runs per action), in seconds.
 */
export async function measureOpCosts(model: Model, runner: BlockRunner, weights: Weights, batchSize: number, reps: number): Promise<OpCosts> {
  const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const inputs = model.blocks.map((block) => ({
    x: { data: new Float32Array(batchSize * numel(block.inShape)).fill(0.5), dims: [batchSize, ...block.inShape] } as Tensor,
    dy: { data: new Float32Array(batchSize * numel(block.outShape)).fill(0.01), dims: [batchSize, ...block.outShape] } as Tensor,
  }));
  const f: number[][] = model.blocks.map(() => []);
  const b: number[][] = model.blocks.map(() => []);
  // Round by round over all blocks (the first round only warms up), so that drifting machine load
  // and the first calls' cold caches hit no block more than another.
  for (let r = 0; r <= reps; r++) {
    for (const block of model.blocks) {
      const { x, dy } = inputs[block.index];
      const t0 = performance.now();
      const fwd = await runner.forwardSaving(block.index, x, weights);
      const t1 = performance.now();
      await runner.backwardFromSaved(block.index, x, fwd, dy, weights);
      const t2 = performance.now();
      if (r > 0) {
        f[block.index].push((t1 - t0) / 1000);
        b[block.index].push((t2 - t1) / 1000);
      }
    }
  }
  return { forward: f.map(median), backward: b.map(median) };
}

/** A row's predicted idle per stage: simulated (as the executors run) and with ticks as barriers. */
function predictions(
  m: Measured,
  L: number,
  T: number,
  costs: OpCosts,
  outsidePerAction: number,
): Pick<ExecutorBenchRow, "predicted_idle_per_stage" | "predicted_idle_measured_work_per_stage" | "predicted_idle_tick_barrier_per_stage" | "predicted_speedup_over_one_stage"> {
  const stages = m.setup.executor.stages;
  const none = stages.map(() => 0);
  // Replicas each hold every block: nothing to wait for in the table (and no table to speed up).
  if (m.setup.kind === "replicas") return { predicted_idle_per_stage: none, predicted_idle_measured_work_per_stage: none, predicted_idle_tick_barrier_per_stage: none, predicted_speedup_over_one_stage: stages.length };
  const table = RULES[m.variant.method].generate(L, T);
  const steps = (on: readonly (readonly number[])[], c: OpCosts) => (m.variant.method === "sideways" ? sidewaysTickSteps(table, on, c, outsidePerAction) : interpreterSteps(table, on, c, outsidePerAction));
  const here = steps(stages, costs);
  // Each stage's costs scaled to its measured time inside onnxruntime.
  const scale = stages.map((blocks, s) => {
    const tableWork = table.actions.filter((a) => a.op !== "loss" && blocks.includes(a.block)).reduce((sum, a) => sum + (a.op === "forward" ? costs.forward[a.block] : costs.backward[a.block]), 0);
    return tableWork > 0 ? median(m.busySeconds.map((b) => b[s])) / tableWork : 1;
  });
  const stageOf = (k: number) => stages.findIndex((blocks) => blocks.includes(k));
  const measuredWork: OpCosts = { forward: costs.forward.map((c, k) => c * scale[stageOf(k)]), backward: costs.backward.map((c, k) => c * scale[stageOf(k)]) };
  return {
    predicted_idle_per_stage: simulatedIdleFractions(here),
    predicted_idle_measured_work_per_stage: simulatedIdleFractions(steps(stages, measuredWork)),
    predicted_idle_tick_barrier_per_stage: predictedIdleFractions(table, stages, costs),
    predicted_speedup_over_one_stage: simulatedMakespan(steps([stages.flat()], costs)) / simulatedMakespan(here),
  };
}

/** pipelined-bp on the most workers: measured idle against both predictions, per stage (issue 12's goal: within 0.10). */
function pipelinedIdleGap(r: ExecutorBenchResult): string {
  const row = r.rows.filter((q) => q.method === "pipelined-bp" && q.executor === "parallel").at(-1);
  if (!row) return "pipelined-bp: no depth-parallel row";
  const measured = row.busy_fraction_per_stage.map((b) => 1 - b);
  const gap = (p: number[]) => measured.map((m, s) => (m - p[s]).toFixed(2)).join(" ");
  return `pipelined-bp on ${row.workers} workers, measured idle minus predicted per stage: ${gap(row.predicted_idle_per_stage)} (with the stages' measured work: ${gap(row.predicted_idle_measured_work_per_stage)})`;
}

/** Other processes' CPU while Sideways ran, sequential and parallel: a 2-worker figure with another process on one of 2 cores says little. */
function othersDuringSideways(r: ExecutorBenchResult): string {
  const of = (pick: (q: ExecutorBenchRow) => boolean) => r.rows.find((q) => q.method === "sideways" && pick(q))?.other_processes_cores;
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toFixed(2));
  return `other processes took ${fmt(of((q) => q.executor === "sequential"))} / ${fmt(of((q) => q.executor === "parallel"))} cores meanwhile`;
}

function sidewaysPredicted(r: ExecutorBenchResult): string {
  const row = r.rows.filter((q) => q.method === "sideways" && q.executor === "parallel").at(-1);
  return row ? `${row.predicted_speedup_over_one_stage.toFixed(2)}x on stages ${row.stages}` : "-";
}

export function formatExecutorBench(r: ExecutorBenchResult): string {
  const lines = [
    `model ${r.model}: ${r.blocks} blocks, per-block fwd+bwd ms [${r.block_cost_ms.map((c) => c.toFixed(2)).join(", ")}] (forward call [${r.block_forward_ms.map((c) => c.toFixed(2)).join(", ")}], backward call [${r.block_backward_ms.map((c) => c.toFixed(2)).join(", ")}]), batch ${r.batch_size} clips x ${r.clip_length} frames, ${r.rounds} rounds, ${r.cores} cores`,
    "",
    "| method | executor | workers | intra-op threads | stages | frames/s | step ms (median) | stage busy fraction | measured idle (waiting, sending) | predicted idle (with measured stage work; tick barriers) | stash MB | memory MB |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${row.method} | ${row.executor} | ${row.workers} | ${row.intra_op_threads} | ${row.stages} | ${row.frames_per_s.toFixed(1)} | ${row.step_ms_median.toFixed(1)} | ${row.busy_fraction_per_stage.map((b) => b.toFixed(2)).join(" ")} | ${row.busy_fraction_per_stage.map((b, s) => `${(1 - b).toFixed(2)} (${row.wait_fraction_per_stage[s].toFixed(2)}, ${row.send_fraction_per_stage[s].toFixed(2)})`).join(" ")} | ${row.predicted_idle_per_stage.map((p, s) => `${p.toFixed(2)} (${row.predicted_idle_measured_work_per_stage[s].toFixed(2)}; ${row.predicted_idle_tick_barrier_per_stage[s].toFixed(2)})`).join(" ")} | ${row.stash_mb_per_stage.map((b) => (b === null ? "-" : b.toFixed(1))).join(" ")} | ${row.memory_mb.toFixed(0)} |`,
    );
  }
  lines.push(
    "",
    `Sideways parallel / fastest BP on the same stages: ${r.speedup_sideways_parallel_over_bp.toFixed(2)}x`,
    `Sideways parallel / BP as data-parallel replicas:  ${r.speedup_sideways_parallel_over_bp_replicas === null ? "-" : `${r.speedup_sideways_parallel_over_bp_replicas.toFixed(2)}x`}`,
    `Sideways parallel / fastest BP configuration:      ${r.speedup_sideways_parallel_over_best_bp.toFixed(2)}x`,
    `Sideways parallel / Sideways sequential:           ${r.speedup_sideways_parallel_over_sequential.toFixed(2)}x (the simulation of its table allows ${sidewaysPredicted(r)}; ${othersDuringSideways(r)})`,
    pipelinedIdleGap(r),
    `memory MB: resident-memory growth over each configuration's warm-up batch; peak RSS of the whole process (all configurations): ${r.peak_rss_mb.toFixed(0)} MB`,
  );
  return lines.join("\n");
}
