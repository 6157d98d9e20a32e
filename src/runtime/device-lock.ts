/**
 * Process-wide locks: one holder at a time across the main thread and every worker thread.
 *
 * - "webgpu": every WebGPU call. onnxruntime's WebGPU EP runs every session of a process on one
 *   shared Dawn device; two threads running sessions at once corrupt its command encoder ("WebGPU
 *   validation failed. Command encoding already finished", seen with depth-parallel workers on
 *   lavapipe; docs/GPU.md).
 * - "cuda-setup": a CUDA session's creation and its first run (where cuDNN times its candidate
 *   kernels). A depth-parallel stage creating a session (its first use of "forward (saving)") while
 *   another stage's thread ran its first calls once failed in onnxruntime's cudaDeviceSynchronize
 *   with "CUDA failure 900: operation not permitted when stream is capturing" (docs/GPU.md run 9,
 *   1 of 4 such runs). Without this lock 7 of 39 benchmark processes failed so, with it none of 39
 *   (run 13, scripts/cuda-setup-lock-ab.sh). Later runs, every session created and timed, go on
 *   side by side.
 *
 * A promise queue orders the calls of one thread, and an Atomics spin-wait lock on a
 * SharedArrayBuffer (handed to every worker thread through worker_threads' environment data)
 * orders the threads.
 */
import { getEnvironmentData, isMainThread, setEnvironmentData } from "node:worker_threads";

export type ProcessLock = "webgpu" | "cuda-setup";
const LOCKS: readonly ProcessLock[] = ["webgpu", "cuda-setup"];

const key = (name: ProcessLock) => `sideways.${name}-lock`;

function sharedCell(name: ProcessLock): Int32Array {
  let sab = getEnvironmentData(key(name)) as SharedArrayBuffer | undefined;
  if (sab === undefined) {
    if (!isMainThread) throw new Error(`BUG: a worker thread has no ${name} lock (it was created before the main thread's runtime module loaded)`);
    sab = new SharedArrayBuffer(4);
    setEnvironmentData(key(name), sab);
  }
  return new Int32Array(sab);
}

// Made when this module loads, so that workers started later inherit them.
if (isMainThread) for (const name of LOCKS) sharedCell(name);
const queues = new Map<ProcessLock, Promise<unknown>>();

function acquire(cell: Int32Array): void {
  while (Atomics.compareExchange(cell, 0, 0, 1) !== 0) Atomics.wait(cell, 0, 1, 50);
}

function release(cell: Int32Array): void {
  Atomics.store(cell, 0, 0);
  Atomics.notify(cell, 0, 1);
}

/** Runs `fn` holding the process-wide lock `name`. */
export function withProcessLock<T>(name: ProcessLock, fn: () => Promise<T>): Promise<T> {
  const cell = sharedCell(name);
  const run = (queues.get(name) ?? Promise.resolve()).then(async () => {
    acquire(cell);
    try {
      return await fn();
    } finally {
      release(cell);
    }
  });
  queues.set(
    name,
    run.catch(() => undefined),
  );
  return run;
}
