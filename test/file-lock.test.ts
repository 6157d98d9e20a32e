/** Lock files: exclusive while the holder lives; a dead holder's lock is taken over. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { liveLockHolder, tryLock, withLock } from "../src/results/file-lock.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
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
});
