import { expect } from "chai";
import { resolve } from "node:path";
import { SpecError } from "../src/errors.js";
import { blockLearningRates, learningRate } from "../src/optim/schedule.js";
import { ScheduleSpec } from "../src/spec/experiment-spec.js";
import { loadExperiment } from "../src/spec/load-experiment.js";

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
  // gamma^(milestones <= s): [2, 5, 6] -> 1 1 | 0.5 0.5 0.5 | 0.25 | 0.125 ...; the values that
  // torch 1.13's MultiStepLR(milestones=[2, 5, 6], gamma=0.5) gave before each of 9 optimizer steps
  ["multistep [2, 5, 6], gamma 0.5", { kind: "multistep", milestones: [2, 5, 6], gamma: 0.5 }, 1, 9, [[0, 1], [1, 1], [2, 0.5], [3, 0.5], [4, 0.5], [5, 0.25], [6, 0.125], [7, 0.125], [8, 0.125]]],
  // warm-up 2 (0.5, 1), then milestones counted from the end of warm-up, u = s-2; gamma 0.1 by default
  ["multistep [1, 3], warm-up 2", { kind: "multistep", milestones: [1, 3], warmup_steps: 2 }, 1, 7, [[0, 0.5], [1, 1], [2, 1], [3, 0.1], [4, 0.1], [5, 0.01], [6, 0.01]]],
  // N=5: 0.5 + (0.1 - 0.5) * s/5 = 0.5 0.42 0.34 0.26 0.18, as torch 1.13's
  // LinearLR(start_factor=1, end_factor=0.2, total_iters=5) gave (end_lr would be at s=5)
  ["linear to end_lr 0.1", { kind: "linear", end_lr: 0.1 }, 0.5, 5, [[0, 0.5], [1, 0.42], [2, 0.34], [3, 0.26], [4, 0.18]]],
  // end_lr 0: 0.5 * (1 - s/5), torch 1.13's PolynomialLR(total_iters=5, power=1)
  ["linear to 0", { kind: "linear" }, 0.5, 5, [[0, 0.5], [1, 0.4], [2, 0.3], [3, 0.2], [4, 0.1]]],
  // warm-up 2 of N=6 (0.1, 0.2), then linear over N-W=4 updates from 0.2 towards 0
  ["linear, warm-up 2", { kind: "linear", warmup_steps: 2 }, 0.2, 6, [[0, 0.1], [1, 0.2], [2, 0.2], [3, 0.15], [4, 0.1], [5, 0.05]]],
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

  it("multistep: the rate is multiplied by gamma at each milestone (counted after warm-up) and nowhere else", () => {
    const [base, gamma, warmup, total] = [0.3, 0.2, 5, 60];
    const milestones = [1, 7, 8, 30, 54];
    const spec = ScheduleSpec.parse({ kind: "multistep", milestones, gamma, warmup_steps: warmup });
    // PyTorch's chained form: start at base after warm-up, multiply when an update reaches a milestone.
    let expected = base;
    for (let s = warmup; s < total; s++) {
      if (milestones.includes(s - warmup)) expected *= gamma;
      expect(learningRate(spec, base, s, total)).to.be.closeTo(expected, 1e-15, `step ${s}`);
    }
    expect(expected).to.be.closeTo(base * gamma ** 5, 1e-15);
  });

  it("linear: equal decrements from base after warm-up, the last update at end_lr + (base - end_lr) / (N - W)", () => {
    const [base, end, warmup, total] = [0.4, 0.01, 3, 20];
    const spec = ScheduleSpec.parse({ kind: "linear", end_lr: end, warmup_steps: warmup });
    const lrs = Array.from({ length: total - warmup }, (_, u) => learningRate(spec, base, warmup + u, total));
    expect(lrs[0]).to.equal(base);
    for (let u = 1; u < lrs.length; u++) expect(lrs[u - 1] - lrs[u]).to.be.closeTo((base - end) / (total - warmup), 1e-15, `update ${u}`);
    expect(lrs.at(-1)).to.be.closeTo(end + (base - end) / (total - warmup), 1e-15);
    expect(lrs.at(-1)).to.be.greaterThan(end);
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
    // Milestones, too, count a block's own steps: block 0's steps 3-5 pass milestone 4.
    const multistep = ScheduleSpec.parse({ kind: "multistep", milestones: [4] });
    expect(blockLearningRates(multistep, 1, 1, 3, [3, 1])).to.deep.equal([[1, 0.1, 0.1], [1]]);
  });
});

describe("multistep milestones against train.steps", () => {
  // good.yaml: train.steps 3, so updates 0, 1 and 2.
  const GOOD = resolve("test/fixtures/specs/good.yaml");
  const load = (...overrides: string[]) => loadExperiment(GOOD, overrides).spec;

  it("a milestone at the last update is taken; one at train.steps - warmup_steps, which no update reaches, is refused", () => {
    const spec = load("train.schedule={kind: multistep, milestones: [2]}");
    expect(learningRate(spec.train.schedule, 1, 2, spec.train.steps)).to.be.closeTo(0.1, 1e-15);
    expect(() => load("train.schedule={kind: multistep, milestones: [3]}")).to.throw(SpecError, /train\.schedule\.milestones: expected each milestone below 3 .*3 would never take effect/);
    // Warm-up moves the bound: one update after a warm-up of 2.
    expect(() => load("train.schedule={kind: multistep, milestones: [1], warmup_steps: 2}")).to.throw(SpecError, /expected each milestone below 1 /);
    expect(() => load("train.schedule={kind: multistep, milestones: [1], warmup_steps: 3}")).to.throw(SpecError, /expected train\.steps above train\.schedule\.warmup_steps for a milestone to take effect/);
  });

  it("with in-clip updates milestones count a block's own steps, several per clip batch, so train.steps does not bound them", () => {
    expect(load("train.update_every=1", "train.schedule={kind: multistep, milestones: [5]}").train.schedule).to.deep.include({ milestones: [5] });
  });
});
