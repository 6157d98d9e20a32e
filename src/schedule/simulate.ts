/**
 * Predicted stage idle from a table, with stages that run ahead as soon as their inputs arrive
 * (the executors have no barrier at tick boundaries: a stage waits only in recv() for the message
 * a neighbour's action produces). Each stage is a sequence of steps (one onnxruntime call each,
 * with its measured cost); a step that reads a neighbour's message starts no earlier than the step
 * that sends it ends. The idle fraction of a stage is 1 - (sum of its step costs) / (the time its
 * last step ends), which is what the benchmark measures: 1 - (time inside onnxruntime) / wall;
 * a step's time outside onnxruntime (Step.other) counts towards the wall, not the sum.
 */
import type { Schedule } from "./action.js";
import type { OpCosts } from "./analysis.js";

/** One onnxruntime call of a stage: its cost, the messages it must have, the message it sends when done. */
export interface Step {
  /** Time inside onnxruntime. */
  cost: number;
  /** Time the stage spends around the call outside onnxruntime (feeds, copies, gradient sums, garbage collection): not busy. */
  other: number;
  /** Ids of messages (sent by other stages' steps) this step reads. */
  needs: string[];
  /** Ids of the messages sent when this step ends. */
  sends: string[];
}

/** Runs each stage's steps in order, every step as early as its stage and its messages allow; per stage [busy, end]. */
export function simulateStages(stages: readonly (readonly Step[])[], latency = 0): { busy: number[]; end: number[] } {
  const sentAt = new Map<string, number>();
  const clock = stages.map(() => 0);
  const busy = stages.map(() => 0);
  const next = stages.map(() => 0);
  for (;;) {
    let progressed = false;
    let done = true;
    stages.forEach((steps, s) => {
      while (next[s] < steps.length) {
        const step = steps[next[s]];
        if (!step.needs.every((id) => sentAt.has(id))) break;
        const start = Math.max(clock[s], ...step.needs.map((id) => sentAt.get(id)! + latency));
        clock[s] = start + step.cost + step.other;
        busy[s] += step.cost;
        for (const id of step.sends) sentAt.set(id, clock[s]);
        next[s]++;
        progressed = true;
      }
      if (next[s] < steps.length) done = false;
    });
    if (done) return { busy, end: clock };
    if (!progressed) throw new Error("BUG: simulated stages wait on each other for ever (a message no step sends)");
  }
}

function stageOfBlock(blocks: number, stages: readonly (readonly number[])[]): number[] {
  const stageOf = new Array<number>(blocks);
  stages.forEach((bs, i) => bs.forEach((k) => (stageOf[k] = i)));
  return stageOf;
}

const idle = ({ busy, end }: { busy: number[]; end: number[] }) => busy.map((b, s) => (end[s] > 0 ? 1 - b / end[s] : 0));

/**
 * The interpreter (src/train/schedule-stage.ts), and BP block by block: one call per forward and
 * per backward, in table order; a stage's lowest block reads the forward of the block below from
 * the stage below, its highest block's backward the gradient of the block above.
 */
export function interpreterSteps(s: Schedule, stages: readonly (readonly number[])[], costs: OpCosts, outsidePerAction = 0): Step[][] {
  const stageOf = stageOfBlock(s.blocks, stages);
  const out: Step[][] = stages.map(() => []);
  for (const a of s.actions) {
    if (a.op === "loss") continue;
    const st = stageOf[a.block];
    if (a.op === "forward") {
      const needs = a.block > 0 && stageOf[a.block - 1] !== st ? [`act:${a.block - 1}:${a.frame}`] : [];
      out[st].push({ cost: costs.forward[a.block], other: outsidePerAction, needs, sends: [`act:${a.block}:${a.frame}`] });
    } else {
      const above = a.block + 1 < s.blocks && stageOf[a.block + 1] !== st;
      out[st].push({ cost: costs.backward[a.block], other: outsidePerAction, needs: above ? [`grad:${a.block + 1}:${a.gradFrame}`] : [], sends: [`grad:${a.block}:${a.gradFrame}`] });
    }
  }
  return out;
}

/**
 * Sideways' one-graph tick (src/train/sideways-stage.ts): per stage and tick, once the stage
 * above's gradient of the previous tick is in, a stage with a stage below first runs its lowest
 * block lo in a call of its own when the stage below's output of the previous tick is in, and
 * sends lo's input gradient down; then one call for the other blocks, after which the top
 * block's output goes up. A block's forward and backward in one call cost as in separate calls
 * (an upper bound: one call has one fixed cost). Messages go every tick, empty ones included.
 * `outsidePerAction`: time outside onnxruntime per forward or backward in a step.
 */
export function sidewaysTickSteps(s: Schedule, stages: readonly (readonly number[])[], costs: OpCosts, outsidePerAction = 0): Step[][] {
  const T = s.ticks;
  const work = Array.from({ length: T }, () => new Map<number, { cost: number; actions: number }>());
  for (const a of s.actions) {
    if (a.op === "loss") continue;
    const w = work[a.tick].get(a.block) ?? { cost: 0, actions: 0 };
    w.cost += a.op === "forward" ? costs.forward[a.block] : costs.backward[a.block];
    w.actions++;
    work[a.tick].set(a.block, w);
  }
  return stages.map((blocks, st) => {
    const lo = blocks[0];
    const below = st > 0;
    const above = st < stages.length - 1;
    const steps: Step[] = [];
    const call = (t: number, ks: readonly number[], needs: string[], sends: string[]): Step => {
      const ws = ks.map((k) => work[t].get(k) ?? { cost: 0, actions: 0 });
      return { cost: ws.reduce((sum, w) => sum + w.cost, 0), other: outsidePerAction * ws.reduce((sum, w) => sum + w.actions, 0), needs, sends };
    };
    for (let t = 0; t < T; t++) {
      const sends = t < T - 1;
      const fromAbove = above && t > 0 ? [`down:${st + 1}:${t - 1}`] : [];
      const up = above && sends ? [`up:${st}:${t}`] : [];
      const down = below && sends ? [`down:${st}:${t}`] : [];
      if (below) {
        steps.push(call(t, [lo], [...fromAbove, ...(t > 0 ? [`up:${st - 1}:${t - 1}`] : [])], down));
        steps.push(call(t, blocks.slice(1), [], up));
      } else {
        steps.push(call(t, blocks, fromAbove, up));
      }
    }
    return steps;
  });
}

/** The simulated run's length: when the last stage's last step ends. */
export function simulatedMakespan(steps: readonly (readonly Step[])[], latency = 0): number {
  return Math.max(...simulateStages(steps, latency).end);
}

/** Per stage, the idle fraction of the simulated run (see the module comment). */
export function simulatedIdleFractions(steps: readonly (readonly Step[])[], latency = 0): number[] {
  return idle(simulateStages(steps, latency));
}
