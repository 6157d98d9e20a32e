/**
 * Run folders whose records are damaged: a completed summary beside final weights that are cut
 * short (unreadable_weights; removed ones are not damage), and a `sideways run` folder whose run-meta.json is not
 * JSON (unreadable_run_meta). Each is listed with its status, never taken for completed, copied
 * or exported as such, and never deleted.
 */
import { expect } from "chai";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { RESUME_FORMAT } from "../src/model/checkpoint.js";
import { float32Tensor, serializeSafetensors } from "../src/model/safetensors.js";
import { readCsv } from "../src/results/csv-read.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");
const SWEEP = resolve("test/fixtures/specs/sweep-good.yaml");

describe("damaged run folders", function () {
  this.timeout(120_000);
  let dir: string;
  inFreshFolderEachTest("sideways-damaged-", (d) => (dir = d));

  const statusById = (folder: string) => Object.fromEntries(readCsv(join(dir, folder, "runs.csv")).rows.map((r) => [String(r.run_id), r]));

  it("a completed run whose final.safetensors is cut short is unreadable_weights in runs.csv, the table and --dry-run; one whose file was removed stays completed", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const ids = Object.keys(statusById("a")).sort();
    const cutFile = join(dir, "a", ids[0]!, "final.safetensors");
    truncateSync(cutFile, statSync(cutFile).size - 5);
    // One run of each configuration (ids sort bp before sideways).
    rmSync(join(dir, "a", ids[2]!, "final.safetensors"));
    const io = captureIo();
    expect(await main(["results", "collect", "a"], io), io.stderr).to.equal(0);
    const rows = statusById("a");
    // A removed file (to save disk: written before the summary, it cannot be missing otherwise) leaves the run's figures standing.
    expect(ids.map((id) => rows[id]!.status)).to.deep.equal(["unreadable_weights", "completed", "completed", "completed"]);
    expect(String(rows[ids[0]!]!.message)).to.include(`${cutFile} is truncated`);
    expect(readFileSync(join(dir, "a", "table.md"), "utf8").match(/\| 1 unreadable_weights \|/g)).to.have.length(1);
    // Nothing was removed: the summary and what is left of the weights stay for the user to mend.
    expect(existsSync(cutFile)).to.equal(true);
    const listed = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run", "output.dir=a"], listed), listed.stderr).to.equal(0);
    expect(listed.stdout.split("\n").find((l) => l.includes(ids[0]!))).to.match(/ unreadable_weights@3 /);
    // The sweep itself refuses to train over it (that would delete the folder): exit 2 naming the file.
    const again = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], again)).to.equal(2);
    expect(again.stderr).to.include(`${cutFile} is truncated`);
    expect(existsSync(cutFile)).to.equal(true);
  });

  it("sideways run over a completed run with cut-short weights is exit 2 naming the file, the folder kept; export refuses it", async () => {
    expect(await main(["run", GOOD], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const runDir = join(dir, "results", "good", id!);
    const weights = join(runDir, "final.safetensors");
    truncateSync(weights, statSync(weights).size - 1);
    const size = statSync(weights).size;
    const io = captureIo();
    expect(await main(["run", GOOD], io)).to.equal(2);
    expect(io.stderr).to.include(`${weights} is truncated`).and.include("nothing was written");
    expect(statSync(weights).size).to.equal(size);
    const exported = captureIo();
    expect(await main(["export", "--checkpoint", runDir, "--out", "deploy"], exported)).to.equal(2);
    expect(exported.stderr).to.include(`${weights} is truncated`);
    expect(existsSync(join(dir, "deploy"))).to.equal(false);
    const plot = captureIo();
    await main(["plot", join("results", "good")], plot);
    expect(plot.stderr).to.include("unreadable_weights");
    // Removed under a completed summary (and no resume checkpoint): said as removed.
    rmSync(weights);
    const missing = captureIo();
    expect(await main(["export", "--checkpoint", runDir, "--out", "deploy"], missing)).to.equal(2);
    expect(missing.stderr).to.include("(its summary.json says it completed: its final.safetensors was removed since)");
    expect(existsSync(join(dir, "deploy"))).to.equal(false);
  });

  it("results collect does not copy a shard's run whose weights are cut short as a completed run", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    const [cut, whole] = readdirSync(join(dir, "b")).filter((d) => statSync(join(dir, "b", d)).isDirectory()).sort();
    const cutFile = join(dir, "b", cut!, "final.safetensors");
    truncateSync(cutFile, 100);
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`${cut}: ${cutFile}: not a valid safetensors file: header length`).and.include("summary.json says completed (unreadable_weights); not copied");
    expect(existsSync(join(dir, "a", cut!))).to.equal(false);
    expect(existsSync(join(dir, "a", whole!))).to.equal(true);
    // It ran in the shard: runs.csv says it was not copied, and why, not that it never started.
    expect(statusById("a")[cut!]).to.include({ status: "not_copied" });
    expect(String(statusById("a")[cut!]?.message)).to.include(`not copied from ${join(dir, "b")} by results collect: ${cut}: ${cutFile}: not a valid safetensors file`);
    // Said above with why it was not copied: not also told to be trained again, or collected from a shard.
    expect(io.stderr).to.not.include("never started");
    expect(io.stderr).to.not.include("of other shards");
    expect(Object.values(statusById("a")).filter((r) => r.status === "completed")).to.have.length(3);
    // The shard's folder is left as it was.
    expect(statSync(cutFile).size).to.equal(100);
  });

  it("results collect replaces a target run whose weights are cut short by a shard's whole completed copy, moving the damaged folder aside", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const ids = Object.keys(statusById("a")).sort();
    const id = ids[0]!;
    const cutFile = join(dir, "a", id, "final.safetensors");
    truncateSync(cutFile, 100);
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    const aside = join(dir, "a", "collect-replaced", id);
    expect(io.stderr).to.include(`${id}: ${cutFile}: not a valid safetensors file`).and.include(`(unreadable_weights); replaced by ${join(dir, "b", id)} (completed), the damaged folder moved to ${aside}`);
    expect(readFileSync(cutFile)).to.deep.equal(readFileSync(join(dir, "b", id, "final.safetensors")));
    // Nothing is deleted unasked: the damaged folder is kept whole, and is not read as a run.
    expect(statSync(join(aside, "final.safetensors")).size).to.equal(100);
    expect(Object.keys(statusById("a")).sort()).to.deep.equal(ids);
    expect(Object.values(statusById("a")).map((r) => r.status)).to.deep.equal(ids.map(() => "completed"));
    // Cut short again and collected again: the first damaged folder is not overwritten.
    truncateSync(cutFile, 50);
    expect(await main(["results", "collect", "a", "b"], captureIo())).to.equal(0);
    expect(statSync(join(aside, "final.safetensors")).size).to.equal(100);
    expect(statSync(join(`${aside}-2`, "final.safetensors")).size).to.equal(50);
    // A shard's copy that is not completed does not replace it: the target is left as it is.
    truncateSync(cutFile, 100);
    rmSync(join(dir, "b", id, "summary.json"));
    const kept = captureIo();
    expect(await main(["results", "collect", "a", "b"], kept), kept.stderr).to.equal(0);
    expect(kept.stderr).to.include(`(unreadable_weights); left as it is (${join(dir, "b", id)} is`);
    expect(statSync(cutFile).size).to.equal(100);
    expect(statusById("a")[id]?.status).to.equal("unreadable_weights");
  });

  it("results collect keeps a target run whose weights are cut short where the shard's completed copy has its final weights removed", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const id = Object.keys(statusById("a")).sort()[0]!;
    const cutFile = join(dir, "a", id, "final.safetensors");
    truncateSync(cutFile, 100);
    // Removed to save disk: the copy stays completed, but has no weights to put in the target's place.
    rmSync(join(dir, "b", id, "final.safetensors"));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`(unreadable_weights); left as it is (${join(dir, "b", id)} is completed, but its final.safetensors was removed`);
    expect(statSync(cutFile).size).to.equal(100);
    expect(existsSync(join(dir, "a", "collect-replaced"))).to.equal(false);
    expect(statusById("a")[id]?.status).to.equal("unreadable_weights");
  });

  it("results collect neither replaces a run whose summary.json is not JSON nor copies one, keeping its final weights", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [id] = Object.keys(statusById("a")).sort();
    // The target's copy completed, and its summary.json was since cut short; the shard's copy is an
    // earlier attempt, interrupted at step 1 (a resume checkpoint, no summary, no final weights).
    const summary = join(dir, "a", id!, "summary.json");
    writeFileSync(summary, readFileSync(summary, "utf8").slice(0, 20));
    const weights = join(dir, "a", id!, "final.safetensors");
    const before = readFileSync(weights);
    for (const f of ["summary.json", "final.safetensors"]) rmSync(join(dir, "b", id!, f));
    writeFileSync(join(dir, "b", id!, "resume.safetensors"), serializeSafetensors({ tensors: new Map([["w", float32Tensor([1], new Float32Array([0]))]]), metadata: { format: RESUME_FORMAT, step: "1" } }));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`${id}: ${summary} is not JSON (unreadable_summary), so how its run ended is unknown; left as it is`);
    expect(readFileSync(weights)).to.deep.equal(before);
    expect(statusById("a")[id!]?.status).to.equal("unreadable_summary");
    // The other way round: a shard's run whose summary is not JSON is not copied, and said as such
    // (not as a run "stopped before its first resume checkpoint (no summary.json)").
    mkdirSync(join(dir, "c"));
    cpSync(join(dir, "a", id!), join(dir, "c", id!), { recursive: true });
    const back = captureIo();
    expect(await main(["results", "collect", "b", "c"], back), back.stderr).to.equal(0);
    expect(back.stderr).to.include(`${id}: ${join(dir, "c", id!, "summary.json")} is not JSON (unreadable_summary), so how its run ended is unknown; not copied`);
    expect(existsSync(join(dir, "b", id!, "resume.safetensors"))).to.equal(true);
  });

  it("results collect says it does not copy a shard's run folder whose run-meta.json is not JSON", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    const [cut] = readdirSync(join(dir, "b")).filter((d) => statSync(join(dir, "b", d)).isDirectory()).sort();
    const meta = join(dir, "b", cut!, "run-meta.json");
    writeFileSync(meta, readFileSync(meta, "utf8").slice(0, 20));
    // A folder with no run-meta.json at all is no run: passed over, not said to hold an unreadable one.
    mkdirSync(join(dir, "b", "notes"));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`${cut}: ${meta} is not JSON (unreadable_run_meta), so which run it holds is unknown; not copied`).and.include("1 not copied");
    expect(existsSync(join(dir, "a", cut!))).to.equal(false);
    // The other way round: the target's copy has the unreadable record, a shard a whole one.
    const [own] = readdirSync(join(dir, "a")).filter((d) => statSync(join(dir, "a", d)).isDirectory()).sort();
    mkdirSync(join(dir, "c"));
    cpSync(join(dir, "a", own!), join(dir, "c", own!), { recursive: true });
    const ownMeta = join(dir, "a", own!, "run-meta.json");
    writeFileSync(ownMeta, readFileSync(ownMeta, "utf8").slice(0, 20));
    const back = captureIo();
    // Not copied, as a shard's unreadable record is (exit 0), and not called a conflict of configs.
    expect(await main(["results", "collect", "a", "c"], back), back.stderr).to.equal(0);
    expect(back.stderr).to.include(`${own}: ${ownMeta} is not JSON (unreadable_run_meta), so which run that folder holds is unknown; not copied`).and.not.include("conflict");
    expect(readFileSync(ownMeta, "utf8")).to.have.length(20);
    // A sweep's planned run says why, as a folder no sweep planned does.
    expect(statusById("a")[own!]).to.include({ status: "unreadable_run_meta", message: "run-meta.json is not JSON" });
  });

  /** Two `sideways run`s of good.yaml (seeds 0 and 1); the first's run-meta.json cut to 20 bytes. */
  async function twoRunsFirstMetaCut() {
    expect(await main(["run", GOOD], captureIo())).to.equal(0);
    expect(await main(["run", GOOD, "seed=1"], captureIo())).to.equal(0);
    const root = join(dir, "results", "good");
    const [first, second] = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
    const meta = join(root, first!, "run-meta.json");
    writeFileSync(meta, readFileSync(meta, "utf8").slice(0, 20));
    return { root, first: first!, second: second!, meta };
  }

  it("plot with no completed run draws the unfinished ones, not one whose run-meta.json is not JSON (its configuration is unknown)", async () => {
    const { root, first, second } = await twoRunsFirstMetaCut();
    // The other, as if stopped before it ended: no summary, no final weights.
    for (const f of ["summary.json", "final.safetensors"]) rmSync(join(root, second, f));
    const io = captureIo();
    expect(await main(["plot", root], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("loss.svg (1 line;").and.include(`1 run not drawn (1 unreadable_run_meta: ${first})`);
    // With that run alone, plot says why there is nothing to draw (it did start).
    rmSync(join(root, second), { recursive: true });
    const alone = captureIo();
    expect(await main(["plot", root], alone)).to.equal(2);
    expect(alone.stderr).to.include(`1 run has a run-meta.json that is not JSON (unreadable_run_meta: ${first}), so which configuration it ran is unknown`).and.not.include("has started");
  });

  it("a `sideways run` folder whose run-meta.json is not JSON is listed as unreadable_run_meta in runs.csv", async () => {
    const { root, first, second, meta } = await twoRunsFirstMetaCut();
    const io = captureIo();
    expect(await main(["results", "collect", root], io), io.stderr).to.equal(0);
    const rows = statusById(join("results", "good"));
    expect(rows[first]?.status).to.equal("unreadable_run_meta");
    // Its seed and method from its config.yaml, which is whole.
    expect([rows[first]?.seed, rows[first]?.method]).to.deep.equal([0, "sideways"]);
    expect(rows[second]?.status).to.equal("completed");
    expect(io.stderr).to.include("2 runs (");
    // The damaged record stays as it was.
    expect(readFileSync(meta, "utf8")).to.have.length(20);
  });
});
