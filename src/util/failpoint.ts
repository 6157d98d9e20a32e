/**
 * SIDEWAYS_FAILPOINT: test hooks that make a process misbehave at a chosen point, one place that
 * lists them all (off unless the variable names one):
 * - "block:K:call:N": the N-th backward call of block K in a stage worker throws
 *   (src/train/block-runner.ts; the failure path of depth-parallel runs).
 * - "stop:hold:MS": a run that has taken a stop waits MS ms before it saves and ends
 *   (src/train/run-experiment.ts), so that a test's second signal lands in a window of known
 *   length whatever the machine's speed (test/sweep-resume.test.ts).
 */

/** The numbers of SIDEWAYS_FAILPOINT when it matches `pattern` (one capture group per number), else null. */
export function failpointNumbers(pattern: RegExp): number[] | null {
  const m = pattern.exec(process.env.SIDEWAYS_FAILPOINT ?? "");
  return m ? m.slice(1).map(Number) : null;
}
