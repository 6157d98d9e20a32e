/**
 * Time of one BP step (all frames of a clip batch, forward + backward + SGD update) on one stage,
 * at several intra-op thread counts, split into time inside onnxruntime (session.run) and time in
 * the orchestrator (feeds, frame copies, gradient sums, loss head, optimizer). Two paths, in the
 * same rounds: the host path training runs by default on the CPU (the executor's BP passes, then
 * the TypeScript optimizer) and the device step (train/device-step.ts: the whole step in one
 * graph, weights and optimizer state left with onnxruntime between steps).
 */
import { initWeights } from "../model/init.js";
import type { Model } from "../model/model.js";
import { createOptimizer } from "../optim/optimizer.js";
import { buildAllBlockGraphs } from "../train/block-runner.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { DeviceStep } from "../train/device-step.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";
import { Rng } from "../util/rng.js";
import { median } from "./stats.js";
import type { Provider } from "../runtime/providers.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";

export interface BpStepRow {
  /** host: executor + TypeScript optimizer; device: the device step. */
  path: "host" | "device";
  threads: number;
  step_ms_median: number;
  onnxruntime_ms_median: number;
  orchestrator_ms_median: number;
  orchestrator_share: number;
}


const SGD: OptimizerSpec = { kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0 };

export async function benchBpStep(model: Model, B: number, T: number, threadCounts: number[], rounds: number, provider: Provider = "cpu"): Promise<BpStepRow[]> {
  const target = await graphTargetFor({ provider });
  const graphs = buildAllBlockGraphs(model, target);
  const rng = new Rng(3);
  const { channels: C, height: H, width: W } = model.input;
  const clips = Float32Array.from({ length: B * T * C * H * W }, () => rng.next());
  const labels = Int32Array.from({ length: B }, () => rng.int(model.classes));
  const batch = { clips, labels, dims: [B, T, C, H, W] as [number, number, number, number, number] };
  const execs = await Promise.all(threadCounts.map((threads) => SequentialExecutor.create(model, graphs, { provider, threads })));
  const devices = await Promise.all(threadCounts.map((threads) => DeviceStep.create(model, SGD, T, { provider, threads }, target)));
  const samples = threadCounts.map(() => ({ host: { step: [] as number[], ort: [] as number[] }, device: { step: [] as number[], ort: [] as number[] } }));
  // "auto" sizes passes for CPU caches; a GPU takes the whole clip batch as one pass.
  const passes = provider === "cpu" ? "auto" : "all";
  try {
    for (let i = 0; i < execs.length; i++) devices[i].load(initWeights(model, 0), createOptimizer(SGD));
    for (let r = 0; r <= rounds; r++) {
      for (let i = 0; i < execs.length; i++) {
        const weights = initWeights(model, 0);
        const opt = createOptimizer(SGD);
        // The two paths alternate which goes first, round by round.
        const order = r % 2 === 0 ? (["host", "device"] as const) : (["device", "host"] as const);
        for (const path of order) {
          const t0 = performance.now();
          let ort: number;
          if (path === "host") {
            const res = await execs[i].runBatch("bp", batch, weights, { bpFramesPerPass: passes });
            opt.step(weights, res.grads, 0.01);
            ort = res.stageBusySeconds[0];
          } else {
            ort = (await devices[i].step(batch, 0.01)).busySeconds;
          }
          const stepS = (performance.now() - t0) / 1000;
          if (r === 0) continue; // warm-up round
          samples[i][path].step.push(stepS);
          samples[i][path].ort.push(ort);
        }
      }
    }
  } finally {
    for (const e of execs) await e.close();
    for (const d of devices) await d.release();
  }
  return threadCounts.flatMap((threads, i) =>
    (["host", "device"] as const).map((path) => {
      const step = median(samples[i][path].step) * 1000;
      const ort = median(samples[i][path].ort) * 1000;
      return { path, threads, step_ms_median: step, onnxruntime_ms_median: ort, orchestrator_ms_median: step - ort, orchestrator_share: (step - ort) / step };
    }),
  );
}

export function formatBpStep(model: Model, B: number, T: number, rows: BpStepRow[]): string {
  const lines = [
    `BP step of ${model.name}: ${B} clips x ${T} frames, one stage; host: BP passes + TypeScript SGD, device: runtime.device_step (medians, same rounds)`,
    "",
    "| path | intra-op threads | step ms | in onnxruntime ms | orchestrator ms | orchestrator share |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(`| ${r.path} | ${r.threads} | ${r.step_ms_median.toFixed(1)} | ${r.onnxruntime_ms_median.toFixed(1)} | ${r.orchestrator_ms_median.toFixed(1)} | ${(100 * r.orchestrator_share).toFixed(1)}% |`);
  }
  return lines.join("\n");
}
