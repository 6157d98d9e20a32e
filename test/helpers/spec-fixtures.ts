/**
 * The experiment fixtures CLI tests run, as absolute paths. Resolved when the test files are
 * loaded, from the repository root where mocha starts, so they still hold once a test has moved
 * into a fresh folder (inFreshFolderEachTest).
 */
import { join, resolve } from "node:path";

export const FIXTURES = resolve("test/fixtures/specs");
/** One small valid experiment: a 2-block tiny model, a few steps on generated data. */
export const GOOD = join(FIXTURES, "good.yaml");
/** A 4-run sweep (bp and sideways, 2 seeds) of the same tiny model. */
export const SWEEP = join(FIXTURES, "sweep-good.yaml");
