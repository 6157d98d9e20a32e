/**
 * How much CPU other processes took while a benchmark step ran: the machine's busy CPU time
 * (/proc/stat, Linux) minus this process's (process.cpuUsage, every thread), over the step's wall
 * time, in cores. On a shared machine a depth-parallel figure means little when another process
 * holds one of the cores the stages run on (docs/BENCHMARKS.md, issue 12). Null where /proc/stat
 * cannot be read.
 */
import { readFileSync } from "node:fs";

/** Milliseconds of busy CPU of the whole machine since boot (user, nice, system, irq, softirq, steal), or null. */
function machineBusyMs(): number | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)); one tick = 10 ms.
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) * 10;
  } catch {
    return null;
  }
}

/** Starts a measurement; the returned function gives other processes' cores since then (null without /proc/stat). */
export function otherProcessesMeter(): () => number | null {
  const busy0 = machineBusyMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const busy1 = machineBusyMs();
    if (busy0 === null || busy1 === null) return null;
    const ours = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    return wall > 0 ? Math.max(0, (busy1 - busy0 - (ours.user + ours.system) / 1000) / wall) : null;
  };
}
