/**
 * Sweeps end to end with the real trainer on a tiny model (each run well under a second):
 * SIGKILL mid-sweep then resume runs exactly the missing runs; two shards at once into one
 * directory give complete, cleanly parsing results.
 */
import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCsv } from "../src/results/csv-read.js";
const FIXTURES = resolve("test/fixtures/specs");

const BIN = resolve("bin/sideways.js");
const SWEEP = join(FIXTURES, "sweep-good.yaml");

function start(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.resume();
  return new Promise((res) => child.on("close", (code) => res({ code, stderr })));
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const summaries = (root: string) =>
  existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, "summary.json"))) : [];

describe("sweeps: resume after SIGKILL, concurrent shards", function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "sideways-sweep-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("after SIGKILL of the sweep, running it again completes exactly the missing runs", async () => {
    // 8 runs (2 methods x 4 seeds), 2 at a time; kill the sweep once 2 have finished.
    const args = ["sweep", SWEEP, "sweep.seeds=4", "train.steps=30", "--jobs", "2"];
    const root = join(dir, "results", "sweep-good");
    const first = start(args, dir);
    const firstDone = finished(first);
    await until("two finished runs", () => summaries(root).length >= 2);
    first.kill("SIGKILL");
    await firstDone;
    // Its children notice (stdin closed) and stop; their run locks go with them. (runs.csv.lock
    // may stay behind if the sweep was killed while rewriting runs.csv: a dead holder's lock is
    // taken over by the next writer, which the resumed sweep below exercises.)
    await until("orphaned children to stop", () => readdirSync(root).every((f) => !f.endsWith(".lock") || f === "runs.csv.lock"), 30_000);
    const doneBefore = summaries(root).filter((d) => summaryStatus(root, d) === "completed");
    expect(doneBefore.length).to.be.within(2, 7);
    const mtimes = new Map(doneBefore.map((d) => [d, statSync(join(root, d, "summary.json")).mtimeMs]));

    const second = await finished(start([...args, "--quiet"], dir));
    expect(second.code, second.stderr).to.equal(0);
    const { rows } = readCsv(join(root, "runs.csv"));
    expect(rows).to.have.length(8);
    expect(new Set(rows.map((r) => r.run_id)).size).to.equal(8);
    expect(rows.every((r) => r.status === "completed")).to.equal(true);
    for (const [d, t] of mtimes) expect(statSync(join(root, d, "summary.json")).mtimeMs, `${d} was not rerun`).to.equal(t);
    // The finished sweep leaves its paper table and learning curves beside runs.csv.
    const table = readFileSync(join(root, "table.md"), "utf8");
    expect(table).to.match(/\| bp \|/).and.to.match(/\| sideways \|/).and.to.include("(n=4)");
    for (const f of ["table.csv", "table.tex", "loss.svg", "clip_accuracy.svg"]) expect(existsSync(join(root, f)), f).to.equal(true);

    const third = await finished(start(["sweep", SWEEP, "sweep.seeds=4", "train.steps=30"], dir));
    expect(third.code).to.equal(0);
    expect(third.stderr).to.include("8 skipped");

    // --force redoes every run, finished ones included.
    const before = new Map(summaries(root).map((d) => [d, statSync(join(root, d, "summary.json")).mtimeMs]));
    const forced = await finished(start(["sweep", SWEEP, "sweep.seeds=4", "train.steps=30", "--force", "--jobs", "2", "--quiet"], dir));
    expect(forced.code, forced.stderr).to.equal(0);
    for (const [d, t] of before) expect(statSync(join(root, d, "summary.json")).mtimeMs, `${d} was redone`).to.be.greaterThan(t);
  });

  it("two shards at once into one directory: merged results complete and parse cleanly", async () => {
    const args = ["sweep", SWEEP, "sweep.seeds=3", "--quiet"];
    const [a, b] = await Promise.all([finished(start([...args, "--shard", "0/2"], dir)), finished(start([...args, "--shard", "1/2"], dir))]);
    expect(a.code, a.stderr).to.equal(0);
    expect(b.code, b.stderr).to.equal(0);
    const root = join(dir, "results", "sweep-good");
    const check = () => {
      const { columns, rows } = readCsv(join(root, "runs.csv"));
      expect(columns.slice(0, 4)).to.deep.equal(["run_id", "config_id", "train.method", "seed"]);
      expect(rows).to.have.length(6);
      expect(new Set(rows.map((r) => r.run_id)).size).to.equal(6);
      expect(rows.every((r) => r.status === "completed" && typeof r.final_train_loss === "number")).to.equal(true);
    };
    check(); // the later shard's final regeneration (under the lock) already sees both shards
    const collect = await finished(start(["results", "collect", root], dir));
    expect(collect.code, collect.stderr).to.equal(0);
    expect(collect.stderr).to.include("6 runs (6 completed)");
    check();
  });
});

function summaryStatus(root: string, runDir: string): string {
  return (JSON.parse(readFileSync(join(root, runDir, "summary.json"), "utf8")) as { status: string }).status;
}
