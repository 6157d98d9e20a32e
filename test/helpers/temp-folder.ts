/**
 * Temporary folders for tests that write files, removed afterwards. The current directory stays
 * where it is; inFreshFolderEachTest (temp-cwd.ts) is the same with a change into the folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Makes a fresh temporary folder (named `prefix` and a random tail) before each test of the
 * calling describe(), hands it to `use`, and removes it after the test. Its afterEach is
 * registered here: an afterEach the describe registers before calling this runs first.
 */
export function freshFolderEachTest(prefix: string, use: (dir: string) => void): void {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    use(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
}
