/**
 * One WebGPU call at a time in the whole process. onnxruntime's WebGPU EP runs every session of a
 * process on one shared Dawn device; two threads running sessions at once corrupt its command
 * encoder ("WebGPU validation failed. Command encoding already finished", seen with depth-parallel
 * workers on lavapipe; docs/GPU.md). So runs on that provider take a lock first: a promise queue
 * orders the calls of one thread, and an Atomics spin-wait lock on a SharedArrayBuffer (handed to
 * every worker thread through worker_threads' environment data) orders the threads.
 */
import { getEnvironmentData, isMainThread, setEnvironmentData } from "node:worker_threads";

const KEY = "sideways.webgpu-lock";

function sharedLock(): Int32Array {
  let sab = getEnvironmentData(KEY) as SharedArrayBuffer | undefined;
  if (sab === undefined) {
    if (!isMainThread) throw new Error("BUG: a worker thread has no WebGPU lock (it was created before the main thread's runtime module loaded)");
    sab = new SharedArrayBuffer(4);
    setEnvironmentData(KEY, sab);
  }
  return new Int32Array(sab);
}

// Made when this module loads, so that workers started later inherit it.
const lock = isMainThread ? sharedLock() : null;
let queue: Promise<unknown> = Promise.resolve();

function acquire(cell: Int32Array): void {
  while (Atomics.compareExchange(cell, 0, 0, 1) !== 0) Atomics.wait(cell, 0, 1, 50);
}

function release(cell: Int32Array): void {
  Atomics.store(cell, 0, 0);
  Atomics.notify(cell, 0, 1);
}

/** Runs `fn` holding the process-wide WebGPU lock. */
export function withDeviceLock<T>(fn: () => Promise<T>): Promise<T> {
  const cell = lock ?? sharedLock();
  const run = queue.then(async () => {
    acquire(cell);
    try {
      return await fn();
    } finally {
      release(cell);
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
