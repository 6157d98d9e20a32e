/**
 * Learning-rate schedules. With s = 0-based update index, N = total updates, W = warmup_steps,
 * base = the optimizer's lr:
 *
 *   warm-up (s < W):  lr = base * (s + 1) / W        (linear; the first update already moves)
 *   after (s >= W), with u = s - W updates since warm-up ended:
 *     constant:  lr = base
 *     step:      lr = base * gamma ^ floor(u / step_size)
 *     cosine:    lr = min_lr + (base - min_lr) * (1 + cos(pi * u / (N - W))) / 2
 *                (PyTorch CosineAnnealingLR with T_max = N - W: min_lr would be reached at
 *                s = N, one past the last update)
 *     multistep: lr = base * gamma ^ (number of milestones m with m <= u)
 *                (PyTorch MultiStepLR stepped once per update after warm-up)
 *     linear:    lr = base + (end_lr - base) * u / (N - W)
 *                (PyTorch LinearLR(start_factor=1, end_factor=end_lr/base, total_iters=N-W); with
 *                end_lr 0 also PolynomialLR(total_iters=N-W, power=1). As with cosine, end_lr would
 *                be reached at s = N, one past the last update: the last update, s = N - 1, takes
 *                end_lr + (base - end_lr) / (N - W), so no update is spent at lr 0)
 */
import type { ScheduleSpec } from "../spec/experiment-spec.js";

export function learningRate(spec: ScheduleSpec, baseLr: number, step: number, totalSteps: number): number {
  if (!Number.isInteger(step) || step < 0 || step >= totalSteps) {
    throw new Error(`BUG: learning-rate step ${step} outside [0, ${totalSteps})`);
  }
  const warmup = spec.warmup_steps;
  if (step < warmup) return (baseLr * (step + 1)) / warmup;
  const sinceWarmup = step - warmup;
  switch (spec.kind) {
    case "constant":
      return baseLr;
    case "step":
      return baseLr * spec.gamma ** Math.floor(sinceWarmup / spec.step_size);
    case "cosine":
      return spec.min_lr + ((baseLr - spec.min_lr) * (1 + Math.cos((Math.PI * sinceWarmup) / (totalSteps - warmup)))) / 2;
    case "multistep":
      return baseLr * spec.gamma ** spec.milestones.filter((m) => m <= sinceWarmup).length;
    case "linear":
      return baseLr + ((spec.end_lr - baseLr) * sinceWarmup) / (totalSteps - warmup);
  }
}

/**
 * With in-clip updates (train.update_every) block k steps S_k times per clip batch
 * (src/schedule/analysis.ts blockFacts), and the schedule counts each block's own steps: block k's
 * j-th step (0-based) in clip batch c is its step c*S_k + j of totalClips*S_k, so warmup_steps,
 * step_size and milestones count that block's steps. Returns, per block, the learning rate of each of its steps
 * in clip batch `clip`. With S_k = 1 this is learningRate(spec, baseLr, clip, totalClips).
 */
export function blockLearningRates(spec: ScheduleSpec, baseLr: number, clip: number, totalClips: number, stepsPerClip: readonly number[]): number[][] {
  return stepsPerClip.map((s) => Array.from({ length: s }, (_, j) => learningRate(spec, baseLr, clip * s + j, totalClips * s)));
}
