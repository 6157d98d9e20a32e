/**
 * What stops a run before its last step, the way Ctrl-C always has: the trainer finishes the
 * step, writes resume.safetensors and an `interrupted` summary.json, releases the run's lock, and
 * the command exits 130 (src/cli/exit-codes.ts). The stop signals are SIGINT (Ctrl-C) and SIGTERM
 * (`kill`'s default; what Slurm sends on scancel, at a time limit or on preemption, and Kubernetes
 * on eviction, each before a SIGKILL some seconds later). A sweep's child also stops when its sweep
 * dies (its stdin closes, src/cli/commands/run.ts), as if it got one.
 *
 * Every place that acts on a stop listens here, so the signals are listed once: the trainer
 * (src/train/run-experiment.ts), a sweep's child while it starts (src/train/early-interrupt.ts),
 * the sweep, which passes the signal on to its runs (src/cli/sweep-runner.ts), and a run's lock
 * while no trainer listens (guardLock, src/cli/run-one.ts).
 */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Why a run stopped early: a stop signal, or (a sweep's child) the end of the sweep that started
 * it, or that sweep's --fail-fast after another run failed or diverged.
 */
export type StopCause = StopSignal | "sweep-gone" | "sweep-fail-fast";

/**
 * The line a sweep writes to its children's stdin to stop them for --fail-fast (src/cli/sweep-runner.ts,
 * src/cli/commands/run.ts). A line, not SIGINT, so that the run's summary.json says why it stopped
 * rather than "SIGINT (Ctrl-C)", which nobody pressed.
 */
export const FAIL_FAST_STOP_LINE = "stop: fail-fast";

export function isStopSignal(signal: string | null): signal is StopSignal {
  return (STOP_SIGNALS as readonly (string | null)[]).includes(signal);
}

/** What stopped a run, for "stopped by ..." (messages, summary.json): "SIGINT (Ctrl-C)", "SIGTERM", its sweep's end. */
export function stopCauseText(cause: StopCause): string {
  if (cause === "SIGINT") return "SIGINT (Ctrl-C)";
  if (cause === "sweep-gone") return "the end of its sweep (stdin closed)";
  if (cause === "sweep-fail-fast") return "its sweep's --fail-fast (another run failed or diverged)";
  return cause;
}

/**
 * What a further stop signal does to a run that took `cause` and is saving its resume checkpoint,
 * for its "stopped by ..." line. A `run` of its own aborts at a second Ctrl-C or SIGTERM
 * (abortOnStopSignal). A sweep's child ignores later signals (src/train/early-interrupt.ts): its
 * sweep aborts it at a second Ctrl-C, but lets it finish its step at a second SIGTERM, which a
 * scheduler sends (src/cli/sweep-runner.ts); after --fail-fast the sweep has taken no signal yet,
 * so it takes two, the second a Ctrl-C; a run whose sweep is gone has no one to abort it but SIGKILL.
 */
export function furtherStopText(cause: StopCause, sweepChild: boolean): string {
  if (!sweepChild) return "a second Ctrl-C or SIGTERM aborts the run without one";
  if (cause === "sweep-gone") return "its sweep is gone: stop signals to the run are ignored, only SIGKILL aborts it";
  if (cause === "sweep-fail-fast") return "two stop signals to the sweep, the second a Ctrl-C, abort the run without one";
  return "a second Ctrl-C to the sweep aborts the run without one; a second SIGTERM does not";
}

/**
 * `handler` hears every stop signal until the returned function is called. While anything listens
 * Node does not act on the signal; once nothing does, it acts as by default (ends the process),
 * which is how a second signal aborts.
 */
export function onStopSignals(handler: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}

const requestListeners = new Set<(cause: StopCause) => void>();

/** `handler` hears every stop signal and every requestStop until the returned function is called. */
export function onStopRequests(handler: (cause: StopCause) => void): () => void {
  const offSignals = onStopSignals(handler);
  requestListeners.add(handler);
  return () => {
    offSignals();
    requestListeners.delete(handler);
  };
}

/**
 * After a first stop: a stop signal that finds no other listener ends the process at once with
 * status 130, through process.exit, so that 'exit' handlers still run (the run's lock is released:
 * src/results/file-lock.ts). Ending by the signal's default action would leave the lock behind.
 * Where another listener is already there (a sweep's child, src/train/early-interrupt.ts) the
 * signal stays with it. Returns the function that stops listening.
 */
export function abortOnStopSignal(say: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.filter((signal) => othersListening(signal) === 0).map((signal) => {
    const listener = () => {
      say(signal);
      process.exit(130);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}

/** The listeners guardLock installed: they act only where no other listener hears the signal. */
const guards = new Set<(...args: unknown[]) => void>();

/** How many listeners of `signal` are not guardLock's. */
function othersListening(signal: StopSignal): number {
  return process.listeners(signal).filter((l) => !guards.has(l as (...args: unknown[]) => void)).length;
}

/**
 * While a lock is held (until the returned function is called): a stop signal that no other
 * listener hears ends the process with status 130 through process.exit, so that its 'exit'
 * handlers release the lock (src/results/file-lock.ts). Without a listener Node ends the process
 * by the signal's default action and the lock stays behind; from another host, as on a cluster,
 * such a lock is never taken over. For the moments a run holds its lock and no trainer listens
 * (src/cli/run-one.ts: before training starts, and while sessions and workers close after it).
 */
export function guardLock(say: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => {
      if (othersListening(signal) > 0) return;
      say(signal);
      process.exit(130);
    };
    guards.add(listener);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) {
      process.removeListener(signal, listener);
      guards.delete(listener);
    }
  };
}

/** Stops the run as a stop signal would, for a cause that is not a signal. */
export function requestStop(cause: Exclude<StopCause, StopSignal>): void {
  for (const listener of [...requestListeners]) listener(cause);
}
