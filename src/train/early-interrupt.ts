/**
 * A sweep's child run (`sideways run --child`) listens for stops (src/train/stop-signals.ts) from
 * the first line of bin/sideways.js for its whole life, for two reasons.
 *
 * It can get the sweep's stop (a signal for Ctrl-C and SIGTERM; a line on stdin for --fail-fast,
 * src/cli/commands/run.ts) before its trainer listens for one, while the run is set up. With no listener the signal kills the child (counted interrupted), but
 * during set-up write-file-atomic's signal-exit adds a listener around each write and removes it
 * after: a signal that libuv catches while that listener exists is dropped if the listener goes
 * before the event loop dispatches it (checked with Node 20: add a listener,
 * process.kill(process.pid, "SIGINT"), remove the listener in the same tick: the process lives on).
 * The child then trained to its last step (test/cli-commands "sweep --fail-fast with 2 jobs",
 * twice). So the first stop is remembered here and the trainer asks whether one came.
 *
 * And a child can get the same stop twice: Slurm signals every process of a job (the sweep's
 * children too) and the sweep passes the signal on. A second signal must not abort it, so a child
 * never acts on a stop signal by default: later ones are caught here and ignored, and the sweep
 * aborts its children itself, with SIGKILL, when it gets a second signal (src/cli/sweep-runner.ts).
 */
import { onStopRequests, type StopCause } from "./stop-signals.js";

let came: StopCause | null = null;
let stopListening: (() => void) | null = null;

/** From now on, the first stop is remembered until takeEarlyInterrupt, and later stop signals are caught. */
export function listenForEarlyInterrupt(): void {
  stopListening ??= onStopRequests((cause) => {
    came ??= cause;
  });
}

/** Whether this process catches later stop signals for its sweep (it is a sweep's child), so that none aborts it. */
export function stopsCaughtForSweep(): boolean {
  return stopListening !== null;
}

/** The stop that came since listenForEarlyInterrupt and was not taken yet, or null (also if never listened). */
export function takeEarlyInterrupt(): StopCause | null {
  const cause = came;
  came = null;
  return cause;
}

/** Stops listening (signals act as by default again) and forgets a stop not taken: for tests. */
export function stopListeningForEarlyInterrupt(): void {
  stopListening?.();
  stopListening = null;
  came = null;
}
