/**
 * The one dispatch of a stage, shared by the sequential executor and the stage workers: the
 * rule's fused path (a BP pass, a Sideways tick in one graph: docs/PERFORMANCE.md) where the rule
 * has one and the weights only change after the clip batch; otherwise its table through the
 * interpreter, which with in-clip updates steps the stage's blocks itself.
 */
import { createOptimizer } from "../optim/optimizer.js";
import { ruleFor } from "../schedule/registry.js";
import { runBpStage } from "./bp-stage.js";
import { runScheduleStage } from "./schedule-stage.js";
import { runSidewaysStage } from "./sideways-stage.js";
import type { StageBatch, StageContext, StageResult } from "./stage.js";
import type { Schedule } from "../schedule/action.js";

/**
 * Tables by rule, L and T: generating and checking one (8 blocks, 64 frames) takes milliseconds,
 * which every clip batch of a stage would otherwise pay again. Tables are not mutated.
 */
const tables = new Map<string, Schedule>();

function tableFor(method: StageBatch["method"], blocks: number, frames: number): Schedule {
  const key = `${method}:${blocks}:${frames}`;
  let table = tables.get(key);
  if (!table) {
    table = ruleFor(method).generate(blocks, frames);
    if (tables.size >= 32) tables.clear(); // clip lengths that vary batch to batch: keep the cache small
    tables.set(key, table);
  }
  return table;
}

export async function runStage(ctx: StageContext, batch: StageBatch): Promise<StageResult> {
  const rule = ruleFor(batch.method);
  const { update } = batch;
  if (!update && !batch.interpret) {
    if (rule.fusedPath === "bp-pass") return runBpStage(ctx, batch);
    if (rule.fusedPath === "sideways-tick") return runSidewaysStage(ctx, batch);
  }
  const schedule = tableFor(batch.method, ctx.spec.totalBlocks, batch.clipDims[1]);
  if (!update) return runScheduleStage(ctx, batch, schedule, null);
  const optimizer = createOptimizer(update.optimizer);
  optimizer.importState(update.state);
  const stepsTaken = new Map<number, number>();
  const result = await runScheduleStage(ctx, batch, schedule, {
    every: update.every,
    stashing: update.stashing,
    step: (block, grads) => {
      const j = stepsTaken.get(block) ?? 0;
      const lr = update.lrs[block]?.[j];
      if (lr === undefined) throw new Error(`BUG: block ${block} takes step ${j + 1} in a clip batch planned with ${update.lrs[block]?.length ?? 0}`);
      optimizer.step(ctx.weights, grads, lr);
      stepsTaken.set(block, j + 1);
    },
  });
  const names = ctx.spec.blocks.flatMap((k) => ctx.spec.paramNames.get(k)!);
  result.updated = { weights: new Map(names.map((n) => [n, ctx.weights.get(n)!])), optimizerState: optimizer.exportState() };
  return result;
}
