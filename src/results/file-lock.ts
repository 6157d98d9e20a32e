/**
 * Lock files created with O_EXCL (atomic on local and NFSv3+ file systems). A lock left behind
 * by a killed process is taken over: on the same host when its pid no longer exists; from
 * another host, a lock with a heartbeat (`heartbeat_s`, lock-heartbeat.ts) when its mtime has not
 * been refreshed for the heartbeat's stale margin, one without when it is older than
 * `staleAfterMs`.
 *
 * Written by hand rather than with proper-lockfile 4.1.2, because that package judges a holder
 * alive only by a heartbeat (the lock's mtime, refreshed from the event loop) and records no
 * holder. Measured: a holder that blocked its event loop for 12 s with `stale: 10000` (a long
 * synchronous step; onnxruntime's run() computes on the JS thread) lost the lock to a second
 * process while still working, and learnt it only afterwards (onCompromised, ECOMPROMISED),
 * so two processes would write one run. Here a live holder on the same host is never taken
 * over, a dead one at once, and messages can say who holds a lock (pid, host). For a holder on
 * another host, whose pid cannot be checked, run locks beat from a worker thread
 * (lock-heartbeat.ts), which goes on while the main thread is blocked, and are stale after
 * 120 s still; a lock written without a heartbeat (by an earlier version) never goes stale from
 * another host, since run locks use no `staleAfterMs` (docs/SWEEPS.md).
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { type HeartbeatTiming, HEARTBEAT_STALE_S, beatLock, staleAfterS } from "./lock-heartbeat.js";

export interface LockHolder {
  pid: number;
  host: string;
  /** its heartbeat's interval, where the holder refreshes the lock's mtime (lock-heartbeat.ts) */
  heartbeat_s?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lock file's text, or null where it cannot be read (gone). */
export function lockText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

export function lockHolder(path: string): LockHolder | null {
  try {
    const { pid, host, heartbeat_s } = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    if (typeof pid !== "number" || typeof host !== "string") return null;
    const beats = typeof heartbeat_s === "number" && Number.isFinite(heartbeat_s) && heartbeat_s > 0;
    return beats ? { pid, host, heartbeat_s } : { pid, host };
  } catch {
    return null;
  }
}

/** A lock whose holder is not yet written down, as liveLockHolder reports it. */
const BEING_WRITTEN: LockHolder = Object.freeze({ pid: -1, host: "?" });

/** Whether a live holder runs on another host, where its pid cannot be checked from here. */
export const heldFromAnotherHost = (holder: LockHolder) => holder !== BEING_WRITTEN && holder.host !== hostname();

/** The lock file's mtime (its holder's last heartbeat, where it has one), or null when there is none. */
export function lockMtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * How old a lock from another host must be to be stale: its heartbeat's margin where it beats
 * (`heartbeatStaleS`, or 4 of its beats where those are slower), else `staleAfterMs`.
 */
export const staleAfterMsFor = (holder: LockHolder, staleAfterMs: number, heartbeatStaleS = HEARTBEAT_STALE_S) =>
  holder.heartbeat_s === undefined ? staleAfterMs : staleAfterS(holder.heartbeat_s, heartbeatStaleS) * 1000;

/** The live holder of a lock, or null when the lock is free or stale. */
export function liveLockHolder(path: string, staleAfterMs: number, heartbeatStaleS = HEARTBEAT_STALE_S): LockHolder | null {
  const mtimeMs = lockMtimeMs(path);
  if (mtimeMs === null) return null;
  const ageMs = Date.now() - mtimeMs;
  const holder = lockHolder(path);
  if (holder === null) return ageMs < 5000 ? BEING_WRITTEN : null; // being written, or garbage
  if (holder.host === hostname()) return pidAlive(holder.pid) ? holder : null;
  return ageMs < staleAfterMsFor(holder, staleAfterMs, heartbeatStaleS) ? holder : null;
}

/** The text this process wrote into each lock it holds, by path (lockTakenOver compares with it). */
const heldLocks = new Map<string, string>();

/**
 * Where this process holds the lock at `path` but the file now holds another process's lock (ours
 * taken over as stale while we went on: a node that stopped answering, then came back): that
 * holder, `{ holder: null }` for a file naming none (being written). null while the lock is still
 * ours, gone (released by hand: no one else's), or not held by this process at all.
 */
export function lockTakenOver(path: string): { holder: LockHolder | null } | null {
  const mine = heldLocks.get(path);
  if (mine === undefined) return null;
  const now = lockText(path);
  return now === null || now === mine ? null : { holder: lockHolder(path) };
}

/**
 * Takes the lock or returns null; the returned function releases it. `tookOver` hears of a stale
 * lock this call removed and then took (its holder, null for a file naming none, and how long
 * before its mtime was last set), so that the caller can say it: a process killed outright is
 * otherwise taken over without a word. With `heartbeat` the lock beats (lock-heartbeat.ts) while
 * held, and a lock of another host's that beats is judged by `heartbeat.staleS`.
 */
export function tryLock(
  path: string,
  staleAfterMs: number,
  tookOver?: (stale: LockHolder | null, ageMs: number) => void,
  heartbeat?: HeartbeatTiming,
): (() => void) | null {
  let removed: { holder: LockHolder | null; ageMs: number } | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      const me: LockHolder = { pid: process.pid, host: hostname(), ...(heartbeat === undefined ? {} : { heartbeat_s: heartbeat.intervalS }) };
      const mine = JSON.stringify(me);
      writeSync(fd, mine);
      closeSync(fd);
      const stopBeating = heartbeat === undefined ? () => {} : beatLock(path, heartbeat.intervalS, mine);
      heldLocks.set(path, mine);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener("exit", release);
        stopBeating();
        heldLocks.delete(path);
        // Only our own lock: one taken over as stale while we went on (a node that stopped
        // answering, a process stopped for a while) is its new holder's, and removing it would let
        // a third process start the run beside that one.
        if (lockText(path) === mine) {
          try {
            unlinkSync(path);
          } catch {
            // removed in between: nothing to release
          }
        }
      };
      process.on("exit", release);
      if (removed !== null) tookOver?.(removed.holder, removed.ageMs);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (liveLockHolder(path, staleAfterMs, heartbeat?.staleS) !== null) return null;
      const holder = lockHolder(path);
      const ageMs = Date.now() - (lockMtimeMs(path) ?? Date.now());
      try {
        unlinkSync(path);
        removed = { holder, ageMs };
      } catch {
        // someone else removed it first; try again
      }
    }
  }
  return null;
}

/** Runs `fn` holding the lock, waiting for it up to `timeoutMs`. */
export async function withLock<T>(path: string, fn: () => T | Promise<T>, staleAfterMs = 60_000, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const release = tryLock(path, staleAfterMs);
    if (release) {
      try {
        return await fn();
      } finally {
        release();
      }
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for lock ${path} (held by ${JSON.stringify(lockHolder(path))})`);
    await new Promise((r) => setTimeout(r, 15 + Math.random() * 30));
  }
}
