/**
 * Temporary folders for tests that write files, removed afterwards. The current directory stays
 * where it is; inFreshFolderEachTest (temp-cwd.ts) is the same with a change into the folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A folder named `prefix` and a random tail, made by the hook `setUp`, handed to `use`, removed by `tearDown`. */
function folderBetween(setUp: Mocha.HookFunction, tearDown: Mocha.HookFunction, prefix: string, use: (dir: string) => void): void {
  let dir = "";
  setUp(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    use(dir);
  });
  tearDown(() => rmSync(dir, { recursive: true, force: true }));
}

/**
 * Makes a fresh temporary folder (named `prefix` and a random tail) before each test of the
 * calling describe(), hands it to `use`, and removes it after the test. Its afterEach is
 * registered here: an afterEach the describe registers before calling this runs first.
 */
export function freshFolderEachTest(prefix: string, use: (dir: string) => void): void {
  folderBetween(beforeEach, afterEach, prefix, use);
}

/**
 * One temporary folder (named `prefix` and a random tail) for all the tests of the calling
 * describe(): made in a before hook, handed to `use` (which may write what the tests share), and
 * removed after the last test. Made in a hook, not when the describe is defined, so a describe
 * whose tests are all filtered out (mocha -g) makes none. Hooks run in the order registered:
 * call this before the describe's own before hooks that use the folder.
 */
export function freshFolderForAllTests(prefix: string, use: (dir: string) => void): void {
  folderBetween(before, after, prefix, use);
}

/**
 * For tests that make their own folders (several, with different prefixes, or inside a helper):
 * returns a function that makes a fresh temporary folder named `prefix` and a random tail, and
 * registers an afterEach in the calling describe() that removes every folder it made during the
 * test. Call the function inside tests only: a folder made in a before hook would be gone after
 * the first test (freshFolderForAllTests is for those).
 */
export function tempFoldersRemovedAfterEachTest(): (prefix: string) => string {
  const made: string[] = [];
  afterEach(() => {
    // Retries: a child process that a failed test left running may still be writing there.
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
