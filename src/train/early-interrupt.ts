/**
 * A sweep's child run (`sideways run --child`) can get the sweep's SIGINT (Ctrl-C, --fail-fast)
 * before its trainer listens for one, while the run is set up. With no listener the signal kills
 * the child (counted interrupted), but during set-up write-file-atomic's signal-exit adds a
 * listener around each write and removes it after: a SIGINT that libuv catches while that
 * listener exists is dropped if the listener goes before the event loop dispatches it (checked
 * with Node 20: add a listener, process.kill(process.pid, "SIGINT"), remove the listener in the
 * same tick: the process lives on). The child then trained to its last step (test/cli-commands
 * "sweep --fail-fast with 2 jobs", twice). So a child listens from the first line of
 * bin/sideways.js, which keeps the signal handle open throughout, and the trainer asks whether
 * one came.
 */
let came = false;
const remember = () => {
  came = true;
  // Once is enough: a second SIGINT then acts as the default, and aborts (the sweep's "Ctrl-C
  // again aborts the runs", src/cli/sweep-runner.ts), as the trainer's own listener does.
  process.removeListener("SIGINT", remember);
};

/** From now until takeEarlyInterrupt, the first SIGINT is remembered instead of acted on. */
export function listenForEarlyInterrupt(): void {
  process.on("SIGINT", remember);
}

/** Whether a SIGINT came since listenForEarlyInterrupt (false if it was never called); stops listening. */
export function takeEarlyInterrupt(): boolean {
  process.removeListener("SIGINT", remember);
  const result = came;
  came = false;
  return result;
}
