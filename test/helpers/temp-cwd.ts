import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs each test of the calling describe() in a fresh temporary folder as the current directory
 * (what the CLI writes lands there), hands the folder to `use`, and afterwards goes back and
 * removes it.
 */
export function inFreshFolderEachTest(prefix: string, use: (dir: string) => void): void {
  const cwd = process.cwd();
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    use(dir);
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
}
