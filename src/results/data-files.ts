/**
 * The data files a run reads, stamped in its run-meta.json when it starts:
 * - npy files (and a video folder's split files) by size, modification time and SHA-256 (hashing
 *   costs about 0.8 s a GB, measured with node's sha256 on this project's 2-core CI machine,
 *   beside the whole read the run makes anyway). A file whose time changed but whose bytes did not
 *   (`cp` to scratch at a job's start) is the file the run read; only a time change is checked by
 *   its hash.
 * - a video folder (data.root) by its listing: each video's path under the root and size, hashed,
 *   with their count and total size. Not the videos' bytes (UCF101 is 13,320 files, 6.5 GB): a
 *   video added, removed, renamed or changed in size is seen; one re-encoded to the very same size
 *   is not. Times do not count, so a copy of the folder is the same data.
 * A run's id names data by its path (README.md "Run identity"; hashing every clip's bytes would
 * mean reading gigabytes before each run), so data regenerated at the same path leaves the id as
 * it was: a completed run would be found and skipped for data it never read. Where a run is found
 * completed, its stamps are compared with the data now, and a change is said. Not an error: the
 * run's results stand for the data it read; --force trains it again on the new data, and a new
 * path makes it another run. An interrupted run whose data changed is not resumed
 * (resumeOnChangedData).
 */
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { DataSpec } from "../data/data-spec.js";
import { RESUME_FILE, savedAtDataError } from "../train/resume-checkpoint.js";
import { cachedSha256 } from "../util/file-digest.js";

/**
 * sha256: absent from run-meta.json files written before it was recorded. A video folder's stamp
 * has `videos` (their count); its size is theirs in all, mtime_ms the newest video's, and sha256
 * that of its listing (videoFolderStamp).
 */
export type DataFileStamps = Record<string, { size: number; mtime_ms: number; sha256?: string; videos?: number }>;

/**
 * Stamps of the data's files that exist now, by path (`data` with absolute paths: resolvedConfig);
 * `contents` adds each file's SHA-256 (a run's start), else only stat is read (comparisons). A
 * video folder's listing is read either way: it is what its stamp compares.
 */
export function dataFileStamps(data: DataSpec, contents = false): DataFileStamps {
  const stamps: DataFileStamps = {};
  const stampFile = (path: string) => {
    try {
      const s = statSync(path);
      stamps[path] = { size: s.size, mtime_ms: s.mtimeMs, ...(contents ? { sha256: cachedSha256(path) } : {}) };
    } catch {
      // A file gone since the run: said by changedDataFiles below.
    }
  };
  if (data.kind === "npy") {
    for (const path of [data.clips, data.labels, data.eval_clips, data.eval_labels]) if (path !== undefined) stampFile(path);
  } else if (data.kind === "video-folder") {
    const folder = videoFolderStamp(data.root, data.extensions);
    if (folder !== null) stamps[data.root] = folder;
    if (data.split !== null) for (const name of visibleEntries(data.split.dir)) stampFile(join(data.split.dir, name));
  }
  return stamps;
}

/** A folder's entries not starting with "." (sorted); none when it cannot be read. */
function visibleEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith(".")).sort();
  } catch {
    return [];
  }
}

/**
 * A video folder's stamp: the SHA-256 of its listing (each `<class>/<video>` with the given
 * extensions, and its size), their count and total size; null when the root cannot be read.
 * Class folders may be links (stat follows them), as video-index.ts allows.
 */
function videoFolderStamp(root: string, extensions: readonly string[]): DataFileStamps[string] | null {
  const classes = visibleEntries(root);
  if (classes.length === 0) return null;
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const hash = createHash("sha256");
  let videos = 0, size = 0, newest = 0;
  for (const cls of classes) {
    for (const name of visibleEntries(join(root, cls))) {
      if (!wanted.has(extname(name).toLowerCase())) continue;
      let s;
      try {
        s = statSync(join(root, cls, name));
      } catch {
        continue; // a dangling link: no video
      }
      if (!s.isFile()) continue;
      hash.update(`${cls}/${name}\t${s.size}\n`);
      videos++;
      size += s.size;
      newest = Math.max(newest, s.mtimeMs);
    }
  }
  return { size, mtime_ms: newest, sha256: hash.digest("hex"), videos };
}

const sizeText = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} bytes`);

/** What changed in a video folder since its stamp `then`, or null when its listing is the same. */
function videoFolderChange(root: string, then: DataFileStamps[string], now: DataFileStamps[string] | undefined): string | null {
  if (now === undefined) return `${root} is gone`;
  if (now.sha256 === then.sha256) return null;
  if (now.videos === then.videos && now.size === then.size)
    return `${root}: its videos were renamed, or replaced by others of the same sizes, after the run read them (${now.videos} videos, ${sizeText(now.size)})`;
  // Exact bytes where the rounded sizes would read the same (a re-encode of one video in 6.5 GB).
  const size = (bytes: number, other: number) => (sizeText(bytes) === sizeText(other) ? `${bytes} bytes` : sizeText(bytes));
  return `${root}: its videos changed after the run read them (${then.videos} videos, ${size(then.size, now.size)} then, ${now.videos} videos, ${size(now.size, then.size)} now)`;
}

/** What changed between a run's recorded stamps and the files now, one phrase per file; [] for a run recorded without stamps. */
export function changedDataFiles(recorded: DataFileStamps | undefined, now: DataFileStamps): string[] {
  if (recorded === undefined) return [];
  const changes: string[] = [];
  for (const [path, then] of Object.entries(recorded)) {
    const current = now[path];
    if (then.videos !== undefined) {
      const change = videoFolderChange(path, then, current);
      if (change !== null) changes.push(change);
    } else if (current === undefined) changes.push(`${path} is gone`);
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
    return cachedSha256(path) === sha256;
  } catch {
    return null;
  }
}

/** The stamps of the data now (dataFileStamps without contents). */
export type StampsNow = (data: DataSpec) => DataFileStamps;

/**
 * A StampsNow that reads each data spec's stamps once: a sweep compares all its runs, which mostly
 * share their data, and a video folder's listing is thousands of stat calls (0.1 s for UCF101's
 * layout on a local disk, more on a cluster's file system). For one pass over runs, not longer:
 * the data may change after it.
 */
export function stampsOncePerData(): StampsNow {
  const seen = new Map<string, DataFileStamps>();
  return (data) => {
    const key = JSON.stringify(data);
    let stamps = seen.get(key);
    if (stamps === undefined) seen.set(key, (stamps = dataFileStamps(data)));
    return stamps;
  };
}

/** What changed in `data`'s files since a run recorded them (its run-meta.json's data_files), one phrase per file. */
export const dataChangesSince = (recorded: DataFileStamps | undefined, data: DataSpec, now: StampsNow = dataFileStamps): string[] =>
  recorded === undefined ? [] : changedDataFiles(recorded, now(data));

/**
 * What changed in an interrupted run's data since it started, where that bars resuming it: nothing
 * does for a checkpoint saved as a data error ended the run (an unreadable video), since mending
 * the data is what it waits for.
 */
export function changesBarringResume(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec, now: StampsNow = dataFileStamps): string[] {
  return savedAtDataError(join(runDir, RESUME_FILE)) ? [] : dataChangesSince(recorded, data, now);
}

/**
 * Why an interrupted run must not resume, or null: its data files changed since it started, and
 * resuming would train one run on two datasets and record only the second's stamps. An error,
 * unlike a completed run's warning: nothing has been trained on the new files yet.
 */
export function resumeOnChangedData(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec): string | null {
  const changes = changesBarringResume(runDir, recorded, data);
  if (changes.length === 0) return null;
  return `${runDir}: this interrupted run would resume from its checkpoint, but its data files changed since it started (${changes.join("; ")}), so one run would train on two datasets; put the files back to resume it, --force trains it again from step 0 on these, or give the new data another path`;
}

/** The warning for a completed run whose data files changed since it read them, or null. */
export function staleDataWarning(runDir: string, recorded: DataFileStamps | undefined, data: DataSpec, now: StampsNow = dataFileStamps): string | null {
  const changes = dataChangesSince(recorded, data, now);
  if (changes.length === 0) return null;
  return `warning: ${runDir} completed on data files that have changed since (${changes.join("; ")}): its results are for the files it read; --force trains it again on these, or give the new data another path`;
}
