/** Sweep expansion: counts, order, deterministic ids and random samples, validation of every run. */
import { expect } from "chai";
import { join, resolve } from "node:path";
import { SpecError } from "../src/errors.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { runIdFor } from "../src/spec/run-id.js";
import { expandSweep, planSweep } from "../src/spec/sweep-expand.js";
import { SweepSpec } from "../src/spec/sweep-spec.js";
const FIXTURES = resolve("test/fixtures/specs");

const sweep = (s: unknown) => SweepSpec.parse(s);

describe("sweep expansion", () => {
  const cases: [string, unknown, number, Record<string, unknown>[] | null][] = [
    ["grid a x b (Hydra's a=1,2,3 b=10,20)", { grid: { a: [1, 2, 3], b: [10, 20] } }, 6, [{ a: 1, b: 10 }, { a: 1, b: 20 }, { a: 2, b: 10 }, { a: 2, b: 20 }, { a: 3, b: 10 }, { a: 3, b: 20 }]],
    ["zip varies lists together", { zip: { a: [1, 2], b: [3, 4] } }, 2, [{ a: 1, b: 3 }, { a: 2, b: 4 }]],
    ["grid x zip", { grid: { a: [1, 2] }, zip: { b: [3, 4], c: [5, 6] } }, 4, [{ a: 1, b: 3, c: 5 }, { a: 1, b: 4, c: 6 }, { a: 2, b: 3, c: 5 }, { a: 2, b: 4, c: 6 }]],
    ["seeds as a list", { grid: { a: [1, 2] }, seeds: [0, 5] }, 4, [{ a: 1, seed: 0 }, { a: 1, seed: 5 }, { a: 2, seed: 0 }, { a: 2, seed: 5 }]],
    ["seeds as a count", { seeds: 3 }, 3, [{ seed: 0 }, { seed: 1 }, { seed: 2 }]],
    ["random n samples x seeds", { random: { n: 5, params: { a: { dist: "uniform", low: 0, high: 1 } } }, seeds: 2 }, 10, null],
    ["empty sweep: one run", {}, 1, [{}]],
  ];
  for (const [name, spec, count, expected] of cases) {
    it(name, () => {
      const runs = expandSweep(sweep(spec));
      expect(runs).to.have.length(count);
      if (expected) expect(runs).to.deep.equal(expected);
      expect(expandSweep(sweep(spec))).to.deep.equal(runs, "expansion is deterministic");
    });
  }

  it("random samples stay in range, follow their seed, and log_uniform spans decades", () => {
    const spec = { random: { n: 200, seed: 3, params: { u: { dist: "uniform", low: -1, high: 1 }, l: { dist: "log_uniform", low: 1e-4, high: 1 }, i: { dist: "int_uniform", low: 2, high: 4 }, c: { dist: "choice", values: ["x", "y"] } } } };
    const runs = expandSweep(sweep(spec));
    for (const r of runs) {
      expect(r.u as number).to.be.within(-1, 1);
      expect(r.l as number).to.be.within(1e-4, 1);
      expect([2, 3, 4]).to.include(r.i);
      expect(["x", "y"]).to.include(r.c);
    }
    // 200 log-uniform samples over 4 decades: each decade expects 50; none should be empty.
    for (let d = -4; d < 0; d++) expect(runs.some((r) => Math.log10(r.l as number) >= d && Math.log10(r.l as number) < d + 1), `decade ${d}`).to.equal(true);
    expect(new Set(runs.map((r) => r.i)).size).to.equal(3);
    const other = expandSweep(sweep({ ...spec, random: { ...spec.random, seed: 4 } }));
    expect(other[0].u).not.to.equal(runs[0].u);
  });

  it("run ids: deterministic, distinct, readable, independent of key order", () => {
    expect(runIdFor({ "train.method": "bp", seed: 2, "train.optimizer.lr": 0.1 })).to.equal(runIdFor({ "train.optimizer.lr": 0.1, seed: 2, "train.method": "bp" }));
    expect(runIdFor({ "train.method": "bp", seed: 2 })).to.match(/^method-bp_seed-2_[0-9a-f]{8}$/);
    const ids = expandSweep(sweep({ grid: { a: [1, 2, 3], b: ["x", "y"] }, seeds: 3 })).map(runIdFor);
    expect(new Set(ids).size).to.equal(18);
  });

  it("plans the fixture sweep: 4 validated runs with replicates sharing a config id", () => {
    const runs = planSweep(loadExperiment(join(FIXTURES, "sweep-good.yaml")));
    expect(runs.map((r) => r.params)).to.deep.equal([
      { "train.method": "bp", seed: 0 },
      { "train.method": "bp", seed: 1 },
      { "train.method": "sideways", seed: 0 },
      { "train.method": "sideways", seed: 1 },
    ]);
    expect(runs.map((r) => r.spec.train.method)).to.deep.equal(["bp", "bp", "sideways", "sideways"]);
    expect(runs.map((r) => r.spec.seed)).to.deep.equal([0, 1, 0, 1]);
    expect(runs[0].configId).to.equal(runs[1].configId);
    expect(runs[0].configId).not.to.equal(runs[2].configId);
    expect(runs[0].configHash).not.to.equal(runs[1].configHash);
  });

  it("an override can change the sweep (more seeds) and a bad swept value names the run", () => {
    const exp = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.seeds=3"]);
    expect(planSweep(exp)).to.have.length(6);
    const bad = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.grid.train.batch_size=[2,0]"]);
    expect(() => planSweep(bad)).to.throw(SpecError, /sweep run \d .*train.batch_size=0[\s\S]*train.batch_size: expected a number >= 1, found 0/);
  });
});
