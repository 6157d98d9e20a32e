/** Run folders as a sweep leaves them (run-meta.json, summary.json, final weights), written by hand for the results tests. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../../src/results/atomic-write.js";
import type { RunMeta } from "../../src/results/run-dir.js";
import type { RunSummary } from "../../src/train/run-types.js";
import { float32Tensor, serializeSafetensors } from "../../src/model/safetensors.js";

/** A run's summary.json with the given status and clip/frame top-1 (the rest fixed). */
export function summary(status: RunSummary["status"], top1: number | null, extra: Partial<RunSummary> = {}): RunSummary {
  return { status, run_id: "", method: "bp", steps_done: 10, wall_s: 1.5, frames_per_s: 1000, data_wait_share: 0.01, final_train_loss: 0.5, final_eval_loss: 0.6, final_eval_clip_top1: top1, final_eval_frame_top1: top1, best_eval_clip_top1: top1, eval_on_train: false, skipped_files: [], ...extra };
}

/**
 * Run folder `root/id`: its run-meta.json (params with the seed; the method, runs.csv's `method`,
 * the swept train.method's where params has one, else bp), summary.json if given, and final weights if completed.
 */
export function writeRun(root: string, id: string, params: Record<string, unknown>, s: RunSummary | null, index = 0, configId?: string): void {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const { seed, ...rest } = params;
  const meta: RunMeta = { run_id: id, config_id: configId ?? JSON.stringify(rest), config_hash: id, experiment: "t", index, params, seed: (seed as number) ?? 0, method: typeof params["train.method"] === "string" ? params["train.method"] : "bp" };
  writeJsonAtomic(join(dir, "run-meta.json"), meta);
  if (s) writeJsonAtomic(join(dir, "summary.json"), { ...s, run_id: id });
  // A completed run has its final weights (without them runs.csv says unreadable_weights).
  if (s?.status === "completed") writeFileSync(join(dir, "final.safetensors"), serializeSafetensors({ tensors: new Map([["w", float32Tensor([1], new Float32Array([0]))]]), metadata: null }));
}
