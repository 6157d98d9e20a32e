/** Lock files: exclusive while the holder lives; a dead holder's lock is taken over. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { liveLockHolder, tryLock, withLock } from "../src/results/file-lock.js";
import { HEARTBEAT_INTERVAL_S, HEARTBEAT_STALE_S, endHeartbeatThreadForTests, heartbeatTiming } from "../src/results/lock-heartbeat.js";
import { InputError } from "../src/errors.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * After its lock's release, a file this process writes at the path with the very text its beats
 * look for (a 0.05 s heartbeat), stamped `past`, keeps that mtime: the heartbeat thread heard the release.
 */
async function expectNotBeatenAfterRelease(path: string, past: Date): Promise<void> {
  await sleep(100);
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), heartbeat_s: 0.05 }));
  utimesSync(path, past, past);
  await sleep(300);
  expect(statSync(path).mtimeMs).to.be.closeTo(past.getTime(), 1);
}

describe("file locks", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  it("is exclusive while held and free once released", () => {
    const path = join(tempFolder("sideways-lock-"), "x.lock");
    const release = tryLock(path, 60_000);
    expect(release).to.be.a("function");
    expect(tryLock(path, 60_000)).to.equal(null);
    expect(liveLockHolder(path, 60_000)).to.deep.equal({ pid: process.pid, host: hostname() });
    release!();
    expect(existsSync(path)).to.equal(false);
  });

  it("takes over a lock left by a killed process on this host (as a SIGKILLed sweep leaves runs.csv.lock)", async () => {
    const path = join(tempFolder("sideways-lock-"), "runs.csv.lock");
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: hostname() }));
    expect(liveLockHolder(path, 60_000)).to.equal(null);
    const value = await withLock(path, () => 42, 60_000, 2_000);
    expect(value).to.equal(42);
    expect(existsSync(path)).to.equal(false);
  });

  it("tells the caller whose stale lock it took over, and nothing where the lock was free", () => {
    const path = join(tempFolder("sideways-lock-"), "run.lock");
    const told: unknown[] = [];
    tryLock(path, 60_000, (stale) => told.push(stale))!();
    expect(told).to.deep.equal([]);
    const dead = { pid: deadPid(), host: hostname() };
    writeFileSync(path, JSON.stringify(dead));
    expect(tryLock(path, 60_000, (stale) => told.push(stale))).to.be.a("function");
    expect(told).to.deep.equal([dead]);
    // A live holder's lock is not taken: nothing to tell.
    expect(tryLock(path, 60_000, (stale) => told.push(stale))).to.equal(null);
    expect(told).to.have.length(1);
  });

  describe("heartbeat (locks held from another host)", () => {
    /** The main thread blocked, as in a long synchronous onnxruntime run(): no event loop, no timers. */
    const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const OTHER = "other-node-of-the-cluster";
    /** A lock as a process on another host writes it, its mtime `ageS` seconds ago. */
    function otherHostLock(path: string, ageS: number, heartbeat_s?: number): { pid: number; host: string; heartbeat_s?: number } {
      const holder = { pid: 1, host: OTHER, ...(heartbeat_s === undefined ? {} : { heartbeat_s }) };
      writeFileSync(path, JSON.stringify(holder));
      const then = new Date(Date.now() - ageS * 1000);
      utimesSync(path, then, then);
      return holder;
    }

    it("keeps the held lock's mtime moving while the main thread is blocked, records its interval, and stops at release", async () => {
      const path = join(tempFolder("sideways-lock-"), "run.lock");
      const release = tryLock(path, Number.POSITIVE_INFINITY, undefined, { intervalS: 0.05, staleS: 1 })!;
      expect(JSON.parse(readFileSync(path, "utf8"))).to.deep.equal({ pid: process.pid, host: hostname(), heartbeat_s: 0.05 });
      const past = new Date(Date.now() - 60_000);
      utimesSync(path, past, past);
      const blockedAt = Date.now();
      blockFor(300); // 6 intervals without the event loop
      // Whole milliseconds: file systems keep mtimes coarser than Date.now()'s fractions.
      expect(statSync(path).mtimeMs).to.be.at.least(blockedAt - 1);
      release();
      // Released: a file made at the path afterwards is not touched, even one of the text the
      // beats look for (another holder's lock differs, and is left alone for that alone).
      await expectNotBeatenAfterRelease(path, past);
    });

    it("a held lock taken over as stale while its holder still ran (a node that stopped answering, then came back): the holder neither beats nor releases the new holder's lock", async () => {
      const path = join(tempFolder("sideways-lock-"), "run.lock");
      const release = tryLock(path, Number.POSITIVE_INFINITY, undefined, { intervalS: 0.05, staleS: 1 })!;
      // What a process on another host does once our lock looked still for the stale margin.
      unlinkSync(path);
      const taker = otherHostLock(path, 0.5, 0.05);
      const takerBeat = statSync(path).mtimeMs;
      blockFor(300); // 6 of our intervals
      await sleep(100);
      // Its holder's beats alone move its mtime: ours would keep it alive after that holder died.
      expect(statSync(path).mtimeMs).to.be.closeTo(takerBeat, 1);
      release();
      // Removing it would let a third process start the run beside the one that took it.
      expect(existsSync(path)).to.equal(true);
      expect(JSON.parse(readFileSync(path, "utf8"))).to.deep.equal(taker);
    });

    it("a heartbeat thread that ends while a lock is held (a crash, terminate()) is replaced, and the new one beats the lock until its release", async () => {
      const path = join(tempFolder("sideways-lock-"), "run.lock");
      const release = tryLock(path, Number.POSITIVE_INFINITY, undefined, { intervalS: 0.05, staleS: 1 })!;
      await endHeartbeatThreadForTests();
      const past = new Date(Date.now() - 60_000);
      utimesSync(path, past, past);
      // Else the lock would look still from here on, and another host would take over a live run.
      const deadline = Date.now() + 20_000;
      while (statSync(path).mtimeMs < past.getTime() + 30_000 && Date.now() < deadline) await sleep(20);
      expect(statSync(path).mtimeMs).to.be.greaterThan(past.getTime() + 30_000);
      release();
      // The new thread heard the release: a file of the same text made afterwards is not touched.
      await expectNotBeatenAfterRelease(path, past);
    });

    it("takes over a lock from another host whose heartbeat stopped for the stale margin, and tells whose and how old", () => {
      const path = join(tempFolder("sideways-lock-"), "run.lock");
      const dead = otherHostLock(path, 3, 0.1);
      const told: Array<[unknown, number]> = [];
      const release = tryLock(path, Number.POSITIVE_INFINITY, (stale, ageMs) => told.push([stale, ageMs]), { intervalS: 0.1, staleS: 2 });
      expect(release).to.be.a("function");
      expect(told).to.have.length(1);
      expect(told[0]![0]).to.deep.equal(dead);
      expect(told[0]![1]).to.be.within(3000, 4000);
      expect(JSON.parse(readFileSync(path, "utf8")).pid).to.equal(process.pid);
      release!();
    });

    it("leaves a lock from another host that beats (fresh mtime), and one without a heartbeat however old", () => {
      const dir = tempFolder("sideways-lock-");
      const beating = join(dir, "beating.lock");
      const holder = otherHostLock(beating, 1, 0.1);
      expect(tryLock(beating, Number.POSITIVE_INFINITY, undefined, { intervalS: 0.1, staleS: 2 })).to.equal(null);
      expect(liveLockHolder(beating, Number.POSITIVE_INFINITY, 2)).to.deep.equal(holder);
      // An earlier version's lock (no heartbeat_s): never stale from another host, as before.
      const old = join(dir, "old.lock");
      const oldHolder = otherHostLock(old, 3600);
      expect(tryLock(old, Number.POSITIVE_INFINITY, undefined, { intervalS: 0.1, staleS: 2 })).to.equal(null);
      expect(liveLockHolder(old, Number.POSITIVE_INFINITY, 2)).to.deep.equal(oldHolder);
    });

    it("a lock that beats slower than the margin allows is stale only after 4 of its beats", () => {
      const path = join(tempFolder("sideways-lock-"), "run.lock");
      otherHostLock(path, 3, 1); // margin 2 s, but beats every 1 s: stale after 4 s
      expect(liveLockHolder(path, Number.POSITIVE_INFINITY, 2)).to.not.equal(null);
      otherHostLock(path, 5, 1);
      expect(liveLockHolder(path, Number.POSITIVE_INFINITY, 2)).to.equal(null);
    });

    it("its timing: 15 s and 120 s unless SIDEWAYS_LOCK_HEARTBEAT_S / SIDEWAYS_LOCK_STALE_S say otherwise; a bad value is an input error naming the variable", () => {
      expect([HEARTBEAT_INTERVAL_S, HEARTBEAT_STALE_S]).to.deep.equal([15, 120]);
      expect(heartbeatTiming({})).to.deep.equal({ intervalS: 15, staleS: 120 });
      expect(heartbeatTiming({ SIDEWAYS_LOCK_HEARTBEAT_S: "0.5", SIDEWAYS_LOCK_STALE_S: "4" })).to.deep.equal({ intervalS: 0.5, staleS: 4 });
      for (const [name, value] of [["SIDEWAYS_LOCK_HEARTBEAT_S", "0"], ["SIDEWAYS_LOCK_STALE_S", "soon"]] as const) {
        expect(() => heartbeatTiming({ [name]: value }))
          .to.throw(InputError)
          .with.property("message")
          .that.matches(new RegExp(`^${name}=${value}: expected a number of seconds above 0`));
      }
    });
  });
});
