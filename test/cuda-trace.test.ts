/**
 * Reading cupti-trace's CSV (src/bench/cuda-trace.ts): a hand-made trace whose accounting is
 * worked out below, the identity every window's accounting must meet, and the parser's errors.
 */
import { expect } from "chai";
import { launchCalls, parseTrace, summarizeWindow, unionOf, type Trace, type TraceRecord } from "../src/bench/cuda-trace.js";
import { seededRandom } from "./reference/numeric.js";

const HEADER = "kind,start_ns,end_ns,where,correlation,bytes,name";

/** CUPTI's clock runs 1 ms (1,000,000 ns) ahead of CLOCK_MONOTONIC in these traces. */
const CLOCK = "clock,1000000,0,0,0,0,start";

const at = (us: number) => 1_000_000 + us * 1000; // a CUPTI timestamp `us` microseconds into the window

/**
 * The window is monotonic [0, 100 us). GPU work, in us: kernel Z [-10, 2) (clipped to [0, 2)), A
 * [10, 30), B [50, 60) and an HtoD copy [55, 70) (one busy stretch), D [80, 90), E [92, 94); one
 * kernel after the window. Launch calls: A at 5 (its runtime call, with the driver call inside),
 * B at 45, the copy at 20, D at 0 (a driver call), E none.
 * Idle stretches: [2, 10) ended by A, called at 5: 3 waiting for the host, 5 after the call;
 * [30, 50) ended by B, called at 45: 15 and 5; [70, 80) ended by D, called at 0: 10 after;
 * [90, 92) ended by E, no call: 2 unattributed. Busy 54, lead 0, tail 6: 100 in all.
 */
const TRACE = [
  HEADER,
  CLOCK,
  `kernel,${at(-10)},${at(2)},7,5,0,"Z"`,
  `runtime,${at(5)},${at(6)},1,1,0,cudaLaunchKernel`,
  `driver,${at(5.2)},${at(5.8)},1,1,0,cuLaunchKernel`,
  `kernel,${at(10)},${at(30)},7,1,0,"void a<float, 2>(float const*, int)"`,
  `runtime,${at(20)},${at(21)},1,3,0,cudaMemcpyAsync`,
  `runtime,${at(45)},${at(46)},1,2,0,cudaLaunchKernel`,
  `kernel,${at(50)},${at(60)},7,2,0,"say ""b"""`,
  `memcpy,${at(55)},${at(70)},7,3,4000000,HtoD`,
  `driver,${at(0)},${at(1)},1,4,0,cuLaunchKernel`,
  `kernel,${at(80)},${at(90)},7,4,0,"D"`,
  `kernel,${at(92)},${at(94)},7,99,0,"E"`,
  `sync,${at(94)},${at(99)},7,0,0,stream_synchronize`,
  `kernel,${at(200)},${at(210)},7,6,0,"after the window"`,
  "dropped,0,0,7,0,3,records",
  "clock,1200000,200000,0,0,0,exit",
  "",
].join("\n");

describe("CUDA traces (cupti-trace)", () => {
  it("parses records, quoted kernel names, the clock offset and dropped records", () => {
    const trace = parseTrace(TRACE);
    expect(trace.clockOffset).to.equal(1_000_000);
    expect(trace.clockDrift, "the exit row's offset, 1,200,000 - 200,000, against the start's").to.equal(0);
    expect(trace.dropped).to.equal(3);
    expect(trace.records).to.have.length(13);
    expect(trace.records.find((r) => r.correlation === 1 && r.kind === "kernel")!.name).to.equal("void a<float, 2>(float const*, int)");
    expect(trace.records.find((r) => r.correlation === 2 && r.kind === "kernel")!.name).to.equal('say "b"');
    expect(launchCalls(trace).get(1)!.kind, "the runtime call, not the driver call inside it").to.equal("runtime");
  });

  it("a window's time: GPU busy, idle waiting for the host's launch, idle after it, lead and tail", () => {
    const w = summarizeWindow(parseTrace(TRACE), { label: "step", start: 0, end: 100_000 });
    const close = (got: number, us: number, what: string) => expect(got, what).to.be.closeTo(us / 1000, 1e-9);
    close(w.wallMs, 100, "wall");
    close(w.gpuBusyMs, 54, "busy");
    close(w.idleWaitingForHostMs, 18, "waiting for the host");
    close(w.idleAfterLaunchMs, 20, "after the launch");
    close(w.idleUnattributedMs, 2, "unattributed");
    close(w.leadMs, 0, "lead");
    close(w.tailMs, 6, "tail");
    expect(w.kernels).to.equal(5);
    close(w.kernelMs, 44, "kernel time (Z clipped to 2)");
    expect(w.copies.HtoD.count).to.equal(1);
    expect(w.copies.HtoD.mb).to.equal(4);
    close(w.copies.HtoD.ms, 15, "copy");
    expect(w.apiMs.cudaLaunchKernel.count).to.equal(2);
    expect(w.apiMs.cuLaunchKernel.count).to.equal(2);
    close(w.syncMs.stream_synchronize.ms, 5, "sync");
  });

  /**
   * Random traces: GPU work on three streams, on an integer grid of nanoseconds, each launched by
   * a call `lag` ns before it starts (at the record's own start for lag 0); with probability
   * `withoutCalls` a record has no call. Returns the trace and the window [s, e).
   */
  const randomTrace = (rng: () => number, lag: (start: number) => number, withoutCalls = 0.2) => {
    const records: TraceRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const start = Math.floor(rng() * 1000);
      const kind = rng() < 0.7 ? "kernel" : "memcpy";
      records.push({ kind, start, end: start + Math.floor(rng() * 50), where: Math.floor(rng() * 3), correlation: i + 1, bytes: 0, name: kind === "memcpy" ? "HtoD" : "k" });
      if (rng() >= withoutCalls) {
        const call = start - lag(start);
        records.push({ kind: rng() < 0.5 ? "runtime" : "driver", start: call, end: call + 2, where: 1, correlation: i + 1, bytes: 0, name: "launch" });
      }
    }
    const trace: Trace = { records, clockOffset: 0, clockDrift: null, dropped: 0 };
    return { trace, s: Math.floor(rng() * 200), e: 800 + Math.floor(rng() * 400) };
  };
  const parts = (w: ReturnType<typeof summarizeWindow>) => [w.gpuBusyMs, w.idleWaitingForHostMs, w.idleAfterLaunchMs, w.idleUnattributedMs, w.leadMs, w.tailMs];

  it("on random traces: GPU busy is the time covered (counted unit by unit), every part >= 0, and the parts add up to the wall time", () => {
    const rng = seededRandom(11);
    for (let t = 0; t < 50; t++) {
      const { trace, s, e } = randomTrace(rng, () => Math.floor((rng() - 0.2) * 100));
      const w = summarizeWindow(trace, { label: "random", start: s, end: e });
      let covered = 0;
      for (let u = s; u < e; u++) if (trace.records.some((r) => (r.kind === "kernel" || r.kind === "memcpy") && r.start <= u && u < r.end)) covered++;
      expect(w.gpuBusyMs, `trace ${t}: busy`).to.be.closeTo(covered / 1e6, 1e-12);
      for (const p of parts(w)) expect(p, `trace ${t}: a part`).to.be.at.least(0);
      expect(parts(w).reduce((a, b) => a + b, 0), `trace ${t}: sum`).to.be.closeTo(w.wallMs, 1e-12);
    }
  });

  it("on random traces: a host that launches each piece of work as it starts leaves the GPU idle only waiting for it; one far ahead, only after its launches", () => {
    const rng = seededRandom(12);
    for (let t = 0; t < 30; t++) {
      // Every record has its call: just in time (lag 0), or 10,000 ns early.
      const late = summarizeWindow(randomTrace(rng, () => 0, 0).trace, { label: "late", start: 0, end: 1200 });
      expect(late.idleAfterLaunchMs, `trace ${t}`).to.equal(0);
      expect(late.idleUnattributedMs).to.equal(0);
      const ahead = summarizeWindow(randomTrace(rng, () => 10_000, 0).trace, { label: "ahead", start: 0, end: 1200 });
      expect(ahead.idleWaitingForHostMs, `trace ${t}`).to.equal(0);
      expect(ahead.idleUnattributedMs).to.equal(0);
      expect(ahead.idleAfterLaunchMs + ahead.gpuBusyMs + ahead.leadMs + ahead.tailMs).to.be.closeTo(ahead.wallMs, 1e-12);
    }
  });

  it("an idle stretch ended by work on two streams at once takes the earlier call, whichever record has it", () => {
    // Idle [10, 50) us; at 50 a kernel with no call on stream 1 and one on stream 2 called at 40.
    const records: TraceRecord[] = [
      { kind: "kernel", start: 0, end: 10_000, where: 1, correlation: 1, bytes: 0, name: "a" },
      { kind: "kernel", start: 50_000, end: 60_000, where: 1, correlation: 0, bytes: 0, name: "b" },
      { kind: "kernel", start: 50_000, end: 55_000, where: 2, correlation: 3, bytes: 0, name: "c" },
      { kind: "runtime", start: 40_000, end: 41_000, where: 9, correlation: 3, bytes: 0, name: "cudaLaunchKernel" },
    ];
    const w = summarizeWindow({ records, clockOffset: 0, clockDrift: null, dropped: 0 }, { label: "two", start: 0, end: 60_000 });
    expect(w.idleWaitingForHostMs).to.be.closeTo(0.03, 1e-12);
    expect(w.idleAfterLaunchMs).to.be.closeTo(0.01, 1e-12);
    expect(w.idleUnattributedMs).to.equal(0);
  });

  it("unionOf merges overlapping and touching intervals and drops empty ones", () => {
    expect(unionOf([[5, 7], [0, 2], [2, 3], [6, 9], [4, 4]])).to.deep.equal([[0, 3], [5, 9]]);
  });

  it("refuses a file that is not a trace, naming the line", () => {
    expect(() => parseTrace(`${HEADER}\nkernel,1,2,3,4,0,"k"\n`, "t.csv")).to.throw(/t\.csv: no "clock,\.\.\.,start" row/);
    expect(() => parseTrace(`${HEADER}\n${CLOCK}\nkernel,1,2\n`, "t.csv")).to.throw(/t\.csv:3: expected 7 comma-separated fields/);
    expect(() => parseTrace(`${HEADER}\n${CLOCK}\nwarp,1,2,3,4,0,x\n`, "t.csv")).to.throw(/t\.csv:3: unknown record kind "warp"/);
    expect(() => parseTrace(`${HEADER}\n${CLOCK}\nkernel,one,2,3,4,0,x\n`, "t.csv")).to.throw(/t\.csv:3: start_ns "one" is not a number/);
  });
});
