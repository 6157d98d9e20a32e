/**
 * The one place where errors become exit statuses and messages:
 *   0 ok, 1 a run failed (or a bug), 2 bad input (nothing was run or created), 3 non-finite loss,
 *   130 stopped by Ctrl-C (SIGINT) after writing a resume checkpoint (128 + SIGINT, as shells report).
 * User errors print their message only; anything unexpected prints "BUG:" with its stack.
 */
import { InputError, NonFiniteLossError, RunError } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_NON_FINITE_LOSS = 3;
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(err: unknown): number {
  if (err instanceof InputError) return EXIT_BAD_INPUT;
  if (err instanceof NonFiniteLossError) return EXIT_NON_FINITE_LOSS;
  return EXIT_RUN_FAILED;
}

export function errorText(err: unknown): string {
  if (err instanceof InputError) return `error: ${err.message}`;
  if (err instanceof RunError) {
    const cause = err.cause instanceof Error ? `\n  caused by: ${err.cause.message}` : "";
    return `run failed: ${err.message}${cause}`;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return `${e.message.startsWith("BUG:") ? "" : "BUG: "}${e.stack ?? e.message}`;
}
