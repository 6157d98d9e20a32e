import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The nearest existing ancestor of `dir` (itself included) where it is a file, not a folder; else
 * null. An output folder under a file cannot be made: asked before anything is written, so the
 * error names the option rather than mkdir's EEXIST or ENOTDIR after the work is done.
 */
export function fileInPath(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) return statSync(d).isDirectory() ? null : d;
    if (dirname(d) === d) return null;
  }
}
