/** Sweep expansion: counts, order, deterministic ids and random samples, validation of every run. */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SpecError } from "../src/errors.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { canonicalJson, legacyRunId, runIdFor, shortHash } from "../src/spec/run-id.js";
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

  it("uniform draws spread over the whole [low, high), away from 0 too, and choice draws every value", () => {
    const n = 400;
    const runs = expandSweep(sweep({ random: { n, seed: 1, params: { u: { dist: "uniform", low: 2, high: 5 }, c: { dist: "choice", values: ["a", "b", "c", "d"] } } } }));
    const u = runs.map((r) => r.u as number);
    for (const v of u) expect(v).to.be.within(2, 5);
    // Each third of [2, 5) expects n/3 = 133 draws (sd 9.4): at least 90 is 4.6 sd below, so a
    // range that misses a part, or is shifted or stretched, fails.
    for (const lo of [2, 3, 4]) expect(u.filter((v) => v >= lo && v < lo + 1).length, `draws in [${lo}, ${lo + 1})`).to.be.at.least(90);
    // Mean 3.5, sd of the mean (3 / sqrt(12)) / sqrt(400) = 0.043: 0.2 is 4.6 sd.
    expect(u.reduce((a, b) => a + b, 0) / n).to.be.closeTo(3.5, 0.2);
    // Each of 4 values expects 100 draws (sd 8.7): at least 65 is 4 sd below; the last value is not special.
    for (const v of ["a", "b", "c", "d"]) expect(runs.filter((r) => r.c === v).length, `draws of ${v}`).to.be.at.least(65);
  });

  it("run ids: readable swept parameters, independent of key order, ending in the config hash", () => {
    expect(runIdFor({ "train.method": "bp", seed: 2, "train.optimizer.lr": 0.1 }, "0badf00d")).to.equal(runIdFor({ "train.optimizer.lr": 0.1, seed: 2, "train.method": "bp" }, "0badf00d"));
    expect(runIdFor({ "train.method": "bp", seed: 2 }, "0badf00d")).to.equal("method-bp_seed-2_0badf00d");
    expect(runIdFor({ "train.optimizer.betas.0": 0.8, seed: 2 }, "0badf00d"), "a list item keeps its list's name").to.equal("betas.0-0.8_seed-2_0badf00d");
    expect(runIdFor({}, "0badf00d")).to.equal("0badf00d");
  });

  it("run ids: a path names its file, a list its items with commas, a mapping its keys and values; earlier versions' ids stay computable", () => {
    const model = { model: "../models/resnet-mnist.yaml", "train.method": "bp", seed: 0 };
    expect(runIdFor(model, "4d4031ae")).to.equal("model-resnet-mnist_method-bp_seed-0_4d4031ae");
    expect(legacyRunId(model, "4d4031ae")).to.equal("model-..modelsresnet-mnist.yaml_method-bp_seed-0_4d4031ae");
    // Any value with a path separator, or a file name with a known extension, is a path.
    expect(runIdFor({ "data.clips": "data/clips.npy", "train.init_checkpoint": "warm.safetensors", "data.root": "C:\\videos\\ucf101\\" }, "0badf00d")).to.equal("clips-clips_root-ucf101_init_checkpoint-warm_0badf00d");
    expect(runIdFor({ "data.augment.scale": [0.5, 1] }, "0badf00d")).to.equal("scale-0.5,1_0badf00d");
    expect(legacyRunId({ "data.augment.scale": [0.5, 1] }, "0badf00d")).to.equal("scale-0.51_0badf00d");
    expect(runIdFor({ "train.optimizer.schedule.milestones": [10, 20] }, "0badf00d"), "not 1020").to.equal("milestones-10,20_0badf00d");
    expect(runIdFor({ "train.optimizer.schedule.milestones": [-1, 2] }, "0badf00d")).to.equal("milestones--1,2_0badf00d");
    expect(runIdFor({ "train.optimizer": { lr: 0.1, kind: "adam", betas: [0.9, 0.99] } }, "0badf00d")).to.equal("optimizer-betas-0.9,0.99,kind-adam,lr-0.1_0badf00d");
    // A slug cut at 80 characters does not end in the separator the cut left (here the 80th is a comma).
    const long = runIdFor({ "data.augment.scale": [0.123456789, 0.23456789, 0.3456789, 0.456789, 0.56789, 0.6789, 0.789, 0.89012345, 0.95] }, "0badf00d");
    expect(long).to.equal("scale-0.123456789,0.23456789,0.3456789,0.456789,0.56789,0.6789,0.789,0.89012345_0badf00d");
    // Scalars other than paths keep the ids earlier versions gave them.
    for (const params of [{ "train.method": "pipelined-bp", seed: 2 }, { "train.optimizer.lr": 1e-5, "data.shuffle": false }, { "train.batch_size": 8 }])
      expect(runIdFor(params, "0badf00d")).to.equal(legacyRunId(params, "0badf00d"));
  });

  it("config hashes and run ids do not depend on the order keys were written in, at any depth; list order counts", () => {
    const a = { train: { optimizer: { kind: "adam", lr: 0.1, betas: [0.9, 0.99] }, steps: 3 }, layers: [{ type: "conv", out: 4 }], seed: 1 };
    const b = { seed: 1, layers: [{ out: 4, type: "conv" }], train: { steps: 3, optimizer: { betas: [0.9, 0.99], lr: 0.1, kind: "adam" } } };
    // Written out by hand: keys sorted by code unit at every level, lists left in order.
    expect(canonicalJson(a)).to.equal('{"layers":[{"out":4,"type":"conv"}],"seed":1,"train":{"optimizer":{"betas":[0.9,0.99],"kind":"adam","lr":0.1},"steps":3}}');
    expect(canonicalJson(b)).to.equal(canonicalJson(a));
    expect(shortHash(b)).to.equal(shortHash(a));
    expect(shortHash({ ...a, layers: [{ type: "conv", out: 4 }, { type: "relu" }] })).not.to.equal(shortHash({ ...a, layers: [{ type: "relu" }, { type: "conv", out: 4 }] }));
    // A swept mapping written with its keys in another order is the same run: a sweep run again finds it.
    expect(runIdFor({ "train.optimizer": { lr: 0.1, kind: "adam" }, seed: 0 }, "0badf00d")).to.equal(runIdFor({ "train.optimizer": { kind: "adam", lr: 0.1 }, seed: 0 }, "0badf00d"));
  });

  it("run ids change with any setting, swept or not (issue 15: train.steps=60 and =200 no longer share an id)", () => {
    const file = join(FIXTURES, "sweep-good.yaml");
    const ids = (overrides: string[]) => planSweep(loadExperiment(file, overrides)).map((r) => r.runId);
    const base = ids([]);
    expect(new Set(base).size).to.equal(4);
    expect(ids([])).to.deep.equal(base);
    for (const o of ["train.steps=4", "data.clip_length=5", "train.optimizer.momentum=0.5", "runtime.threads=2"]) {
      const other = ids([o]);
      other.forEach((id, i) => {
        expect(id.replace(/_[0-9a-f]{8}$/, ""), o).to.equal(base[i].replace(/_[0-9a-f]{8}$/, ""));
        expect(id, o).not.to.equal(base[i]);
      });
    }
    // Where the results go and what the sweep is called do not change what a run computes.
    expect(ids(["output.dir=elsewhere"])).to.deep.equal(base);
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
    // The run, and the part of the sweep its bad value came from.
    expect(() => planSweep(bad)).to.throw(SpecError, /sweep run \d \(sweep.grid: [^;]*train.batch_size=0.*; seed=\d\)[\s\S]*train.batch_size: expected an integer from 1 to 65536, found 0/);
    // A value invalid in every run is not the grid's crossing: no hint about sweep.zip.
    expect(() => planSweep(bad)).to.throw(SpecError).with.property("message").that.does.not.include("sweep.zip");
  });

  it("a grid whose crossing makes an invalid combination of valid values says to list the combinations under sweep.zip", () => {
    const crossed = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.grid.train.method=[sideways,pipelined-bp]", "sweep.grid.train.weight_stashing=[false,true]"]);
    // weight_stashing=true is valid with pipelined-bp, not with sideways.
    expect(() => planSweep(crossed)).to.throw(
      SpecError,
      /sweep run \d \(sweep.grid: train.method="sideways", train.weight_stashing=true; seed=0\)[\s\S]*train.weight_stashing: expected false for method sideways[\s\S]*\(sweep.grid crosses each of its values with every other swept value, and train.weight_stashing=true is valid in other runs of the sweep; to run only some combinations, list them as rows of sweep.zip instead/,
    );
    // The grid crossed with a zip's rows makes the same combinations.
    const withZip = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.grid.train.method=[sideways,pipelined-bp]", "sweep.zip.train.weight_stashing=[false,true]", "sweep.zip.train.update_every=[2,2]"]);
    expect(() => planSweep(withZip)).to.throw(SpecError, /train.weight_stashing: expected false for method sideways[\s\S]*list them as rows of sweep.zip instead/);
  });

  it("an override of a key the sweep sets is refused (exit 2), with the override of the sweep that narrows it", () => {
    const plan = (...overrides: string[]) => () => planSweep(loadExperiment(join(FIXTURES, "sweep-good.yaml"), overrides));
    expect(plan("train.method=bp")).to.throw(SpecError, /override 'train\.method=bp': sweep\.grid sets train\.method in every run of the sweep, so this value would never be used\. To narrow the sweep to that value, override its list: sweep\.grid\.train\.method=\[bp\]/);
    expect(plan("seed=5")).to.throw(SpecError, /override 'seed=5': sweep\.seeds sets seed .* sweep\.seeds=\[5\]/);
    // What the messages suggest plans what was asked for.
    expect(plan("sweep.grid.train.method=[bp]")()).to.have.length(2);
    expect(plan("sweep.seeds=[5]")().map((r) => r.spec.seed)).to.deep.equal([5, 5]);
    // A key inside a swept mapping, and a mapping that holds a swept key.
    expect(plan("sweep.grid={train.optimizer: [{kind: sgd}, {kind: adam}]}", "train.optimizer.lr=0.1")).to.throw(SpecError, /sweep\.grid sets train\.optimizer \(the whole mapping\) in every run of the sweep, so this value would never be used/);
    expect(plan("sweep.grid={train.optimizer.lr: [0.1, 0.2]}", "train.optimizer={kind: adam, lr: 0.3}")).to.throw(SpecError, /this value's train\.optimizer\.lr would be replaced/);
    expect(plan("sweep.grid={train.optimizer.lr: [0.1, 0.2]}", "sweep.seeds=[0]", "train.optimizer={kind: adam}")(), "a mapping without the swept key").to.have.length(2);
    // Each override is checked as it was parsed, against the file the overrides before it left:
    // a later kind change does not make an earlier removal unknown (sweep-good writes sgd's lr).
    expect(plan("train.optimizer.nesterov=true", "train.optimizer={kind: adam, lr: 0.1}")().map((r) => r.spec.train.optimizer.kind)).to.deep.equal(["adam", "adam", "adam", "adam"]);
    expect(plan("sweep.zip={train.batch_size: [2, 3]}", "~train.batch_size")).to.throw(SpecError, /override '~train\.batch_size': sweep\.zip sets train\.batch_size in every run of the sweep, so removing it would change nothing\. Leave this override out$/);
    // A mapping holding the swept key is not split into keys (they would keep keys of the file's mapping that the value drops).
    expect(plan("sweep.grid={train.optimizer.lr: [0.1, 0.2]}", "train.optimizer={kind: adam, lr: 0.3}")).to.throw(SpecError, /would be replaced\. Change sweep\.grid in the file or as an override of its own/);
    // A list that holds a swept item: its other items are suggested one by one, and that plans.
    const beta1 = ["sweep.grid={train.optimizer.betas.0: [0.8, 0.9]}", "sweep.seeds=[0]", "train.optimizer.kind=adam"];
    expect(plan(...beta1, "train.optimizer.betas=[0.5,0.99]")).to.throw(SpecError, /this value's train\.optimizer\.betas\.0 would be replaced\. To set the rest, give each as an override of its own: train\.optimizer\.betas\.1=0\.99$/);
    expect(plan(...beta1, "train.optimizer.betas.1=0.99")().map((r) => r.spec.train.optimizer), "a default list's item swept, another overridden").to.deep.include.members([
      { kind: "adam", lr: 0.05, betas: [0.8, 0.99], eps: 1e-8, weight_decay: 0 },
      { kind: "adam", lr: 0.05, betas: [0.9, 0.99], eps: 1e-8, weight_decay: 0 },
    ]);
    // Keys beside the swept ones, and zip and random sections.
    expect(plan("train.batch_size=3")()).to.have.length(4);
    expect(plan("sweep.zip={train.batch_size: [2, 3]}", "train.batch_size=4")).to.throw(SpecError, /sweep\.zip sets train\.batch_size/);
    expect(plan("sweep.random={n: 2, params: {train.steps: {dist: int_uniform, low: 2, high: 9}}}", "train.steps=4")).to.throw(SpecError, /sweep\.random\.params sets train\.steps/);
  });

  it("a sweep section that sets no key is refused, as a missing one is", () => {
    for (const o of ["sweep={}", "sweep={grid: {}}"])
      expect(() => planSweep(loadExperiment(join(FIXTURES, "sweep-good.yaml"), [o])), o).to.throw(SpecError, /sweep: the sweep section sets no key/);
  });

  it("a run listed twice (a value repeated in a grid, or random draws that repeat) is an error naming both", () => {
    const twice = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.grid.train.batch_size=[2,2]"]);
    expect(() => planSweep(twice)).to.throw(SpecError, /sweep: run 2 \(.*train.batch_size=2.*\) is the same run as run 0 \(.*train.batch_size=2.*\).*is a value listed twice\?/);
    // Three draws from two values must repeat one.
    const drawn = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep={random: {n: 3, seed: 0, params: {train.batch_size: {dist: choice, values: [2, 3]}}}}"]);
    expect(() => planSweep(drawn)).to.throw(SpecError, /random draws that repeat/);
    // Different values: every run once.
    expect(planSweep(loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["sweep.grid.train.batch_size=[2,3]"])).map((r) => r.runId)).to.satisfy((ids: string[]) => new Set(ids).size === ids.length);
  });
  it("a list-valued key (train.schedule.milestones): a list of lists sweeps each inner list as one value", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-sweep-"));
    try {
      // The file's own milestones make its base valid; each run's list replaces them whole.
      const file = join(dir, "milestones.yaml");
      const text = readFileSync(join(FIXTURES, "sweep-good.yaml"), "utf8")
        .replace("models/tiny.yaml", join(FIXTURES, "models", "tiny.yaml"))
        .replace("steps: 3,", "steps: 40, schedule: { kind: multistep, milestones: [30] },")
        .replace("grid: { train.method: [bp, sideways] }", "grid: { train.schedule.milestones: [[10, 20], [15]] }");
      writeFileSync(file, text);
      const runs = planSweep(loadExperiment(file, ["sweep.seeds=[0]"]));
      expect(runs.map((r) => r.params)).to.deep.equal([
        { "train.schedule.milestones": [10, 20], seed: 0 },
        { "train.schedule.milestones": [15], seed: 0 },
      ]);
      expect(runs.map((r) => r.spec.train.schedule)).to.deep.equal([
        { kind: "multistep", warmup_steps: 0, milestones: [10, 20], gamma: 0.1 },
        { kind: "multistep", warmup_steps: 0, milestones: [15], gamma: 0.1 },
      ]);
      expect(runs[0].configId).not.to.equal(runs[1].configId);
      // A flat list sweeps its numbers, each refused as milestones, naming the run.
      expect(() => planSweep(loadExperiment(file, ["sweep.grid={train.schedule.milestones: [10, 20]}"]))).to.throw(SpecError, /sweep run 0 \(sweep.grid: train.schedule.milestones=10; seed=0\)[\s\S]*train.schedule.milestones: expected a non-empty list of strictly increasing integers >= 1 \(updates after warm-up\), found 10/);
      // Each run's list is checked against that run's train.steps.
      expect(() => planSweep(loadExperiment(file, ["sweep={zip: {train.schedule.milestones: [[10], [35]], train.steps: [40, 30]}}"]))).to.throw(SpecError, /sweep run 1 [\s\S]*train.schedule.milestones: expected each milestone below 30 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
