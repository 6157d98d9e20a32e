/**
 * The heartbeat thread (lock-heartbeat.ts): refreshes the mtime of each lock file it is given,
 * each at its own interval, until told to stop. A thread of its own, so it keeps beating while the
 * main thread is blocked in a long synchronous call (onnxruntime's run()).
 */
import { utimesSync } from "node:fs";
import { parentPort } from "node:worker_threads";

export type ToHeartbeat = { beat: string; intervalMs: number } | { stop: string };

const timers = new Map<string, NodeJS.Timeout>();

function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // Gone (released, or taken over as stale): nothing to refresh; the main thread says stop.
  }
}

parentPort!.on("message", (m: ToHeartbeat) => {
  if ("beat" in m) {
    clearInterval(timers.get(m.beat));
    timers.set(m.beat, setInterval(touch, m.intervalMs, m.beat));
  } else {
    clearInterval(timers.get(m.stop));
    timers.delete(m.stop);
  }
});
