/** A CliIo that keeps what a command prints, for tests that call main() in-process. */
import type { CliIo } from "../../src/cli/cli-io.js";

export function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: "", stderr: "", errIsTTY: false, exitCode: 0, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}
