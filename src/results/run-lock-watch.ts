/**
 * Whether a run's lock is still this process's, looked at by the trainer before it writes into the
 * run folder (each step's rows, an evaluation, a checkpoint, the final weights, summary.json). A
 * holder whose node froze or was suspended for longer than a lock's stale margin (120 s) has its
 * lock taken over by a process on another host, which trains the run from its checkpoint; once
 * back, this one must stop without writing another file there.
 *
 * Read by the main thread itself, one small file at each write, rather than told by the heartbeat
 * thread (which also sees the change, and stops beating): the thread looks only at its next beat,
 * up to 15 s after the process comes back, and its message waits for the event loop, which a
 * synchronous onnxruntime run() holds; a read in line with the writes lets none through after the
 * lock is seen to be another's.
 */
import { type LockHolder, lockTakenOver } from "./file-lock.js";
import { RunError } from "../errors.js";
import { heartbeatTiming, staleAfterS } from "./lock-heartbeat.js";
import { runLockPath } from "./run-dir.js";

/** Exit status 1, and no summary.json: the run folder is the new holder's (src/cli/run-one.ts). */
export class RunLockTakenOver extends RunError {
  constructor(message: string) {
    super(message);
    this.name = "RunLockTakenOver";
  }
}

const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(0));

/**
 * What a run says of its lock taken over: by whom, and how long since this process last found the
 * lock its own (`silentMs`) against the margin after which a still lock is taken (`marginS`). Over
 * it, this process stopped answering (a frozen or suspended node); under it, the lock was taken
 * while it answered, which only the two hosts' clocks disagreeing (or a lagging file server) explain.
 */
export function lockTakenOverText(runId: string, lockPath: string, holder: LockHolder | null, silentMs: number, marginS: number): string {
  const who = holder === null ? "another process (its lock names none yet)" : `pid ${holder.pid} on ${holder.host}`;
  const why =
    silentMs >= marginS * 1000
      ? `while this process was unresponsive for ${seconds(silentMs)} s (since it last found the lock its own; a lock from another host that has not beaten for ${marginS} s is taken as its holder gone)`
      : `although this process last found the lock its own ${seconds(silentMs)} s ago, under the ${marginS} s a lock must be still to be taken over (the two hosts' clocks may disagree, or the file server lagged)`;
  return `run ${runId}: its lock ${lockPath} was taken over by ${who} ${why}; this process stopped without writing: the run folder is that process's now`;
}

/**
 * A function that throws RunLockTakenOver where this process held the run's lock and another
 * process's lock is there now; it does nothing where this process never held it (a test's
 * trainer run without a lock). `now` is the wall clock on purpose: a suspended machine's monotonic
 * clock stands still, and the time it was away is what the other host saw.
 */
export function watchRunLock(runDir: string, runId: string, now: () => number = Date.now): () => void {
  const path = runLockPath(runDir);
  let ownSeenMs = now();
  return () => {
    const taken = lockTakenOver(path);
    if (taken === null) {
      ownSeenMs = now();
      return;
    }
    const { intervalS, staleS } = heartbeatTiming();
    throw new RunLockTakenOver(lockTakenOverText(runId, path, taken.holder, now() - ownSeenMs, staleAfterS(intervalS, staleS)));
  };
}
