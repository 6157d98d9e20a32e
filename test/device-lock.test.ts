/**
 * The process-wide locks of src/runtime/device-lock.ts: one holder at a time across threads (the
 * WebGPU lock's calls; a CUDA session's creation and first run), and in call order within one.
 */
import { expect } from "chai";
import { Worker } from "node:worker_threads";
import { withProcessLock } from "../src/runtime/device-lock.js";

const lockModule = new URL("../src/runtime/device-lock.js", import.meta.url).href;

/**
 * Shared counters: [holders inside now, holds that found another holder inside, holds done].
 * Entering adds 1 to "inside" and counts an overlap where it was not 0; leaving takes the 1 back.
 */
type Counters = Int32Array;

/**
 * A worker thread that, once `gate` opens, holds `name` `times` times for `holdMs` each (awaiting
 * inside), keeping `counters`. `ready` resolves when it waits at the gate, `done` when it is done.
 */
function holder(name: string, times: number, holdMs: number, gate: Int32Array, counters: Counters): { ready: Promise<void>; done: Promise<void> } {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      const { withProcessLock } = await import(workerData.lockModule);
      const gate = new Int32Array(workerData.gate);
      const c = new Int32Array(workerData.counters);
      parentPort.postMessage("ready");
      Atomics.wait(gate, 0, 0);
      await Promise.all(Array.from({ length: workerData.times }, () => withProcessLock(workerData.name, async () => {
        if (Atomics.add(c, 0, 1) !== 0) Atomics.add(c, 1, 1);
        await new Promise((r) => setTimeout(r, workerData.holdMs));
        Atomics.sub(c, 0, 1);
        Atomics.add(c, 2, 1);
      })));
      parentPort.postMessage("done");
    })();`;
  const w = new Worker(code, { eval: true, workerData: { lockModule, name, times, holdMs, gate: gate.buffer, counters: counters.buffer } });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<void>((resolve, reject) => {
    w.on("message", (m: "ready" | "done") => (m === "ready" ? ready() : void w.terminate().then(() => resolve())));
    w.once("error", reject);
  });
  return { ready: readyP, done };
}

describe("process-wide locks (device-lock.ts)", () => {
  it("cuda-setup: holders in two worker threads and the main thread, started together, never overlap", async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const counters: Counters = new Int32Array(new SharedArrayBuffer(12));
    const workers = [holder("cuda-setup", 4, 10, gate, counters), holder("cuda-setup", 4, 10, gate, counters)];
    await Promise.all(workers.map((w) => w.ready));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const mainHolds = Promise.all(
      Array.from({ length: 4 }, () =>
        withProcessLock("cuda-setup", async () => {
          if (Atomics.add(counters, 0, 1) !== 0) Atomics.add(counters, 1, 1);
          await new Promise((r) => setTimeout(r, 10));
          Atomics.sub(counters, 0, 1);
          Atomics.add(counters, 2, 1);
        }),
      ),
    );
    await Promise.all([...workers.map((w) => w.done), mainHolds]);
    expect(counters[2], "holds done").to.equal(12);
    expect(counters[1], "holds that found another holder inside").to.equal(0);
  });

  it("one thread's calls hold the lock in the order they were made, and a failing one releases it", async () => {
    const order: number[] = [];
    const calls = [0, 1, 2].map((i) =>
      withProcessLock("webgpu", async () => {
        order.push(i);
        if (i === 1) throw new Error("boom");
      }),
    );
    const settled = await Promise.allSettled(calls);
    expect(order).to.deep.equal([0, 1, 2]);
    expect(settled.map((s) => s.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
  });
});
