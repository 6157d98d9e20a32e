/**
 * The npy files a run reads, stamped by size, modification time and SHA-256 in its run-meta.json
 * when it starts (hashing costs about 0.8 s a GB, measured with node's sha256 on this project's
 * 2-core CI machine, beside the whole read the run makes anyway). A file whose time changed but
 * whose bytes did not (`cp` to scratch at a job's start) is the file the run read; only a time
 * change is checked by its hash. A run's id names data files by their path (README.md "Run
 * identity"; hashing every clip file's bytes would mean reading gigabytes before each run), so a file regenerated at the
 * same path leaves the id as it was: a completed run would be found and skipped for data it never
 * read. Where a run is found completed, its stamps are compared with the files now, and a change is
 * said. Not an error: the run's results stand for the file it read; --force trains it again on the
 * new one, and a new path makes it another run. An interrupted run whose files changed is not
 * resumed (resumeOnChangedData). Video folders are not stamped (thousands of files).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { DataSpec } from "../data/data-spec.js";

/** sha256: absent from run-meta.json files written before it was recorded. */
export type DataFileStamps = Record<string, { size: number; mtime_ms: number; sha256?: string }>;

/**
 * Stamps of the data's files that exist now, by path (`data` with absolute paths: resolvedConfig);
 * `contents` adds each file's SHA-256 (a run's start), else only stat is read (comparisons).
 */
export function dataFileStamps(data: DataSpec, contents = false): DataFileStamps {
  if (data.kind !== "npy") return {};
  const stamps: DataFileStamps = {};
  for (const path of [data.clips, data.labels, data.eval_clips, data.eval_labels]) {
    if (path === undefined) continue;
    try {
      const s = statSync(path);
      stamps[path] = { size: s.size, mtime_ms: s.mtimeMs, ...(contents ? { sha256: fileSha256(path) } : {}) };
    } catch {
      // A file gone since the run: said by changedDataFiles below.
    }
  }
  return stamps;
}

/** What changed between a run's recorded stamps and the files now, one phrase per file; [] for a run recorded without stamps. */
export function changedDataFiles(recorded: DataFileStamps | undefined, now: DataFileStamps): string[] {
  if (recorded === undefined) return [];
  const changes: string[] = [];
  for (const [path, then] of Object.entries(recorded)) {
    const current = now[path];
    if (current === undefined) changes.push(`${path} is gone`);
    else if (current.size !== then.size) changes.push(`${path} is ${current.size} bytes, was ${then.size}`);
    else if (current.mtime_ms !== then.mtime_ms) {
      const same = then.sha256 === undefined ? false : sameContents(path, then.sha256);
      if (same === true) continue;
      const how = then.sha256 === undefined ? "" : same === null ? " (and cannot be read to compare its contents)" : " with other contents";
      changes.push(`${path} was modified at ${new Date(current.mtime_ms).toISOString()}${how}, after the run read it`);
    }
  }
  return changes;
}

/** Whether the file now has the recorded contents; null where it cannot be read to compare. */
function sameContents(path: string, sha256: string): boolean | null {
  try {
    return fileSha256(path) === sha256;
  } catch {
    return null;
  }
}

/**
 * Hashes by path, size and modification time, for this process: a sweep compares every completed
 * run's stamps with the same files (after a copy, each of them differs in time only), and should
 * read each file once, not once per run.
 */
const hashed = new Map<string, string>();

/** Read in chunks: a clip file can exceed what one Buffer may hold. */
function fileSha256(path: string): string {
  const { size, mtimeMs, ino } = statSync(path);
  const key = JSON.stringify([path, size, mtimeMs, ino]);
  const known = hashed.get(key);
  if (known !== undefined) return known;
  const digest = readSha256(path);
  hashed.set(key, digest);
  return digest;
}

function readSha256(path: string): string {
  const hash = createHash("sha256");
  const chunk = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** What changed in `data`'s files since a run recorded them (its run-meta.json's data_files), one phrase per file. */
export const dataChangesSince = (recorded: DataFileStamps | undefined, data: DataSpec): string[] => changedDataFiles(recorded, dataFileStamps(data));

/**
 * Why an interrupted run must not resume, or null: its data files changed since it started, and
 * resuming would train one run on two datasets and record only the second's stamps. An error,
 * unlike a completed run's warning: nothing has been trained on the new files yet.
 */
export function resumeOnChangedData(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec): string | null {
  const changes = dataChangesSince(recorded, data);
  if (changes.length === 0) return null;
  return `${runDir}: this interrupted run would resume from its checkpoint, but its data files changed since it started (${changes.join("; ")}), so one run would train on two datasets; put the files back to resume it, --force trains it again from step 0 on these, or give the new data another path`;
}

/** The warning for a completed run whose data files changed since it read them, or null. */
export function staleDataWarning(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec): string | null {
  const changes = dataChangesSince(recorded, data);
  if (changes.length === 0) return null;
  return `warning: ${runDir} completed on data files that have changed since (${changes.join("; ")}): its results are for the files it read; --force trains it again on these, or give the new data another path`;
}
