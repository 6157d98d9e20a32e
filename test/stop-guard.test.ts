/**
 * guardLock (src/train/stop-signals.ts): while a run holds its lock and no trainer listens, a stop
 * signal ends the process with status 130 and its lock released, not by the signal's default
 * action (which leaves the lock); where another listener hears the signal, the guard stays out.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

const stopSignals = new URL("../src/train/stop-signals.js", import.meta.url).href;
const fileLock = new URL("../src/results/file-lock.js", import.meta.url).href;

/** A process that takes the lock `lock`, guards it, maybe adds a listener of its own, and sends itself `signal`. */
function lockAndSignal(lock: string, signal: string, otherListener: boolean) {
  const code = `
    const { guardLock } = await import(${JSON.stringify(stopSignals)});
    const { tryLock } = await import(${JSON.stringify(fileLock)});
    if (!tryLock(${JSON.stringify(lock)}, 0)) throw new Error("lock not taken");
    guardLock((s) => console.log("guard heard " + s));
    if (${otherListener}) process.on(${JSON.stringify(signal)}, () => { console.log("other heard it"); process.exit(0); });
    process.kill(process.pid, ${JSON.stringify(signal)});
    setTimeout(() => console.log("still alive"), 5000);`;
  return spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 30_000 });
}

describe("guardLock: a stop signal while a run holds its lock and no trainer listens", () => {
  let dir: string;
  freshFolderEachTest("sideways-guard-", (d) => (dir = d));

  for (const signal of ["SIGTERM", "SIGINT"]) {
    it(`${signal} alone: exit status 130 and the lock released`, () => {
      const lock = join(dir, "run.lock");
      const r = lockAndSignal(lock, signal, false);
      expect(r.signal, r.stderr).to.equal(null);
      expect(r.status, r.stderr).to.equal(130);
      expect(r.stdout).to.contain(`guard heard ${signal}`);
      expect(existsSync(lock), "lock left behind").to.equal(false);
    });
  }

  it("heard by another listener: the guard does nothing", () => {
    const lock = join(dir, "run.lock");
    const r = lockAndSignal(lock, "SIGTERM", true);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("other heard it");
    expect(r.stdout).to.not.contain("guard heard");
  });
});
