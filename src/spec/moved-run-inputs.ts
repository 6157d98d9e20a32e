/**
 * The hint for a run folder's config.yaml whose data (or init checkpoint) is not where that run
 * read it. Such a file names every path absolutely, as the run found it (src/spec/resolved-config.ts),
 * so "paths in the experiment file are relative to it" does not help: editing the file is not the
 * way either, since config.yaml is the run's record. The new paths go in overrides (`run`,
 * `evaluate`, `validate` and `export` all take them after the file or run folder).
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { RUN_META_FILE } from "../results/run-dir.js";
import { overridesAbout } from "./override-source.js";
import { resolveUserPath } from "../util/user-path.js";

/**
 * The hint, or null where `file` is no run folder's config.yaml (no run-meta.json beside it).
 * `paths`: the run inputs by key; each the file names (no override about it) that is missing is
 * listed as an override to give, so that one error says every file that moved.
 */
export function movedRunInputsHint(file: string, baseDir: string, paths: readonly [string, string | null | undefined][], overrides: readonly string[]): string | null {
  const runDir = dirname(resolve(file));
  if (!existsSync(join(runDir, RUN_META_FILE))) return null;
  const moved = paths.filter(([key, p]) => p != null && overridesAbout(key, overrides).length === 0 && !existsSync(resolveUserPath(baseDir, p))).map(([key]) => `${key}=NEW_PATH`);
  return (
    `this is the config.yaml of the run in ${runDir}, which names each file by the absolute path that run read it at; ` +
    `where the files moved, give their new paths as overrides (${moved.join(" ")}; ` +
    "a run trained so gets a new id, and a file that is not the one that run read is named in a warning)"
  );
}
