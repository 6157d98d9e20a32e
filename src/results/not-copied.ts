/**
 * collect-not-copied.json, in a sweep's folder: the runs `results collect` did not copy in from a
 * shard (a conflict, a damaged copy, a run a process holds: mergeRunDirs's NotCopied) and that have
 * no folder there. runs.csv is regenerated from the folders long after collect ends (`results
 * table`, `sweep`), and without this record such a planned run would read `not_started` or
 * `other_shard`, though it ran, perhaps to completion, in the shard. With it, its row says
 * `not_copied`, with collect's own line as the message.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "./atomic-write.js";
import { withLock } from "./file-lock.js";
import { runIdsOf } from "./earlier-run-ids.js";
import { runKey } from "../spec/run-id.js";
import { RUN_META_FILE, type RunMeta, readRunMeta } from "./run-dir.js";

export const NOT_COPIED_FILE = "collect-not-copied.json";
/** runs.csv's status of a planned run without a folder that a collect found in a shard and did not copy. */
export const NOT_COPIED = "not_copied";

export interface NotCopiedRecord {
  /** the run's folder name in the shard */
  run_id: string;
  /** its config hash and swept values, where the shard's run-meta.json could be read (its run key, spec/run-id.ts) */
  config_hash?: string;
  params?: Record<string, unknown>;
  /** the shard folder (absolute) the run was not copied from */
  shard: string;
  /** what collect printed of it: why, and what to do */
  reason: string;
}

const recordPath = (root: string) => join(root, NOT_COPIED_FILE);

/** The runs under `root` a collect did not copy, by run id; none where the file is absent or not readable. */
export function readNotCopied(root: string): Map<string, NotCopiedRecord> {
  try {
    const parsed = JSON.parse(readFileSync(recordPath(root), "utf8")) as { runs?: unknown };
    const runs = Array.isArray(parsed.runs) ? (parsed.runs as NotCopiedRecord[]) : [];
    return new Map(runs.filter((r) => typeof r?.run_id === "string").map((r) => [r.run_id, r]));
  } catch {
    return new Map();
  }
}

/** The run key (spec/run-id.ts) of record `r`, where it was recorded. */
const recordKey = (r: NotCopiedRecord) => (r.config_hash === undefined || r.params === undefined ? undefined : runKey({ config_hash: r.config_hash, params: r.params }));

/**
 * The record of planned run `entry`, if a collect did not copy it. By run key: the shard's folder
 * may name the run by its other id than the plan does (an earlier version's or the new one,
 * earlier-run-ids.ts). A record without one (the shard's run-meta.json was not JSON) is matched by
 * the entry's id in either style.
 */
export function notCopiedRecordOf(records: ReadonlyMap<string, NotCopiedRecord>, entry: Pick<RunMeta, "run_id" | "config_hash" | "params">): NotCopiedRecord | undefined {
  const all = [...records.values()];
  const ids = runIdsOf(entry);
  const key = runKey(entry);
  return all.find((r) => recordKey(r) === key) ?? all.find((r) => recordKey(r) === undefined && ids.includes(r.run_id));
}

/** runs.csv's message of a not_copied run. */
export const notCopiedMessage = (r: NotCopiedRecord) => `not copied from ${r.shard} by results collect: ${r.reason}`;

/**
 * Whether the run of record `r` has a folder in `root`: of its name, or, where its run key is
 * known, one under its other id (earlier-run-ids.ts: both ids end in the hash) holding that run.
 */
function hasRunFolder(root: string, r: NotCopiedRecord): boolean {
  if (existsSync(join(root, r.run_id, RUN_META_FILE))) return true;
  const key = recordKey(r);
  if (key === undefined) return false;
  const hash = r.config_hash!;
  return readdirSync(root).some((name) => {
    if (name !== hash && !name.endsWith(`_${hash}`)) return false;
    const meta = readRunMeta(join(root, name));
    return meta !== null && runKey(meta) === key;
  });
}

/** Writes `records` (those without a run folder in `root`), or removes the file where none is left. */
function writeRecords(root: string, records: Iterable<NotCopiedRecord>): void {
  const left = [...records].filter((r) => !hasRunFolder(root, r)).sort((a, b) => (a.run_id < b.run_id ? -1 : 1));
  if (left.length > 0) writeJsonAtomic(recordPath(root), { runs: left });
  else rmSync(recordPath(root), { force: true });
}

/**
 * After collecting `shard` into `root`: the runs not copied from it this time replace what an
 * earlier collect from it recorded (resolved since, or not copied for another reason now); those of
 * other shards stay. Runs that now have a folder in `root` are dropped.
 */
export async function recordNotCopied(root: string, shard: string, notCopied: ReadonlyArray<{ runId: string; line: string; run?: Pick<RunMeta, "config_hash" | "params"> }>): Promise<void> {
  if (notCopied.length === 0 && !existsSync(recordPath(root))) return;
  mkdirSync(root, { recursive: true });
  await withLock(`${recordPath(root)}.lock`, () => {
    const kept = [...readNotCopied(root).values()].filter((r) => r.shard !== shard);
    const now = notCopied.map((n) => ({ run_id: n.runId, ...(n.run === undefined ? {} : { config_hash: n.run.config_hash, params: n.run.params }), shard, reason: n.line }));
    writeRecords(root, new Map([...kept, ...now].map((r) => [r.run_id, r])).values());
  });
}

/** Drops the records of runs that have a folder in `root` now (copied or trained there since). */
export async function pruneNotCopied(root: string): Promise<void> {
  if (!existsSync(recordPath(root))) return;
  await withLock(`${recordPath(root)}.lock`, () => {
    const records = readNotCopied(root);
    if ([...records.values()].some((r) => hasRunFolder(root, r))) writeRecords(root, records.values());
  });
}
