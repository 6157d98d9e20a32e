/**
 * The heartbeat of run locks, so that a lock left by a process that died on another host (a
 * Kubernetes pod killed mid-run, a lost Slurm node) can be told from a live one, whose pid cannot
 * be checked from here. The holder refreshes its lock file's mtime every `intervalS` from one
 * worker thread per process (lock-heartbeat-worker.ts: it beats while the main thread is blocked
 * in a long synchronous onnxruntime run(), which is how proper-lockfile's event-loop heartbeat lost
 * live locks: file-lock.ts), and records `heartbeat_s` in the lock. Another host takes the lock
 * over once its mtime is `staleS` old.
 *
 * The numbers: a beat every 15 s is one utimes per held lock, nothing for a file server even with
 * hundreds of pods. An NFS client caches a file's attributes up to acregmax (60 s by default on
 * Linux), so a reader may see a live holder's mtime as old as 60 + 15 = 75 s; stale after 120 s
 * leaves 45 s more for the two hosts' clocks disagreeing (the mtime is set by the holder's clock
 * and read against the reader's) and for a beat delayed by a slow file server. A lock that beats
 * slower than that (another SIDEWAYS_LOCK_HEARTBEAT_S) is stale only after 4 of its beats.
 * SIDEWAYS_LOCK_HEARTBEAT_S and SIDEWAYS_LOCK_STALE_S change them (tests use fractions of a second).
 */
import { Worker } from "node:worker_threads";
import { InputError } from "../errors.js";
import type { ToHeartbeat } from "./lock-heartbeat-worker.js";

export const HEARTBEAT_INTERVAL_S = 15;
export const HEARTBEAT_STALE_S = 120;

export interface HeartbeatTiming {
  /** how often a holder refreshes its lock's mtime */
  intervalS: number;
  /** how old a lock's mtime is when its holder on another host is taken as gone */
  staleS: number;
}

function secondsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text.trim() === "") return fallback;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new InputError(`${name}=${text}: expected a number of seconds above 0 (default ${fallback})`);
  return s;
}

/** The heartbeat's timing: the constants above, or what the environment sets. */
export function heartbeatTiming(env: NodeJS.ProcessEnv = process.env): HeartbeatTiming {
  return { intervalS: secondsFromEnv(env, "SIDEWAYS_LOCK_HEARTBEAT_S", HEARTBEAT_INTERVAL_S), staleS: secondsFromEnv(env, "SIDEWAYS_LOCK_STALE_S", HEARTBEAT_STALE_S) };
}

/** How old a lock that beats every `heartbeatS` must be for its holder to count as gone. */
export const staleAfterS = (heartbeatS: number, staleS: number) => Math.max(staleS, 4 * heartbeatS);

let worker: Worker | null = null;

/**
 * Refreshes `path`'s mtime every `intervalS` until the returned function is called, while the file
 * still holds `text` (the lock this process wrote): a lock another process took over as stale is
 * not ours to keep alive.
 */
export function beatLock(path: string, intervalS: number, text: string): () => void {
  if (worker === null) {
    worker = new Worker(new URL("./lock-heartbeat-worker.js", import.meta.url));
    // Never what keeps a process alive: it beats only while the process lives anyway.
    worker.unref();
    // Not expected (each touch catches its errors); the next lock then starts a new thread.
    worker.on("error", () => (worker = null));
  }
  const w = worker;
  const send = (m: ToHeartbeat) => w.postMessage(m);
  send({ beat: path, intervalMs: intervalS * 1000, text });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    send({ stop: path });
  };
}
