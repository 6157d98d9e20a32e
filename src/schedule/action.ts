/**
 * A schedule is data (docs/design/sideways.md, "Schedules"): for a model of L blocks and clips of T
 * frames, an update rule generates the list of actions every block takes at every tick. One
 * interpreter (src/train/schedule-stage.ts) runs any list; `sideways schedule` prints it.
 *
 * Indices here are 0-based (tick, block, frame), as the printed grid is; the design document states
 * the rules 1-based, as the paper does (its k, t and frame are these plus one).
 */

export type ActionOp = "forward" | "loss" | "backward";

export interface Action {
  tick: number;
  block: number;
  op: ActionOp;
  /** forward, loss: the frame computed. backward: the frame whose input activation the backward reads. */
  frame: number;
  /** backward only: the frame whose loss the gradient comes from (equal to `frame` for exact rules). */
  gradFrame?: number;
}

export interface Schedule {
  method: string;
  /** L, number of blocks. */
  blocks: number;
  /** T, frames per clip. */
  frames: number;
  /** Ticks one clip batch takes. */
  ticks: number;
  /** Sorted by tick; within a tick forwards by ascending block, then the loss, then backwards by descending block. */
  actions: Action[];
}

const OP_ORDER: Record<ActionOp, number> = { forward: 0, loss: 1, backward: 2 };

/** Puts actions in interpreter order (see Schedule.actions) and checks them. */
export function makeSchedule(method: string, blocks: number, frames: number, actions: Action[]): Schedule {
  const sorted = [...actions].sort(
    (a, b) => a.tick - b.tick || OP_ORDER[a.op] - OP_ORDER[b.op] || (a.op === "backward" ? b.block - a.block : a.block - b.block),
  );
  const ticks = sorted.length === 0 ? 0 : sorted[sorted.length - 1].tick + 1;
  const schedule = { method, blocks, frames, ticks, actions: sorted };
  checkSchedule(schedule);
  return schedule;
}

/**
 * Invariants every rule's table must satisfy so that the interpreter can run it: a forward of
 * block k on frame f (k > 0) comes strictly after block k-1's forward of f (one tick per hop: what
 * the previous tick left); a backward reads an input its block computed forward no later than the
 * backward's tick; a gradient arriving from block k+1 was produced at an earlier tick; the top
 * block's gradient comes from a loss of the same tick or earlier. Fails with "BUG:" naming the action.
 */
export function checkSchedule(s: Schedule): void {
  const key = (k: number, f: number) => `${k}:${f}`;
  const forwardTick = new Map<string, number>();
  const backwardTick = new Map<string, number>(); // block:gradFrame
  const lossTick = new Map<number, number>();
  const top = s.blocks - 1;
  const bug = (a: Action, why: string) => new Error(`BUG: ${s.method} schedule, tick ${a.tick} block ${a.block} ${a.op} frame ${a.frame}: ${why}`);
  for (const a of s.actions) {
    if (a.block < 0 || a.block > top || a.frame < 0 || a.frame >= s.frames) throw bug(a, "outside the model or the clip");
    if (a.op === "forward") {
      if (forwardTick.has(key(a.block, a.frame))) throw bug(a, "frame computed twice");
      if (a.block > 0 && !((forwardTick.get(key(a.block - 1, a.frame)) ?? Infinity) < a.tick)) throw bug(a, "input not produced at an earlier tick");
      forwardTick.set(key(a.block, a.frame), a.tick);
    } else if (a.op === "loss") {
      if (a.block !== top) throw bug(a, "loss away from the top block");
      if (forwardTick.get(key(top, a.frame)) !== a.tick) throw bug(a, "loss not at the tick of the top forward");
      lossTick.set(a.frame, a.tick);
    } else {
      const g = a.gradFrame;
      if (g === undefined) throw bug(a, "backward without a gradient frame");
      if (!((forwardTick.get(key(a.block, a.frame)) ?? Infinity) <= a.tick)) throw bug(a, "input not computed yet");
      if (backwardTick.has(key(a.block, g))) throw bug(a, "gradient used twice");
      if (a.block === top ? !((lossTick.get(g) ?? Infinity) <= a.tick) : !((backwardTick.get(key(a.block + 1, g)) ?? Infinity) < a.tick)) {
        throw bug(a, "gradient not produced at an earlier tick");
      }
      backwardTick.set(key(a.block, g), a.tick);
    }
  }
}
