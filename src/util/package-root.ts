/**
 * The folder of sideways' own package (its package.json), found upwards from this module (src/ or
 * dist/src/): where its experiments/ and models/ are, in a checkout or an npm install.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "sideways") return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}
