/**
 * Paths a user writes in an experiment file or an override: `~/...` is the home folder (the
 * shell does not expand `~` after `key=`, and YAML files are read by no shell; a literal `./~`
 * folder invites `rm -rf ~`), a relative path is relative to `baseDir`, an absolute one stays.
 * The one rule for model, data, checkpoint and output paths.
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { InputError } from "../errors.js";

export function resolveUserPath(baseDir: string, p: string): string {
  if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
  // Another user's home (~name/) is the shell's to expand, not ours: the same trap otherwise.
  if (/^~[^/]/.test(p)) throw new InputError(`path '${p}': ~name/ is not expanded (only ~/ is, for your own home); write the absolute path`);
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
