/**
 * Two `sideways run`s of the same config at once (two terminals): the second waits while the
 * first holds the run, as a sweep does, instead of failing with exit 1. When the first completes,
 * the second finds it completed (exit 0); when the first is interrupted (Ctrl-C), the second
 * resumes it from its checkpoint, and the weights equal an uninterrupted run's bit for bit. A run
 * held from another machine is left to it. The first run waits after step HOLD_AT until the test
 * lets it go or stops it (SIDEWAYS_FAILPOINT=step:wait, src/util/failpoint.ts): however fast it
 * trains, it is still running when the second starts, so the runs can be short.
 */
import { expect } from "chai";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HOLD_AT, STEPS, type Finished, writeHeldRunExperiment } from "./helpers/held-run.js";
import { runFolderIn } from "./helpers/run-folder.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));
/** A hang guard for one whole run in a child process: one took 25 s on a loaded 2-core machine. */
const RUN_LIMIT_MS = 180_000;

/** The file whose creation lets a run held by `holdingRun` go on. */
const releaseFile = (dir: string) => join(dir, "release-first-run");

/** The environment of a run that waits after step HOLD_AT until releaseFile(dir) exists or it is stopped. */
const holdingRun = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, SIDEWAYS_FAILPOINT: `step:wait:${HOLD_AT}:${releaseFile(dir)}` });

function start(dir: string, env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; stderr: () => string; done: Promise<Finished> } {
  const child = spawn(process.execPath, [cli, "run", "exp.yaml"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<Finished>((res) => child.on("close", (code) => res({ code, stderr })));
  return { child, stderr: () => stderr, done };
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const metricsCsv = (dir: string) => join(runFolderIn(join(dir, "run")), "metrics.csv");
const stepsLogged = (dir: string) =>
  readFileSync(metricsCsv(dir), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
/** Whether the first run has logged step HOLD_AT, after which it waits. */
const holding = (dir: string) => existsSync(metricsCsv(dir)) && stepsLogged(dir).includes(HOLD_AT);

describe("two `sideways run`s of one config at once", function () {
  // The last test trains the run twice over (the reference, then the first and second runs).
  this.timeout(300_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();
  const newDir = () => {
    const d = tempFolder("sideways-concurrent-");
    writeHeldRunExperiment(d, "concurrent");
    return d;
  };

  it("the second waits for the first: both exit 0, the run trained once", async () => {
    const dir = newDir();
    const first = start(dir, holdingRun(dir));
    // Held after step HOLD_AT (alive, holding its lock) until the second waits: however fast the first would train.
    await waitFor(() => holding(dir), "the first run to reach its hold");
    const second = start(dir);
    await waitFor(() => second.stderr().includes("waiting for it"), "the second run to wait");
    writeFileSync(releaseFile(dir), "");
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stderr).to.equal(0);
    // It used to exit 1 ("run failed: ... already running in another process").
    expect(b.code, b.stderr).to.equal(0);
    expect(b.stderr).to.include("waiting for it");
    expect(b.stderr).to.include("already completed");
    expect(stepsLogged(dir)).to.deep.equal(Array.from({ length: STEPS }, (_, i) => i + 1));
  });

  it("a run held from another machine is left to it: exit 130 naming the host and the lock file, no waiting", async () => {
    const dir = newDir();
    // Held after step HOLD_AT, so it is still running (not completed) when killed.
    const first = start(dir, holdingRun(dir));
    await waitFor(() => holding(dir), "the first run to reach its hold");
    first.child.kill("SIGKILL");
    await first.done;
    // Its lock, as a process on a cluster node would leave it (a dead node's pid cannot be
    // checked from here, and such a lock never goes stale): waiting for it would never end.
    const lock = `${runFolderIn(join(dir, "run"))}.lock`;
    writeFileSync(lock, JSON.stringify({ pid: 1, host: "other-node-of-the-cluster" }));
    const again = spawnSync(process.execPath, [cli, "run", "exp.yaml"], { cwd: dir, encoding: "utf8", timeout: RUN_LIMIT_MS });
    expect(again.status, again.stderr).to.equal(130);
    expect(again.stderr).to.include(`running on other-node-of-the-cluster (pid 1); left to it (if that process died, delete ${lock}`);
    expect(existsSync(lock)).to.equal(true);
  });

  it("the first interrupted by Ctrl-C: the waiting second resumes it, bit-identical to an uninterrupted run", async () => {
    const refDir = newDir();
    const ref = spawnSync(process.execPath, [cli, "run", "exp.yaml", "--quiet"], { cwd: refDir, encoding: "utf8", timeout: RUN_LIMIT_MS });
    expect(ref.status, ref.stderr).to.equal(0);
    const reference = readFileSync(join(runFolderIn(join(refDir, "run")), "final.safetensors"));

    const dir = newDir();
    const first = start(dir, holdingRun(dir));
    // Held after step HOLD_AT (past its first resume checkpoint, alive, holding its lock) until the
    // second waits, then stopped, which ends the hold: it cannot finish first.
    await waitFor(() => holding(dir), "the first run to reach its hold");
    const second = start(dir);
    await waitFor(() => second.stderr().includes("waiting for it"), "the second run to wait");
    first.child.kill("SIGINT");
    const a = await first.done;
    expect(a.code, a.stderr).to.equal(130);
    const b = await second.done;
    expect(b.code, b.stderr).to.equal(0);
    expect(b.stderr).to.match(/resuming from step [1-9]/);
    expect(readFileSync(join(runFolderIn(join(dir, "run")), "final.safetensors")).equals(reference)).to.equal(true);
    expect(stepsLogged(dir)).to.deep.equal(Array.from({ length: STEPS }, (_, i) => i + 1));
  });
});
