/**
 * The rules' action tables (src/schedule/) against the facts docs/design/sideways.md states for
 * each rule, in its 1-based indices, and the analysis of a table (weight versions with in-clip
 * updates, staleness, stash, predicted idle) on small cases worked out by hand.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCsv } from "../src/results/csv-read.js";
import { loadModelFile } from "../src/model/load-model.js";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import type { Action, Schedule } from "../src/schedule/action.js";
import { checkSchedule } from "../src/schedule/action.js";
import { blockFacts, predictedIdleFractions, stashedInputs, withWeightVersions } from "../src/schedule/analysis.js";
import { formatGrid } from "../src/schedule/format-grid.js";
import { interpreterSteps, sidewaysTickSteps, simulatedIdleFractions, simulatedMakespan } from "../src/schedule/simulate.js";
import { METHOD_NAMES, RULES } from "../src/schedule/registry.js";
import { bpSchedule, pipelinedBpSchedule, sidewaysSchedule } from "../src/schedule/rules.js";

const ofOp = (s: Schedule, op: Action["op"]) => s.actions.filter((a) => a.op === op);
const counts = (s: Schedule) => Array.from({ length: s.blocks }, (_, k) => ofOp(s, "backward").filter((a) => a.block === k).length);

describe("schedule tables", () => {
  const sizes = [
    { L: 1, T: 3 },
    { L: 3, T: 4 },
    { L: 4, T: 7 },
    { L: 4, T: 10 },
    { L: 5, T: 40 },
  ];

  for (const { L, T } of sizes) {
    describe(`L=${L}, T=${T}`, () => {
      it("sideways: top output at tick t is frame t-L+1, first loss at tick L, n_k = max(0, T-2L+k+1), input frame t-k+1, gradient frame t-2L+k+1", () => {
        const s = sidewaysSchedule(L, T);
        expect(s.ticks).to.equal(T);
        for (const a of ofOp(s, "loss")) expect(a.frame + 1).to.equal(a.tick + 1 - L + 1);
        const losses = ofOp(s, "loss");
        expect(losses.length).to.equal(Math.max(0, T - L + 1));
        if (losses.length) expect(losses[0].tick + 1).to.equal(L);
        expect(counts(s)).to.deep.equal(Array.from({ length: L }, (_, i) => Math.max(0, T - 2 * L + (i + 1) + 1)));
        for (const a of ofOp(s, "backward")) {
          const [t, k] = [a.tick + 1, a.block + 1];
          expect(a.frame + 1, "input frame").to.equal(t - k + 1);
          expect(a.gradFrame! + 1, "gradient frame").to.equal(t - 2 * L + k + 1);
          expect(a.frame - a.gradFrame!, "offset 2(L-k)").to.equal(2 * (L - k));
        }
        // Every block computes every tick it has an input (docs/design/sideways.md).
        for (const a of ofOp(s, "forward")) expect(a.frame + 1).to.equal(a.tick + 1 - (a.block + 1) + 1);
      });

      it("pipelined-bp: forward at f+k-1, loss at f+L-1, backward at f+2L-1-k on frame f's own input, T+2L-2 ticks", () => {
        const s = pipelinedBpSchedule(L, T);
        expect(s.ticks).to.equal(T + 2 * L - 2);
        expect(ofOp(s, "forward")).to.have.length(L * T);
        expect(ofOp(s, "backward")).to.have.length(L * T);
        for (const a of s.actions) {
          const [f, k, t] = [a.frame + 1, a.block + 1, a.tick + 1];
          if (a.op === "forward") expect(t).to.equal(f + k - 1);
          if (a.op === "loss") expect([t, k]).to.deep.equal([f + L - 1, L]);
          if (a.op === "backward") {
            expect(t).to.equal(f + 2 * L - 1 - k);
            expect(a.gradFrame).to.equal(a.frame);
          }
        }
        expect(counts(s)).to.deep.equal(new Array(L).fill(T));
        // At most one forward and one backward per block and tick (1F1B's alternation).
        const perTick = new Map<string, number>();
        for (const a of s.actions) perTick.set(`${a.tick}:${a.block}:${a.op}`, (perTick.get(`${a.tick}:${a.block}:${a.op}`) ?? 0) + 1);
        expect(Math.max(...perTick.values())).to.equal(1);
        // Block k keeps the inputs of the frames in flight between its forward and backward: 2(L-k)+1.
        expect(stashedInputs(s)).to.deep.equal(Array.from({ length: L }, (_, i) => Math.min(T, 2 * (L - i - 1) + 1)));
      });

      it("bp: every frame up and down before the next, one block busy per tick, n_k = T", () => {
        const s = bpSchedule(L, T);
        expect(s.ticks).to.equal(T * (2 * L - 1));
        const busy = new Map<number, Set<number>>();
        for (const a of s.actions) busy.set(a.tick, (busy.get(a.tick) ?? new Set()).add(a.block));
        expect([...busy.values()].every((b) => b.size === 1)).to.equal(true);
        expect(busy.size).to.equal(s.ticks);
        expect(counts(s)).to.deep.equal(new Array(L).fill(T));
        for (const a of ofOp(s, "backward")) expect(a.gradFrame).to.equal(a.frame);
      });
    });
  }

  // Sizes on both sides of T = 2L-1 (every block learns) and of T = 2L-2, below which a frame
  // may reach neither the loss nor a gradient before the clip ends.
  const sidewaysSizes = [
    { L: 1, T: 1 },
    { L: 2, T: 2 },
    { L: 3, T: 2 },
    { L: 3, T: 3 },
    { L: 3, T: 4 },
    { L: 3, T: 5 },
    { L: 4, T: 5 },
    { L: 4, T: 6 },
    { L: 4, T: 7 },
    { L: 5, T: 7 },
    { L: 5, T: 12 },
  ];

  // docs/design/sideways.md, "Diagnostics every rule reports": the gradient delay is the ticks from
  // block k's forward of the frame whose loss a gradient comes from to the backward using it. 1-based,
  // block k forwards frame f at tick f+k-1 (its input is frame t-k+1) and uses the gradient of frame
  // g's loss at tick g+2L-k-1 (its gradient frame is t-2L+k+1): the delay is 2(L-k), 2(L-1-k) for the
  // 0-based k of the table. Checked here against the rule simulated tick by tick (sidewaysByTheRule),
  // and the closed form against that simulation.
  it("sideways: each block's gradient delay is 2(L-1-k) ticks (0-based k), as the rule simulated tick by tick gives", () => {
    for (const { L, T } of sidewaysSizes) {
      const sim = sidewaysByTheRule(L, T);
      const forwardTick = new Map(sim.forwards.map((f) => [`${f.block}:${f.frame}`, f.tick]));
      const facts = blockFacts(sidewaysSchedule(L, T), "clip", false);
      for (let k = 0; k < L; k++) {
        const mine = sim.backwards.filter((b) => b.block === k);
        for (const b of mine) expect(b.tick - forwardTick.get(`${k}:${b.gradFrame}`)!, `L=${L} T=${T} block ${k}: closed form`).to.equal(2 * (L - 1 - k));
        // A block without gradients reports 0 (nothing to average).
        const expected = mine.length ? mine.reduce((s, b) => s + b.tick - forwardTick.get(`${k}:${b.gradFrame}`)!, 0) / mine.length : 0;
        expect(facts[k].gradients, `L=${L} T=${T} block ${k}: n_k`).to.equal(mine.length);
        expect(facts[k].gradDelayTicks, `L=${L} T=${T} block ${k}: gradient delay`).to.equal(expected);
      }
      if (T >= 2 * L - 1) expect(facts.map((f) => f.gradDelayTicks), `L=${L} T=${T}`).to.deep.equal(Array.from({ length: L }, (_, k) => 2 * (L - 1 - k)));
    }
  });

  // docs/design/sideways.md, "Diagnostics every rule reports": BP's and pipelined BP's delay is
  // Sideways' 2(L-k) (1-based k); GPipe's backward of frame f at block k comes at tick
  // (T+L-1) + (T-f) + (L-k) after its forward at f+k-1: 2(T-f) + 2(L-k), T-1 + 2(L-k) on average.
  it("gradient delay per block: 2(L-k) for bp and pipelined-bp, T-1 + 2(L-k) on average for gpipe (1-based k)", () => {
    for (const [L, T] of [[1, 3], [2, 5], [4, 8], [3, 12]]) {
      const oneBased = (f: (k: number) => number) => Array.from({ length: L }, (_, k0) => f(k0 + 1));
      for (const m of ["bp", "pipelined-bp"] as const) expect(blockFacts(RULES[m].generate(L, T), "clip", false).map((f) => f.gradDelayTicks), `${m} L=${L} T=${T}`).to.deep.equal(oneBased((k) => 2 * (L - k)));
      const gpipe = blockFacts(RULES.gpipe.generate(L, T), "clip", false).map((f) => f.gradDelayTicks);
      const perFrame = (k: number) => Array.from({ length: T }, (_, f0) => 2 * (T - (f0 + 1)) + 2 * (L - k));
      expect(gpipe, `gpipe L=${L} T=${T}`).to.deep.equal(oneBased((k) => perFrame(k).reduce((a, b) => a + b, 0) / T));
      expect(gpipe, `gpipe L=${L} T=${T} closed form`).to.deep.equal(oneBased((k) => T - 1 + 2 * (L - k)));
    }
  });

  // docs/design/sideways.md's rule: at every tick, every block that has an input runs its forward
  // (a frame that reaches a block is one its batch norm normalises, whether or not its output is
  // read before the clip ends: bench/torch_sideways.py counts the same). The table's forwards must
  // be exactly the rule's, none twice, and its backwards the rule's.
  it("sideways: the table's forwards are exactly the rule's (every block with an input, every tick), its backwards the rule's", () => {
    const key = (a: { tick: number; block: number; frame: number }) => `${a.tick}:${a.block}:${a.frame}`;
    for (const { L, T } of sidewaysSizes) {
      const sim = sidewaysByTheRule(L, T);
      const s = sidewaysSchedule(L, T);
      const table = ofOp(s, "forward").map(key).sort();
      expect(table, `L=${L} T=${T}: forwards (tick:block:frame)`).to.deep.equal(sim.forwards.map(key).sort());
      expect(new Set(table).size, `L=${L} T=${T}: no forward twice`).to.equal(table.length);
      expect(ofOp(s, "backward").map((a) => `${key(a)}<${a.gradFrame}`).sort(), `L=${L} T=${T}: backwards`).to.deep.equal(sim.backwards.map((b) => `${key(b)}<${b.gradFrame}`).sort());
    }
    // By hand, L=3, T=4 (0-based): block k forwards frames 0..T-1-k at ticks k..T-1 (frame f
    // reaches block k at tick f+k): 4 + 3 + 2 = 9 forwards.
    expect(ofOp(sidewaysSchedule(3, 4), "forward")).to.have.length(9);
  });

  it("every registered rule generates a table the interpreter can run (checkSchedule), and the schema's names are the registry's", () => {
    expect(Object.keys(RULES).sort()).to.deep.equal([...METHOD_NAMES].sort());
    for (const name of METHOD_NAMES) {
      const s = RULES[name].generate(3, 9);
      expect(s.method).to.equal(name);
      expect(() => checkSchedule(s)).not.to.throw();
    }
    // The figures tell rules apart by their lines (src/results/plot.ts): no two alike.
    const lines = METHOD_NAMES.map((m) => RULES[m].line);
    expect(new Set(lines.map((l) => l.dash.join(","))).size).to.equal(lines.length);
    expect(new Set(lines.map((l) => l.name)).size).to.equal(lines.length);
    expect(new Set(METHOD_NAMES.map((m) => RULES[m].label)).size).to.equal(METHOD_NAMES.length);
  });

  it("checkSchedule rejects a backward that reads a gradient not produced yet", () => {
    const s = pipelinedBpSchedule(2, 2);
    const broken = { ...s, actions: s.actions.map((a) => (a.op === "backward" && a.block === 0 && a.frame === 0 ? { ...a, tick: 0 } : a)).sort((a, b) => a.tick - b.tick) };
    expect(() => checkSchedule(broken)).to.throw(/BUG: pipelined-bp schedule, tick 0 block 0 backward frame 0/);
  });

  // Hand-made tables, each one rule away from a valid one (its twin, which passes): checkSchedule
  // names the action and what is wrong with it, as the interpreter could not run it.
  it("checkSchedule rejects a gradient used twice, a forward whose input came in the same tick, a gradient from above of the same tick, and a backward before its input", () => {
    // Rows [tick, block, op, frame, gradFrame?], in interpreter order.
    type Row = [number, number, Action["op"], number, number?];
    const table = (L: number, T: number, rows: Row[]): Schedule => ({
      method: "hand-made",
      blocks: L,
      frames: T,
      ticks: rows[rows.length - 1][0] + 1,
      actions: rows.map(([tick, block, op, frame, gradFrame]) => ({ tick, block, op, frame, ...(gradFrame === undefined ? {} : { gradFrame }) })),
    });
    const cases: { why: RegExp; broken: Row[]; twin: Row[]; L: number; T: number }[] = [
      {
        // L=1: frame 1's backward takes frame 0's loss again (twin: its own).
        why: /^BUG: hand-made schedule, tick 1 block 0 backward frame 1: gradient used twice$/,
        L: 1,
        T: 2,
        broken: [[0, 0, "forward", 0], [0, 0, "loss", 0], [0, 0, "backward", 0, 0], [1, 0, "forward", 1], [1, 0, "loss", 1], [1, 0, "backward", 1, 0]],
        twin: [[0, 0, "forward", 0], [0, 0, "loss", 0], [0, 0, "backward", 0, 0], [1, 0, "forward", 1], [1, 0, "loss", 1], [1, 0, "backward", 1, 1]],
      },
      {
        // L=2: block 1 forwards frame 0 at the tick block 0 does (an input travels one block a tick).
        why: /^BUG: hand-made schedule, tick 0 block 1 forward frame 0: input not produced at an earlier tick$/,
        L: 2,
        T: 1,
        broken: [[0, 0, "forward", 0], [0, 1, "forward", 0], [0, 1, "loss", 0], [0, 1, "backward", 0, 0], [1, 0, "backward", 0, 0]],
        twin: [[0, 0, "forward", 0], [1, 1, "forward", 0], [1, 1, "loss", 0], [1, 1, "backward", 0, 0], [2, 0, "backward", 0, 0]],
      },
      {
        // L=2: block 0 uses the gradient block 1 sends down in the same tick (it arrives the tick after).
        why: /^BUG: hand-made schedule, tick 1 block 0 backward frame 0: gradient not produced at an earlier tick$/,
        L: 2,
        T: 1,
        broken: [[0, 0, "forward", 0], [1, 1, "forward", 0], [1, 1, "loss", 0], [1, 1, "backward", 0, 0], [1, 0, "backward", 0, 0]],
        twin: [[0, 0, "forward", 0], [1, 1, "forward", 0], [1, 1, "loss", 0], [1, 1, "backward", 0, 0], [2, 0, "backward", 0, 0]],
      },
      {
        // L=1: a backward on frame 1's input one tick before the forward computes it (the same tick is fine: Sideways does that).
        why: /^BUG: hand-made schedule, tick 0 block 0 backward frame 1: input not computed yet$/,
        L: 1,
        T: 2,
        broken: [[0, 0, "forward", 0], [0, 0, "loss", 0], [0, 0, "backward", 1, 0], [1, 0, "forward", 1], [1, 0, "loss", 1]],
        twin: [[0, 0, "forward", 0], [0, 0, "loss", 0], [1, 0, "forward", 1], [1, 0, "loss", 1], [1, 0, "backward", 1, 0]],
      },
    ];
    for (const c of cases) {
      expect(() => checkSchedule(table(c.L, c.T, c.twin)), `twin of ${c.why}`).not.to.throw();
      expect(() => checkSchedule(table(c.L, c.T, c.broken))).to.throw(c.why);
    }
  });

  it("weight versions with in-clip updates (pipelined-bp, L=2, T=4, update every 2 ticks), worked out by hand", () => {
    // Block 1 (0-based 0): forwards of frames 0-3 at ticks 0-3, backwards at ticks 2-5; block 2:
    // forwards and backwards at ticks 1-4. Updates after ticks 1, 3, 5: block 2 steps at all three,
    // block 1 at the last two (it has no gradient before tick 2).
    const s = pipelinedBpSchedule(2, 4);
    const backwardVersions = (stashing: boolean) => withWeightVersions(s, 2, stashing).filter((a) => a.op === "backward" && a.block === 0).map((a) => a.version);
    expect(backwardVersions(false), "current weights").to.deep.equal([0, 0, 1, 1]);
    expect(backwardVersions(true), "the weights of the forward (all before block 1's first step)").to.deep.equal([0, 0, 0, 0]);
    const [stashed, current] = [blockFacts(s, 2, true), blockFacts(s, 2, false)];
    expect(stashed.map((f) => f.steps)).to.deep.equal([2, 3]);
    expect(stashed[0].weightLagSteps, "two of four gradients computed with weights one step behind").to.equal(0.5);
    expect(stashed[0].versionMismatch).to.equal(0);
    // Block 1 steps after tick 3: the stashed weights of its backwards at ticks 4 and 5 are 1 and 2 ticks out of date.
    expect(stashed[0].weightStaleTicks).to.equal((0 + 0 + 1 + 2) / 4);
    expect(current[0].weightStaleTicks).to.equal(0);
    expect(current[0].weightLagSteps).to.equal(0);
    expect(current[0].versionMismatch, "two backwards on inputs computed with older weights").to.equal(0.5);
    expect(current.map((f) => f.gradDelayTicks)).to.deep.equal([2, 0]);
    // Per-clip updates: one step, nothing stale.
    expect(blockFacts(s, "clip", true).map((f) => [f.steps, f.weightLagSteps, f.weightStaleTicks, f.versionMismatch])).to.deep.equal([[1, 0, 0, 0], [1, 0, 0, 0]]);
  });

  it("predicted idle: BP on L one-block stages is idle 1-1/L; pipelined-bp's bubble shrinks as T grows; one stage is never idle", () => {
    const L = 4;
    const stages = [[0], [1], [2], [3]];
    for (const idle of predictedIdleFractions(bpSchedule(L, 8), stages)) expect(idle).to.be.closeTo(1 - 1 / L, 1e-12);
    const short = predictedIdleFractions(pipelinedBpSchedule(L, 8), stages);
    const long = predictedIdleFractions(pipelinedBpSchedule(L, 400), stages);
    for (let s = 0; s < L; s++) {
      expect(long[s]).to.be.below(short[s]);
      expect(long[s]).to.be.below(0.02);
    }
    expect(predictedIdleFractions(pipelinedBpSchedule(L, 8), [[0, 1, 2, 3]])).to.deep.equal([0]);
  });

  // Stages that differ, so each fraction must be its own stage's. BP, L=4, stages [0] and [1,2,3],
  // unit costs (forward 1, backward 2): a frame is 7 ticks with one block busy, 12 units of work,
  // 3 of them block 0's (idle 9/12) and 9 the other stage's (idle 3/12). Pipelined BP, L=2, T=2,
  // block 1 three times as costly (forward 3, backward 6): ticks 0-3 hold [F0 | -], [F1 | F0 B0],
  // [B0 | F1 B1], [B1 | -] for stages [0] | [1], lasting 1, 9, 9, 2 = 21; busy 6 and 18.
  it("predicted idle per stage, stages of unequal work: BP on [0] | [1,2,3] and pipelined-bp with a costlier top block (worked by hand)", () => {
    const bp = predictedIdleFractions(bpSchedule(4, 5), [[0], [1, 2, 3]]);
    expect(bp[0]).to.be.closeTo(9 / 12, 1e-12);
    expect(bp[1]).to.be.closeTo(3 / 12, 1e-12);
    const pb = predictedIdleFractions(pipelinedBpSchedule(2, 2), [[0], [1]], { forward: [1, 3], backward: [2, 6] });
    expect(pb[0]).to.be.closeTo(15 / 21, 1e-12);
    expect(pb[1]).to.be.closeTo(3 / 21, 1e-12);
  });

  // A block steps at an update point only if it received a gradient since its last step. BP, L=2,
  // T=3, update_every 1: a frame is 3 ticks (F b0 | F b1, loss, B b1 | B b0); block 1 gets its
  // gradients at ticks 1, 4, 7 and block 0 at 2, 5, 8, so each steps once per frame and frame f's
  // forwards and backwards compute with version f, though an update point follows every tick.
  it("weight versions: a block steps only at update points after a new gradient (BP, L=2, T=3, update every tick)", () => {
    const acts = withWeightVersions(bpSchedule(2, 3), 1, false);
    for (const a of acts) expect(a.version, `tick ${a.tick} block ${a.block} ${a.op} frame ${a.frame}`).to.equal(a.frame);
    expect(blockFacts(bpSchedule(2, 3), 1, false).map((f) => [f.steps, f.weightLagSteps, f.versionMismatch])).to.deep.equal([[3, 0, 0], [3, 0, 0]]);
  });

  // Worked by hand (forward 1, backward 2, blocks on stages [0] and [1]). pipelined-bp, T = 2:
  // stage 1 runs F(0) at [1,2], B(0) at [2,4], F(1) at [4,5], B(1) at [5,7]; stage 0 F(0) [0,1],
  // F(1) [1,2], B(0) waits for stage 1's gradient until 4: [4,6], B(1) [7,9]. Busy 6 of 9 and 6
  // of 7; with ticks as barriers (1 + 3 + 3 + 2 = 9) stage 1 would be idle 1/3 too.
  it("simulated idle: stages run ahead as soon as their messages arrive (hand-worked pipelined-bp and Sideways cases)", () => {
    const costs = { forward: [1, 1], backward: [2, 2] };
    const stages = [[0], [1]];
    const pb = pipelinedBpSchedule(2, 2);
    const sim = simulatedIdleFractions(interpreterSteps(pb, stages, costs));
    expect(sim[0]).to.be.closeTo(1 / 3, 1e-12);
    expect(sim[1]).to.be.closeTo(1 / 7, 1e-12);
    const barrier = predictedIdleFractions(pb, stages, costs);
    expect(barrier[1]).to.be.closeTo(1 / 3, 1e-12);
    // With 1 more per call outside onnxruntime (not busy): stage 1 F(0) [2,4], B(0) [4,7], F(1)
    // [7,9], B(1) [9,12]; stage 0 F(0) [0,2], F(1) [2,4], B(0) [7,10], B(1) [12,15].
    const slow = simulatedIdleFractions(interpreterSteps(pb, stages, costs, 1));
    expect(slow[0]).to.be.closeTo(1 - 6 / 15, 1e-12);
    expect(slow[1]).to.be.closeTo(1 - 6 / 12, 1e-12);
    // Sideways, T = 3: stage 0 runs F(0) at [0,1] and F(1) at [1,2], sending each, then its last
    // tick (F(2) + B(2)) once stage 1's gradient of tick 1 is in (at 4): [4,7], busy 5 of 7.
    // Stage 1 runs tick 1 (F + B of frame 0) at [1,4] and tick 2 at [4,7]: busy 6 of 7.
    const sw = simulatedIdleFractions(sidewaysTickSteps(sidewaysSchedule(2, 3), stages, costs));
    expect(sw[0]).to.be.closeTo(2 / 7, 1e-12);
    expect(sw[1]).to.be.closeTo(1 / 7, 1e-12);
    // One stage never waits; BP frame by frame on L one-block stages is idle 1 - 1/L but for the
    // first and last frame's ramp (unit costs: each stage busy 3 of every 3L of a frame).
    expect(simulatedIdleFractions(interpreterSteps(pipelinedBpSchedule(4, 8), [[0, 1, 2, 3]], costs4()))).to.deep.equal([0]);
    expect(simulatedIdleFractions(sidewaysTickSteps(sidewaysSchedule(4, 8), [[0, 1, 2, 3]], costs4()))).to.deep.equal([0]);
    const bp = simulatedIdleFractions(interpreterSteps(bpSchedule(4, 50), [[0], [1], [2], [3]], costs4()));
    for (const idle of bp) expect(idle).to.be.closeTo(1 - 1 / 4, 0.01);
  });

  // interpreterSteps names its messages (act:k:frame, grad:k:gradFrame); this restates the run from
  // the actions alone, so a message named by the wrong frame (Sideways' backward reads a gradient
  // formed on another frame than its input) shows as a different idle or a stage waiting for ever.
  it("simulated idle of the interpreter's steps equals the stages run from the table's actions themselves (every rule, Sideways' gradient frames included)", () => {
    const costs = { forward: [1, 1.5, 1, 2], backward: [2, 3, 2.5, 4] };
    for (const [L, T] of [[3, 6], [4, 9]]) {
      const c = { forward: costs.forward.slice(0, L), backward: costs.backward.slice(0, L) };
      const plans = L === 3 ? [[[0], [1], [2]], [[0, 1], [2]]] : [[[0], [1], [2], [3]], [[0], [1, 2], [3]]];
      for (const name of METHOD_NAMES) {
        const s = RULES[name].generate(L, T);
        for (const stages of plans) {
          const expected = idleFromActions(s, stages, c);
          const got = simulatedIdleFractions(interpreterSteps(s, stages, c));
          expect(got, `${name} L=${L} T=${T} stages ${JSON.stringify(stages)}`).to.have.length(stages.length);
          got.forEach((x, i) => expect(x, `${name} L=${L} T=${T} stages ${JSON.stringify(stages)}: stage ${i}`).to.be.closeTo(expected[i], 1e-12));
        }
      }
    }
    // Sideways' lower blocks pair an input with another frame's gradient, so the case can tell the frames apart.
    expect(ofOp(sidewaysSchedule(3, 6), "backward").some((a) => a.block < 2 && a.frame !== a.gradFrame)).to.equal(true);
  });

  // Sideways' tick steps on three one-block stages, L = 3, T = 5, forward 1, backward 2: the middle
  // stage's one block is its lowest, so its call waits for the stage above's gradient of the
  // previous tick as well as the stage below's output (the two-stage case above has no middle
  // stage). Worked by hand: tick by tick the stages' work is [1 | 0 | 0], [1 | 1 | 0], [1 | 1 | 3],
  // [1 | 3 | 3], [3 | 3 | 3]; stage 2's tick 2 ends at 5, so stage 1's tick 3 runs [5,8], stage 2's
  // [5,8], and every stage's tick 4 [8,11]. Busy 7, 8 and 9 of 11.
  it("simulated idle: a middle Sideways stage waits for the gradient from above before its lowest block (hand-worked, three one-block stages)", () => {
    const idle = simulatedIdleFractions(sidewaysTickSteps(sidewaysSchedule(3, 5), [[0], [1], [2]], { forward: [1, 1, 1], backward: [2, 2, 2] }));
    [4 / 11, 3 / 11, 2 / 11].forEach((x, s) => expect(idle[s], `stage ${s}`).to.be.closeTo(x, 1e-12));
  });

  // simulateStages' latency (no caller in src passes one yet): a message read `latency` after it is
  // sent. The pipelined-bp case above (T = 2, stages [0] | [1]) with latency 1, by hand: stage 1
  // F(0) [2,3], B(0) [3,5], F(1) [5,6], B(1) [6,8]; stage 0 F(0) [0,1], F(1) [1,2], B(0) [6,8],
  // B(1) [9,11]. Busy 6 of 11 and 6 of 8.
  it("simulated idle with a message latency: every read of another stage's message starts that much later (hand-worked)", () => {
    const steps = interpreterSteps(pipelinedBpSchedule(2, 2), [[0], [1]], { forward: [1, 1], backward: [2, 2] });
    const idle = simulatedIdleFractions(steps, 1);
    expect(idle[0]).to.be.closeTo(1 - 6 / 11, 1e-12);
    expect(idle[1]).to.be.closeTo(1 - 6 / 8, 1e-12);
    expect(simulatedMakespan(steps, 1)).to.equal(11);
  });

  it("formatGrid prints ticks x blocks, counting ticks, blocks and frames from 0, with Sideways' input<gradient frames and update lines", () => {
    // Frame f at block k: forward at tick f+k, backward at tick f+2(L-1)-k (0-based; L = 2).
    expect(formatGrid(pipelinedBpSchedule(2, 3))).to.equal(
      ["tick  block 0  block 1", "0     F0       .", "1     F1       F0 L B0", "2     F2 B0    F1 L B1", "3     B1       F2 L B2", "4     B2       ."].join("\n") + "\n",
    );
    // Sideways at tick 3: block 0 takes frame 3 and the gradient block 1 formed at tick 2 on frame 1.
    const sideways = formatGrid(sidewaysSchedule(2, 4), 2);
    expect(sideways).to.contain("F3@0 B3<1@0");
    expect(sideways).to.contain("F2@0 B2<0@0");
    expect(sideways.split("\n").filter((l) => l.endsWith("update"))).to.have.length(2);
  });

  describe("sideways schedule FILE", () => {
    const GOOD = resolve("test/fixtures/specs/good.yaml");
    const run = async (args: string[]) => {
      const io = captureIo();
      const code = await main(["schedule", GOOD, ...args], io);
      return { code, ...io };
    };

    it("prints the rule's grid (ticks x blocks from 0), per-block facts and the predicted idle per stage", async () => {
      const r = await run(["train.method=pipelined-bp", "data.clip_length=5", "runtime.workers=2"]);
      expect(r.code).to.equal(0);
      const L = 2; // models/tiny.yaml
      expect(r.stdout).to.contain(`${5 + 2 * L - 2} ticks per clip batch`);
      expect(r.stdout).to.contain(formatGrid(pipelinedBpSchedule(L, 5)));
      expect(r.stdout).to.match(/\| 0 \| 5 \| 1 \| 2\.00 \| 0\.00 \| 0\.00 \| 0\.00 \| 3 \|/);
      expect(r.stdout).to.match(/predicted idle fraction per stage on 2 worker\(s\).*stage 0 \(block 0\) 0\.\d\d, stage 1 \(block 1\) 0\.\d\d$/m);
      expect(r.stdout).to.contain("the paper's 1-based k, t and frames (docs/design/sideways.md) are these plus 1");
      expect(r.stdout).to.contain("| kept MB at batch size 2 |").and.not.contain("warning:"); // good.yaml's batch
    });

    it("train.accumulate k: updates once every k clip batches, and each block's steps per clip batch are 1/k", async () => {
      const r = await run(["train.method=pipelined-bp", "data.clip_length=5", "train.accumulate=2"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain("updates once every 2 clip batches (train.accumulate 2").and.not.contain("once per clip batch");
      expect(r.stdout).to.contain("| block | gradients | steps per clip batch |");
      expect(r.stdout).to.match(/^\| 0 \| 5 \| 1\/2 \| 2\.00 \|/m).and.match(/^\| 1 \| 5 \| 1\/2 \|/m);
      const one = await run(["train.method=pipelined-bp", "data.clip_length=5"]);
      expect(one.stdout).to.contain("updates once per clip batch").and.match(/^\| 0 \| 5 \| 1 \| 2\.00 \|/m);
      // --compare's rows are per clip batch whatever the file accumulates: it says the setting does not apply.
      const compared = await run(["--compare", "train.accumulate=2"]);
      expect(compared.stderr).to.contain("accumulate (2) do not apply here");
    });

    it("with in-clip updates, each block's steps in the run, which train.schedule counts; none with updates once per clip batch", async () => {
      // models/tiny.yaml (L = 2) on 4-frame clips, updates after every tick: block 0 steps 2 times a
      // clip batch, block 1 3 times (the table's rows), so over good.yaml's 3 steps 6 and 9.
      const r = await run(["train.update_every=1"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^\| 0 \| 2 \| 2 \|/m).and.match(/^\| 1 \| 3 \| 3 \|/m);
      expect(r.stdout).to.contain("steps in the run, train.steps 3 x steps per clip batch: block 0 6, block 1 9; with train.update_every: 1 train.schedule counts each block's own steps");
      const more = await run(["train.update_every=1", "train.steps=10"]);
      expect(more.stdout).to.contain("steps in the run, train.steps 10 x steps per clip batch: block 0 20, block 1 30;");
      const clip = await run([]);
      expect(clip.code).to.equal(0);
      expect(clip.stdout).to.not.contain("steps in the run");
    });

    it("--compare: one row per rule, with the ticks, gradient, stash and predicted idle each rule's formulas give", async () => {
      const io = captureIo();
      const [L, T] = [4, 8]; // quickstart-cnn's 4 blocks
      expect(await main(["schedule", resolve("experiments/quickstart.yaml"), "--compare", `data.clip_length=${T}`, "runtime.workers=4", "train.update_every=2"], io), io.stderr).to.equal(0);
      const rows = new Map(io.stdout.split("\n").filter((l) => /^\| [a-z-]+ \| (exact|approx)/.test(l)).map((l) => { const c = l.split("|").slice(1, -1).map((x) => x.trim()); return [c[0], c]; }));
      expect([...rows.keys()]).to.deep.equal([...METHOD_NAMES]);
      // Ticks per clip batch (docs/design/sideways.md): T, T(2L-1), T+2L-2, 2T+2L-3.
      expect(METHOD_NAMES.map((m) => Number(rows.get(m)![2]))).to.deep.equal([T, T * (2 * L - 1), T + 2 * L - 2, 2 * T + 2 * L - 3]);
      expect(METHOD_NAMES.map((m) => rows.get(m)![1])).to.deep.equal(["approximate", "exact (BP's)", "exact (BP's)", "exact (BP's)"]);
      // The most inputs a block keeps: pipelined BP's bottom block min(T, 2L-1), GPipe every block T.
      expect(rows.get("pipelined-bp")![5]).to.equal(String(Math.min(T, 2 * L - 1)));
      expect(rows.get("gpipe")![5]).to.equal(String(T));
      // T >= 2L-1: every block learns under Sideways too.
      for (const m of METHOD_NAMES) expect(rows.get(m)![3], m).to.equal(`${L} of ${L}`);
      // GPipe on one block per stage: stage k idles 1 - 3T/(3(T+L-1) - 2k) (test/gpipe.test.ts).
      expect(rows.get("gpipe")![7]).to.equal(Array.from({ length: L }, (_, k) => (1 - (3 * T) / (3 * (T + L - 1) - 2 * k)).toFixed(2)).join(" "));
      // Per-clip updates whatever the file or overrides say, and it says so.
      expect(io.stderr).to.contain("--compare shows a row for every train.method, each with updates once per clip batch; ").and.contain("'s train.method (sideways), update_every (2) do not apply here");
      // Short clips: Sideways' block k learns only if T >= 2L-1-k (T = 4: the top block alone).
      io.stdout = "";
      expect(await main(["schedule", resolve("experiments/quickstart.yaml"), "--compare", "data.clip_length=4"], io)).to.equal(0);
      expect(io.stdout).to.match(/^\| sideways \| approximate \| 4 \| 1 of 4 \|/m);
      // The file's own method alone: it is a row like the others, so the note says it does not select one (not that it is "left out").
      expect(io.stderr).to.contain("quickstart.yaml's train.method (sideways) does not apply here").and.not.contain("left out");
    });

    it("runtime.replicas R: a stage per replica (metrics.csv's _s<s>), none idle, and kept MB at the largest replica's share of the batch", async () => {
      // quickstart-cnn (L = 4), batch 16 on 3 replicas: shares of 5, 5 and 6 clips, contiguous.
      const [L, T, B, R] = [4, 8, 16, 3];
      const largest = Math.ceil(B / R);
      const inShape = loadModelFile(resolve("models/quickstart-cnn.yaml")).blocks[1].inShape;
      // pipelined-bp's block k (0-based) keeps 2(L-1-k)+1 inputs; float32, MiB.
      const mb = (clips: number) => (((2 * (L - 1 - 1) + 1) * clips * inShape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20).toFixed(2);
      const io = captureIo();
      const args = ["schedule", resolve("experiments/quickstart.yaml"), "train.method=pipelined-bp", `data.clip_length=${T}`];
      expect(await main([...args, `runtime.replicas=${R}`], io), io.stderr).to.equal(0);
      expect(io.stdout).to.contain(`| kept MB per replica (${largest} of the batch's ${B} clips on ${R} replicas) |`);
      expect(io.stdout).to.match(new RegExp(`^\\| 1 \\| ${T} \\| 1 \\| 4\\.00 \\| 0\\.00 \\| 0\\.00 \\| 0\\.00 \\| 5 \\| ${mb(largest).replace(".", "\\.")} \\|$`, "m"));
      expect(io.stdout).to.contain(`on ${R} data-parallel replicas`).and.contain("stage 0 (replica 0, blocks 0-3) 0.00, stage 1 (replica 1, blocks 0-3) 0.00, stage 2 (replica 2, blocks 0-3) 0.00");
      // One stage: the whole batch, as before.
      const one = captureIo();
      expect(await main(args, one)).to.equal(0);
      expect(one.stdout).to.contain(`| kept MB at batch size ${B} |`).and.match(new RegExp(`^\\| 1 \\| ${T} \\|.* \\| 5 \\| ${mb(B).replace(".", "\\.")} \\|$`, "m"));
      // --compare: a column per replica, the kept MB one replica's.
      const compared = captureIo();
      expect(await main(["schedule", resolve("experiments/quickstart.yaml"), "--compare", `data.clip_length=${T}`, `runtime.replicas=${R}`], compared)).to.equal(0);
      const pipelined = compared.stdout.split("\n").find((l) => l.startsWith("| pipelined-bp |"))!.split("|").slice(1, -1).map((c) => c.trim());
      expect(pipelined[7]).to.equal("0.00 0.00 0.00");
      const all = loadModelFile(resolve("models/quickstart-cnn.yaml")).blocks.reduce((sum, b, k) => sum + (Math.min(T, 2 * (L - 1 - k) + 1) * largest * b.inShape.reduce((x, y) => x * y, 1) * 4) / 2 ** 20, 0);
      expect(pipelined[6]).to.equal(all.toFixed(2));
    });

    it("bp on a GPU provider: --compare's row is a run with train.accumulate 1 (the device step, every frame), as its note says, whatever the file's accumulate", async () => {
      // runtime.device_step auto takes the device step on a GPU provider (every frame of a clip in
      // one pass) unless train.accumulate > 1 keeps the run on the host path (a pass of
      // bp_frames_per_pass frames, the CPU's count for the same settings).
      const T = 8;
      const common = [resolve("experiments/quickstart.yaml"), `data.clip_length=${T}`, "train.bp_frames_per_pass=3"];
      const keptBy = async (args: string[], row: (out: string) => string) => {
        const io = captureIo();
        expect(await main(["schedule", ...common, ...args], io), io.stderr).to.equal(0);
        return row(io.stdout);
      };
      const compareRow = (out: string) => out.split("\n").find((l) => l.startsWith("| bp |"))!.split("|").slice(1, -1).map((c) => c.trim())[5];
      const blockRow = (out: string) => out.split("\n").find((l) => l.startsWith("| 0 |"))!.split("|").slice(1, -1).map((c) => c.trim())[7];
      expect(await keptBy(["--compare", "runtime.provider=cuda"], compareRow)).to.equal(String(T));
      expect(await keptBy(["--compare", "runtime.provider=cuda", "train.accumulate=2"], compareRow)).to.equal(String(T));
      expect(await keptBy(["--compare", "runtime.provider=cpu", "train.accumulate=2"], compareRow)).to.equal("3");
      // One rule's table keeps the file's accumulate: with 2, a run of it trains on the host path.
      expect(await keptBy(["train.method=bp", "runtime.provider=cuda", "train.accumulate=2"], blockRow)).to.equal("3");
      expect(await keptBy(["train.method=bp", "runtime.provider=cuda"], blockRow)).to.equal(String(T));
    });

    it("bp: the inputs a block keeps are a run's pass of frames (summary.json's execution.bp_frames_per_pass), not the grid's one frame", async () => {
      // A one-step BP run records the frames per pass it took; the schedule must say the same.
      const dir = mkdtempSync(join(tmpdir(), "sideways-bp-pass-"));
      try {
        const [T, B] = [8, 16];
        const blocks = loadModelFile(resolve("models/quickstart-cnn.yaml")).blocks;
        const common = [resolve("experiments/quickstart.yaml"), "train.method=bp", `data.clip_length=${T}`, `train.batch_size=${B}`];
        for (const setting of ["auto", "all", "3"]) {
          const ran = captureIo();
          expect(await main(["run", ...common, `train.bp_frames_per_pass=${setting}`, "train.steps=1", "eval.every=0", `output.dir=${join(dir, setting)}`, "--quiet"], ran), ran.stderr).to.equal(0);
          const [runId] = readdirSync(join(dir, setting)).filter((n) => !n.includes("."));
          const summary = JSON.parse(readFileSync(join(dir, setting, runId, "summary.json"), "utf8"));
          const F = summary.execution.at(-1).bp_frames_per_pass as number;
          expect(F, setting).to.equal(setting === "all" ? T : setting === "3" ? 3 : F);
          const mb = (k: number) => (F * B * blocks[k].inShape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20;
          const io = captureIo();
          expect(await main(["schedule", ...common, `train.bp_frames_per_pass=${setting}`], io), io.stderr).to.equal(0);
          for (let k = 0; k < blocks.length; k++) expect(io.stdout, `${setting}, block ${k}`).to.match(new RegExp(`^\\| ${k} \\| ${T} \\|.* \\| ${F} \\| ${mb(k).toFixed(2).replace(".", "\\.")} \\|$`, "m"));
          expect(io.stdout).to.contain(`bp's inputs kept are a pass's: a run takes ${F === T ? `all ${T} frames` : `${F} of the ${T} frames`} of each clip in one pass`);
          const compared = captureIo();
          expect(await main(["schedule", ...common, `train.bp_frames_per_pass=${setting}`, "--compare"], compared)).to.equal(0);
          const bp = compared.stdout.split("\n").find((l) => l.startsWith("| bp |"))!.split("|").slice(1, -1).map((c) => c.trim());
          expect(bp[5], setting).to.equal(String(F));
          expect(bp[6], setting).to.equal(blocks.reduce((sum, _, k) => sum + mb(k), 0).toFixed(2));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("--compare of a sweep file: a note names the swept keys its rows take from the base configuration, but not the rule settings it sets itself", async () => {
      const dir = mkdtempSync(join(tmpdir(), "sideways-compare-"));
      try {
        // A sweep over clip lengths: the rows are of the base file's 8 frames, not a run's 4 or 16.
        const file = join(dir, "clips.yaml");
        writeFileSync(file, `name: clips\nmodel: ${resolve("models/quickstart-cnn.yaml")}\ndata: { kind: shapes, clip_length: 8 }\nsweep:\n  grid: { data.clip_length: [4, 16], train.method: [bp, sideways] }\n`);
        const io = captureIo();
        expect(await main(["schedule", file, "--compare"], io), io.stderr).to.equal(0);
        expect(io.stdout).to.contain("clips of 8 frames");
        expect(io.stderr).to.contain(`${file} has a sweep: section; these rows are of its base configuration's data.clip_length, not a run's (override it to see a run's)`);
        // Overridden: one run's rows, no note; a sweep over the rules alone (sweep-good.yaml) needs none either.
        const one = captureIo();
        expect(await main(["schedule", file, "--compare", "data.clip_length=16"], one), one.stderr).to.equal(0);
        expect(one.stderr).to.not.contain("sweep: section");
        const rules = captureIo();
        expect(await main(["schedule", resolve("test/fixtures/specs/sweep-good.yaml"), "--compare"], rules), rules.stderr).to.equal(0);
        expect(rules.stderr).to.not.contain("sweep: section");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("clips too short for Sideways: the blocks without a gradient show '-' for their delays, and a warning names them, as validate does", async () => {
      const r = await run(["train.method=sideways", "data.clip_length=2"]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^\| 0 \| 0 \| 0 \| - \| - \| - \| - \| 0 \|/m);
      expect(r.stdout).to.match(/^\| 1 \| 1 \| 1 \| 0\.00 \|/m);
      expect(r.stdout).to.contain("warning: 1 block (0) never gets a gradient on 2-frame clips, so it keeps its initial weights; validate refuses this unless --allow-warnings, run and sweep train with a warning");
    });

    // The block a row of the table names is the block whose metrics.csv columns end in _b<that
    // number>, and likewise for the grid's columns and the stages (all count from 0). The cases
    // differ between blocks (Sideways' n_k, the share of inputs from other weights without
    // stashing), so a table numbered from 1 would fail here.
    it("the table's block k is metrics.csv's _b<k>, the grid's column 'block k' and stage s the _s<s> columns, for every rule with per-block differences", async () => {
      const tableColumns: Record<string, string> = {
        gradients: "n",
        "gradient delay (ticks)": "grad_delay_ticks",
        "weight lag (steps)": "weight_lag_steps",
        "weights stale (ticks)": "weight_stale_ticks",
        "inputs from other weights": "stale_input_frac",
      };
      const cases = [
        { overrides: ["train.method=sideways"], differs: "gradients" },
        { overrides: ["train.method=pipelined-bp", "train.update_every=2"], differs: "inputs from other weights" },
        { overrides: ["train.method=pipelined-bp", "train.update_every=2", "train.weight_stashing=true"], differs: "weights stale (ticks)" },
      ];
      for (const { overrides, differs } of cases) {
        const printed = await run([...overrides, "runtime.workers=2"]);
        expect(printed.code, printed.stderr).to.equal(0);
        const lines = printed.stdout.split("\n");
        const header = lines.find((l) => l.startsWith("| block |"))!.split("|").slice(1, -1).map((c) => c.trim());
        const table = lines.filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
        expect(table.map((r) => r[0]), `${overrides}: the table's block column`).to.deep.equal(["0", "1"]);
        const column = (name: string) => table.map((r) => r[header.indexOf(name)]);
        expect(new Set(column(differs)).size, `${overrides}: ${differs} differs between blocks`).to.equal(2);
        // The grid: the backwards ("B<f>") in column 'block k' are block k's gradients.
        const gridHeader = lines.find((l) => l.startsWith("tick  "))!.split(/ {2,}/);
        expect(gridHeader).to.deep.equal(["tick", "block 0", "block 1"]);
        const gridRows = lines.filter((l) => /^\d+ {2,}/.test(l)).map((l) => l.split(/ {2,}/));
        const gridBackwards = [1, 2].map((c) => gridRows.reduce((n, r) => n + (r[c].match(/B\d/g) ?? []).length, 0));
        const stages = [...printed.stdout.matchAll(/stage (\d+) \(blocks? (\d+)(?:-(\d+))?\) (\d\.\d\d)/g)];
        // One block a stage: "block k", as model summary's stage plan prints it (not "blocks k-k").
        expect(stages.map((m) => [m[1], m[2], m[3]])).to.deep.equal([["0", "0", undefined], ["1", "1", undefined]]);

        const dir = mkdtempSync(join(tmpdir(), "sideways-numbering-"));
        try {
          const io = captureIo();
          expect(await main(["run", GOOD, ...overrides, "runtime.workers=2", "diagnostics.every=1", `output.dir=${dir}`, "--quiet"], io), io.stderr).to.equal(0);
          const rows = readCsv(join(dir, readdirSync(dir)[0], "metrics.csv")).rows;
          expect(rows).to.have.length(3);
          for (const row of rows) {
            table.forEach((r) => {
              const k = r[0];
              // The table prints two decimals; the run logs the same analysis (src/train/diagnostics.ts) unrounded.
              for (const [name, prefix] of Object.entries(tableColumns)) expect(Number(row[`${prefix}_b${k}`]).toFixed(name === "gradients" ? 0 : 2), `${overrides}: ${prefix}_b${k}`).to.equal(r[header.indexOf(name)]);
              expect(Number(row[`n_b${k}`]), `${overrides}: grid column block ${k}`).to.equal(gridBackwards[Number(k)]);
            });
            for (const m of stages) expect(Number(row[`idle_pred_frac_s${m[1]}`]).toFixed(2), `${overrides}: idle_pred_frac_s${m[1]}`).to.equal(m[4]);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });

    it("sideways run with pipelined-bp, in-clip updates and stashing on 2 workers: completes, logging the table's staleness per block", async () => {
      const dir = mkdtempSync(join(tmpdir(), "sideways-pipelined-"));
      try {
        const io = captureIo();
        const args = ["run", GOOD, "train.method=pipelined-bp", "train.update_every=2", "train.weight_stashing=true", "diagnostics.every=1", "runtime.workers=2", `output.dir=${dir}`, "--quiet"];
        expect(await main(args, io), io.stderr).to.equal(0);
        // output.dir holds one folder per run (named by its run id).
        const runs = readdirSync(dir);
        expect(runs).to.have.length(1);
        const rows = readCsv(join(dir, runs[0], "metrics.csv")).rows;
        expect(rows).to.have.length(3);
        const facts = blockFacts(pipelinedBpSchedule(2, 4), 2, true);
        // Peak stash per stage (one block each), by the rule (docs/design/sideways.md, "Facts for the
        // new rules"): block k (1-based) holds min(T, 2(L-k)+1) inputs, 3 for block 1 and 1 for block
        // 2 at L=2, T=4. Each stashed input holds its B=2 clips' frame and the activations its
        // backward reads, by hand for models/tiny.yaml: block 0 (conv 3x3 stride 2, relu, global
        // pool) its 1x8x8 input (the conv's weight gradient) and its 4x4x4 relu output (the relu's
        // mask; the pool's backward needs only shapes), block 1 (linear) its 4 inputs. float32 bytes,
        // logged in MiB (2^20 bytes, src/train/diagnostics.ts).
        const B = 2;
        const entryBytes = [B * (1 * 8 * 8 + 4 * 4 * 4) * 4, B * 4 * 4];
        const peakInputs = [1, 2].map((k) => Math.min(4, 2 * (2 - k) + 1));
        expect(peakInputs).to.deep.equal([3, 1]);
        for (const row of rows) {
          for (const s of [0, 1]) expect(Number(row[`stash_mb_s${s}`]), `stash_mb_s${s}`).to.equal((peakInputs[s] * entryBytes[s]) / 2 ** 20);
          expect(Number(row.weight_stale_ticks_b0)).to.equal(facts[0].weightStaleTicks);
          expect(Number(row.grad_delay_ticks_b0)).to.equal(2);
          expect(Number(row.n_b1)).to.equal(4);
          expect(Number(row.cos_b1)).to.be.within(-1, 1);
        }
        expect(facts[0].weightStaleTicks, "the case has stale weights to report").to.be.above(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // The share of backwards on inputs a forward computed with other weights (in-clip updates without
    // stashing; docs/design/sideways.md, "Diagnostics every rule reports") was computed but shown nowhere.
    it("in-clip updates without stashing: the share of backwards on inputs from other weights, in the table and the diagnostics", async () => {
      const facts = blockFacts(pipelinedBpSchedule(2, 4), 2, false);
      expect(facts[0].versionMismatch, "the case has such backwards").to.be.above(0);
      const printed = await run(["train.method=pipelined-bp", "train.update_every=2"]);
      expect(printed.code).to.equal(0);
      expect(printed.stdout).to.contain("| inputs from other weights |");
      expect(printed.stdout).to.contain(`| 0 | 4 | ${facts[0].steps} | 2.00 | 0.00 | 0.00 | ${facts[0].versionMismatch.toFixed(2)} |`);
      const dir = mkdtempSync(join(tmpdir(), "sideways-pipelined-"));
      try {
        const io = captureIo();
        const args = ["run", GOOD, "train.method=pipelined-bp", "train.update_every=2", "diagnostics.every=1", `output.dir=${dir}`, "--quiet"];
        expect(await main(args, io), io.stderr).to.equal(0);
        const rows = readCsv(join(dir, readdirSync(dir)[0], "metrics.csv")).rows;
        for (const row of rows) {
          expect(Number(row.stale_input_frac_b0)).to.equal(facts[0].versionMismatch);
          expect(Number(row.stale_input_frac_b1)).to.equal(facts[1].versionMismatch);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a sweep file: the base configuration's table, with a note saying so (its runs may use other rules)", async () => {
      const io = captureIo();
      expect(await main(["schedule", resolve("test/fixtures/specs/sweep-good.yaml")], io)).to.equal(0);
      expect(io.stderr).to.contain("has a sweep: section; this is the table of its base configuration's train.method, not a run's");
      expect((await run([])).stderr).to.equal("");
    });

    it("a sweep file whose swept keys the overrides set: one run's table, with no note that it is the base configuration's", async () => {
      const io = captureIo();
      expect(await main(["schedule", resolve("test/fixtures/specs/sweep-good.yaml"), "train.method=sideways"], io), io.stderr).to.equal(0);
      expect(io.stdout).to.contain("sideways: depth-parallel");
      expect(io.stderr).to.not.contain("sweep: section");
    });

    it("a sweep file with some swept keys overridden: the note names the keys still taken from the base configuration", async () => {
      const io = captureIo();
      expect(await main(["schedule", resolve("experiments/rules-study.yaml"), "train.method=pipelined-bp"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.contain("base configuration's train.update_every, train.weight_stashing, not a run's");
      expect(io.stderr).to.not.contain("train.method,");
    });

    it("the excerpt of the grid in docs/design/sideways.md is what `schedule experiments/quickstart.yaml` prints", async () => {
      const doc = readFileSync("docs/design/sideways.md", "utf8");
      const excerpt = /`sideways schedule experiments\/quickstart.yaml`[^\n]*\n```\n([^`]*)```/.exec(doc);
      expect(excerpt, "the excerpt after its command in docs/design/sideways.md").to.not.equal(null);
      const io = captureIo();
      expect(await main(["schedule", resolve("experiments/quickstart.yaml")], io), io.stderr).to.equal(0);
      const printed = io.stdout.split("\n");
      const shown = excerpt![1].split("\n").filter((l) => l !== "" && l !== "...");
      expect(shown).to.have.length.above(2);
      for (const line of shown) expect(printed, line).to.include(line);
    });

    it("an experiment whose data is elsewhere (video-folder, data.root absent): the table, exit 0; validate still exits 2 naming data.root", async () => {
      const dir = mkdtempSync(join(tmpdir(), "sideways-schedule-"));
      try {
        const absent = join(dir, "no-such-UCF-101");
        const file = join(dir, "ucf101.yaml");
        const text = readFileSync("experiments/ucf101.yaml", "utf8");
        expect(text, "the copy moves data.root").to.contain("root: /data/UCF-101\n");
        writeFileSync(file, text.replace("root: /data/UCF-101\n", `root: ${absent}\n`));
        const shown = captureIo();
        expect(await main(["schedule", file], shown), shown.stderr).to.equal(0);
        expect(shown.stdout).to.contain("model ucf101-cnn: 5 blocks; clips of 16 frames");
        expect(shown.stdout).to.contain("| block | gradients |");
        const checked = captureIo();
        expect(await main(["validate", file], checked)).to.equal(2);
        // data.root is a folder (of class folders): the message says folder, not file.
        expect(checked.stderr).to.contain(`${file}: data.root: folder not found: '${absent}'`);
        // Every other check still applies to schedule: a misspelt key is exit 2 naming file and key.
        const typo = join(dir, "typo.yaml");
        writeFileSync(typo, text.replace("  frame_stride: 1\n", "  frame_strid: 1\n"));
        const bad = captureIo();
        expect(await main(["schedule", typo], bad)).to.equal(2);
        expect(bad.stderr).to.contain(typo).and.to.contain("data: unknown key 'frame_strid' (did you mean 'frame_stride'?)");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a method outside the registry or stashing for a rule without it: exit 2 naming the key", async () => {
      const bad = await run(["train.method=interleaved-1f1b"]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain("train.method: expected one of sideways | bp | pipelined-bp | gpipe");
      const stash = await run(["train.weight_stashing=true"]);
      expect(stash.code).to.equal(2);
      expect(stash.stderr).to.contain("train.weight_stashing: expected false for method sideways");
      const every = await run(["train.method=bp", "train.update_every=4"]);
      expect(every.code).to.equal(2);
      expect(every.stderr).to.contain("train.update_every: expected clip for method bp");
    });
  });
});

function costs4() {
  return { forward: [1, 1, 1, 1], backward: [2, 2, 2, 2] };
}

/**
 * The Sideways rule of docs/design/sideways.md stepped tick by tick, written from its text (0-based
 * ticks, blocks, frames), independently of src/schedule/rules.ts: every block with an input runs
 * its forward (step 2), the top block's gradient is this tick's loss (step 3), block k's the input
 * gradient block k+1 formed at the tick before (step 4), and a block with both runs its backward
 * (step 5).
 */
function sidewaysByTheRule(L: number, T: number) {
  const top = L - 1;
  const forwards: { tick: number; block: number; frame: number }[] = [];
  const backwards: { tick: number; block: number; frame: number; gradFrame: number }[] = [];
  let outPrev: (number | null)[] = new Array(L).fill(null);
  let downPrev: (number | null)[] = new Array(L).fill(null);
  for (let t = 0; t < T; t++) {
    const out: (number | null)[] = new Array(L).fill(null);
    const down: (number | null)[] = new Array(L).fill(null);
    for (let k = 0; k < L; k++) {
      const input = k === 0 ? t : outPrev[k - 1];
      if (input === null) continue;
      forwards.push({ tick: t, block: k, frame: input });
      out[k] = input;
      const grad = k === top ? input : downPrev[k + 1];
      if (grad === null) continue;
      backwards.push({ tick: t, block: k, frame: input, gradFrame: grad });
      down[k] = grad;
    }
    outPrev = out;
    downPrev = down;
  }
  return { forwards, backwards };
}

/**
 * Per stage, the idle fraction of a run of the table's forwards and backwards, each stage in table
 * order and each action as soon as its stage is free and, when its producer is on another stage,
 * that action has ended: a forward of block k on frame f waits for block k-1's forward of f, a
 * backward of block k with gradient frame g for block k+1's backward with g (the one action that
 * forms it: checkSchedule). Idle = 1 - busy / end, as src/schedule/simulate.ts states it.
 */
function idleFromActions(s: Schedule, stages: number[][], costs: { forward: number[]; backward: number[] }): number[] {
  const stageOf = new Map(stages.flatMap((bs, i) => bs.map((k) => [k, i] as const)));
  const queues = stages.map((_, i) => s.actions.filter((a) => a.op !== "loss" && stageOf.get(a.block) === i));
  const producer = (a: Action) => (a.op === "forward" ? (a.block > 0 ? `F:${a.block - 1}:${a.frame}` : null) : a.block < s.blocks - 1 ? `B:${a.block + 1}:${a.gradFrame}` : null);
  const producerBlock = (a: Action) => (a.op === "forward" ? a.block - 1 : a.block + 1);
  const ended = new Map<string, number>();
  const clock = stages.map(() => 0);
  const busy = stages.map(() => 0);
  const next = stages.map(() => 0);
  while (next.some((n, i) => n < queues[i].length)) {
    let moved = false;
    queues.forEach((q, i) => {
      for (; next[i] < q.length; next[i]++) {
        const a = q[next[i]];
        const from = producer(a);
        const remote = from !== null && stageOf.get(producerBlock(a)) !== i;
        if (remote && !ended.has(from)) break;
        const cost = a.op === "forward" ? costs.forward[a.block] : costs.backward[a.block];
        clock[i] = Math.max(clock[i], remote ? ended.get(from)! : 0) + cost;
        busy[i] += cost;
        ended.set(a.op === "forward" ? `F:${a.block}:${a.frame}` : `B:${a.block}:${a.gradFrame}`, clock[i]);
        moved = true;
      }
    });
    if (!moved) throw new Error("the stages wait on each other for ever");
  }
  return busy.map((b, i) => 1 - b / clock[i]);
}
