/**
 * train.update_every as the executors' per-batch option (docs/design/sideways.md, "In-clip
 * updates"): how many steps each block takes per clip batch comes from the rule's table, and the
 * learning-rate schedule counts each block's own steps (optim/schedule.ts blockLearningRates).
 */
import type { Model } from "../model/model.js";
import type { Optimizer } from "../optim/optimizer.js";
import { blockLearningRates } from "../optim/schedule.js";
import { blockFacts } from "../schedule/analysis.js";
import { RULES } from "../schedule/registry.js";
import type { ExperimentSpec } from "../spec/experiment-spec.js";
import type { InClipUpdateOptions } from "./executor.js";

/** For clip batch `clip` (0-based) the in-clip update options; null with update_every: clip. */
export function inClipUpdatePlan(spec: ExperimentSpec, model: Model, frames: number, optimizer: Optimizer): ((clip: number) => InClipUpdateOptions) | null {
  const { method, update_every: every, weight_stashing: stashing, schedule, optimizer: optimizerSpec, steps } = spec.train;
  if (every === "clip") return null;
  const stepsPerClip = blockFacts(RULES[method].generate(model.blocks.length, frames), every, stashing).map((f) => f.steps);
  return (clip) => ({ every, stashing, optimizer, optimizerSpec, lrs: blockLearningRates(schedule, optimizerSpec.lr, clip, steps, stepsPerClip) });
}
