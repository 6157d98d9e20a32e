/**
 * `results collect` puts a run folder in place through two temporary folders beside it
 * (src/cli/commands/results.ts replaceRunFolder): the copy, `<run id>.collect-<pid>`, and the
 * folder it replaces, `<run id>.replaced-<pid>`. A collect killed midway leaves them behind. They
 * hold run-meta.json (a copy of the run's), yet are never runs: read as runs they would be a
 * second row of the same run id, counted twice in the table.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export type LeftoverKind = "collect" | "replaced";

export interface CollectLeftover {
  /** the folder's name */
  name: string;
  /** the run it was a temporary folder of */
  runId: string;
  kind: LeftoverKind;
  /** the collect process that made it */
  pid: number;
}

const LEFTOVER_NAME = /^(.+)\.(collect|replaced)-(\d+)$/;

/** The temporary folder's path of kind `kind` beside run folder `runDir`, for this process. */
export function collectTempPath(runDir: string, kind: LeftoverKind): string {
  return `${runDir}.${kind}-${process.pid}`;
}

export function isCollectLeftover(name: string): boolean {
  return LEFTOVER_NAME.test(name);
}

/** The temporary folders of collects directly under `dir`, by name. */
export function collectLeftoversIn(dir: string): CollectLeftover[] {
  if (!existsSync(dir)) return [];
  const found: CollectLeftover[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const m = e.isDirectory() ? LEFTOVER_NAME.exec(e.name) : null;
    if (m !== null) found.push({ name: e.name, runId: m[1]!, kind: m[2] as LeftoverKind, pid: Number(m[3]) });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * What a leftover is and what to do with it: nothing is deleted unasked (a `.replaced` folder may
 * be the only copy of a run whose replacement never landed).
 */
export function leftoverNote(dir: string, given: string, l: CollectLeftover): string {
  const path = join(given, l.name);
  const inPlace = existsSync(join(dir, l.runId));
  const what = l.kind === "collect"
    ? `a copy of run ${l.runId} that a results collect (pid ${l.pid}) was putting in place`
    : `the folder of run ${l.runId} that a results collect (pid ${l.pid}) was replacing`;
  // A copy may be partial (killed while copying, where there was no folder to replace); the replaced folder is whole.
  const todo = inPlace
    ? `${l.runId} is in place, so delete it once it is not needed (rm -r ${path})`
    : l.kind === "collect"
      ? `${l.runId} has no folder: collect from its shard again, then delete this copy, which may be partial (rm -r ${path})`
      : `${l.runId} has no folder: collect from its shard again, or move it back (mv ${path} ${join(given, l.runId)})`;
  return `${path} is ${what}, left by a collect stopped midway (or still running); not read as a run: ${todo}`;
}

/**
 * The leftovers under `dir` of runs `runIds` that have no folder of their own there: a sweep would
 * see such a run as never started, though the leftover may hold it completed.
 */
export function leftoversOfMissingRuns(dir: string, runIds: readonly string[]): CollectLeftover[] {
  const wanted = new Set(runIds);
  return collectLeftoversIn(dir).filter((l) => wanted.has(l.runId) && !existsSync(join(dir, l.runId)));
}
