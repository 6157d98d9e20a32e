/**
 * Notes on a schedule point some blocks reach and others do not, with in-clip updates
 * (train.update_every: N). Each block counts its own steps, train.steps x S_k (optim/schedule.ts
 * blockLearningRates), so a block with fewer steps per clip batch may end its run inside a warm-up
 * the others finish, or before a step_size or milestone that lowers the others' rate: the blocks
 * then train at different rates, a confound when rules with different S_k are compared.
 * schedule-notes.ts says the case where no block reaches the point; this module the case between.
 */
import { learningRate } from "../optim/schedule.js";
import type { ExperimentSpec } from "./experiment-spec.js";

/** A block that steps at least once per clip batch. */
interface SteppingBlock {
  block: number;
  perClip: number;
  /** train.steps x perClip. */
  steps: number;
}

/**
 * `stepsPerClip`: each block's steps per clip batch (schedule/analysis.ts blockFacts). Blocks that
 * never step (no gradient reaches them in a clip) have no rate to compare and are left out.
 */
export function unevenScheduleNotes(train: ExperimentSpec["train"], every: number, stepsPerClip: readonly number[]): string[] {
  const blocks: SteppingBlock[] = stepsPerClip.flatMap((perClip, block) => (perClip > 0 ? [{ block, perClip, steps: train.steps * perClip }] : []));
  const { schedule, optimizer } = train;
  const warmup = schedule.warmup_steps;
  const notes: string[] = [];
  const split = (reaches: (b: SteppingBlock) => boolean) => ({ reach: blocks.filter(reaches), short: blocks.filter((b) => !reaches(b)) });

  // A block's last step s = steps - 1 finishes a warm-up when s + 1 >= warmup_steps.
  const w = split((b) => b.steps >= warmup);
  if (warmup > 0 && w.reach.length > 0 && w.short.length > 0) {
    notes.push(
      `train.schedule.warmup_steps: ${warmup} is finished by ${blockList(w.reach)} but not by ${blockList(w.short)}, so the learning rate of ${blockList(w.short)} never reaches train.optimizer.lr (${optimizer.lr}; lr * (s + 1) / warmup_steps at a block's step s): ${blockEnds(train, blocks, false)}${stepsText(every)}`,
    );
  }
  // Step u after warm-up is the block's step warmup + u; the last, steps - 1, must reach u = step_size.
  if (schedule.kind === "step") {
    const s = split((b) => b.steps - warmup > schedule.step_size);
    if (s.reach.length > 0 && s.short.length > 0) {
      notes.push(
        `train.schedule.step_size: ${schedule.step_size} is reached by ${blockList(s.reach)} but not by ${blockList(s.short)}, so the learning rate of ${blockList(s.short)} is never lowered after warm-up while the others' is (lr * gamma ^ floor(u / step_size) at a block's step u after warm-up): ${blockEnds(train, blocks, true)}${stepsText(every)}`,
      );
    }
  }
  if (schedule.kind === "multistep") {
    // Milestones reached by the same blocks are said together: "7, 8 are reached by block 1 but not by block 0".
    const byBlocks = new Map<string, number[]>();
    for (const m of schedule.milestones) {
      const s = split((b) => b.steps - warmup > m);
      if (s.reach.length === 0 || s.short.length === 0) continue;
      const key = `by ${blockList(s.reach)} but not by ${blockList(s.short)}`;
      byBlocks.set(key, [...(byBlocks.get(key) ?? []), m]);
    }
    if (byBlocks.size > 0) {
      const parts = [...byBlocks].map(([key, ms], i) => `${ms.join(", ")} ${i > 0 ? "" : ms.length === 1 ? "is reached " : "are reached "}${key}`);
      const one = byBlocks.size === 1 && [...byBlocks.values()][0].length === 1;
      notes.push(
        `train.schedule.milestones: ${parts.join(", and ")}, so ${one ? "it lowers" : "they lower"} the learning rate of some blocks and not of others (lr * gamma ^ (number of milestones m <= u) at a block's step u after warm-up): ${blockEnds(train, blocks, true)}${stepsText(every)}`,
      );
    }
  }
  return notes;
}

/**
 * Each group of blocks with the same steps, its count (`afterWarmup`: and how many come after
 * warm-up, what step_size and milestones count) and the rate of its last step, as the run computes it.
 */
function blockEnds(train: ExperimentSpec["train"], blocks: readonly SteppingBlock[], afterWarmup: boolean): string {
  const warmup = train.schedule.warmup_steps;
  const perClips = [...new Set(blocks.map((b) => b.perClip))].sort((a, b) => a - b);
  return perClips
    .map((perClip) => {
      const group = blocks.filter((b) => b.perClip === perClip);
      const steps = group[0].steps;
      const after = afterWarmup && warmup > 0 ? `, ${Math.max(steps - warmup, 0)} after train.schedule.warmup_steps ${warmup}` : "";
      const end = learningRate(train.schedule, train.optimizer.lr, steps - 1, steps);
      const inWarmup = steps < warmup ? ` (${steps}/${warmup} of train.optimizer.lr)` : "";
      const verb = group.length === 1 ? "takes" : "take";
      return `${blockList(group)} ${verb} ${steps} step${steps === 1 ? "" : "s"} (${perClip} per clip batch x train.steps ${train.steps}${after}), the last at lr ${rateText(end)}${inWarmup}`;
    })
    .join("; ");
}

function stepsText(every: number): string {
  return `; ${countsOwnSteps(every)}, so a block with fewer steps per clip batch gets less far through the schedule; ${SCHEDULE_SHOWS_STEPS}`;
}

/** Why each block's schedule runs at its own pace with in-clip updates (this module's notes and schedule-notes.ts's). */
export const countsOwnSteps = (every: number): string => `with train.update_every: ${every} each block counts its own steps (train.steps x its steps per clip batch)`;

/** Where a user sees each block's steps, said at the end of every in-clip schedule note. */
export const SCHEDULE_SHOWS_STEPS = "`sideways schedule` shows each block's steps per clip batch and in the run";

/** "block 0", "blocks 0 and 2", "blocks 0, 1 and 2". */
function blockList(blocks: readonly { block: number }[]): string {
  const k = blocks.map((b) => b.block);
  if (k.length === 1) return `block ${k[0]}`;
  return `blocks ${k.slice(0, -1).join(", ")} and ${k.at(-1)}`;
}

/** Four significant digits, as a plain number: 0.03333, 0.0125. */
function rateText(rate: number): string {
  return String(Number(rate.toPrecision(4)));
}
