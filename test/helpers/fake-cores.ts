/**
 * Makes code in this process see `cores` from os.availableParallelism() while `body` runs: for tests
 * of what a run says on a machine with more cores than the test's (the data-workers note needs 4
 * of a run's own). Node's own seam for this, not one in the code under test: a builtin's export
 * replaced, then syncBuiltinESMExports() so that the ESM named imports of it
 * (`import { availableParallelism } from "node:os"`) see the replacement too.
 */
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";

export async function withCores<T>(cores: number, body: () => Promise<T>): Promise<T> {
  const real = os.availableParallelism;
  os.availableParallelism = () => cores;
  syncBuiltinESMExports();
  try {
    return await body();
  } finally {
    os.availableParallelism = real;
    syncBuiltinESMExports();
  }
}
