/** The run folder a single `sideways run` made under its experiment folder (output.dir). */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** root/<run id>, the one folder holding run-meta.json; root/<no run yet> while there is none. */
export function runFolderIn(root: string): string {
  const runs = existsSync(root) ? readdirSync(root).filter((e) => existsSync(join(root, e, "run-meta.json"))) : [];
  if (runs.length > 1) throw new Error(`expected one run folder in ${root}, found ${runs.join(", ")}`);
  return join(root, runs[0] ?? "<no run yet>");
}
