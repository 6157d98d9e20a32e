/** A ProgressBoard for tests: what it writes is kept, and its clock moves only when the test moves it. */
import { ProgressBoard, type DisplayMode } from "../../src/cli/progress.js";

/** Milliseconds, as Date.now would give them; a test advances `ms` by hand. */
export interface FakeClock {
  ms: number;
}

/**
 * A board in `mode`, 100 columns wide, reading `clock` (a new one at 0 unless given, so that two
 * boards can share one), and writing into `out.text`, which a test may clear.
 */
export function boardOnFakeClock(mode: DisplayMode, clock: FakeClock = { ms: 0 }): { board: ProgressBoard; out: { text: string }; clock: FakeClock } {
  const out = { text: "" };
  const board = new ProgressBoard(mode, (s) => (out.text += s), 100, () => clock.ms);
  return { board, out, clock };
}
