/**
 * Time of one training step (every forward and backward of a clip batch, then the optimizer) on
 * one stage, for BP and Sideways, at several intra-op thread counts, split into time inside
 * onnxruntime (session.run) and time in the orchestrator (feeds, frame copies, gradient sums, loss
 * head, optimizer). Two paths per rule, in the same rounds: the host path (the sequential
 * executor: BP's passes, Sideways tick by tick; then the TypeScript optimizer) and the device step
 * (train/device-step.ts: the whole step in one graph, weights and optimizer state left with
 * onnxruntime between steps). Sideways is measured where its clips are long enough for the device
 * step (T >= 2L-1). frames/s counts every frame of the clip batch for both rules, as training does;
 * Sideways' pipeline never carries some frames through every block within a clip (its fill and
 * drain), so it runs fewer block forwards and backwards per clip than BP: the table says how many.
 */
import { initWeights } from "../model/init.js";
import type { Model } from "../model/model.js";
import { createOptimizer } from "../optim/optimizer.js";
import { buildAllBlockGraphs } from "../train/block-runner.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { DeviceStep, deviceStepModelBlocker } from "../train/device-step.js";
import { forwardFrames, type DeviceStepMethod } from "../train/device-step-graph.js";
import { sidewaysClipFrames } from "../layers/block-graphs.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";
import { Rng } from "../util/rng.js";
import { median } from "./stats.js";
import type { Provider } from "../runtime/providers.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";

export interface StepRow {
  method: DeviceStepMethod;
  /** host: executor + TypeScript optimizer; device: the device step. */
  path: "host" | "device";
  threads: number;
  /** Block forwards and backwards one step runs, in frames (a block on one frame of the B clips counts 1): the rule's work. */
  forward_block_frames: number;
  backward_block_frames: number;
  step_ms_median: number;
  frames_per_s: number;
  onnxruntime_ms_median: number;
  orchestrator_ms_median: number;
  orchestrator_share: number;
}

const SGD: OptimizerSpec = { kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0 };
const PATHS = ["host", "device"] as const;

/** The rules `benchStep` measures on this model and clip length: Sideways only where its device step can run. */
export function stepMethods(model: Model, T: number, asked: readonly DeviceStepMethod[]): DeviceStepMethod[] {
  return asked.filter((m) => deviceStepModelBlocker(m, model.blocks.length, T) === null);
}

/** The rule's block forwards and backwards in one clip batch (Sideways skips the frames its pipeline never carries). */
export function blockFrames(method: DeviceStepMethod, model: Model, T: number): { forward: number; backward: number } {
  const L = model.blocks.length;
  let forward = 0;
  let backward = 0;
  for (let k = 0; k < L; k++) {
    forward += forwardFrames(method, model, T, k);
    backward += method === "bp" ? T : forwardFrames(method, model, T, k) - sidewaysClipFrames(L, T, k).backwardStart;
  }
  return { forward, backward };
}

export async function benchStep(model: Model, B: number, T: number, threadCounts: number[], rounds: number, provider: Provider = "cpu", methods: readonly DeviceStepMethod[] = ["bp"]): Promise<StepRow[]> {
  const target = await graphTargetFor({ provider });
  const graphs = buildAllBlockGraphs(model, target);
  const rng = new Rng(3);
  const { channels: C, height: H, width: W } = model.input;
  const clips = Float32Array.from({ length: B * T * C * H * W }, () => rng.next());
  const labels = Int32Array.from({ length: B }, () => rng.int(model.classes));
  const batch = { clips, labels, dims: [B, T, C, H, W] as [number, number, number, number, number] };
  const execs = await Promise.all(threadCounts.map((threads) => SequentialExecutor.create(model, graphs, { provider, threads })));
  const devices = await Promise.all(threadCounts.map((threads) => Promise.all(methods.map((m) => DeviceStep.create(model, SGD, T, { provider, threads }, target, m)))));
  type Samples = { step: number[]; ort: number[] };
  const samples = threadCounts.map(() => methods.map(() => ({ host: { step: [], ort: [] } as Samples, device: { step: [], ort: [] } as Samples })));
  // "auto" sizes passes for CPU caches; a GPU takes the whole clip batch as one pass.
  const passes = provider === "cpu" ? "auto" : "all";
  try {
    for (const d of devices.flat()) d.load(initWeights(model, 0), createOptimizer(SGD));
    for (let r = 0; r <= rounds; r++) {
      for (let i = 0; i < execs.length; i++) {
        for (let j = 0; j < methods.length; j++) {
          const weights = initWeights(model, 0);
          const opt = createOptimizer(SGD);
          // The two paths alternate which goes first, round by round.
          for (const path of r % 2 === 0 ? PATHS : [...PATHS].reverse()) {
            const t0 = performance.now();
            let ort: number;
            if (path === "host") {
              const res = await execs[i].runBatch(methods[j], batch, weights, { bpFramesPerPass: passes });
              opt.step(weights, res.grads, 0.01);
              ort = res.stageBusySeconds[0];
            } else {
              ort = (await devices[i][j].step(batch, 0.01)).busySeconds;
            }
            const stepS = (performance.now() - t0) / 1000;
            if (r === 0) continue; // warm-up round
            samples[i][j][path].step.push(stepS);
            samples[i][j][path].ort.push(ort);
          }
        }
      }
    }
  } finally {
    for (const e of execs) await e.close();
    for (const d of devices.flat()) await d.release();
  }
  return threadCounts.flatMap((threads, i) =>
    methods.flatMap((method, j) =>
      PATHS.map((path) => {
        const step = median(samples[i][j][path].step) * 1000;
        const ort = median(samples[i][j][path].ort) * 1000;
        const work = blockFrames(method, model, T);
        return { method, path, threads, forward_block_frames: work.forward, backward_block_frames: work.backward, step_ms_median: step, frames_per_s: (B * T) / (step / 1000), onnxruntime_ms_median: ort, orchestrator_ms_median: step - ort, orchestrator_share: (step - ort) / step };
      }),
    ),
  );
}

export function formatStep(model: Model, B: number, T: number, rows: StepRow[], skipped: readonly string[] = []): string {
  const lines = [
    `Training step of ${model.name}: ${B} clips x ${T} frames, one stage; host: the executor (BP passes, Sideways tick by tick) + TypeScript SGD, device: runtime.device_step (medians, same rounds)`,
    ...skipped.map((s) => `not measured: ${s}`),
    "",
    "| method | path | intra-op threads | block forwards / backwards (frames) | step ms | frames/s | in onnxruntime ms | orchestrator ms | orchestrator share |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.method} | ${r.path} | ${r.threads} | ${r.forward_block_frames} / ${r.backward_block_frames} | ${r.step_ms_median.toFixed(1)} | ${r.frames_per_s.toFixed(0)} | ${r.onnxruntime_ms_median.toFixed(1)} | ${r.orchestrator_ms_median.toFixed(1)} | ${(100 * r.orchestrator_share).toFixed(1)}% |`,
    );
  }
  return lines.join("\n");
}
