/**
 * The one place where errors become exit statuses and messages:
 *   0 ok, 1 a run failed (or a bug), 2 bad input (nothing was run or created), 3 non-finite loss,
 *   130 stopped by SIGINT (Ctrl-C) or SIGTERM after writing a resume checkpoint (128 + SIGINT, as
 *       shells report for Ctrl-C; the same for SIGTERM: "interrupted, run it again to resume").
 * User errors print their message only; anything unexpected prints "BUG:" with its stack.
 */
import { InputError, NonFiniteLossError, RunError } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_NON_FINITE_LOSS = 3;
export const EXIT_INTERRUPTED = 130;

/**
 * A file system error on a path the user chose (an output folder under a file, a file where a
 * folder must go, a folder without write permission): bad input, said with the path, not a bug.
 */
const PATH_ERROR_CODES: Record<string, string> = {
  ENOTDIR: "a part of this path is a file, not a folder",
  EEXIST: "a file of this name is in the way",
  EISDIR: "this is a folder, a file was expected",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
};

function pathError(err: unknown): (NodeJS.ErrnoException & { path: string }) | null {
  const e = err as NodeJS.ErrnoException | null;
  return e instanceof Error && typeof e.code === "string" && e.code in PATH_ERROR_CODES && typeof e.path === "string" ? (e as NodeJS.ErrnoException & { path: string }) : null;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof InputError || pathError(err)) return EXIT_BAD_INPUT;
  if (err instanceof NonFiniteLossError) return EXIT_NON_FINITE_LOSS;
  return EXIT_RUN_FAILED;
}

export function errorText(err: unknown): string {
  if (err instanceof InputError) return `error: ${err.message}`;
  const pe = pathError(err);
  if (pe) return `error: ${pe.path}: ${PATH_ERROR_CODES[pe.code!]} (${pe.code}, ${pe.syscall ?? "file system"}); check the paths given: output.dir, --out, the data and model files`;
  if (err instanceof RunError) {
    const cause = err.cause instanceof Error ? `\n  caused by: ${err.cause.message}` : "";
    return `run failed: ${err.message}${cause}`;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return `${e.message.startsWith("BUG:") ? "" : "BUG: "}${e.stack ?? e.message}`;
}
