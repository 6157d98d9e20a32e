/** Where a command writes, and the exit status it leaves; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** whether progress may redraw bars in place */
  errIsTTY: boolean;
  exitCode: number;
}

export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    errIsTTY: Boolean(process.stderr.isTTY),
    exitCode: 0,
  };
}
