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

/** Every lock this process beats, by path: what a new thread is handed where the last one died. */
const beating = new Map<string, { intervalMs: number; text: string }>();

let worker: Worker | null = null;
/** Threads started after one died; past MAX_RESTARTS none is (a thread that cannot start at all). */
let restarts = 0;
const MAX_RESTARTS = 5;

/**
 * The heartbeat thread, started at need. One that ends while locks are held (an uncaught error,
 * running out of memory, terminate()) is replaced and handed every held lock: else they would stop
 * beating without a word, and after 120 s a process on another host would take over a live run.
 */
function heartbeatWorker(): Worker {
  if (worker !== null) return worker;
  const w = new Worker(new URL("./lock-heartbeat-worker.js", import.meta.url));
  // Never what keeps a process alive: it beats only while the process lives anyway.
  w.unref();
  // 'exit' follows 'error' too; an error with no listener would end the process.
  w.on("error", () => {});
  w.on("exit", () => {
    if (worker !== w) return;
    worker = null;
    if (beating.size === 0) return;
    if (restarts >= MAX_RESTARTS) {
      process.emitWarning(`the heartbeat thread of ${[...beating.keys()].join(", ")} ended ${restarts + 1} times and is not started again: from another host these locks look stale after 120 s`);
      return;
    }
    restarts++;
    const next = heartbeatWorker();
    for (const [path, { intervalMs, text }] of beating) next.postMessage({ beat: path, intervalMs, text } satisfies ToHeartbeat);
  });
  worker = w;
  return w;
}

/**
 * Refreshes `path`'s mtime every `intervalS` until the returned function is called, while the file
 * still holds `text` (the lock this process wrote): a lock another process took over as stale is
 * not ours to keep alive.
 */
export function beatLock(path: string, intervalS: number, text: string): () => void {
  const intervalMs = intervalS * 1000;
  beating.set(path, { intervalMs, text });
  heartbeatWorker().postMessage({ beat: path, intervalMs, text } satisfies ToHeartbeat);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    beating.delete(path);
    worker?.postMessage({ stop: path } satisfies ToHeartbeat);
  };
}

/** For tests: ends the heartbeat thread as a crash would (terminate()); resolves once it has ended. */
export async function endHeartbeatThreadForTests(): Promise<void> {
  await worker?.terminate();
}
