/**
 * SIDEWAYS_FAILPOINT: test hooks that make a process misbehave at a chosen point, one place that
 * lists them all (off unless the variable names one):
 * - "block:K:call:N": the N-th backward call of block K in a stage worker throws
 *   (src/train/block-runner.ts; the failure path of depth-parallel runs).
 * - "stop:hold:MS": a run that has taken a stop waits MS ms before it saves and ends
 *   (src/train/run-experiment.ts), so that a test's second signal lands in a window of known
 *   length whatever the machine's speed (test/sweep-resume.test.ts).
 * - "step:wait:N:FILE": a run that has done update N (its metrics row and any evaluation written)
 *   waits until FILE exists, or until it takes a stop, before it goes on (src/train/run-experiment.ts):
 *   a test's stop lands mid-run however fast the run would train, so runs can be short
 *   (test/run-stop.test.ts, test/run-concurrent.test.ts, test/sweep-resume.test.ts). Only a
 *   process that did update N itself waits: a run resumed past N does not.
 */
import { existsSync } from "node:fs";

/** The capture groups of SIDEWAYS_FAILPOINT when it matches `pattern`, else null. */
function failpointGroups(pattern: RegExp): string[] | null {
  const m = pattern.exec(process.env.SIDEWAYS_FAILPOINT ?? "");
  return m ? m.slice(1) : null;
}

/** The numbers of SIDEWAYS_FAILPOINT when it matches `pattern` (one capture group per number), else null. */
export function failpointNumbers(pattern: RegExp): number[] | null {
  return failpointGroups(pattern)?.map(Number) ?? null;
}

/** Called after each call of updates `first`..`last`; resolves when the run may take the next one. */
export type StepWait = (first: number, last: number, stopped: () => boolean) => Promise<void>;

/** How often a waiting run looks for the file (and, between looks, handles signals and stdin). */
const STEP_WAIT_POLL_MS = 10;

/** SIDEWAYS_FAILPOINT="step:wait:N:FILE" as a wait after update N, or null when it is off. */
export function stepWaitFailpoint(): StepWait | null {
  const groups = failpointGroups(/^step:wait:(\d+):(.+)$/);
  if (groups === null) return null;
  const step = Number(groups[0]);
  const file = groups[1];
  return async (first, last, stopped) => {
    // With runtime.steps_per_call one call can take several updates: N may be inside it.
    if (step < first || step > last) return;
    // A timer, not a blocking loop: the event loop stays free for signals and a sweep's stdin.
    while (!existsSync(file) && !stopped()) await new Promise((r) => setTimeout(r, STEP_WAIT_POLL_MS));
  };
}
