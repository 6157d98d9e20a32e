/**
 * A run whose lock another host took over while it still trained (its node froze or was suspended
 * for longer than the lock's stale margin, then came back): it stops at its next step boundary
 * without writing another file into the run folder, which is the taker's now, says so, and exits
 * 1; a sweep leaves the run to the taker instead of counting it failed. The run waits after step
 * HOLD_AT (SIDEWAYS_FAILPOINT=step:wait) while the test swaps the lock for another host's, as a
 * taker writes it: the "freeze", of known length however fast the run trains.
 */
import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { readCsv } from "../src/results/csv-read.js";
import { lockTakenOverText } from "../src/results/run-lock-watch.js";
import { HOLD_AT, type Finished, writeHeldRunExperiment } from "./helpers/held-run.js";
import { runFolderIn } from "./helpers/run-folder.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const BIN = resolve("bin/sideways.js");
const OTHER = "other-node-of-the-cluster";

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, done: new Promise((res) => child.on("close", (code) => res({ code, stderr }))) };
}

async function waitFor(what: string, cond: () => boolean, ended?: Promise<Finished>): Promise<void> {
  const deadline = Date.now() + 120_000;
  let gone: Finished | null = null;
  void ended?.then((f) => (gone = f));
  while (!cond()) {
    if (gone !== null) throw new Error(`the process ended before ${what}: ${JSON.stringify(gone)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stepsLogged = (runDir: string) => readCsv(join(runDir, "metrics.csv")).rows.map((r) => Number(r.step));
const holding = (runDir: string) => existsSync(join(runDir, "metrics.csv")) && stepsLogged(runDir).includes(HOLD_AT);

/** Every file of the run folder with its bytes and mtime: what must not change once the lock is another's. */
function folderState(runDir: string): Record<string, { text: string; mtimeMs: number }> {
  return Object.fromEntries(readdirSync(runDir).sort().map((f) => [f, { text: readFileSync(join(runDir, f)).toString("base64"), mtimeMs: statSync(join(runDir, f)).mtimeMs }]));
}

/** What a process on another host does once our lock looked still for the stale margin. */
function takeOver(lock: string, heartbeatS: number): string {
  unlinkSync(lock);
  const text = JSON.stringify({ pid: 1, host: OTHER, heartbeat_s: heartbeatS });
  writeFileSync(lock, text);
  return text;
}

const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("a run whose lock was taken over while it trained", function () {
  this.timeout(300_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("`sideways run` stops at its next step boundary: exit 1 naming the lock and its new holder, nothing more written into the folder, the taker's lock kept", async () => {
    const dir = tempFolder("sideways-taken-over-");
    writeHeldRunExperiment(dir, "taken-over");
    const go = join(dir, "go");
    // A stale margin of 0.5 s (beats every 0.1 s): the hold below is "unresponsive" past it.
    const env = { ...process.env, SIDEWAYS_FAILPOINT: `step:wait:${HOLD_AT}:${go}`, SIDEWAYS_LOCK_HEARTBEAT_S: "0.1", SIDEWAYS_LOCK_STALE_S: "0.5" };
    const run = start(["run", "exp.yaml"], dir, env);
    await waitFor("the run to reach its hold", () => holding(runFolderIn(join(dir, "run"))), run.done);
    const runDir = runFolderIn(join(dir, "run"));
    const lock = `${runDir}.lock`;
    expect(JSON.parse(readFileSync(lock, "utf8")).pid).to.equal(run.child.pid);
    await sleep(1000);
    const taker = takeOver(lock, 15);
    const before = folderState(runDir);
    expect(before["resume.safetensors"], "the checkpoint of step 5").to.not.equal(undefined);
    writeFileSync(go, "");
    const { code, stderr } = await run.done;
    expect(code, stderr).to.equal(1);
    const said = stderr.match(new RegExp(`run failed: run (\\S+): its lock ${escaped(lock)} was taken over by pid 1 on ${OTHER} while this process was unresponsive for ([\\d.]+) s \\(since it last found the lock its own; a lock from another host that has not beaten for 0.5 s is taken as its holder gone\\); this process stopped without writing: the run folder is that process's now`));
    expect(said, stderr).to.not.equal(null);
    expect(Number(said![2])).to.be.at.least(1);
    // The taker's lock stays, and the folder is as it was at the swap: no row of step 8, no
    // checkpoint, no summary.json, no final weights.
    expect(readFileSync(lock, "utf8")).to.equal(taker);
    expect(folderState(runDir)).to.deep.equal(before);
    expect(stepsLogged(runDir)).to.deep.equal(Array.from({ length: HOLD_AT }, (_, i) => i + 1));
    expect(existsSync(join(runDir, "summary.json"))).to.equal(false);
  });

  it("a sweep's run stops the same way and is left to the taker, not failed: runs.csv says running, the taker's lock stays", async () => {
    const dir = tempFolder("sideways-taken-over-");
    const go = join(dir, "go");
    const env = { ...process.env, SIDEWAYS_FAILPOINT: `step:wait:${HOLD_AT}:${go}`, SIDEWAYS_LOCK_HEARTBEAT_S: "0.1", SIDEWAYS_LOCK_STALE_S: "8" };
    // --shard 0/2: one run, so the sweep looks at the taker's lock again as soon as its child ends.
    const fixture = resolve("test/fixtures/specs/sweep-good.yaml");
    const sweep = start(["sweep", fixture, "sweep.seeds=[0]", "train.steps=20", "--shard", "0/2"], dir, env);
    const root = join(dir, "results", "sweep-good");
    const runFolder = () => (existsSync(root) ? readdirSync(root).find((d) => existsSync(join(root, d, "metrics.csv"))) : undefined);
    await waitFor("the run to reach its hold", () => runFolder() !== undefined && holding(join(root, runFolder()!)), sweep.done);
    const held = runFolder()!;
    const lock = join(root, `${held}.lock`);
    const taker = takeOver(lock, 0.1);
    // The taker alive on its node: its lock beats all through the rest of the sweep.
    const beat = setInterval(() => utimesSync(lock, new Date(), new Date()), 100);
    let finished: Finished;
    try {
      const before = folderState(join(root, held));
      writeFileSync(go, "");
      finished = await sweep.done;
      expect(folderState(join(root, held))).to.deep.equal(before);
    } finally {
      clearInterval(beat);
    }
    const { code, stderr } = finished;
    // Left to another process, as a run found held from another host: not a failure (exit 1), no retry.
    expect(code, stderr).to.equal(130);
    expect(stderr).to.include(`${held}: its process ended (exit status 1):`);
    expect(stderr).to.include(`its lock ${lock} was taken over by pid 1 on ${OTHER}`);
    expect(stderr).to.include(`${held}: still running on ${OTHER} (pid 1), its lock beating; left to it`);
    expect(stderr).to.not.match(/failed \(exit status/);
    expect(readFileSync(lock, "utf8")).to.equal(taker);
    const row = readCsv(join(root, "runs.csv")).rows.find((r) => r.run_id === held);
    expect(row?.status).to.equal("running");
  });

  it("says a lock taken while this process answered (under the margin) as the hosts' clocks disagreeing, and a holder not yet written as such", () => {
    expect(lockTakenOverText("r", "/x/r.lock", { pid: 7, host: "n2" }, 3_000, 120)).to.equal(
      "run r: its lock /x/r.lock was taken over by pid 7 on n2 although this process last found the lock its own 3.0 s ago, under the 120 s a lock must be still to be taken over (the two hosts' clocks may disagree, or the file server lagged); this process stopped without writing: the run folder is that process's now",
    );
    expect(lockTakenOverText("r", "/x/r.lock", null, 130_000, 120)).to.match(/taken over by another process \(its lock names none yet\) while this process was unresponsive for 130 s/);
  });
});
