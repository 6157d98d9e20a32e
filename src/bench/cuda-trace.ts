/**
 * Reading a CUDA timeline recorded by scripts/cupti-trace.c (CUPTI's activity records as CSV) over
 * the windows a traced program marked (e.g. each device step, on Node's monotonic clock), and
 * saying where each window's time went: how long the GPU was busy, and, for every stretch it sat
 * idle, whether it was waiting for the host to launch the work that ended the stretch (the host
 * late: launches, or the host busy elsewhere) or had the launch already (a copy from pageable
 * memory being staged, a wait on another stream). docs/GPU.md "A CUDA timeline without Nsight
 * Systems".
 */
import { median } from "./stats.js";

/** One row of the trace: GPU work (kernel, memcpy, memset) or a host-side record (runtime, driver, sync). */
export interface TraceRecord {
  kind: "kernel" | "memcpy" | "memset" | "runtime" | "driver" | "sync";
  /** CUPTI's clock, ns. */
  start: number;
  end: number;
  /** Stream id for GPU work and waits, thread id for API calls. */
  where: number;
  correlation: number;
  bytes: number;
  /** Kernel name, copy direction (HtoD, DtoH, ...), API function or wait kind. */
  name: string;
}

export interface Trace {
  records: TraceRecord[];
  /** CUPTI's clock minus CLOCK_MONOTONIC, ns (from the trace's "clock" row at start). */
  clockOffset: number;
  /** How far that offset moved by the "clock" row at exit, ns (null without one): marks are off by up to this. */
  clockDrift: number | null;
  /** Records CUPTI dropped (its buffers were full): a trace with any is incomplete. */
  dropped: number;
}

const GPU_KINDS = new Set(["kernel", "memcpy", "memset"]);
const KINDS = new Set([...GPU_KINDS, "runtime", "driver", "sync"]);

/** Parses cupti-trace's CSV. Timestamps stay below 2^53 ns (104 days of uptime), so numbers hold them exactly. */
export function parseTrace(text: string, source = "trace"): Trace {
  const records: TraceRecord[] = [];
  let clockOffset: number | null = null;
  let exitOffset: number | null = null;
  let dropped = 0;
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (i === 0 || line === "") return;
    const fields: string[] = [];
    let rest = line;
    for (let f = 0; f < 6; f++) {
      const comma = rest.indexOf(",");
      if (comma < 0) throw new Error(`${source}:${i + 1}: expected 7 comma-separated fields, got ${f + 1}`);
      fields.push(rest.slice(0, comma));
      rest = rest.slice(comma + 1);
    }
    const name = rest.startsWith('"') && rest.endsWith('"') ? rest.slice(1, -1).replaceAll('""', '"') : rest;
    const [kind, start, end, where, correlation, bytes] = fields;
    const num = (v: string, what: string) => {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`${source}:${i + 1}: ${what} "${v}" is not a number`);
      return n;
    };
    if (kind === "clock") {
      // "clock,<CUPTI ns>,<CLOCK_MONOTONIC ns>,...,start|exit"
      if (name === "start") clockOffset = num(start, "start_ns") - num(end, "end_ns");
      if (name === "exit") exitOffset = num(start, "start_ns") - num(end, "end_ns");
      return;
    }
    if (kind === "dropped") {
      dropped += num(bytes, "bytes");
      return;
    }
    if (!KINDS.has(kind)) throw new Error(`${source}:${i + 1}: unknown record kind "${kind}"`);
    records.push({ kind: kind as TraceRecord["kind"], start: num(start, "start_ns"), end: num(end, "end_ns"), where: num(where, "where"), correlation: num(correlation, "correlation"), bytes: num(bytes, "bytes"), name });
  });
  if (clockOffset === null) throw new Error(`${source}: no "clock,...,start" row (not a cupti-trace file?)`);
  return { records, clockOffset, clockDrift: exitOffset === null ? null : exitOffset - clockOffset, dropped };
}

/** A window of the traced program, on CLOCK_MONOTONIC (process.hrtime), ns. */
export interface Mark {
  label: string;
  start: number;
  end: number;
}

export interface WindowSummary {
  label: string;
  wallMs: number;
  /** Time the GPU ran anything (the union of kernels, copies and memsets). */
  gpuBusyMs: number;
  kernels: number;
  /** Sum of kernel durations (above gpuBusyMs only where kernels overlap). */
  kernelMs: number;
  /** From the window's start to the first GPU work, and from the last to the window's end. */
  leadMs: number;
  tailMs: number;
  /** Idle stretches between GPU work: the part before the host called the launch that ended it. */
  idleWaitingForHostMs: number;
  /** ... and the part after that call (launch latency, staged copies, waits on other streams). */
  idleAfterLaunchMs: number;
  /** Idle stretches ended by work whose launching call is not in the trace. */
  idleUnattributedMs: number;
  /** Copies by direction: count, MB, ms. */
  copies: Record<string, { count: number; mb: number; ms: number }>;
  /** Host time inside CUDA API calls, by function (runtime and driver), within the window. */
  apiMs: Record<string, { count: number; ms: number }>;
  /** Host time waiting in synchronisations, by kind. */
  syncMs: Record<string, { count: number; ms: number }>;
}

const ms = (ns: number) => ns / 1e6;

/** [start, end) intervals merged where they overlap or touch, sorted. */
export function unionOf(intervals: readonly [number, number][]): [number, number][] {
  const sorted = [...intervals].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Where the time of one marked window went (the mark on CLOCK_MONOTONIC, the trace on CUPTI's clock). */
export function summarizeWindow(trace: Trace, mark: Mark, apiByCorrelation: ReadonlyMap<number, TraceRecord> = launchCalls(trace)): WindowSummary {
  const [s, e] = [mark.start + trace.clockOffset, mark.end + trace.clockOffset];
  const inside = trace.records.filter((r) => r.end > s && r.start < e);
  const clip = (r: TraceRecord): [number, number] => [Math.max(r.start, s), Math.min(r.end, e)];
  const gpu = inside.filter((r) => GPU_KINDS.has(r.kind)).sort((x, y) => x.start - y.start);
  const busy = unionOf(gpu.map(clip));
  const kernels = gpu.filter((r) => r.kind === "kernel");
  const copies: WindowSummary["copies"] = {};
  for (const c of gpu.filter((r) => r.kind === "memcpy")) {
    const entry = (copies[c.name] ??= { count: 0, mb: 0, ms: 0 });
    entry.count++;
    entry.mb += c.bytes / 1e6;
    entry.ms += ms(c.end - c.start);
  }
  let [waiting, after, unattributed] = [0, 0, 0];
  for (let i = 1; i < busy.length; i++) {
    const [gapStart, gapEnd] = [busy[i - 1][1], busy[i][0]];
    // The work that ended the stretch: of the GPU records starting there (on any stream), the one
    // whose launching call came first.
    const call = gpu
      .filter((r) => Math.max(r.start, s) === gapEnd)
      .map((r) => apiByCorrelation.get(r.correlation))
      .reduce<TraceRecord | undefined>((first, c) => (c && (!first || c.start < first.start) ? c : first), undefined);
    if (!call) {
      unattributed += gapEnd - gapStart;
      continue;
    }
    const launched = Math.min(Math.max(call.start, gapStart), gapEnd);
    waiting += launched - gapStart;
    after += gapEnd - launched;
  }
  const byName = (records: TraceRecord[]) => {
    const out: Record<string, { count: number; ms: number }> = {};
    for (const r of records) {
      const [a, b] = clip(r);
      const entry = (out[r.name] ??= { count: 0, ms: 0 });
      entry.count++;
      entry.ms += ms(b - a);
    }
    return out;
  };
  return {
    label: mark.label,
    wallMs: ms(e - s),
    gpuBusyMs: ms(busy.reduce((t, [a, b]) => t + b - a, 0)),
    kernels: kernels.length,
    kernelMs: ms(kernels.reduce((t, r) => t + clip(r)[1] - clip(r)[0], 0)),
    leadMs: ms(busy.length > 0 ? busy[0][0] - s : e - s),
    tailMs: ms(busy.length > 0 ? e - busy[busy.length - 1][1] : 0),
    idleWaitingForHostMs: ms(waiting),
    idleAfterLaunchMs: ms(after),
    idleUnattributedMs: ms(unattributed),
    copies,
    apiMs: byName(inside.filter((r) => r.kind === "runtime" || r.kind === "driver")),
    syncMs: byName(inside.filter((r) => r.kind === "sync")),
  };
}

/**
 * The API call that launched each GPU record, by correlation id. A runtime call and the driver
 * call it makes share one id; the runtime call, the outer one, is what the program made.
 */
export function launchCalls(trace: Trace): Map<number, TraceRecord> {
  const out = new Map<number, TraceRecord>();
  for (const r of trace.records) {
    if ((r.kind !== "runtime" && r.kind !== "driver") || r.correlation === 0) continue;
    const seen = out.get(r.correlation);
    if (!seen || (seen.kind === "driver" && r.kind === "runtime")) out.set(r.correlation, r);
  }
  return out;
}

/** The median of each number of a label's windows, and its API functions by median ms. */
export function medianSummary(windows: readonly WindowSummary[]): Record<string, number | string | Record<string, number>> {
  const fields = ["wallMs", "gpuBusyMs", "kernels", "kernelMs", "leadMs", "tailMs", "idleWaitingForHostMs", "idleAfterLaunchMs", "idleUnattributedMs"] as const;
  const out: Record<string, number | string | Record<string, number>> = { label: windows[0].label, windows: windows.length };
  for (const f of fields) out[f] = median(windows.map((w) => w[f]));
  const medianOf = (pick: (w: WindowSummary) => Record<string, { ms: number }>) => {
    const names = new Set(windows.flatMap((w) => Object.keys(pick(w))));
    return Object.fromEntries([...names].map((n) => [n, median(windows.map((w) => pick(w)[n]?.ms ?? 0))] as const).sort((a, b) => b[1] - a[1]));
  };
  out.apiMs = medianOf((w) => w.apiMs);
  out.syncMs = medianOf((w) => w.syncMs);
  out.copyMs = medianOf((w) => w.copies);
  return out;
}
