/**
 * Files an evaluation folder no longer stands behind, moved into its `replaced/` folder rather than
 * deleted (`sideways evaluate <sweep folder> --out DIR --force`): a name already taken there gets
 * `.2`, `.3`, ... before its extension, so nothing moved aside earlier is overwritten.
 */
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { extname, join } from "node:path";

export const REPLACED_FOLDER = "replaced";

/** Moves each of `names` (files in `dir`) into dir/replaced/; the names they have there. */
export function moveAside(dir: string, names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const into = join(dir, REPLACED_FOLDER);
  mkdirSync(into, { recursive: true });
  return names.map((name) => {
    const ext = extname(name);
    const stem = name.slice(0, name.length - ext.length);
    let target = name;
    for (let n = 2; existsSync(join(into, target)); n++) target = `${stem}.${n}${ext}`;
    renameSync(join(dir, name), join(into, target));
    return target;
  });
}
