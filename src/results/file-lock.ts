/**
 * Lock files created with O_EXCL (atomic on local and NFSv3+ file systems). A lock left behind
 * by a killed process is taken over: on the same host when its pid no longer exists, from
 * another host when it is older than `staleAfterMs`.
 *
 * Written by hand rather than with proper-lockfile 4.1.2, because that package judges a holder
 * alive only by a heartbeat (the lock's mtime, refreshed from the event loop) and records no
 * holder. Measured: a holder that blocked its event loop for 12 s with `stale: 10000` (a long
 * synchronous step; onnxruntime's run() computes on the JS thread) lost the lock to a second
 * process while still working, and learnt it only afterwards (onCompromised, ECOMPROMISED),
 * so two processes would write one run. Here a live holder on the same host is never taken
 * over, a dead one at once, and messages can say who holds a lock (pid, host). What
 * proper-lockfile does better: a long-held lock from a dead holder on another host is noticed
 * without a pid; here that needs `staleAfterMs`, and run locks use none (docs/SWEEPS.md).
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

export interface LockHolder {
  pid: number;
  host: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function lockHolder(path: string): LockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    return typeof holder.pid === "number" && typeof holder.host === "string" ? holder : null;
  } catch {
    return null;
  }
}

/** A lock whose holder is not yet written down, as liveLockHolder reports it. */
const BEING_WRITTEN: LockHolder = Object.freeze({ pid: -1, host: "?" });

/** Whether a live holder runs on another host, where its pid cannot be checked from here. */
export const heldFromAnotherHost = (holder: LockHolder) => holder !== BEING_WRITTEN && holder.host !== hostname();

/** The live holder of a lock, or null when the lock is free or stale. */
export function liveLockHolder(path: string, staleAfterMs: number): LockHolder | null {
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
  const holder = lockHolder(path);
  if (holder === null) return ageMs < 5000 ? BEING_WRITTEN : null; // being written, or garbage
  if (holder.host === hostname()) return pidAlive(holder.pid) ? holder : null;
  return ageMs < staleAfterMs ? holder : null;
}

/**
 * Takes the lock or returns null; the returned function releases it. `tookOver` hears of a stale
 * lock this call removed and then took (its holder, null for a file naming none), so that the
 * caller can say it: a process killed outright is otherwise taken over without a word.
 */
export function tryLock(path: string, staleAfterMs: number, tookOver?: (stale: LockHolder | null) => void): (() => void) | null {
  let removed: { holder: LockHolder | null } | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener("exit", release);
        try {
          unlinkSync(path);
        } catch {
          // already taken over as stale: nothing to release
        }
      };
      process.on("exit", release);
      if (removed !== null) tookOver?.(removed.holder);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (liveLockHolder(path, staleAfterMs) !== null) return null;
      const holder = lockHolder(path);
      try {
        unlinkSync(path);
        removed = { holder };
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
