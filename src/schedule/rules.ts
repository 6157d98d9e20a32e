/**
 * The rules' action tables (docs/design/sideways.md), one small generator each, 0-based indices.
 * Each generator follows the rule's text, not the facts derived from it: the facts are what the
 * tests check the tables against (test/pipeline-schedule.test.ts).
 */
import { makeSchedule, type Action, type Schedule } from "./action.js";

/**
 * Synchronous BP, frame after frame: frame f goes up through every block, the loss, and back
 * down before frame f+1 starts. One tick per block computation, the top block's forward, loss and
 * backward in one tick (as in the pipelined rules), so a frame takes 2L-1 ticks and only one
 * block works at any tick: what BP on depth-partitioned stages does.
 */
export function bpSchedule(L: number, T: number): Schedule {
  const actions: Action[] = [];
  const top = L - 1;
  for (let f = 0; f < T; f++) {
    const t0 = f * (2 * L - 1);
    for (let k = 0; k < L; k++) actions.push({ tick: t0 + k, block: k, op: "forward", frame: f });
    actions.push({ tick: t0 + top, block: top, op: "loss", frame: f });
    for (let k = top; k >= 0; k--) actions.push({ tick: t0 + 2 * top - k, block: k, op: "backward", frame: f, gradFrame: f });
  }
  return makeSchedule("bp", L, T, actions);
}

/**
 * Sideways, simulated tick by tick as the rule states it: block 0 gets frame t, block k the frame
 * block k-1 held at t-1; the top block's gradient comes from this tick's loss, block k's from the
 * input-gradient block k+1 produced at t-1; a block with both runs its backward on its current
 * input. Only T ticks (the pipeline is reset after frame T). Every block with an input runs its
 * forward, also at the last tick where nobody reads the output below the top: batch norm counts
 * every frame that reaches a block (docs/design/sideways.md), which matters when T < 2L-1 leaves
 * such a block without a backward at that tick.
 */
export function sidewaysSchedule(L: number, T: number): Schedule {
  const actions: Action[] = [];
  const top = L - 1;
  let held: (number | null)[] = new Array(L).fill(null); // frame each block's output holds after the previous tick
  let sentDown: (number | null)[] = new Array(L).fill(null); // gradient frame each block sent down at the previous tick
  for (let t = 0; t < T; t++) {
    const input = (k: number) => (k === 0 ? t : held[k - 1]);
    const nextHeld: (number | null)[] = new Array(L).fill(null);
    const nextSent: (number | null)[] = new Array(L).fill(null);
    for (let k = 0; k < L; k++) {
      const f = input(k);
      if (f === null) continue;
      const gradFrame = k === top ? f : sentDown[k + 1];
      actions.push({ tick: t, block: k, op: "forward", frame: f });
      nextHeld[k] = f;
      if (k === top) actions.push({ tick: t, block: k, op: "loss", frame: f });
      if (gradFrame !== null) {
        actions.push({ tick: t, block: k, op: "backward", frame: f, gradFrame });
        nextSent[k] = gradFrame;
      }
    }
    held = nextHeld;
    sentDown = nextSent;
  }
  return makeSchedule("sideways", L, T, actions);
}

/**
 * Pipelined BP: frames are micro-batches through the depth-parallel blocks, one forward and one
 * backward per block and tick in the steady state (1F1B's alternation, but a micro-batch moves one
 * block a tick, so block k holds 2(L-k)+1 frames in flight: docs/design/sideways.md). 1-based, frame
 * f at block k runs forward at tick f+k-1, its loss is taken at tick f+L-1, and block k runs its
 * backward at tick f+2L-1-k on the input it stashed for f. A clip batch takes T+2L-2 ticks.
 */
export function pipelinedBpSchedule(L: number, T: number): Schedule {
  const actions: Action[] = [];
  const top = L - 1;
  for (let f = 0; f < T; f++) {
    for (let k = 0; k < L; k++) actions.push({ tick: f + k, block: k, op: "forward", frame: f });
    actions.push({ tick: f + top, block: top, op: "loss", frame: f });
    for (let k = 0; k < L; k++) actions.push({ tick: f + 2 * top - k, block: k, op: "backward", frame: f, gradFrame: f });
  }
  return makeSchedule("pipelined-bp", L, T, actions);
}

/**
 * GPipe (Huang et al., NeurIPS 2019): frames are micro-batches, all forwards first, then all
 * backwards (fill and drain), one update per clip batch. The forwards move as in pipelined BP
 * (frame f at block k at tick f+k, 0-based; its loss at tick f+L-1). The top block turns around on
 * the last frame: it runs frame T-1's backward in the tick of its forward, then one frame a tick in
 * reverse order, and each gradient moves down one block a tick: block k runs frame f's backward at
 * tick (T+L-2) + (T-1-f) + (L-1-k). A clip batch takes 2T+2L-3 ticks and every block stashes all
 * T inputs (the memory GPipe's re-materialisation would trade for compute; not done here).
 */
export function gpipeSchedule(L: number, T: number): Schedule {
  const actions: Action[] = [];
  const top = L - 1;
  const turn = T - 1 + top; // the tick of the last frame's top forward
  for (let f = 0; f < T; f++) {
    for (let k = 0; k < L; k++) actions.push({ tick: f + k, block: k, op: "forward", frame: f });
    actions.push({ tick: f + top, block: top, op: "loss", frame: f });
    for (let k = 0; k < L; k++) actions.push({ tick: turn + (T - 1 - f) + (top - k), block: k, op: "backward", frame: f, gradFrame: f });
  }
  return makeSchedule("gpipe", L, T, actions);
}
