/**
 * The tables `sideways results table DIR --metric/--spread/--against` writes beside DIR's own
 * table: `table-<metrics>-<spread>-vs-<KEY_VALUE>.{csv,md,tex}` (src/cli/commands/results.ts names
 * them). They are computed from DIR/runs.csv, so they go stale when it is replaced by other figures.
 */
import { existsSync, readdirSync } from "node:fs";

const DERIVED_TABLE = /^table-.+\.(csv|md|tex)$/;

/** Such table files in `dir`, sorted by name. */
export function derivedTableFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && DERIVED_TABLE.test(e.name))
    .map((e) => e.name)
    .sort();
}
