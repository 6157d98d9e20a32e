import { readFileSync, statSync } from "node:fs";
import { posix } from "node:path";
import YAML from "yaml";
import { InputError } from "../errors.js";

/**
 * A file where a command that reads an experiment's results wants its folder. The usual slip is
 * the experiment file itself (`sideways plot experiments/x.yaml`): without this check it would
 * fail deep inside a folder listing with ENOTDIR and a hint about output.dir and data files.
 * Names the folder that experiment file writes to where its `name:` (or `output.dir`) says so.
 */
export function refuseFileForResultsFolder(command: string, path: string, given: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return; // missing: each command says so in its own words
  }
  if (!isFile) return;
  const folder = resultsFolderOf(path);
  const hint = folder === null ? "" : `; that experiment file's results are in ${folder}: sideways ${command} ${folder}`;
  throw new InputError(`${command}: ${given} is a file, not a results folder (expected an experiment's results folder, e.g. results/<experiment name>)${hint}`);
}

/** Where an experiment file's runs go (`output.dir`, else results/<name>), or null if it is not one. */
function resultsFolderOf(path: string): string | null {
  if (!/\.ya?ml$/i.test(path)) return null;
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
  if (typeof doc !== "object" || doc === null) return null;
  const { name, output } = doc as { name?: unknown; output?: { dir?: unknown } | null };
  // output.dir in a file is relative to the directory run from (experiments/README.md), as is the folder printed here.
  if (typeof output === "object" && output !== null && typeof output.dir === "string" && output.dir !== "") return output.dir;
  return typeof name === "string" && name !== "" ? posix.join("results", name) : null;
}
