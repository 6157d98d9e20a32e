/**
 * Per-block comparison of two gradient sets (a rule's G_k against BP's G_k on the same batch),
 * and the diagnostic columns every rule reports.
 */
import type { Model } from "../model/model.js";
import { blockFacts, unitCosts, type BlockFacts, type UpdateEvery } from "../schedule/analysis.js";
import { interpreterSteps, sidewaysTickSteps, simulatedIdleFractions } from "../schedule/simulate.js";
import { RULES, type Method } from "../schedule/registry.js";
import type { BatchResult } from "./executor.js";

/** Cosine similarity over all parameters of each block; NaN where either side has no gradient. */
export function blockCosines(model: Model, a: Map<string, Float32Array>, b: Map<string, Float32Array>): number[] {
  return model.blocks.map((block) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (const p of block.params) {
      const x = a.get(p.name);
      const y = b.get(p.name);
      if (!x || !y) return NaN;
      for (let i = 0; i < x.length; i++) {
        dot += x[i] * y[i];
        na += x[i] * x[i];
        nb += y[i] * y[i];
      }
    }
    return dot / Math.sqrt(na * nb);
  });
}

/** What a rule's table says about a run before it starts (src/schedule/analysis.ts), for the diagnostic columns. */
export interface ScheduleDiagnostics {
  blocks: BlockFacts[];
  /**
   * Per stage, the idle fraction the table predicts with unit block costs (forward 1, backward 2),
   * the stages simulated as the executors run them (src/schedule/simulate.ts): Sideways with
   * per-clip updates in its tick graphs, every other case through the interpreter.
   */
  predictedIdle: number[];
}

export function scheduleDiagnostics(model: Model, method: Method, frames: number, every: UpdateEvery, stashing: boolean, stages: readonly (readonly number[])[]): ScheduleDiagnostics {
  const schedule = RULES[method].generate(model.blocks.length, frames);
  // Data-parallel replicas each hold every block: nothing in the table makes one wait.
  const replicas = stages.length > 1 && stages.every((s) => s.length === model.blocks.length);
  const costs = unitCosts(model.blocks.length);
  const steps = method === "sideways" && every === "clip" ? sidewaysTickSteps(schedule, stages, costs) : interpreterSteps(schedule, stages, costs);
  return { blocks: blockFacts(schedule, every, stashing), predictedIdle: replicas ? stages.map(() => 0) : simulatedIdleFractions(steps) };
}

/**
 * metrics.csv columns when diagnostics are on: per block the cosine with the reference rule's
 * gradient (cos_b), gradients received (n_b), gradient delay in ticks, weight lag in optimizer
 * steps, weight staleness in ticks and the share of backwards on inputs computed with other weights
 * than they use (src/schedule/analysis.ts BlockFacts); per stage the
 * measured busy fraction, the idle fraction the table predicts and the stashed MB.
 */
export function diagnosticColumns(model: Model, stages: number): string[] {
  const perBlock = (prefix: string) => model.blocks.map((b) => `${prefix}_b${b.index}`);
  const perStage = (prefix: string) => Array.from({ length: stages }, (_, s) => `${prefix}_s${s}`);
  return [
    ...perBlock("cos"),
    ...perBlock("n"),
    ...perBlock("grad_delay_ticks"),
    ...perBlock("weight_lag_steps"),
    ...perBlock("weight_stale_ticks"),
    ...perBlock("stale_input_frac"),
    ...perStage("busy_frac"),
    ...perStage("idle_pred_frac"),
    ...perStage("stash_mb"),
  ];
}

/**
 * One diagnostic row. `reference` ran the rule named by the registry's diagnosticReference on the
 * same batch and weights; n_b are the counts of the stale side (Sideways when the method is BP).
 */
export function diagnosticRow(model: Model, method: Method, result: BatchResult, reference: BatchResult, facts: ScheduleDiagnostics): Record<string, number | null> {
  const row: Record<string, number | null> = {};
  const cos = blockCosines(model, result.grads, reference.grads);
  const counted = method === "bp" ? reference : result;
  for (const b of model.blocks) {
    // A block without a gradient on one side has no cosine: an empty cell, not "nan".
    row[`cos_b${b.index}`] = Number.isNaN(cos[b.index]) ? null : cos[b.index];
    row[`n_b${b.index}`] = counted.counts[b.index];
    row[`grad_delay_ticks_b${b.index}`] = facts.blocks[b.index].gradDelayTicks;
    row[`weight_lag_steps_b${b.index}`] = facts.blocks[b.index].weightLagSteps;
    row[`weight_stale_ticks_b${b.index}`] = facts.blocks[b.index].weightStaleTicks;
    row[`stale_input_frac_b${b.index}`] = facts.blocks[b.index].versionMismatch;
  }
  result.stageBusySeconds.forEach((busy, s) => {
    row[`busy_frac_s${s}`] = busy / result.stageWallSeconds[s];
    row[`idle_pred_frac_s${s}`] = facts.predictedIdle[s] ?? null;
    // Not measured on a one-graph path (bp, sideways per clip): an empty cell, not a 0 MB stash.
    const stash = result.stashPeakBytes[s] ?? null;
    row[`stash_mb_s${s}`] = stash === null ? null : stash / 2 ** 20;
  });
  return row;
}
