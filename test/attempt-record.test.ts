/**
 * What a run folder records of each attempt at its run: a resumed attempt that ran settings the
 * run id leaves out (train.checkpoint_every, data.prefetch) with other values keeps config.yaml as
 * the run started and records its own in run-meta.json; an attempt killed before its first resume
 * checkpoint stays in run-meta.json, marked, when the run starts again from step 0.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { main } from "../src/cli/main.js";
import { readCsv } from "../src/results/csv-read.js";
import type { RunMeta } from "../src/results/run-dir.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { GOOD } from "./helpers/spec-fixtures.js";
import { runFolderIn } from "./helpers/run-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));
const HOLD_AT = 3;

/**
 * Runs GOOD with `args` in a child that holds after update HOLD_AT (SIDEWAYS_FAILPOINT step:wait,
 * its release file never made), and ends it there with `signal`.
 */
async function runAndStopAtHold(dir: string, args: string[], signal: NodeJS.Signals): Promise<void> {
  const env = { ...process.env, SIDEWAYS_FAILPOINT: `step:wait:${HOLD_AT}:${join(dir, "never-made")}` };
  const child = spawn(process.execPath, [cli, "run", GOOD, ...args, "--quiet"], { cwd: dir, stdio: "ignore", env });
  const exited = new Promise((res) => child.on("exit", res));
  const metrics = () => join(runFolderIn(join(dir, "run")), "metrics.csv");
  const deadline = Date.now() + 30_000;
  while (!(existsSync(metrics()) && readCsv(metrics()).rows.some((r) => r.step === HOLD_AT))) {
    if (Date.now() > deadline) throw new Error(`the run did not reach step ${HOLD_AT} within 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill(signal);
  await exited;
}

const runMeta = (runDir: string) => JSON.parse(readFileSync(join(runDir, "run-meta.json"), "utf8")) as RunMeta;

describe("run-meta.json: each attempt at a run", function () {
  this.timeout(120_000);
  let dir = "";
  inFreshFolderEachTest("sideways-attempts-", (d) => (dir = d));
  const common = ["train.steps=8", "output.dir=run"];

  it("a run resumed with other settings outside its id keeps config.yaml as it started and records the attempt's values", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=2"], "SIGTERM");
    const runDir = runFolderIn(join(dir, "run"));
    expect(existsSync(join(runDir, "resume.safetensors")), "the stop left a resume checkpoint").to.equal(true);
    const io = captureIo();
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=3", "data.prefetch=5"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/resuming from step \d+/);
    expect(io.stderr).to.include("note: resuming").and.include("data.prefetch 2 there, 5 now; train.checkpoint_every 2 there, 3 now");
    const config = parse(readFileSync(join(runDir, "config.yaml"), "utf8")) as { train: { checkpoint_every: number; steps: number }; data: { prefetch: number } };
    expect(config.train.checkpoint_every).to.equal(2);
    expect(config.data.prefetch).to.equal(2);
    const attempts = runMeta(runDir).provenance!;
    expect(attempts).to.have.length(2);
    expect(attempts[0]).to.not.have.property("settings");
    expect(attempts[1]!.settings).to.deep.equal({ "data.prefetch": 5, "train.checkpoint_every": 3 });
    expect(readCsv(join(runDir, "metrics.csv")).rows.at(-1)!.step).to.equal(8);
  });

  it("a resume with the run's own settings records none", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=2"], "SIGTERM");
    const io = captureIo();
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=2"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/resuming from step \d+/).and.not.include("settings other than");
    const attempts = runMeta(runFolderIn(join(dir, "run"))).provenance!;
    expect(attempts).to.have.length(2);
    expect(attempts[1]).to.not.have.property("settings");
  });

  it("a run killed outright (SIGKILL) leaves its lock; the next attempt on this host takes it over and says so: the dead pid, the lock, the step it resumes from", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=2"], "SIGKILL");
    const runDir = runFolderIn(join(dir, "run"));
    const lock = `${runDir}.lock`;
    const { pid } = JSON.parse(readFileSync(lock, "utf8")) as { pid: number };
    const io = captureIo();
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=2"], io), io.stderr).to.equal(0);
    // Before, the lock was taken over without a word. Killed after update 3: its checkpoint is step 2's.
    expect(io.stderr).to.include(`took over its lock ${lock} (left by pid ${pid}, which is no longer running on this host); resuming from step 2`);
    expect(existsSync(lock)).to.equal(false);
  });

  it("a run killed outright on another host: its lock records a heartbeat, and once that has been still for 120 s the next attempt takes it over and says so", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=2"], "SIGKILL");
    const runDir = runFolderIn(join(dir, "run"));
    const lock = `${runDir}.lock`;
    const left = JSON.parse(readFileSync(lock, "utf8")) as { pid: number; host: string; heartbeat_s?: number };
    expect(left.heartbeat_s).to.equal(15);
    // The same lock as a pod on another node leaves it, its last beat 200 s ago (its pid cannot be checked from here).
    writeFileSync(lock, JSON.stringify({ ...left, host: "other-node-of-the-cluster" }));
    const lastBeat = new Date(Date.now() - 200_000);
    utimesSync(lock, lastBeat, lastBeat);
    const io = captureIo();
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=2"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(new RegExp(`took over its lock ${lock.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(left by pid ${left.pid} on other-node-of-the-cluster, whose heartbeat stopped: last beat 20[01] s ago\\); resuming from step 2`));
    expect(existsSync(lock)).to.equal(false);
  });

  it("a run whose lock beats on another host: run leaves it to that process (exit 130), saying after how long a still lock is taken over: 120 s, or 4 of its beats where those are slower", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=2"], "SIGKILL");
    const runDir = runFolderIn(join(dir, "run"));
    const lock = `${runDir}.lock`;
    const left = JSON.parse(readFileSync(lock, "utf8")) as { pid: number; host: string };
    for (const [heartbeatS, staleS] of [[15, 120], [60, 240]]) {
      // A pod on another node, alive: its last beat a moment ago.
      const holder = { ...left, host: "other-node-of-the-cluster", heartbeat_s: heartbeatS };
      writeFileSync(lock, JSON.stringify(holder));
      const io = captureIo();
      expect(await main(["run", GOOD, ...common, "train.checkpoint_every=2"], io), io.stderr).to.equal(130);
      expect(io.stderr).to.include(
        `running on other-node-of-the-cluster (pid ${left.pid}); left to it while its lock ${lock} beats (if it stops, run this again once it has been still for ${staleS} s: the run is then taken over)`,
      );
      expect(JSON.parse(readFileSync(lock, "utf8"))).to.deep.equal(holder);
    }
  });

  it("an attempt killed (SIGKILL) before its first checkpoint stays in run-meta.json, marked, when the run starts again from step 0", async () => {
    await runAndStopAtHold(dir, [...common, "train.checkpoint_every=100"], "SIGKILL");
    const runDir = runFolderIn(join(dir, "run"));
    expect(existsSync(join(runDir, "resume.safetensors"))).to.equal(false);
    const killed = runMeta(runDir).provenance!;
    expect(killed).to.have.length(1);
    const io = captureIo();
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=100"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`reached step ${HOLD_AT} and left no resume checkpoint`);
    const attempts = runMeta(runDir).provenance!;
    expect(attempts).to.have.length(2);
    expect(attempts[0]).to.deep.equal({ ...killed[0], left_no_checkpoint: true, last_step_logged: HOLD_AT });
    expect(attempts[1]).to.not.have.property("left_no_checkpoint");
    expect(attempts[1]!.started_at >= attempts[0]!.started_at).to.equal(true);
    // --force replaces the folder, and its record with it.
    expect(await main(["run", GOOD, ...common, "train.checkpoint_every=100", "--force", "--quiet"], captureIo())).to.equal(0);
    expect(runMeta(runDir).provenance).to.have.length(1);
  });
});
