/**
 * The process-wide locks of src/runtime/device-lock.ts: one holder at a time across threads (the
 * WebGPU lock's calls; a CUDA session's creation and first run), and in call order within one.
 */
import { expect } from "chai";
import { Worker } from "node:worker_threads";
import { withProcessLock } from "../src/runtime/device-lock.js";

const lockModule = new URL("../src/runtime/device-lock.js", import.meta.url).href;

/**
 * A worker thread that, once `gate` opens, holds `name` `times` times for `holdMs` each (awaiting
 * inside) and posts each [enter, exit] (ms since performance.timeOrigin's epoch). `ready` resolves
 * when it waits at the gate.
 */
function holder(name: string, times: number, holdMs: number, gate: Int32Array): { ready: Promise<void>; spans: Promise<[number, number][]> } {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      const { withProcessLock } = await import(workerData.lockModule);
      const gate = new Int32Array(workerData.gate);
      parentPort.postMessage("ready");
      Atomics.wait(gate, 0, 0);
      const spans = [];
      const now = () => performance.timeOrigin + performance.now();
      await Promise.all(Array.from({ length: workerData.times }, () => withProcessLock(workerData.name, async () => {
        const enter = now();
        await new Promise((r) => setTimeout(r, workerData.holdMs));
        spans.push([enter, now()]);
      })));
      parentPort.postMessage(spans);
    })();`;
  const w = new Worker(code, { eval: true, workerData: { lockModule, name, times, holdMs, gate: gate.buffer } });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const spans = new Promise<[number, number][]>((resolve, reject) => {
    w.on("message", (m: "ready" | [number, number][]) => (m === "ready" ? ready() : void w.terminate().then(() => resolve(m))));
    w.once("error", reject);
  });
  return { ready: readyP, spans };
}

describe("process-wide locks (device-lock.ts)", () => {
  it("cuda-setup: holders in two worker threads and the main thread, started together, never overlap", async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const workers = [holder("cuda-setup", 4, 10, gate), holder("cuda-setup", 4, 10, gate)];
    await Promise.all(workers.map((w) => w.ready));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const now = () => performance.timeOrigin + performance.now();
    const main: [number, number][] = [];
    const mainHolds = Promise.all(
      Array.from({ length: 4 }, () =>
        withProcessLock("cuda-setup", async () => {
          const enter = now();
          await new Promise((r) => setTimeout(r, 10));
          main.push([enter, now()]);
        }),
      ),
    );
    const [a, b] = await Promise.all([workers[0].spans, workers[1].spans, mainHolds]);
    const spans = [...a, ...b, ...main].sort((x, y) => x[0] - y[0]);
    expect(spans).to.have.length(12);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0], `hold ${i} entered before hold ${i - 1} left`).to.be.at.least(spans[i - 1][1]);
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
