/**
 * Notes on learning-rate schedules that do what was asked but hardly what was meant (each as
 * PyTorch would run it): a warm-up the run never finishes, a step or milestone it never reaches,
 * a floor above the learning rate. Part of setting-notes.ts's notes.
 *
 * With update_every: clip the schedule counts updates, train.steps of them. With in-clip updates
 * (train.update_every: N) block k counts its own steps, train.steps x S_k, S_k its steps per clip
 * batch (optim/schedule.ts blockLearningRates), so warmup_steps, step_size and milestones are
 * compared with the most steps any block takes; cosine and linear end at each block's own count,
 * which needs no note. A point some blocks reach and others do not: uneven-schedule-notes.ts.
 */
import type { ExperimentSpec } from "./experiment-spec.js";
import { SCHEDULE_SHOWS_STEPS, countsOwnSteps, unevenScheduleNotes } from "./uneven-schedule-notes.js";

/** The block that takes the most steps over a run with in-clip updates. */
interface FurthestBlock {
  block: number;
  perClip: number;
  /** train.steps x perClip. */
  steps: number;
}

/**
 * `stepsPerClip`: each block's steps per clip batch (schedule/analysis.ts blockFacts) with in-clip
 * updates, or null with update_every: clip or where the model is unknown (then the in-clip notes
 * are not said: no note rather than a wrong one).
 */
export function scheduleNotes(train: ExperimentSpec["train"], stepsPerClip: readonly number[] | null): string[] {
  const notes: string[] = [];
  const { schedule, optimizer } = train;
  const warmup = schedule.warmup_steps;
  if (train.update_every === "clip") {
    if (warmup > train.steps) {
      notes.push(
        `train.schedule.warmup_steps: ${warmup} with train.steps: ${train.steps}: the run ends inside its warm-up (lr * (s + 1) / warmup_steps at update s), so the learning rate never reaches train.optimizer.lr (${optimizer.lr}; it ends at ${train.steps}/${warmup} of it)`,
      );
    }
    // (Milestones no update reaches are refused by the spec, experiment-spec.ts: a list of them is
    // hardly a setting a sweep crosses with others. A step_size is, with train.steps: a note.)
    const after = train.steps - warmup;
    if (schedule.kind === "step" && schedule.step_size >= after) {
      const updates = after <= 0 ? "leaves none" : after === 1 ? "leaves update 0 alone" : `leaves updates 0 to ${after - 1}`;
      const left = warmup > 0 ? `train.steps ${train.steps} - train.schedule.warmup_steps ${warmup} ${updates}` : `train.steps ${train.steps} ${updates}`;
      notes.push(
        `train.schedule.step_size: ${schedule.step_size} is reached by no update, so the learning rate stays train.optimizer.lr (${optimizer.lr}) after warm-up, as with kind constant: it is lr * gamma ^ floor(u / step_size) at update u after warm-up, and ${left}`,
      );
    }
  } else if (stepsPerClip !== null) {
    const every = train.update_every;
    const furthest = furthestBlock(stepsPerClip, train.steps);
    if (warmup > furthest.steps) {
      notes.push(
        `train.schedule.warmup_steps: ${warmup} is finished by no block, so the learning rate never reaches train.optimizer.lr (${optimizer.lr}; lr * (s + 1) / warmup_steps at a block's step s, so the furthest block ends at ${furthest.steps}/${warmup} of it): ${ownStepsText(every, train.steps, furthest, 0)}`,
      );
    }
    if (schedule.kind === "step" && schedule.step_size >= furthest.steps - warmup) {
      notes.push(
        `train.schedule.step_size: ${schedule.step_size} is reached by no block, so the learning rate stays train.optimizer.lr (${optimizer.lr}) after warm-up, as with kind constant (lr * gamma ^ floor(u / step_size) at a block's step u after warm-up): ${ownStepsText(every, train.steps, furthest, warmup)}`,
      );
    }
    if (schedule.kind === "multistep") {
      const note = unreachedMilestones(schedule.milestones, warmup, train.steps, every, furthest);
      if (note !== null) notes.push(note);
    }
    notes.push(...unevenScheduleNotes(train, every, stepsPerClip));
  }
  if (schedule.kind === "cosine" && schedule.min_lr > optimizer.lr) {
    notes.push(`train.schedule.min_lr: ${schedule.min_lr} is above train.optimizer.lr: ${optimizer.lr}: the cosine schedule raises the learning rate towards min_lr`);
  }
  if (schedule.kind === "linear" && schedule.end_lr > optimizer.lr) {
    notes.push(`train.schedule.end_lr: ${schedule.end_lr} is above train.optimizer.lr: ${optimizer.lr}: the linear schedule raises the learning rate towards end_lr`);
  }
  return notes;
}

function furthestBlock(stepsPerClip: readonly number[], steps: number): FurthestBlock {
  const perClip = Math.max(0, ...stepsPerClip);
  return { block: stepsPerClip.indexOf(perClip), perClip, steps: steps * perClip };
}

/**
 * Why a note on an in-clip run compares with the furthest block's steps, and how many that is;
 * `warmup` > 0 adds how many of them come after warm-up (what step_size and milestones count).
 */
function ownStepsText(every: number, steps: number, furthest: FurthestBlock, warmup: number): string {
  const afterWarmup = warmup > 0 ? `, ${Math.max(furthest.steps - warmup, 0)} after its train.schedule.warmup_steps ${warmup}` : "";
  return (
    `${countsOwnSteps(every)}, and the most any block takes is ${furthest.steps} ` +
    `(block ${furthest.block}: ${furthest.perClip} per clip batch x train.steps ${steps}${afterWarmup}); ${SCHEDULE_SHOWS_STEPS}`
  );
}

/**
 * With in-clip updates the spec's check of the milestones against train.steps (experiment-spec.ts)
 * does not apply; the furthest block's steps bound them. A note names the milestones no block
 * reaches, or null.
 */
function unreachedMilestones(milestones: readonly number[], warmup: number, steps: number, every: number, furthest: FurthestBlock): string | null {
  // Milestones count steps after warm-up: the last step, furthest.steps - 1, is step furthest.steps - 1 - warmup after it.
  const after = furthest.steps - warmup;
  const late = milestones.filter((m) => m >= after);
  if (late.length === 0) return null;
  const one = late.length === 1;
  return `train.schedule.milestones: ${late.join(", ")} ${one ? "is" : "are"} reached by no block, so ${one ? "it" : "they"} never lower${one ? "s" : ""} the learning rate: ${ownStepsText(every, steps, furthest, warmup)}`;
}
