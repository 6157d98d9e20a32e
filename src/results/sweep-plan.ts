/**
 * sweep-plan.json: every run a sweep plans, written into its results folder by each sweep process
 * (each shard) before it starts any, with the runs that process was given. runs.csv then lists a
 * planned run that has no folder too, so that a run never started (a shard's task that died before
 * starting it, or one that never ran) is a row that says so, and the paper table counts it, instead
 * of a seed or a whole configuration missing without a word:
 * - `not_started`: a sweep process writing here was given it and has not started it (it ended
 *   first: a task that died, Ctrl-C, --fail-fast; or, while shards run, it is still to come);
 * - `other_shard`: no sweep process writing here was given it (another shard's run, in another
 *   folder: `results collect` merges that folder's runs and plan).
 * It also records how the sweep made its runs (`structure`: sweep-structure.ts), from which figures
 * against a setting tell a zip's partners from a grid's or a random search's keys, and the count n
 * of the last shard (--shard i/n) that wrote it (`shard_count`), so that a shard of another count,
 * which splits the runs otherwise, is told which runs it leaves to no shard.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "./atomic-write.js";
import { withLock } from "./file-lock.js";
import type { RunMeta } from "./run-dir.js";
import { count, firstFew, listed } from "../util/count.js";
import { runKey } from "../spec/run-id.js";
import { type Shard, shardOfRun } from "../spec/sweep-shard.js";
import { readStructure, type SweepStructure } from "./sweep-structure.js";

export const SWEEP_PLAN_FILE = "sweep-plan.json";

/** What runs.csv says of a planned run without a folder (see the module comment). */
export const NOT_STARTED = "not_started";
export const OTHER_SHARD = "other_shard";
/** A runs.csv status of a run with no folder: nothing to draw or read. */
export const isUnstarted = (status: string) => status === NOT_STARTED || status === OTHER_SHARD;

/**
 * A planned run: what runs.csv shows of it before it has a folder. `config`, on the first planned
 * run of each configuration, is its resolved config, as its config.yaml will hold it, for the
 * settings that set its configuration apart from others gathered in the folder (run-settings.ts);
 * absent on the configuration's other runs and in plans written by older versions.
 */
export type PlanEntry = Pick<RunMeta, "run_id" | "config_id" | "config_hash" | "experiment" | "index" | "params" | "seed" | "method"> & { config?: unknown };

export interface SweepPlan {
  experiment: string;
  runs: PlanEntry[];
  /** The run ids that sweep processes writing into this folder were given (their shards'). */
  given: string[];
  /** The sweep's grid, zip and random keys; absent in plans written by older versions. */
  structure?: SweepStructure;
  /** n of the last sweep process given --shard i/n that wrote the plan; absent where none did, and in plans of older versions. */
  shard_count?: number;
}

const planPath = (root: string) => join(root, SWEEP_PLAN_FILE);
const planLock = (root: string) => `${planPath(root)}.lock`;

export function readSweepPlan(root: string): SweepPlan | null {
  try {
    const plan = JSON.parse(readFileSync(planPath(root), "utf8")) as SweepPlan;
    if (!Array.isArray(plan.runs) || !Array.isArray(plan.given)) return null;
    // A structure not of the shape this version writes is read as none: runs.csv's values then say.
    const { structure: recorded, shard_count, ...rest } = plan;
    const structure = readStructure(recorded);
    // A count that is not a whole number of at least 1 (a hand edit) is read as none: no shard warns.
    const shards = Number.isInteger(shard_count) && shard_count! >= 1 ? { shard_count } : {};
    return structure === null ? { ...rest, ...shards } : { ...rest, structure, ...shards };
  } catch {
    return null;
  }
}

/**
 * Plans of the same runs: the same run keys (config hash and swept values). Not the same ids: a
 * plan an earlier version wrote names a swept path or list by another slug (earlier-run-ids.ts).
 */
const sameRuns = (a: SweepPlan, b: SweepPlan) =>
  JSON.stringify(a.runs.map(runKey).sort()) === JSON.stringify(b.runs.map(runKey).sort());

/** `there`'s given ids as `incoming` (a plan of the same runs) names those runs. */
function givenAs(there: SweepPlan, incoming: SweepPlan): string[] {
  const keyOf = new Map(there.runs.map((r) => [r.run_id, runKey(r)]));
  const idOf = new Map(incoming.runs.map((r) => [runKey(r), r.run_id]));
  return there.given.map((id) => idOf.get(keyOf.get(id) ?? "") ?? id);
}

/**
 * Plan `incoming` into `root`: merged with a plan of the same runs (the runs given add up, and a
 * structure or shard count either records is kept, incoming's first: a shard an earlier version
 * planned records neither), else replacing it. Returns the plan that was there and the one written.
 */
function writePlan(root: string, incoming: SweepPlan): { there: SweepPlan | null; same: boolean; written: SweepPlan } {
  const there = readSweepPlan(root);
  const same = there !== null && sameRuns(there, incoming);
  const given = same ? [...new Set([...givenAs(there, incoming), ...incoming.given])] : incoming.given;
  const structure = incoming.structure ?? (same ? there.structure : undefined);
  const shardCount = incoming.shard_count ?? (same ? there.shard_count : undefined);
  const written: SweepPlan = { ...incoming, given, ...(structure === undefined ? {} : { structure }), ...(shardCount === undefined ? {} : { shard_count: shardCount }) };
  writeJsonAtomic(planPath(root), written);
  return { there, same, written };
}

/**
 * What a sweep says where its plan replaced a plan of other runs: rightly so after the sweep file
 * was changed, but shards of one sweep given another file or other overrides (or a later sweep
 * sharing the folder) split other lists of runs, so some runs may fall to no shard, and runs.csv
 * stops listing the replaced plan's unstarted runs. Shards used to do this without a word.
 */
export function replacedPlanNote(root: string, replaced: SweepPlan, runs: number): string {
  return `${join(root, SWEEP_PLAN_FILE)} planned ${count(replaced.runs.length, "run")} other than this sweep's ${runs} (another sweep file or other overrides, or the file changed since): replaced by this sweep's plan. Shards writing into one folder must be given the same file and overrides, or their runs are split differently and some may be run by none`;
}

/** Why shards of two counts leave runs to none: said by a shard of another count and by `results collect`. */
const splitRule = (counts: readonly number[]) =>
  `a shard runs the runs whose index is i mod n, so shards of ${counts.length === 2 ? `${counts[0]} and of ${counts[1]}` : listed(counts.map(String), "and")} split the runs differently`;

/** "0/3 and 2/3": the shards of `count` that would run `runs`. */
const shardsOf = (runs: ReadonlyArray<Pick<PlanEntry, "index">>, count: number) =>
  listed([...new Set(runs.map((r) => shardOfRun(r.index, count)))].sort((a, b) => a - b).map((i) => `${i}/${count}`), "and");

/**
 * What a shard says where the plan it joins was last written by a shard of another count (shard
 * 0/2 ran, then 1/3 was submitted alone): a shard runs the runs whose index is i mod n, so the two
 * counts split the runs otherwise, and the runs no process writing here was given (`plan`, with
 * this shard's merged in) fall to shards of the new count other than this one. Such a shard used
 * to exit 0, the runs left to no shard seen only as other_shard in runs.csv.
 */
export function shardCountNote(root: string, plan: SweepPlan, earlierCount: number, shard: Shard): string {
  const given = new Set(plan.given);
  const left = plan.runs.filter((r) => !given.has(r.run_id));
  const head = `${join(root, SWEEP_PLAN_FILE)} was written by shards of ${earlierCount} (--shard i/${earlierCount}), this sweep is shard ${shard.index}/${shard.count}: ${splitRule([earlierCount, shard.count])}`;
  if (left.length === 0) return `${head}; every run of the plan has been given to a shard writing here, so none is left out`;
  const ids = left.map((r) => r.run_id);
  const one = left.length === 1;
  return `${head}. ${count(left.length, "run")} of the plan ${one ? "was" : "were"} given to no shard writing here (runs.csv: ${OTHER_SHARD}) and ${one ? "is" : "are"} not this shard's: ${firstFew(ids)}; of ${shard.count} shards only ${shardsOf(left, shard.count)} would run ${one ? "it" : "them"}. Give every shard of a sweep the same count n`;
}

/** A sweep plan `results collect` read, by the path it names it by, and the n of the shards (--shard i/n) that wrote it. */
export interface PlanShardCount {
  file: string;
  count: number;
}

/**
 * What `results collect` says where the plans it merged into `target` (the target folder's own and
 * the shard folders') were written by shards of different counts (a 2-way split and a 3-way split
 * of one sweep): they split the runs otherwise, so some runs may have been given to none of them.
 * `left` are the plan's runs, after the merge, that no shard was given and that have no folder
 * (runs.csv's other_shard). Null where every plan records one count (or none records any: plans of
 * older versions, a sweep without --shard). Collect used to keep the incoming count without a word.
 */
export function collectedShardCountsNote(target: string, plans: readonly PlanShardCount[], left: ReadonlyArray<Pick<PlanEntry, "run_id" | "index">>): string | null {
  const counts = [...new Set(plans.map((p) => p.count))].sort((a, b) => a - b);
  if (counts.length < 2) return null;
  const byCount = counts.map((n) => `${n} (--shard i/${n}: ${plans.filter((p) => p.count === n).map((p) => p.file).join(", ")})`);
  const head = `the sweep plans merged into ${target} were written by shards of ${listed(byCount, "and")}: ${splitRule(counts)}`;
  if (left.length === 0) return `${head}; every run of the plan was given to one of these shards, so none is left out`;
  const one = left.length === 1;
  const would = counts.map((n, i) => `${i === 0 ? "of " : ""}${n} shards only ${shardsOf(left, n)}`).join(", of ");
  return `${head}. ${count(left.length, "run")} of the plan ${one ? "was" : "were"} given to none of these shards (runs.csv: ${OTHER_SHARD}): ${firstFew(left.map((r) => r.run_id))}; ${would} would run ${one ? "it" : "them"}. Give every shard of a sweep the same count n, and run or collect the shards that would run ${one ? "it" : "them"}`;
}

/**
 * Called by each sweep process before it starts runs: the sweep's runs, and `given`, the ids of
 * those this process runs (its shard's), how the sweep made them (sweepStructure of its section),
 * and the process's --shard (null without one). A plan of other runs (the sweep file changed
 * since) is replaced: the table then counts the runs of the sweep as it is now. Returns a note
 * where it replaced one (replacedPlanNote), or where this shard's count differs from the count
 * recorded by the shards that wrote the plan before (shardCountNote; a plan of an older version
 * records none: no note).
 */
export async function recordSweepPlan(root: string, experiment: string, runs: PlanEntry[], given: string[], structure: SweepStructure, shard: Shard | null = null): Promise<string | null> {
  mkdirSync(root, { recursive: true });
  const incoming: SweepPlan = { experiment, runs, given, structure, ...(shard === null ? {} : { shard_count: shard.count }) };
  const { there, same, written } = await withLock(planLock(root), () => writePlan(root, incoming));
  if (there !== null && !same) return replacedPlanNote(root, there, runs.length);
  const earlierCount = there?.shard_count;
  return shard !== null && earlierCount !== undefined && earlierCount !== shard.count ? shardCountNote(root, written, earlierCount, shard) : null;
}

/**
 * `results collect`: a shard folder's plan into `dir`. The same sweep's plans merge (the runs
 * given to each shard add up); a plan of other runs is left out, and the returned note says so.
 * `shardCount` is the merged plan's shard_count (collectedShardCountsNote compares them), null
 * where it records none or was left out.
 */
export async function mergeSweepPlan(from: string, dir: string): Promise<{ note: string | null; shardCount: number | null }> {
  const incoming = readSweepPlan(from);
  if (incoming === null) return { note: null, shardCount: null };
  mkdirSync(dir, { recursive: true });
  return withLock(planLock(dir), () => {
    const there = readSweepPlan(dir);
    if (there !== null && !sameRuns(there, incoming))
      return { note: `${join(from, SWEEP_PLAN_FILE)} plans other runs than ${join(dir, SWEEP_PLAN_FILE)} (another sweep file or other overrides, or a later sweep into this folder): its runs were collected, its plan was not, so runs.csv does not list its runs that never started`, shardCount: null };
    writePlan(dir, incoming);
    return { note: null, shardCount: incoming.shard_count ?? null };
  });
}

/**
 * The runs `plan` (readSweepPlan of a results folder) lists without a folder among `present` (the
 * folder's runs), each with what runs.csv says of it. A run present under another id (an earlier
 * version's, earlier-run-ids.ts) has the same run key: it is there.
 */
export function absentPlannedRuns(plan: SweepPlan | null, present: ReadonlyArray<Pick<RunMeta, "run_id" | "config_hash" | "params">>): Array<{ entry: PlanEntry; status: string }> {
  if (plan === null) return [];
  const given = new Set(plan.given);
  const ids = new Set(present.map((r) => r.run_id));
  const keys = new Set(present.map(runKey));
  return plan.runs.filter((r) => !ids.has(r.run_id) && !keys.has(runKey(r))).map((entry) => ({ entry, status: given.has(entry.run_id) ? NOT_STARTED : OTHER_SHARD }));
}

/** What to do about planned runs without a folder, given their statuses. */
export function unstartedNote(statuses: readonly string[]): string {
  const other = statuses.filter((s) => s === OTHER_SHARD).length;
  const notStarted = statuses.filter((s) => s === NOT_STARTED).length;
  return [
    other > 0 ? `${count(other, "planned run")} of other shards (runs.csv: ${OTHER_SHARD}): no sweep process writing here was given ${other === 1 ? "it" : "them"}; run ${other === 1 ? "its shard" : "their shards"} into this folder, or collect the folder${other === 1 ? "" : "s"} ${other === 1 ? "it" : "they"} wrote into (sideways results collect DIR SHARD_DIR...)` : "",
    notStarted > 0 ? `${count(notStarted, "planned run")} never started (runs.csv: ${NOT_STARTED}): run the sweep, or its shard, again` : "",
  ].filter(Boolean).join("; ");
}
