/**
 * Sweep folders written before run ids named paths by their file and lists with commas: a sweep run
 * again over one finds its runs under their earlier names, and `results collect` merges its shards.
 */
import { expect } from "chai";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { readCsv } from "../src/results/csv-read.js";
import { RUN_META_FILE, type RunMeta } from "../src/results/run-dir.js";
import { legacyRunId } from "../src/spec/run-id.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { FIXTURES, GOOD } from "./helpers/spec-fixtures.js";

/** A swept model file and a swept mapping holding a list: values whose slugs changed. */
const SWEPT = "sweep: { grid: { model: [models/tiny.yaml], data.augment: [{ pad_crop: 1, scale: [0.5, 1] }] }, seeds: [0, 1] }\n";
const NEW_ID = /^augment-pad_crop-1,scale-0.5,1_model-tiny_seed-[01]_[0-9a-f]{8}$/;
const EARLIER_ID = /^augment-pad_crop1scale0.51_model-modelstiny.yaml_seed-[01]_[0-9a-f]{8}$/;

/** The run folders under `root`, by name. */
const runFolders = (root: string) => readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

/**
 * `root` as an earlier version left it: each run's folder, and every file naming it (run-meta.json,
 * summary.json, sweep-plan.json, runs.csv), under the id that version gave it.
 */
function asEarlierVersionLeftIt(root: string): void {
  const plan = JSON.parse(readFileSync(join(root, "sweep-plan.json"), "utf8")) as { runs: RunMeta[] };
  const renamed = new Map(plan.runs.map((r) => [r.run_id, legacyRunId(r.params, r.config_hash)]));
  for (const name of runFolders(root)) renameSync(join(root, name), join(root, renamed.get(name)!));
  const files = runFolders(root).flatMap((id) => [join(root, id, RUN_META_FILE), join(root, id, "summary.json")]);
  for (const file of [...files, join(root, "sweep-plan.json"), join(root, "runs.csv")]) {
    let text = readFileSync(file, "utf8");
    for (const [now, earlier] of renamed) text = text.split(now).join(earlier);
    writeFileSync(file, text);
  }
}

describe("sweep folders with run ids of earlier versions", function () {
  this.timeout(120_000);
  let dir: string;
  inFreshFolderEachTest("sideways-earlier-ids-", (d) => (dir = d));
  const file = () => join(dir, "exp", "swept.yaml");

  beforeEach(() => {
    mkdirSync(join(dir, "exp", "models"), { recursive: true });
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
    writeFileSync(file(), `${readFileSync(GOOD, "utf8")}${SWEPT}`);
  });

  /**
   * Folder `a`: the sweep's runs under their earlier ids, and a plan that names them by their new
   * ids (the same sweep trained by this version into `c`, collected into `a`).
   */
  async function earlierRunsUnderNewPlan(): Promise<void> {
    expect(await main(["sweep", file(), "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    asEarlierVersionLeftIt(join(dir, "a"));
    expect(await main(["sweep", file(), "--quiet", "output.dir=c"], captureIo())).to.equal(0);
    expect(await main(["results", "collect", "a", "c"], captureIo())).to.equal(0);
  }

  it("new runs get readable ids; a sweep run again over runs under their earlier ids skips them instead of training them anew", async () => {
    expect(await main(["sweep", file(), "--quiet"], captureIo())).to.equal(0);
    const root = join(dir, "results", "good");
    expect(runFolders(root)).to.have.length(2).and.to.satisfy((names: string[]) => names.every((n) => NEW_ID.test(n)));
    asEarlierVersionLeftIt(root);
    const before = runFolders(root);
    expect(before).to.satisfy((names: string[]) => names.every((n) => EARLIER_ID.test(n)));
    const metrics = before.map((n) => readFileSync(join(root, n, "metrics.csv"), "utf8"));
    const dry = captureIo();
    expect(await main(["sweep", file(), "--dry-run"], dry), dry.stderr).to.equal(0);
    expect(dry.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/).slice(1, 3))).to.deep.equal(before.map((n) => [n, "completed"]));
    const io = captureIo();
    expect(await main(["sweep", file()], io), io.stderr).to.equal(0);
    expect(runFolders(root), "no run trained again under a new id").to.deep.equal(before);
    expect(before.map((n) => readFileSync(join(root, n, "metrics.csv"), "utf8"))).to.deep.equal(metrics);
    const rows = readCsv(join(root, "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r.status])).to.deep.equal(before.map((n) => [n, "completed"]));
  });

  it("results collect merges shards under earlier ids, and a shard under earlier ids with one under new ids, each run once", async () => {
    const sweep = (shard: string, out: string) => main(["sweep", file(), "--quiet", "--shard", shard, `output.dir=${out}`], captureIo());
    expect(await sweep("0/2", "a")).to.equal(0);
    expect(await sweep("1/2", "b")).to.equal(0);
    asEarlierVersionLeftIt(join(dir, "a"));
    cpSync(join(dir, "a"), join(dir, "a-copy"), { recursive: true });
    asEarlierVersionLeftIt(join(dir, "b"));
    const statuses = (root: string) => readCsv(join(root, "runs.csv")).rows.map((r) => [String(r.run_id).replace(/_[0-9a-f]{8}$/, ""), r.status]).sort();
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("2 runs (2 completed), 1 copied in");
    expect(statuses(join(dir, "a"))).to.deep.equal([["augment-pad_crop1scale0.51_model-modelstiny.yaml_seed-0", "completed"], ["augment-pad_crop1scale0.51_model-modelstiny.yaml_seed-1", "completed"]]);
    // Shard 1 trained again by this version into a fresh folder: its run has the new id there.
    expect(await sweep("1/2", "c")).to.equal(0);
    const mixed = captureIo();
    expect(await main(["results", "collect", "a-copy", "c"], mixed), mixed.stderr).to.equal(0);
    expect(mixed.stderr).not.to.include("plans other runs");
    expect(statuses(join(dir, "a-copy")), "each run once, none other_shard").to.deep.equal([["augment-pad_crop-1,scale-0.5,1_model-tiny_seed-1", "completed"], ["augment-pad_crop1scale0.51_model-modelstiny.yaml_seed-0", "completed"]]);
  });

  /**
   * Shard 0 (a) and shard 1 (b) under earlier ids, shard 0 trained again by this version (c), whose
   * plan, merged last, names every run by its new id; `spoil` keeps b's run from being copied and
   * returns collect's line for it. Its row must say not_copied, not not_started.
   */
  async function notCopiedUnderEarlierId(spoil: (earlierId: string) => string, exitCode: number): Promise<void> {
    const sweep = (shard: string, out: string) => main(["sweep", file(), "--quiet", "--shard", shard, `output.dir=${out}`], captureIo());
    expect(await sweep("0/2", "a")).to.equal(0);
    expect(await sweep("1/2", "b")).to.equal(0);
    asEarlierVersionLeftIt(join(dir, "a"));
    asEarlierVersionLeftIt(join(dir, "b"));
    expect(await sweep("0/2", "c")).to.equal(0);
    const [earlierId] = runFolders(join(dir, "b"));
    const line = spoil(earlierId!);
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b", "c"], io), io.stderr).to.equal(exitCode);
    expect(io.stderr).to.include(line).and.not.match(/planned runs? (of other shards|never started)/);
    const planned = (JSON.parse(readFileSync(join(dir, "a", "sweep-plan.json"), "utf8")) as { runs: RunMeta[] }).runs;
    expect(planned.map((r) => r.run_id), "the plan names its runs by their new ids").to.satisfy((ids: string[]) => ids.every((n) => NEW_ID.test(n)));
    const seed1 = () => readCsv(join(dir, "a", "runs.csv")).rows.find((r) => String(r.run_id).includes("_seed-1_"))!;
    expect(seed1()).to.include({ status: "not_copied", message: `not copied from ${join(dir, "b")} by results collect: ${line}` });
    // runs.csv regenerated later from the folders still says so.
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    expect(seed1()).to.include({ status: "not_copied" });
  }

  it("a shard's run under its earlier id that results collect did not copy is not_copied in runs.csv, though the merged plan names it by its new id", async () => {
    // In the target, a folder that is no run holds b's run's earlier id: a conflict, not copied.
    await notCopiedUnderEarlierId((earlierId) => {
      mkdirSync(join(dir, "a", earlierId));
      writeFileSync(join(dir, "a", earlierId, "notes.txt"), "mine");
      return `${earlierId}: ${join(dir, "a", earlierId)} exists and is not a run folder; not copied`;
    }, 2);
  });

  it("a shard's run under its earlier id whose run-meta.json is not JSON is not_copied in runs.csv, though the merged plan names it by its new id", async () => {
    // Which config it holds is unknown: it is matched to the plan by its id in either style.
    await notCopiedUnderEarlierId((earlierId) => {
      writeFileSync(join(dir, "b", earlierId, RUN_META_FILE), "{ cut sho");
      return `${earlierId}: ${join(dir, "b", earlierId, RUN_META_FILE)} is not JSON (unreadable_run_meta), so which run it holds is unknown; not copied: mend that file, then collect again`;
    }, 0);
  });

  it("a not-copied record is dropped once the run has a folder under its other id, so deleting that folder later makes it not_started, not not_copied", async () => {
    const sweep = (shard: string, out: string) => main(["sweep", file(), "--quiet", "--shard", shard, `output.dir=${out}`], captureIo());
    expect(await sweep("0/2", "a")).to.equal(0);
    expect(await sweep("1/2", "b")).to.equal(0);
    asEarlierVersionLeftIt(join(dir, "a"));
    asEarlierVersionLeftIt(join(dir, "b"));
    const [earlierId] = runFolders(join(dir, "b"));
    // A folder that is no run holds b's run's earlier id in the target: not copied, and recorded.
    mkdirSync(join(dir, "a", earlierId!));
    writeFileSync(join(dir, "a", earlierId!, "notes.txt"), "mine");
    expect(await main(["results", "collect", "a", "b"], captureIo())).to.equal(2);
    expect(readFileSync(join(dir, "a", "collect-not-copied.json"), "utf8")).to.include(earlierId!);
    // Shard 1 trained again by this version (d): the run is copied in under its new id.
    expect(await sweep("1/2", "d")).to.equal(0);
    const [newId] = runFolders(join(dir, "d"));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "d"], io), io.stderr).to.equal(0);
    expect(existsSync(join(dir, "a", newId!, RUN_META_FILE))).to.equal(true);
    expect(existsSync(join(dir, "a", "collect-not-copied.json")), "the record of a run that has a folder now").to.equal(false);
    rmSync(join(dir, "a", newId!), { recursive: true });
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    const row = readCsv(join(dir, "a", "runs.csv")).rows.find((r) => String(r.run_id).includes("_seed-1_"))!;
    expect(row.status).to.equal("not_started");
  });

  it("results collect does not say to train again a planned run whose only folder is a stopped collect's leftover under its other id", async () => {
    await earlierRunsUnderNewPlan();
    const [earlierId] = runFolders(join(dir, "a"));
    // Killed after moving the run's folder out and before moving its copy in.
    renameSync(join(dir, "a", earlierId!), join(dir, "a", `${earlierId}.replaced-99999`));
    const io = captureIo();
    expect(await main(["results", "collect", "a"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`${earlierId} has no folder: collect from its shard again, or move it back`);
    expect(io.stderr, "its note says what to do; not also to run the sweep again").not.to.include("never started");
  });

  it("runs.csv puts runs under their earlier ids in the order of a plan that names them by their new ids", async () => {
    await earlierRunsUnderNewPlan();
    // The folders' own indexes the other way round (as a sweep grown since numbers its runs anew): the plan's order wins.
    const folders = runFolders(join(dir, "a"));
    for (const [i, name] of folders.entries()) {
      const metaFile = join(dir, "a", name, RUN_META_FILE);
      writeFileSync(metaFile, JSON.stringify({ ...JSON.parse(readFileSync(metaFile, "utf8")), index: folders.length - 1 - i }));
    }
    const plan = (JSON.parse(readFileSync(join(dir, "a", "sweep-plan.json"), "utf8")) as { runs: RunMeta[] }).runs;
    const byPlan = [...plan].sort((x, y) => x.index - y.index).map((r) => legacyRunId(r.params, r.config_hash));
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    expect(readCsv(join(dir, "a", "runs.csv")).rows.map((r) => r.run_id)).to.deep.equal(byPlan);
  });

  it("a run under its earlier id whose run-meta.json is not JSON is one row of runs.csv where the plan names it by its new id", async () => {
    await earlierRunsUnderNewPlan();
    const [earlierId] = runFolders(join(dir, "a"));
    writeFileSync(join(dir, "a", earlierId!, RUN_META_FILE), "{ cut sho");
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    const rows = readCsv(join(dir, "a", "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r.status]).sort(), "the run once, by its folder's name").to.deep.equal([[earlierId, "unreadable_run_meta"], [runFolders(join(dir, "a"))[1], "completed"]].sort());
  });

  it("results collect of a shard holding, under its new id, a run the target holds under its earlier id lists that run once", async () => {
    const sweep = (out: string) => main(["sweep", file(), "--quiet", `output.dir=${out}`], captureIo());
    expect(await sweep("a")).to.equal(0);
    asEarlierVersionLeftIt(join(dir, "a"));
    const before = runFolders(join(dir, "a"));
    // Seed 0 there as if stopped before it ended (no summary.json): the completed copy replaces it.
    rmSync(join(dir, "a", before[0]!, "summary.json"));
    // The whole sweep trained again by this version into a fresh folder: the same runs, new ids.
    expect(await sweep("c")).to.equal(0);
    const seed0 = runFolders(join(dir, "c")).find((n) => n.includes("_seed-0_"))!;
    const io = captureIo();
    expect(await main(["results", "collect", "a", "c"], io), io.stderr).to.equal(0);
    const after = [seed0, before[1]!].sort();
    expect(runFolders(join(dir, "a")), "no second folder of a run the target has").to.deep.equal(after);
    const rows = readCsv(join(dir, "a", "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r.status]).sort()).to.deep.equal(after.map((n) => [n, "completed"]));
  });
});

describe("sweep runs of one config hash (a setting the hash leaves out, swept)", function () {
  this.timeout(120_000);
  let dir: string;
  inFreshFolderEachTest("sideways-one-hash-", (d) => (dir = d));
  // train.checkpoint_every cannot change a run's numbers, so configHash leaves it out: two runs, one hash.
  const sweepFile = () => join(dir, "one-hash.yaml");
  beforeEach(() => {
    mkdirSync(join(dir, "models"), { recursive: true });
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "models", "tiny.yaml"));
    writeFileSync(sweepFile(), `${readFileSync(GOOD, "utf8")}sweep: { grid: { train.checkpoint_every: [0, 5] }, seeds: [0] }\n`);
  });
  const hashOf = (id: string) => id.slice(-8);

  it("runs.csv lists a planned run without a folder as not_started though another run of its hash is there", async () => {
    expect(await main(["sweep", sweepFile(), "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const root = join(dir, "a");
    const ids = runFolders(root);
    expect(ids).to.have.length(2);
    expect(hashOf(ids[0]!), "the two runs share a config hash").to.equal(hashOf(ids[1]!));
    rmSync(join(root, ids[1]!), { recursive: true });
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    const rows = readCsv(join(root, "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r.status]).sort()).to.deep.equal([[ids[0], "completed"], [ids[1], "not_started"]].sort());
  });

  it("a run results collect did not copy is not_copied in runs.csv, and only that run, where another run of its hash was copied", async () => {
    const sweep = (shard: string, out: string) => main(["sweep", sweepFile(), "--quiet", "--shard", shard, `output.dir=${out}`], captureIo());
    expect(await sweep("0/2", "a")).to.equal(0);
    expect(await sweep("1/2", "b")).to.equal(0);
    const [inA] = runFolders(join(dir, "a"));
    const [inB] = runFolders(join(dir, "b"));
    expect(hashOf(inA!)).to.equal(hashOf(inB!));
    // A folder that is no run holds b's run's id in the target: not copied, and recorded.
    mkdirSync(join(dir, "a", inB!));
    writeFileSync(join(dir, "a", inB!, "notes.txt"), "mine");
    expect(await main(["results", "collect", "a", "b"], captureIo())).to.equal(2);
    rmSync(join(dir, "a", inB!), { recursive: true });
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    expect(existsSync(join(dir, "a", "collect-not-copied.json")), "the record is kept: the run has no folder").to.equal(true);
    const rows = readCsv(join(dir, "a", "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r.status]).sort()).to.deep.equal([[inA, "completed"], [inB, "not_copied"]].sort());
  });
});
