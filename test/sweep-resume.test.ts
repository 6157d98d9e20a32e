/**
 * Sweeps end to end with the real trainer on a tiny model (each run well under a second):
 * SIGKILL mid-sweep then resume runs exactly the missing runs; two shards at once into one
 * directory give complete, cleanly parsing results; SIGTERM (src/train/stop-signals.ts) and a
 * sweep's death stop the runs with resume checkpoints, and a second Ctrl-C aborts them.
 */
import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCsv } from "../src/results/csv-read.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
const FIXTURES = resolve("test/fixtures/specs");

const BIN = resolve("bin/sideways.js");
const SWEEP = join(FIXTURES, "sweep-good.yaml");

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.resume();
  return new Promise((res) => child.on("close", (code) => res({ code, stderr })));
}

/** Waits for `cond`; the deadline covers a sweep's and its runs' start-up on a loaded machine. */
async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The environment of a sweep whose runs each wait after step `step` until they are stopped
 * (SIDEWAYS_FAILPOINT=step:wait, src/util/failpoint.ts; the release file is never made): a stop
 * lands mid-run however fast the runs train, so they can be short. `otherHooks` join it
 * (separated by ';').
 */
const holdingRunsAt = (step: number, ...otherHooks: string[]): NodeJS.ProcessEnv => ({
  ...process.env,
  SIDEWAYS_FAILPOINT: [...otherHooks, `step:wait:${step}:${join(tmpdir(), "sideways-test-never-made")}`].join(";"),
});

const summaries = (root: string) =>
  existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, "summary.json"))) : [];

describe("sweeps: resume after SIGKILL, concurrent shards", function () {
  // The first test runs four sweeps one after another: 48 s on a loaded 2-core machine (load 10).
  this.timeout(300_000);
  let dir: string;
  freshFolderEachTest("sideways-sweep-", (d) => (dir = d));

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
    await until("orphaned children to stop", () => readdirSync(root).every((f) => !f.endsWith(".lock") || f === "runs.csv.lock"));
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

describe("sweeps: two processes on one sweep folder, Ctrl-C", function () {
  this.timeout(120_000);
  let dir: string;
  freshFolderEachTest("sideways-sweep2-", (d) => (dir = d));

  it("two sweeps of the same config into one folder (no --shard): both exit 0, every run completed exactly once", async () => {
    const steps = 60;
    const args = ["sweep", SWEEP, `train.steps=${steps}`];
    const [a, b] = await Promise.all([finished(start(args, dir)), finished(start(args, dir))]);
    expect(a.code, a.stderr).to.equal(0);
    expect(b.code, b.stderr).to.equal(0);
    // Both start with run 0, so one of them normally finds it held by the other and waits instead
    // of failing; on a loaded machine one process can start late and find it completed already.
    expect(a.stderr + b.stderr).to.match(/another process|skipped/);
    // Each run trained by exactly one of them: a run's training starts ("<id>: started, ...") 4 times in all.
    expect((a.stderr + b.stderr).match(/^\S+: started, /gm), a.stderr + b.stderr).to.have.length(4);
    const root = join(dir, "results", "sweep-good");
    const { rows } = readCsv(join(root, "runs.csv"));
    expect(rows.map((r) => r.status)).to.deep.equal(["completed", "completed", "completed", "completed"]);
    for (const r of rows) {
      // One attempt per run: a second attempt would have cleared the folder and logged its own rows.
      const steps_logged = readFileSync(join(root, String(r.run_id), "metrics.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
      expect(steps_logged, String(r.run_id)).to.deep.equal(Array.from({ length: steps }, (_, i) => i + 1));
    }
  });

  it("a run held from another machine is left to it: the sweep ends (exit 130) naming the host and the lock file, the rest done", async () => {
    const args = ["sweep", SWEEP, "sweep.seeds=[0]", "--quiet"];
    const root = join(dir, "results", "sweep-good");
    expect((await finished(start(args, dir))).code).to.equal(0);
    // One of the 2 runs is now held by a process on another node (its pid cannot be checked
    // from here; a lock from another host never goes stale): waiting for it would never end.
    const [held, other] = readdirSync(root).filter((d) => existsSync(join(root, d, "run-meta.json"))).sort();
    rmSync(join(root, held), { recursive: true });
    writeFileSync(join(root, `${held}.lock`), JSON.stringify({ pid: 1, host: "other-node-of-the-cluster" }));
    const again = await finished(start(["sweep", SWEEP, "sweep.seeds=[0]"], dir));
    expect(again.code, again.stderr).to.equal(130);
    expect(again.stderr).to.include(`${held}: running on other-node-of-the-cluster (pid 1); left to it (if that process died, delete ${join(root, held)}.lock`);
    // The closing line repeats the lock to delete (it said only "1 still running in another process"), with --quiet too.
    const closing = `1 still running in another process (on other-node-of-the-cluster, pid 1; if that process died, delete ${join(root, held)}.lock); run the sweep again to finish`;
    expect(again.stderr).to.include(closing);
    const quiet = await finished(start(["sweep", SWEEP, "sweep.seeds=[0]", "--quiet"], dir));
    expect(quiet.code, quiet.stderr).to.equal(130);
    expect(quiet.stderr).to.include(closing);
    expect(existsSync(join(root, held))).to.equal(false);
    expect(summaryStatus(root, other)).to.equal("completed");
  });

  it("a run left to another machine whose lock's heartbeat stopped: the sweep waits for the lock to go stale, takes it over and resumes the run from its checkpoint, saying so", async () => {
    // --shard 0/2: the held run is the shard's only run, so the sweep looks at its lock again at once.
    const args = ["sweep", SWEEP, "sweep.seeds=[0]", "train.steps=20", "train.checkpoint_every=0", "--shard", "0/2"];
    const root = join(dir, "results", "sweep-good");
    const first = start([...args, "--quiet"], dir, holdingRunsAt(5));
    const stopped = finished(first);
    await until("the run to log steps", () => runFolders(root).some((d) => existsSync(join(root, d, "metrics.csv"))));
    first.kill("SIGINT");
    expect((await stopped).code).to.equal(130);
    const [held] = runFolders(root);
    const checkpointStep = (JSON.parse(readFileSync(join(root, held, "summary.json"), "utf8")) as { steps_done: number }).steps_done;
    // Its lock as a pod killed on another node leaves it: beating every 0.1 s until a moment ago.
    const lock = join(root, `${held}.lock`);
    writeFileSync(lock, JSON.stringify({ pid: 1, host: "other-node-of-the-cluster", heartbeat_s: 0.1 }));
    const lastBeat = Date.now();
    const again = await finished(start(args, dir, { ...process.env, SIDEWAYS_LOCK_HEARTBEAT_S: "0.1", SIDEWAYS_LOCK_STALE_S: "8" }));
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.include(`${held}: running on other-node-of-the-cluster (pid 1); left to it while its lock ${lock} beats`);
    expect(again.stderr).to.match(new RegExp(`waiting up to [1-8] s for ${held} \\(other-node-of-the-cluster, pid 1\\)`));
    expect(again.stderr).to.include(`${held}: the heartbeat of its lock (other-node-of-the-cluster, pid 1) stopped`);
    const tookOver = again.stderr.match(/took over its lock (\S+) \(left by pid 1 on other-node-of-the-cluster, whose heartbeat stopped: last beat ([\d.]+) s ago\); resuming from step (\d+)/);
    expect(tookOver, again.stderr).to.not.equal(null);
    expect(tookOver![1]).to.equal(lock);
    expect(Number(tookOver![2])).to.be.at.least(8);
    expect(Number(tookOver![3])).to.equal(checkpointStep);
    // Not before the stale margin had passed since its last beat.
    expect(Date.now() - lastBeat).to.be.at.least(8000);
    expect(summaryStatus(root, held)).to.equal("completed");
    const steps = readFileSync(join(root, held, "metrics.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
    expect(steps).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(existsSync(lock)).to.equal(false);
  });

  it("a run left to another machine whose lock beats stays left to it: exit 130, the closing line says its lock beats", async () => {
    const args = ["sweep", SWEEP, "sweep.seeds=[0]", "--shard", "0/2"];
    const root = join(dir, "results", "sweep-good");
    expect((await finished(start([...args, "--quiet"], dir))).code).to.equal(0);
    const [held] = runFolders(root);
    rmSync(join(root, held), { recursive: true });
    const lock = join(root, `${held}.lock`);
    writeFileSync(lock, JSON.stringify({ pid: 1, host: "other-node-of-the-cluster", heartbeat_s: 0.1 }));
    // Its holder alive on another node: its heartbeat goes on all through the sweep.
    const beat = setInterval(() => utimesSync(lock, new Date(), new Date()), 100);
    try {
      const again = await finished(start(args, dir, { ...process.env, SIDEWAYS_LOCK_HEARTBEAT_S: "0.1", SIDEWAYS_LOCK_STALE_S: "8" }));
      expect(again.code, again.stderr).to.equal(130);
      expect(again.stderr).to.include(`${held}: still running on other-node-of-the-cluster (pid 1), its lock beating; left to it`);
      expect(again.stderr).to.include("1 still running in another process (on other-node-of-the-cluster, pid 1, its lock beating); run the sweep again to finish");
      expect(again.stderr).to.not.include("took over");
    } finally {
      clearInterval(beat);
    }
    expect(JSON.parse(readFileSync(lock, "utf8")).pid).to.equal(1);
    expect(existsSync(join(root, held))).to.equal(false);
  });

  it("Ctrl-C (SIGINT) on a sweep: exit 130, the running run saves a resume checkpoint and stops", async () => {
    const args = ["sweep", SWEEP, "train.steps=20", "train.checkpoint_every=0", "--quiet"];
    const root = join(dir, "results", "sweep-good");
    const child = start(args, dir, holdingRunsAt(5));
    const done = finished(child);
    await until("the first run to log steps", () => existsSync(root) && readdirSync(root, { withFileTypes: true }).some((d) => d.isDirectory() && existsSync(join(root, d.name, "metrics.csv"))));
    child.kill("SIGINT");
    const first = await done;
    expect(first.code, first.stderr).to.equal(130);
    const interrupted = readdirSync(root).filter((d) => existsSync(join(root, d, "summary.json")) && summaryStatus(root, d) === "interrupted");
    expect(interrupted).to.have.length(1);
    // checkpoint_every=0: the only resume checkpoint is the one written on Ctrl-C.
    expect(existsSync(join(root, interrupted[0], "resume.safetensors"))).to.equal(true);
    expect(readdirSync(root).filter((f) => f.endsWith(".lock") && f !== "runs.csv.lock")).to.deep.equal([]);
  });

  it("Ctrl-C on a sweep running 2 runs: the summary counts them once, as interrupted, none as failed", async () => {
    // Each run holds after step 5 until stopped: neither ends before the second starts.
    const args = ["sweep", SWEEP, "train.steps=20", "train.checkpoint_every=0", "--jobs", "2"];
    const root = join(dir, "results", "sweep-good");
    const child = start(args, dir, holdingRunsAt(5));
    const done = finished(child);
    const logging = () => (existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(root, d.name, "metrics.csv"))).length : 0);
    await until("both runs to log steps", () => logging() >= 2);
    child.kill("SIGINT");
    const { code, stderr } = await done;
    expect(code, stderr).to.equal(130);
    const interrupted = readdirSync(root).filter((d) => existsSync(join(root, d, "summary.json")) && summaryStatus(root, d) === "interrupted");
    expect(interrupted, stderr).to.have.length(2);
    // The counter line and the closing line agree: 2 interrupted, 0 failed; the 2 runs still
    // queued are said as not started, as runs.csv lists them.
    expect(stderr).to.include("sweep: 2/4 (0 done, 0 failed, 2 interrupted, 0 skipped)");
    // With the command that finishes it: the same file and overrides (without them the sweep would plan other runs), and --jobs.
    expect(stderr).to.include(`2 interrupted (each resumes from its last resume checkpoint), 2 not started (not_started in runs.csv); run the sweep again to finish: sideways sweep ${SWEEP} train.steps=20 train.checkpoint_every=0 --jobs 2\n`);
    expect(readCsv(join(root, "runs.csv")).rows.map((r) => r.status).sort()).to.deep.equal(["interrupted", "interrupted", "not_started", "not_started"]);
    expect(stderr).not.to.match(/[1-9] failed|run\(s\) failed/);
  });
});

describe("stop signals: SIGTERM (Slurm, Kubernetes), a second signal, a sweep that dies", function () {
  this.timeout(120_000);
  let dir: string;
  freshFolderEachTest("sideways-sweep-stop-", (d) => (dir = d));
  // 2 runs (bp, sideways) side by side, each holding after step HOLD_AT until stopped (started
  // with holdingRunsAt): neither ends before both have started. Running the sweep again (no hold)
  // finishes them.
  const STEPS = 30;
  const HOLD_AT = 10;
  const args = ["sweep", SWEEP, "sweep.seeds=[0]", `train.steps=${STEPS}`, "train.checkpoint_every=0", "--jobs", "2"];
  const runDirs = (root: string) => readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const logging = (root: string) => existsSync(root) && runDirs(root).filter((d) => existsSync(join(root, d, "metrics.csv"))).length === 2;
  const locks = (root: string) => readdirSync(root).filter((f) => f.endsWith(".lock") && f !== "runs.csv.lock");

  /** Each run stopped by `cause` after some steps, with its own resume checkpoint and no lock. */
  function expectStopped(root: string, cause: string, log: string): void {
    expect(locks(root), log).to.deep.equal([]);
    for (const d of runDirs(root)) {
      const s = JSON.parse(readFileSync(join(root, d, "summary.json"), "utf8")) as { status: string; message: string; steps_done: number };
      expect(s, `${d}\n${log}`).to.include({ status: "interrupted", message: `stopped by ${cause}` });
      expect(s.steps_done, d).to.be.within(1, STEPS - 1);
      expect(existsSync(join(root, d, "resume.safetensors")), d).to.equal(true);
    }
  }

  /** Running the sweep again resumes both runs from their checkpoints and completes them. */
  async function expectResumed(root: string): Promise<void> {
    const stoppedAt = new Map(runDirs(root).map((d) => [d, (JSON.parse(readFileSync(join(root, d, "summary.json"), "utf8")) as { steps_done: number }).steps_done]));
    const again = await finished(start(args, dir));
    expect(again.code, again.stderr).to.equal(0);
    for (const [d, step] of stoppedAt) {
      expect(again.stderr).to.include(`${d}: resuming from step ${step}`);
      // The run's start line first, then what is said of its start.
      expect(again.stderr.indexOf(`${d}: started, `), again.stderr).to.be.within(0, again.stderr.indexOf(`${d}: resuming from step`));
      expect(summaryStatus(root, d)).to.equal("completed");
    }
  }

  it("SIGTERM to a sweep is passed on to its runs: exit 130, each saves a resume checkpoint and stops; running it again resumes them", async () => {
    const root = join(dir, "results", "sweep-good");
    const child = start(args, dir, holdingRunsAt(HOLD_AT));
    const done = finished(child);
    await until("both runs to log steps", () => logging(root));
    child.kill("SIGTERM");
    const { code, stderr } = await done;
    expect(code, stderr).to.equal(130);
    expect(stderr).to.include("SIGTERM: the running runs save resume checkpoints and stop");
    expect(stderr).to.include("2 interrupted (each resumes from its last resume checkpoint)");
    expectStopped(root, "SIGTERM", stderr);
    await expectResumed(root);
  });

  // Short runs held after step HOLD_AT until stopped, as above, and each run, once it has taken a
  // stop, waits 5 s before it saves and ends (SIDEWAYS_FAILPOINT=stop:hold, src/train/run-experiment.ts):
  // a second signal sent when the first is seen lands while the run is still stopping, however fast the machine.
  const short = ["sweep.seeds=[0]", `train.steps=${STEPS}`, "train.checkpoint_every=0"];
  /** Starts `args` in `dir` with runs held at HOLD_AT and stops held, keeping its stderr so far in `.stderr`. */
  function startWatched(args: string[]): { child: ChildProcess; stderr: string } {
    const watched = { child: start(args, dir, holdingRunsAt(HOLD_AT, "stop:hold:5000")), stderr: "" };
    watched.child.stderr!.on("data", (d) => (watched.stderr += d));
    return watched;
  }

  it("a second signal aborts a stopping `run` at once: exit 130, no summary, its lock released", async () => {
    const run = startWatched(["run", SWEEP, ...short, "output.dir=out"]);
    const ended = new Promise<number | null>((res) => run.child.on("close", (code) => res(code)));
    run.child.stdout!.resume();
    // A logged step: the run is training, so the SIGTERM is the trainer's (one while the run sets
    // up, before its lock, would end it at once, with nothing to save).
    const stepsLogged = (d: string) => existsSync(join(dir, "out", d, "metrics.csv")) && readFileSync(join(dir, "out", d, "metrics.csv"), "utf8").trim().split("\n").length > 1;
    await until("a logged step", () => existsSync(join(dir, "out")) && runDirs(join(dir, "out")).some(stepsLogged));
    run.child.kill("SIGTERM");
    await until("the run to take the SIGTERM", () => run.stderr.includes("stopped by SIGTERM: saving a resume checkpoint after this step (a second Ctrl-C or SIGTERM aborts the run without one)"));
    run.child.kill("SIGINT");
    expect(await ended, run.stderr).to.equal(130);
    expect(run.stderr).to.include("SIGINT again: aborting without a resume checkpoint");
    const [id] = runDirs(join(dir, "out"));
    expect(existsSync(join(dir, "out", id, "summary.json")), "summary.json").to.equal(false);
    // Ended by process.exit, not by the signal: the lock's exit handler removed it.
    expect(existsSync(join(dir, "out", `${id}.lock`)), "lock left").to.equal(false);
  });

  it("a second Ctrl-C to a stopping sweep aborts its runs (SIGKILL): counted interrupted, not failed, exit 130, their locks removed", async () => {
    const root = join(dir, "results", "sweep-good");
    const sweep = startWatched(["sweep", SWEEP, ...short, "--jobs", "2"]);
    const done = finished(sweep.child);
    await until("both runs to log steps", () => logging(root));
    sweep.child.kill("SIGTERM");
    await until("the sweep to take the SIGTERM", () => sweep.stderr.includes("SIGTERM: the running runs save resume checkpoints and stop (a second Ctrl-C aborts them)"));
    sweep.child.kill("SIGINT");
    const { code, stderr } = await done;
    expect(code, stderr).to.equal(130);
    expect(stderr).to.include("SIGINT again: aborting the running runs").and.include("2 interrupted");
    expect(stderr).not.to.match(/[1-9] failed|run\(s\) failed/);
    // Killed mid-step: neither run wrote a summary; the sweep removed the locks its runs could not.
    expect(locks(root), stderr).to.have.length(0);
    expect(runDirs(root).filter((d) => existsSync(join(root, d, "summary.json"))), stderr).to.deep.equal([]);
  });

  it("a second SIGTERM to a stopping sweep (Slurm's --signal=B:TERM@N, then its time limit) does not abort its runs", async () => {
    const root = join(dir, "results", "sweep-good");
    const sweep = startWatched(["sweep", SWEEP, ...short, "--jobs", "2"]);
    const done = finished(sweep.child);
    await until("both runs to log steps", () => logging(root));
    sweep.child.kill("SIGTERM");
    await until("the sweep to take the SIGTERM", () => sweep.stderr.includes("SIGTERM: the running runs save resume checkpoints and stop"));
    sweep.child.kill("SIGTERM");
    const end = await done;
    expect(end.code, end.stderr).to.equal(130);
    expect(end.stderr).to.include("SIGTERM again: the runs are already saving and stopping").and.not.include("aborting");
    // Each run says what a second signal does in a sweep; it said "(a second signal aborts)", as a `run` of its own does.
    const said = ": stopped by SIGTERM: saving a resume checkpoint after this step (a second Ctrl-C to the sweep aborts the run without one; a second SIGTERM does not)";
    expect(end.stderr.split(said).length - 1, end.stderr).to.equal(2);
    expectStopped(root, "SIGTERM", end.stderr);
  });

  it("SIGTERM to each run, then to the sweep, which passes it on (as Slurm signals every process of a job): the second does not abort the runs", async () => {
    const root = join(dir, "results", "sweep-good");
    const sweep = startWatched(["sweep", SWEEP, ...short, "--jobs", "2"]);
    const done = finished(sweep.child);
    await until("both runs to log steps", () => logging(root));
    const pids = locks(root).map((f) => (JSON.parse(readFileSync(join(root, f), "utf8")) as { pid: number }).pid);
    expect(pids).to.have.length(2);
    for (const pid of pids) process.kill(pid, "SIGTERM");
    await until("both runs to take the first SIGTERM", () => (sweep.stderr.match(/: stopped by SIGTERM: saving a resume checkpoint after this step/g) ?? []).length === 2);
    sweep.child.kill("SIGTERM");
    const end = await done;
    expect(end.code, end.stderr).to.equal(130);
    expect(end.stderr).not.to.include("failed (SIGTERM)");
    expectStopped(root, "SIGTERM", end.stderr);
  });

  it("Ctrl-C while --fail-fast stops the runs (after one diverged): exit 130, the interrupt, not 3", async () => {
    // One run's loss is NaN at step 2 (lr 1e30); the other is still running (held at step HOLD_AT)
    // and holds 5 s once told to stop, so the Ctrl-C reaches the sweep while it waits for that run.
    const grid = ["sweep.grid.train.optimizer.lr=[1e30,0.001]", "sweep.grid.train.method=[bp]", "--jobs", "2", "--fail-fast"];
    const sweep = startWatched(["sweep", SWEEP, ...short, ...grid]);
    const done = finished(sweep.child);
    await until("--fail-fast to stop the other run", () => sweep.stderr.includes("--fail-fast: stopping the other runs"), 60_000);
    sweep.child.kill("SIGINT");
    const { code, stderr } = await done;
    // Taken by the sweep while its run was stopping (not after the runs, when any signal ends it with 130).
    expect(stderr).to.include("SIGINT (Ctrl-C): the running runs save resume checkpoints and stop").and.include("1 run(s) stopped at a non-finite loss");
    expect(code, stderr).to.equal(130);
    const root = join(dir, "results", "sweep-good");
    expect(locks(root), stderr).to.deep.equal([]);
  });

  it("a sweep killed with SIGKILL: its runs see their stdin close, save a resume checkpoint and stop; running it again resumes them", async () => {
    const root = join(dir, "results", "sweep-good");
    const child = start(args, dir, holdingRunsAt(HOLD_AT));
    const done = finished(child);
    await until("both runs to log steps", () => logging(root));
    child.kill("SIGKILL");
    await done;
    await until("the orphaned runs to stop", () => locks(root).length === 0 && runDirs(root).every((d) => existsSync(join(root, d, "summary.json"))));
    expectStopped(root, "the end of its sweep (stdin closed)", "");
    await expectResumed(root);
  });
});

function summaryStatus(root: string, runDir: string): string {
  return (JSON.parse(readFileSync(join(root, runDir, "summary.json"), "utf8")) as { status: string }).status;
}

/** The run folders of an experiment folder (those with run-meta.json), sorted. */
function runFolders(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, "run-meta.json"))).sort() : [];
}
