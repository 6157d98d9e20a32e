/**
 * What a table implies before anything runs: when each block steps (train.update_every), which
 * weight version every action reads, how stale gradients and weights are, how many inputs each
 * block keeps, and how much of each stage's time is idle. Diagnostics and `sideways schedule`
 * report these; tests compare the executors' measurements with them.
 */
import type { Action, Schedule } from "./action.js";

/** train.update_every: once per clip batch, or after every N ticks and after the last. */
export type UpdateEvery = "clip" | number;

/** Whether blocks with gradients step after tick t (0-based). */
export function updatesAfter(tick: number, ticks: number, every: UpdateEvery): boolean {
  return tick === ticks - 1 || (every !== "clip" && (tick + 1) % every === 0);
}

export interface VersionedAction extends Action {
  /** How many optimizer steps the weights this action computes with have had within the clip batch. */
  version: number;
}

/**
 * Every action with the version of its block's weights it computes with. A block steps at an
 * update point when it received a gradient since its last step. A backward reads the current
 * version, or with weight stashing the version its input's forward used.
 */
export function withWeightVersions(s: Schedule, every: UpdateEvery, stashing: boolean): VersionedAction[] {
  const version = new Array<number>(s.blocks).fill(0);
  const pending = new Array<number>(s.blocks).fill(0);
  const forwardVersion = new Map<string, number>();
  const out: VersionedAction[] = [];
  let i = 0;
  for (let t = 0; t < s.ticks; t++) {
    for (; i < s.actions.length && s.actions[i].tick === t; i++) {
      const a = s.actions[i];
      let v = version[a.block];
      if (a.op === "forward") forwardVersion.set(`${a.block}:${a.frame}`, v);
      if (a.op === "backward") {
        if (stashing) v = forwardVersion.get(`${a.block}:${a.frame}`)!;
        pending[a.block]++;
      }
      out.push({ ...a, version: v });
    }
    if (updatesAfter(t, s.ticks, every)) {
      for (let k = 0; k < s.blocks; k++) {
        if (pending[k] > 0) version[k]++;
        pending[k] = 0;
      }
    }
  }
  return out;
}

export interface BlockFacts {
  /** n_k: gradients the block receives per clip batch. */
  gradients: number;
  /** Optimizer steps per clip batch. */
  steps: number;
  /** Mean ticks between block k's forward of the frame whose loss a gradient comes from and the backward using it. */
  gradDelayTicks: number;
  /** Mean steps the weights a backward computes with lag behind the weights its gradient updates. */
  weightLagSteps: number;
  /**
   * Mean ticks the weights a backward computes with have been out of date (since the tick after
   * which the block stepped away from them; 0 when they are the current weights).
   */
  weightStaleTicks: number;
  /** Share of backwards whose input activation was computed with other weights than the backward uses. */
  versionMismatch: number;
  /** Most inputs the block keeps at once for backwards still to come. */
  stashedInputs: number;
}

export function blockFacts(s: Schedule, every: UpdateEvery, stashing: boolean): BlockFacts[] {
  const acts = withWeightVersions(s, every, stashing);
  const current = withWeightVersions(s, every, false);
  const forward = new Map<string, VersionedAction>();
  const replaced = versionEnds(s, every);
  const facts = Array.from({ length: s.blocks }, () => ({ gradients: 0, steps: 0, delay: 0, lag: 0, stale: 0, mismatch: 0 }));
  acts.forEach((a, i) => {
    if (a.op === "forward") forward.set(`${a.block}:${a.frame}`, a);
    if (a.op !== "backward") return;
    const f = facts[a.block];
    f.gradients++;
    f.delay += a.tick - forward.get(`${a.block}:${a.gradFrame}`)!.tick;
    f.lag += current[i].version - a.version;
    if (a.version < current[i].version) f.stale += a.tick - replaced[a.block][a.version];
    if (forward.get(`${a.block}:${a.frame}`)!.version !== a.version) f.mismatch++;
  });
  const stash = stashedInputs(s);
  return facts.map((f, k) => ({
    gradients: f.gradients,
    steps: replaced[k].length,
    gradDelayTicks: f.gradients ? f.delay / f.gradients : 0,
    weightLagSteps: f.gradients ? f.lag / f.gradients : 0,
    weightStaleTicks: f.gradients ? f.stale / f.gradients : 0,
    versionMismatch: f.gradients ? f.mismatch / f.gradients : 0,
    stashedInputs: stash[k],
  }));
}

/** Per block, the tick after which each of its weight versions was replaced by a step. */
function versionEnds(s: Schedule, every: UpdateEvery): number[][] {
  const ends: number[][] = Array.from({ length: s.blocks }, () => []);
  const pending = new Array<number>(s.blocks).fill(0);
  let i = 0;
  for (let t = 0; t < s.ticks; t++) {
    for (; i < s.actions.length && s.actions[i].tick === t; i++) if (s.actions[i].op === "backward") pending[s.actions[i].block]++;
    if (!updatesAfter(t, s.ticks, every)) continue;
    for (let k = 0; k < s.blocks; k++) {
      if (pending[k] > 0) ends[k].push(t);
      pending[k] = 0;
    }
  }
  return ends;
}


/** Per block, the most inputs held at once: from the forward that computes one to the last backward that reads it. */
export function stashedInputs(s: Schedule): number[] {
  const born = new Map<string, number>();
  const lastRead = new Map<string, number>();
  for (const a of s.actions) {
    const key = `${a.block}:${a.frame}`;
    if (a.op === "forward") born.set(key, a.tick);
    if (a.op === "backward") lastRead.set(key, a.tick);
  }
  const peak = new Array<number>(s.blocks).fill(0);
  for (let k = 0; k < s.blocks; k++) {
    const delta = new Array<number>(s.ticks + 1).fill(0);
    for (const [key, end] of lastRead) {
      const [block] = key.split(":").map(Number);
      if (block !== k) continue;
      delta[born.get(key)!]++;
      delta[end + 1]--;
    }
    let live = 0;
    for (const d of delta) peak[k] = Math.max(peak[k], (live += d));
  }
  return peak;
}

/** Relative cost of one forward and one backward of each block; default 1 and 2 (a backward is about two forwards). */
export interface OpCosts {
  forward: readonly number[];
  backward: readonly number[];
}

export function unitCosts(blocks: number): OpCosts {
  return { forward: new Array(blocks).fill(1), backward: new Array(blocks).fill(2) };
}

/**
 * Per stage, the share of the batch's time it would be idle if every tick lasted as long as the
 * busiest stage's work in it (stages synchronised per tick by the boundary messages).
 */
export function predictedIdleFractions(s: Schedule, stages: readonly (readonly number[])[], costs: OpCosts = unitCosts(s.blocks)): number[] {
  const stageOf = new Array<number>(s.blocks);
  stages.forEach((blocks, i) => blocks.forEach((k) => (stageOf[k] = i)));
  const work = Array.from({ length: s.ticks }, () => new Array<number>(stages.length).fill(0));
  for (const a of s.actions) {
    if (a.op === "loss") continue;
    work[a.tick][stageOf[a.block]] += a.op === "forward" ? costs.forward[a.block] : costs.backward[a.block];
  }
  const total = work.reduce((sum, w) => sum + Math.max(...w), 0);
  return stages.map((_, i) => (total > 0 ? 1 - work.reduce((sum, w) => sum + w[i], 0) / total : 0));
}
