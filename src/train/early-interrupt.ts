/**
 * A sweep's child run (`sideways run --child`) can get the sweep's SIGINT (Ctrl-C, --fail-fast)
 * before its trainer listens for one: while Node starts or the run is set up. Where the process
 * inherited SIGINT as ignored (a background job of a non-interactive shell starts so, and its
 * children inherit it), that signal was lost and the run went on to its last step. So a child
 * listens from the first line of bin/sideways.js, and the trainer asks whether one came.
 */
let came = false;
const remember = () => {
  came = true;
};

/** From now until takeEarlyInterrupt, a SIGINT is remembered instead of acted on. */
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
