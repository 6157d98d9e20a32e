/**
 * The heartbeat thread (lock-heartbeat.ts): refreshes the mtime of each lock file it is given,
 * each at its own interval, until told to stop. A thread of its own, so it keeps beating while the
 * main thread is blocked in a long synchronous call (onnxruntime's run()).
 */
import { readFileSync, utimesSync } from "node:fs";
import { parentPort } from "node:worker_threads";

/** beat: `path`, while it holds `text` (the holder's own lock); stop: no more beats of `path`. */
export type ToHeartbeat = { beat: string; intervalMs: number; text: string } | { stop: string };

const timers = new Map<string, NodeJS.Timeout>();

function touch(path: string, text: string): void {
  try {
    // Another process's lock at the path (ours taken over as stale, or released and taken since):
    // refreshing it would keep a dead holder's lock alive. Ours never comes back: beats end here.
    if (readFileSync(path, "utf8") !== text) {
      clearInterval(timers.get(path));
      timers.delete(path);
      return;
    }
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // Gone (released, or taken over as stale): nothing to refresh; the main thread says stop.
  }
}

parentPort!.on("message", (m: ToHeartbeat) => {
  if ("beat" in m) {
    clearInterval(timers.get(m.beat));
    timers.set(m.beat, setInterval(touch, m.intervalMs, m.beat, m.text));
  } else {
    clearInterval(timers.get(m.stop));
    timers.delete(m.stop);
  }
});
