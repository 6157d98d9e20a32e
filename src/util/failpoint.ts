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
 * Several hooks are separated by ';' ("stop:hold:5000;step:wait:10:/tmp/go"), each kind at most
 * once. FILE is a path, which may hold ':' (kept whole: it is the rest of its hook) but therefore
 * cannot hold ';': "step:wait:3:/tmp/a;b" is refused ("b" is no hook) rather than read as a file
 * named "a;b". ';' rather than ',' because it is the rarer of the two in file names.
 */
import { existsSync } from "node:fs";

/** Every hook, by the form it is named in, with one capture group per number (and FILE). */
const HOOKS = {
  "block:K:call:N": /^block:(\d+):call:(\d+)$/,
  "stop:hold:MS": /^stop:hold:(\d+)$/,
  "step:wait:N:FILE": /^step:wait:(\d+):(.+)$/,
} as const;
export type FailpointName = keyof typeof HOOKS;

/** Separates the hooks of one SIDEWAYS_FAILPOINT value. */
export const FAILPOINT_SEPARATOR = ";";

/**
 * The hooks `value` names, each with its capture groups; "" names none. Throws on a part that is
 * no hook (a typo, or a FILE holding the separator) and on a kind named twice: a test hook that
 * silently does nothing would leave a test passing for the wrong reason, or hanging.
 */
export function parseFailpoints(value: string): Map<FailpointName, string[]> {
  const hooks = new Map<FailpointName, string[]>();
  if (value === "") return hooks;
  const expected = `expected ${Object.keys(HOOKS).join(", ")}, several separated by '${FAILPOINT_SEPARATOR}' (which a FILE therefore cannot contain)`;
  for (const part of value.split(FAILPOINT_SEPARATOR)) {
    const found = Object.entries(HOOKS).find(([, pattern]) => pattern.test(part));
    if (!found) throw new Error(`SIDEWAYS_FAILPOINT=${JSON.stringify(value)}: ${JSON.stringify(part)} is not a test hook (${expected})`);
    const name = found[0] as FailpointName;
    if (hooks.has(name)) throw new Error(`SIDEWAYS_FAILPOINT=${JSON.stringify(value)}: names ${name} twice (each kind at most once)`);
    hooks.set(name, found[1].exec(part)!.slice(1));
  }
  return hooks;
}

/** The capture groups of hook `name` when SIDEWAYS_FAILPOINT names it, else null. */
function failpointGroups(name: FailpointName): string[] | null {
  return parseFailpoints(process.env.SIDEWAYS_FAILPOINT ?? "").get(name) ?? null;
}

/** The numbers of hook `name` when SIDEWAYS_FAILPOINT names it, else null. */
export function failpointNumbers(name: "block:K:call:N" | "stop:hold:MS"): number[] | null {
  return failpointGroups(name)?.map(Number) ?? null;
}

/** Called after each call of updates `first`..`last`; resolves when the run may take the next one. */
export type StepWait = (first: number, last: number, stopped: () => boolean) => Promise<void>;

/** How often a waiting run looks for the file (and, between looks, handles signals and stdin). */
const STEP_WAIT_POLL_MS = 10;

/** SIDEWAYS_FAILPOINT naming "step:wait:N:FILE" as a wait after update N, or null when it is off. */
export function stepWaitFailpoint(): StepWait | null {
  const groups = failpointGroups("step:wait:N:FILE");
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
