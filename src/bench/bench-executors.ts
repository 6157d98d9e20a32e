/**
 * The depth-parallel benchmark: frames/s of BP and Sideways, sequential and on 1..cores worker
 * stages, on one model, in one process, with the configurations interleaved round by round so
 * that machine noise hits them alike. Prints a table and returns the figures for --json.
 */
import { availableParallelism } from "node:os";
import { initWeights } from "../model/init.js";
import type { Model } from "../model/model.js";
import { BlockRunner, buildAllBlockGraphs } from "../train/block-runner.js";
import { measureBlockCosts } from "../train/create-executor.js";
import type { Executor, Method } from "../train/executor.js";
import { ParallelExecutor } from "../train/parallel-executor.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { balancedStages } from "../train/stage-plan.js";
import { Rng } from "../util/rng.js";
import type { ClipBatch } from "../data/source.js";

export interface ExecutorBenchOptions {
  model: Model;
  batchSize: number;
  clipLength: number;
  rounds: number;
  maxWorkers: number;
}

export interface ExecutorBenchRow {
  method: Method;
  executor: "sequential" | "parallel";
  workers: number;
  intra_op_threads: number;
  stages: string;
  frames_per_s: number;
  step_ms_median: number;
  busy_fraction_per_stage: number[];
}

export interface ExecutorBenchResult {
  model: string;
  blocks: number;
  block_cost_ms: number[];
  batch_size: number;
  clip_length: number;
  rounds: number;
  cores: number;
  rows: ExecutorBenchRow[];
  peak_rss_mb: number;
  speedup_sideways_parallel_over_bp: number;
  speedup_sideways_parallel_over_best_bp: number;
  speedup_sideways_parallel_over_sequential: number;
}

function syntheticBatch(model: Model, B: number, T: number, seed: number): ClipBatch {
  const rng = new Rng(seed);
  const { channels: C, height: H, width: W } = model.input;
  const clips = new Float32Array(B * T * C * H * W);
  for (let i = 0; i < clips.length; i++) clips[i] = rng.next();
  const labels = Int32Array.from({ length: B }, () => rng.int(model.classes));
  return { clips, labels, dims: [B, T, C, H, W] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Config {
  method: Method;
  executor: Executor;
  workers: number;
  threads: number;
  kind: "sequential" | "parallel";
  stepSeconds: number[];
  busy: number[][];
}

export async function benchExecutors(opts: ExecutorBenchOptions, log: (line: string) => void): Promise<ExecutorBenchResult> {
  const { model, batchSize: B, clipLength: T } = opts;
  const cores = availableParallelism();
  const graphs = buildAllBlockGraphs(model);
  const weights = initWeights(model, 0);
  const blocks = model.blocks.map((b) => b.index);
  const probe = await BlockRunner.create(model, blocks, graphs, { provider: "cpu", threads: 1 });
  const costs = await measureBlockCosts(model, probe, weights, B, 5);
  await probe.release();

  const configs: Config[] = [];
  const add = (method: Method, kind: Config["kind"], workers: number, threads: number, executor: Executor) =>
    configs.push({ method, executor, workers, threads, kind, stepSeconds: [], busy: [] });
  const maxWorkers = Math.min(opts.maxWorkers, cores, model.blocks.length);
  for (const method of ["bp", "sideways"] as const) {
    add(method, "sequential", 1, 1, await SequentialExecutor.create(model, graphs, { provider: "cpu", threads: 1 }));
    // BP's other way to use the cores: one stage, onnxruntime's intra-op threads.
    if (maxWorkers > 1) {
      add(method, "sequential", 1, maxWorkers, await SequentialExecutor.create(model, graphs, { provider: "cpu", threads: maxWorkers }));
    }
    for (let w = 2; w <= maxWorkers; w++) {
      add(method, "parallel", w, 1, await ParallelExecutor.create(model, graphs, balancedStages(costs, w), { provider: "cpu", threads: 1 }));
    }
  }

  try {
    const warm = syntheticBatch(model, B, T, 1);
    for (const c of configs) await c.executor.runBatch(c.method, warm, weights);
    for (let r = 0; r < opts.rounds; r++) {
      const batch = syntheticBatch(model, B, T, 2 + r);
      for (const c of configs) {
        const t0 = performance.now();
        const res = await c.executor.runBatch(c.method, batch, weights);
        c.stepSeconds.push((performance.now() - t0) / 1000);
        c.busy.push(res.stageBusySeconds.map((b, s) => b / res.stageWallSeconds[s]));
      }
      log(`round ${r + 1}/${opts.rounds} done`);
    }
  } finally {
    for (const c of configs) await c.executor.close();
  }

  const rows: ExecutorBenchRow[] = configs.map((c) => {
    const stepMs = median(c.stepSeconds) * 1000;
    return {
      method: c.method,
      executor: c.kind,
      workers: c.workers,
      intra_op_threads: c.threads,
      stages: c.executor.stages.map((s) => s.join("+")).join(" / "),
      frames_per_s: (B * T) / (stepMs / 1000),
      step_ms_median: stepMs,
      busy_fraction_per_stage: c.busy[0].map((_, s) => median(c.busy.map((b) => b[s]))),
    };
  });
  const fps = (m: Method, kind: string, w: number, th = 1) =>
    rows.find((r) => r.method === m && r.executor === kind && r.workers === w && r.intra_op_threads === th)?.frames_per_s ?? NaN;
  const swPar = maxWorkers > 1 ? fps("sideways", "parallel", maxWorkers) : fps("sideways", "sequential", 1);
  const bpSameStages = maxWorkers > 1 ? fps("bp", "parallel", maxWorkers) : fps("bp", "sequential", 1);
  const bestBp = Math.max(...rows.filter((r) => r.method === "bp").map((r) => r.frames_per_s));
  return {
    model: model.name,
    blocks: model.blocks.length,
    block_cost_ms: costs.map((c) => c * 1000),
    batch_size: B,
    clip_length: T,
    rounds: opts.rounds,
    cores,
    rows,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    speedup_sideways_parallel_over_bp: swPar / bpSameStages,
    speedup_sideways_parallel_over_best_bp: swPar / bestBp,
    speedup_sideways_parallel_over_sequential: swPar / fps("sideways", "sequential", 1),
  };
}

export function formatExecutorBench(r: ExecutorBenchResult): string {
  const lines = [
    `model ${r.model}: ${r.blocks} blocks, per-block fwd+bwd ms [${r.block_cost_ms.map((c) => c.toFixed(1)).join(", ")}], batch ${r.batch_size} clips x ${r.clip_length} frames, ${r.rounds} rounds, ${r.cores} cores`,
    "",
    "| method | executor | workers | intra-op threads | stages | frames/s | step ms (median) | stage busy fraction |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${row.method} | ${row.executor} | ${row.workers} | ${row.intra_op_threads} | ${row.stages} | ${row.frames_per_s.toFixed(1)} | ${row.step_ms_median.toFixed(1)} | ${row.busy_fraction_per_stage.map((b) => b.toFixed(2)).join(" ")} |`,
    );
  }
  lines.push(
    "",
    `Sideways parallel / BP on the same stages: ${r.speedup_sideways_parallel_over_bp.toFixed(2)}x`,
    `Sideways parallel / best BP configuration: ${r.speedup_sideways_parallel_over_best_bp.toFixed(2)}x`,
    `Sideways parallel / Sideways sequential:   ${r.speedup_sideways_parallel_over_sequential.toFixed(2)}x`,
    `peak RSS (whole process, all configurations): ${r.peak_rss_mb.toFixed(0)} MB`,
  );
  return lines.join("\n");
}
