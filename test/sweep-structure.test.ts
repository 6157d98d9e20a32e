/**
 * sweep-plan.json's `structure`: how the sweep made its runs (its grid, zip and random keys), as
 * each sweep process records it, read back, carried by `results collect`'s merge of shard plans,
 * and turned into the keys a figure against a setting pairs with it.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { SweepSpec } from "../src/spec/sweep-spec.js";
import { type PlanEntry, mergeSweepPlan, readSweepPlan, recordSweepPlan } from "../src/results/sweep-plan.js";
import { pairedKeys, sweepStructure, zippedTogether } from "../src/results/sweep-structure.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const SWEEP = `
grid: { train.method: [bp, sideways] }
zip: { model: [a.yaml, b.yaml], data.clip_length: [12, 20] }
random:
  n: 3
  params:
    train.optimizer.lr: { dist: log_uniform, low: 0.001, high: 0.1 }
    train.optimizer.weight_decay: { dist: uniform, low: 0, high: 0.001 }
    train.optimizer.kind: { dist: choice, values: [sgd, adam] }
seeds: 2
`;
const STRUCTURE = {
  grid: ["train.method"],
  zip: ["model", "data.clip_length"],
  random: { "train.optimizer.lr": "log_uniform", "train.optimizer.weight_decay": "uniform", "train.optimizer.kind": "choice" },
};

const entry = (id: string, lr: number): PlanEntry => ({ run_id: id, config_id: `c-${id}`, config_hash: "h", experiment: "t", index: 0, params: { "train.optimizer.lr": lr, seed: 0 }, seed: 0, method: "bp" });
const RUNS = [entry("r0", 0.01), entry("r1", 0.1)];

describe("sweep-plan.json records the sweep's structure", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("the structure of a sweep section: its grid, zip and random keys, each random key with its distribution (not the seed)", () => {
    expect(sweepStructure(SweepSpec.parse(parseYaml(SWEEP)))).to.deep.equal(STRUCTURE);
  });

  it("a zip key pairs with the zip's others, a drawn number with the other drawn numbers; a grid key and a choice with none", () => {
    const s = sweepStructure(SweepSpec.parse(parseYaml(SWEEP)));
    expect(pairedKeys(s, "model")).to.deep.equal(["data.clip_length"]);
    expect(pairedKeys(s, "train.optimizer.lr")).to.deep.equal(["train.optimizer.weight_decay"]);
    expect(pairedKeys(s, "train.method")).to.deep.equal([]);
    expect(pairedKeys(s, "train.optimizer.kind")).to.deep.equal([]);
    expect(zippedTogether(s, "model", "data.clip_length")).to.equal(true);
    expect(zippedTogether(s, "train.optimizer.lr", "train.optimizer.weight_decay")).to.equal(false);
  });

  it("written by each sweep process and read back; a structure not of its shape reads as none, the plan's runs still read", async () => {
    const root = tempFolder("sideways-plan-structure-");
    await recordSweepPlan(root, "t", RUNS, ["r0"], STRUCTURE as never);
    expect(readSweepPlan(root)?.structure).to.deep.equal(STRUCTURE);
    const file = join(root, "sweep-plan.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), structure: { grid: "train.method", zip: [], random: {} } }));
    const plan = readSweepPlan(root)!;
    expect(plan.structure).to.equal(undefined);
    expect(plan.runs.map((r) => r.run_id)).to.deep.equal(["r0", "r1"]);
  });

  it("results collect's merge carries it, whichever of the two plans of the same runs an earlier version wrote", async () => {
    const [target, shard] = [tempFolder("sideways-plan-target-"), tempFolder("sideways-plan-shard-")];
    const withoutStructure = (root: string) => {
      const file = join(root, "sweep-plan.json");
      const { structure: _, ...plan } = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify(plan));
    };
    // The target's plan has it; the shard's, written by an earlier version, does not.
    await recordSweepPlan(target, "t", RUNS, ["r0"], STRUCTURE as never);
    await recordSweepPlan(shard, "t", RUNS, ["r1"], STRUCTURE as never);
    withoutStructure(shard);
    expect((await mergeSweepPlan(shard, target)).note).to.equal(null);
    expect(readSweepPlan(target)).to.deep.include({ given: ["r0", "r1"], structure: STRUCTURE });
    // The other way round: the shard's structure comes in.
    withoutStructure(target);
    await recordSweepPlan(shard, "t", RUNS, ["r1"], STRUCTURE as never);
    expect((await mergeSweepPlan(shard, target)).note).to.equal(null);
    expect(readSweepPlan(target)).to.deep.include({ given: ["r0", "r1"], structure: STRUCTURE });
  });
});
