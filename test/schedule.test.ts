import { expect } from "chai";
import { blockLearningRates, learningRate } from "../src/optim/schedule.js";
import { ScheduleSpec } from "../src/spec/experiment-spec.js";

/** [schedule, base lr, total steps, [step, expected lr] pairs computed by hand]. */
const TABLES: Array<[string, unknown, number, number, Array<[number, number]>]> = [
  ["constant", { kind: "constant" }, 0.1, 10, [[0, 0.1], [5, 0.1], [9, 0.1]]],
  // warm-up W=4: base * (s+1)/4 = 0.025, 0.05, 0.075, 0.1, then constant
  ["constant, warm-up 4", { kind: "constant", warmup_steps: 4 }, 0.1, 10, [[0, 0.025], [1, 0.05], [2, 0.075], [3, 0.1], [4, 0.1], [9, 0.1]]],
  // gamma^floor(s/3): steps 0-2 -> 1, 3-5 -> 0.5, 6-8 -> 0.25, 9 -> 0.125
  ["step 3, gamma 0.5", { kind: "step", step_size: 3, gamma: 0.5 }, 1, 10, [[0, 1], [2, 1], [3, 0.5], [5, 0.5], [6, 0.25], [9, 0.125]]],
  // warm-up 2 (0.5, 1), then gamma counted from the end of warm-up: u = s-2
  ["step 2, gamma 0.1, warm-up 2", { kind: "step", step_size: 2, gamma: 0.1, warmup_steps: 2 }, 1, 8, [[0, 0.5], [1, 1], [2, 1], [3, 1], [4, 0.1], [5, 0.1], [6, 0.01], [7, 0.01]]],
  // N=4, no warm-up: 0.5 * (1 + cos(pi s/4)) = 1, 0.853553, 0.5, 0.146447
  ["cosine", { kind: "cosine" }, 1, 4, [[0, 1], [1, 0.8535533905932737], [2, 0.5], [3, 0.14644660940672624]]],
  // min 0.1: 0.1 + 0.9 * 0.5 * (1 + cos(pi s/4)) = 1, 0.868198, 0.55, 0.231802
  ["cosine to min_lr 0.1", { kind: "cosine", min_lr: 0.1 }, 1, 4, [[0, 1], [1, 0.8681980515339464], [2, 0.55], [3, 0.2318019484660536]]],
  // warm-up 2 of N=6 (0.1, 0.2), then cosine over N-W=4 updates from 0.2: 0.2, 0.170711, 0.1, 0.029289
  ["cosine, warm-up 2", { kind: "cosine", warmup_steps: 2 }, 0.2, 6, [[0, 0.1], [1, 0.2], [2, 0.2], [3, 0.17071067811865476], [4, 0.1], [5, 0.029289321881345254]]],
];

describe("learningRate schedules", () => {
  for (const [name, raw, base, total, table] of TABLES) {
    it(name, () => {
      const spec = ScheduleSpec.parse(raw);
      // Hand values carry 16 significant digits; 1e-12 allows for cos() rounding only.
      for (const [step, lr] of table) expect(learningRate(spec, base, step, total)).to.be.closeTo(lr, 1e-12, `step ${step}`);
    });
  }

  it("cosine decreases monotonically and stays above min_lr", () => {
    const spec = ScheduleSpec.parse({ kind: "cosine", warmup_steps: 10, min_lr: 0.01 });
    let previous = Infinity;
    for (let s = 10; s < 1000; s++) {
      const lr = learningRate(spec, 1, s, 1000);
      expect(lr).to.be.at.most(previous);
      expect(lr).to.be.greaterThan(0.01);
      previous = lr;
    }
  });

  it("rejects a step outside [0, totalSteps) as a bug", () => {
    const spec = ScheduleSpec.parse({ kind: "constant" });
    expect(() => learningRate(spec, 1, 10, 10)).to.throw(/^BUG: learning-rate step 10 outside \[0, 10\)/);
    expect(() => learningRate(spec, 1, -1, 10)).to.throw(/^BUG/);
  });

  it("in-clip updates: the schedule counts each block's own steps (blockLearningRates)", () => {
    // step schedule, base 1, gamma 0.1 every 2 steps; 3 clip batches; block 0 steps 3 times a clip
    // batch (9 steps in all), block 1 once (3 in all): in clip batch 1, block 0 takes its steps 3-5
    // (lr 0.1 0.01 0.01), block 1 its step 1 (lr 1).
    const spec = ScheduleSpec.parse({ kind: "step", step_size: 2, gamma: 0.1 });
    const lrs = blockLearningRates(spec, 1, 1, 3, [3, 1]);
    expect(lrs[0].map((v) => +v.toPrecision(12))).to.deep.equal([0.1, 0.01, 0.01]);
    expect(lrs[1]).to.deep.equal([1]);
    // One step per clip batch: the clip-level schedule.
    const cosine = ScheduleSpec.parse({ kind: "cosine", warmup_steps: 2 });
    for (let c = 0; c < 10; c++) expect(blockLearningRates(cosine, 0.5, c, 10, [1, 1])).to.deep.equal([[learningRate(cosine, 0.5, c, 10)], [learningRate(cosine, 0.5, c, 10)]]);
    expect(blockLearningRates(spec, 1, 0, 3, [0])).to.deep.equal([[]]);
  });
});
