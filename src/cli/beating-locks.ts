/**
 * The runs a sweep left to a process on another machine whose run lock has a heartbeat
 * (src/results/lock-heartbeat.ts). Once the sweep's own runs are done it looks at them again
 * (lookAgain): a lock gone stale is taken over, a lock whose mtime moved since the sweep first saw
 * it is a live holder's and is left to it at once, and a lock still since then is waited for, up to
 * its stale margin: a pod retried seconds after its predecessor was killed finds that one's lock
 * fresh, and would otherwise leave its run to a dead process.
 */
import { join } from "node:path";
import { type LockHolder, heldFromAnotherHost, lockHolder, lockMtimeMs, staleAfterMsFor } from "../results/file-lock.js";
import { heartbeatTiming } from "../results/lock-heartbeat.js";
import { runLockHolderNow, runLockPath } from "../results/run-dir.js";
import type { PlannedRun } from "../spec/sweep-expand.js";

interface Watched {
  run: PlannedRun;
  holder: LockHolder;
  /** the lock's mtime when the sweep first saw it */
  mtimeMs: number;
  /** whether the sweep has said it waits for it */
  waitedFor: boolean;
}

export interface LookAgain {
  /** stale (holder: the dead one) or released (holder null): the run is the sweep's to look at */
  gone: { run: PlannedRun; holder: LockHolder | null }[];
  /** now held by a process on this machine: waited for as such */
  heldHere: { run: PlannedRun }[];
  /** a live holder on another machine (its lock beat since first seen): left to it */
  alive: { run: PlannedRun; holder: LockHolder }[];
  /** still since first seen, not waited for before: the sweep waits, up to waitS seconds */
  newlyStill: { run: PlannedRun; holder: LockHolder }[];
  waitS: number;
}

const sameHolder = (a: LockHolder, b: LockHolder) => a.pid === b.pid && a.host === b.host;

export class BeatingLocks {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly root: string) {}

  get size(): number {
    return this.watched.size;
  }

  ids(): string[] {
    return [...this.watched.keys()];
  }

  /** A run whose lock, held from another machine, beats: its holder and mtime as first seen. */
  add(run: PlannedRun): void {
    const path = runLockPath(join(this.root, run.runId));
    const holder = lockHolder(path);
    const mtimeMs = lockMtimeMs(path);
    // Released in between: looked at again with the rest, as gone.
    this.watched.set(run.runId, { run, holder: holder ?? { pid: -1, host: "?" }, mtimeMs: mtimeMs ?? 0, waitedFor: false });
  }

  lookAgain(now = Date.now()): LookAgain {
    const seen: LookAgain = { gone: [], heldHere: [], alive: [], newlyStill: [], waitS: 0 };
    const { staleS } = heartbeatTiming();
    for (const [id, w] of this.watched) {
      const dir = join(this.root, id);
      const holder = runLockHolderNow(dir);
      if (holder === null) seen.gone.push({ run: w.run, holder: lockHolder(runLockPath(dir)) });
      else if (!heldFromAnotherHost(holder)) seen.heldHere.push({ run: w.run });
      else if (holder.heartbeat_s === undefined || !sameHolder(holder, w.holder) || lockMtimeMs(runLockPath(dir)) !== w.mtimeMs) seen.alive.push({ run: w.run, holder });
      else {
        if (!w.waitedFor) seen.newlyStill.push({ run: w.run, holder });
        w.waitedFor = true;
        seen.waitS = Math.max(seen.waitS, (w.mtimeMs + staleAfterMsFor(holder, Number.POSITIVE_INFINITY, staleS) - now) / 1000);
        continue;
      }
      this.watched.delete(id);
    }
    return seen;
  }
}
