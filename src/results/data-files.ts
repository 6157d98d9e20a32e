/**
 * The npy files a run reads, stamped by size and modification time in its run-meta.json when it
 * starts. A run's id names data files by their path (README.md "Run identity"; hashing every
 * clip file's bytes would mean reading gigabytes before each run), so a file regenerated at the
 * same path leaves the id as it was: a completed run would be found and skipped for data it never
 * read. Where a run is found completed, its stamps are compared with the files now, and a change is
 * said. Not an error: the run's results stand for the file it read; --force trains it again on the
 * new one, and a new path makes it another run. An interrupted run whose files changed is not
 * resumed (resumeOnChangedData). Video folders are not stamped (thousands of files).
 */
import { statSync } from "node:fs";
import type { DataSpec } from "../data/data-spec.js";

export type DataFileStamps = Record<string, { size: number; mtime_ms: number }>;

/** Stamps of the data's files that exist now, by path (`data` with absolute paths: resolvedConfig). */
export function dataFileStamps(data: DataSpec): DataFileStamps {
  if (data.kind !== "npy") return {};
  const stamps: DataFileStamps = {};
  for (const path of [data.clips, data.labels, data.eval_clips, data.eval_labels]) {
    if (path === undefined) continue;
    try {
      const s = statSync(path);
      stamps[path] = { size: s.size, mtime_ms: s.mtimeMs };
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
    else if (current.mtime_ms !== then.mtime_ms) changes.push(`${path} was modified at ${new Date(current.mtime_ms).toISOString()}, after the run read it`);
  }
  return changes;
}

/**
 * Why an interrupted run must not resume, or null: its data files changed since it started, and
 * resuming would train one run on two datasets and record only the second's stamps. An error,
 * unlike a completed run's warning: nothing has been trained on the new files yet.
 */
export function resumeOnChangedData(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec): string | null {
  const changes = changedDataFiles(recorded, dataFileStamps(data));
  if (changes.length === 0) return null;
  return `${runDir}: this interrupted run would resume from its checkpoint, but its data files changed since it started (${changes.join("; ")}), so one run would train on two datasets; put the files back to resume it, --force trains it again from step 0 on these, or give the new data another path`;
}

/** The warning for a completed run whose data files changed since it read them, or null. */
export function staleDataWarning(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec): string | null {
  const changes = changedDataFiles(recorded, dataFileStamps(data));
  if (changes.length === 0) return null;
  return `warning: ${runDir} completed on data files that have changed since (${changes.join("; ")}): its results are for the files it read; --force trains it again on these, or give the new data another path`;
}
