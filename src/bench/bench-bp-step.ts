/**
 * Time of one BP step (all frames of a clip batch, forward + backward + SGD update) on one stage,
 * at several intra-op thread counts, split into time inside onnxruntime (session.run) and time in
 * the orchestrator (feeds, frame copies, gradient sums, loss head, optimizer).
 */
import { initWeights } from "../model/init.js";
import type { Model } from "../model/model.js";
import { createOptimizer } from "../optim/optimizer.js";
import { buildAllBlockGraphs } from "../train/block-runner.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { Rng } from "../util/rng.js";
import { median } from "./stats.js";
import type { Provider } from "../runtime/providers.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";

export interface BpStepRow {
  threads: number;
  step_ms_median: number;
  onnxruntime_ms_median: number;
  orchestrator_ms_median: number;
  orchestrator_share: number;
}


export async function benchBpStep(model: Model, B: number, T: number, threadCounts: number[], rounds: number, provider: Provider = "cpu"): Promise<BpStepRow[]> {
  const graphs = buildAllBlockGraphs(model, await graphTargetFor({ provider }));
  const rng = new Rng(3);
  const { channels: C, height: H, width: W } = model.input;
  const clips = Float32Array.from({ length: B * T * C * H * W }, () => rng.next());
  const labels = Int32Array.from({ length: B }, () => rng.int(model.classes));
  const batch = { clips, labels, dims: [B, T, C, H, W] as [number, number, number, number, number] };
  const execs = await Promise.all(threadCounts.map((threads) => SequentialExecutor.create(model, graphs, { provider, threads })));
  const samples = threadCounts.map(() => ({ step: [] as number[], ort: [] as number[] }));
  try {
    for (let r = 0; r <= rounds; r++) {
      for (let i = 0; i < execs.length; i++) {
        const weights = initWeights(model, 0);
        const opt = createOptimizer({ kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0 });
        const t0 = performance.now();
        const res = await execs[i].runBatch("bp", batch, weights, { bpFramesPerPass: "auto" });
        opt.step(weights, res.grads, 0.01);
        const stepS = (performance.now() - t0) / 1000;
        if (r === 0) continue; // warm-up round
        samples[i].step.push(stepS);
        samples[i].ort.push(res.stageBusySeconds[0]);
      }
    }
  } finally {
    for (const e of execs) await e.close();
  }
  return threadCounts.map((threads, i) => {
    const step = median(samples[i].step) * 1000;
    const ort = median(samples[i].ort) * 1000;
    return { threads, step_ms_median: step, onnxruntime_ms_median: ort, orchestrator_ms_median: step - ort, orchestrator_share: (step - ort) / step };
  });
}

export function formatBpStep(model: Model, B: number, T: number, rows: BpStepRow[]): string {
  const lines = [
    `BP step of ${model.name}: ${B} clips x ${T} frames, one stage`,
    "",
    "| intra-op threads | step ms | in onnxruntime ms | orchestrator ms | orchestrator share |",
    "|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(`| ${r.threads} | ${r.step_ms_median.toFixed(1)} | ${r.onnxruntime_ms_median.toFixed(1)} | ${r.orchestrator_ms_median.toFixed(1)} | ${(100 * r.orchestrator_share).toFixed(1)}% |`);
  }
  return lines.join("\n");
}
