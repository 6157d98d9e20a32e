/**
 * Paths a user writes in an experiment file or an override: `~/...` is the home folder (the
 * shell does not expand `~` after `key=`, and YAML files are read by no shell; a literal `./~`
 * folder invites `rm -rf ~`), a relative path is relative to `baseDir`, an absolute one stays.
 * The one rule for model, data, checkpoint and output paths.
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

export function resolveUserPath(baseDir: string, p: string): string {
  if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
