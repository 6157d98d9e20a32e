/**
 * A run folder's config.yaml trained with its data given anew (`sideways run <run folder>/config.yaml
 * data.clips=NEW ...`: the data moved, or was copied to another machine): the paths are part of the
 * run id, so this is another run, and the same-path check of a copied run (data-files.ts'
 * changedDataFiles) does not apply. That run's run-meta.json recorded each file's SHA-256 under
 * its path; the file now given under the same key (data.clips, data.labels, ...) is compared with
 * it, so that a researcher re-running a run on data they take for the same learns where it is not.
 * A warning, not an error: training on other data may be the point.
 */
import { join, relative } from "node:path";
import type { DataSpec } from "../data/data-spec.js";
import type { DataFileStamps } from "./data-files.js";

/** A data file (or video folder) by its config key, at its path in the earlier run and now. */
interface KeyedPaths {
  key: string;
  then: string;
  now: string;
}

/** The config's data paths of the earlier run (`then`, as its config.yaml names them) and now, by key. */
function pathsByKey(then: DataSpec, now: DataSpec, recorded: DataFileStamps): KeyedPaths[] {
  const pairs: KeyedPaths[] = [];
  if (then.kind === "npy" && now.kind === "npy") {
    for (const key of ["clips", "labels", "eval_clips", "eval_labels"] as const) {
      const a = then[key], b = now[key];
      if (a !== undefined && b !== undefined) pairs.push({ key: `data.${key}`, then: a, now: b });
    }
  } else if (then.kind === "video-folder" && now.kind === "video-folder") {
    pairs.push({ key: "data.root", then: then.root, now: now.root });
    // The split's files were stamped one by one under its folder: each by its name in the new one.
    if (then.split !== null && now.split !== null) {
      const splitDir = then.split.dir, nowDir = now.split.dir;
      for (const path of Object.keys(recorded)) {
        const name = relative(splitDir, path);
        if (name !== "" && !name.startsWith("..") && !name.includes("/")) pairs.push({ key: `data.split.dir (${name})`, then: path, now: join(nowDir, name) });
      }
    }
  }
  return pairs;
}

const shortSha = (sha: string) => `${sha.slice(0, 12)}…`;

/** How the stamp `now` differs from `then` (one file or video folder), or null where it does not or cannot be told. */
function difference(then: DataFileStamps[string], now: DataFileStamps[string]): string | null {
  if (then.videos !== undefined) {
    if (then.sha256 === now.sha256) return null;
    return then.videos === now.videos && then.size === now.size
      ? `other video names, or other videos of the same sizes (${now.videos} videos)`
      : `other videos (${then.videos} videos, ${then.size} bytes then; ${now.videos ?? 0} videos, ${now.size} bytes now)`;
  }
  if (then.sha256 !== undefined && now.sha256 !== undefined)
    return then.sha256 === now.sha256 ? null : `other contents (SHA-256 ${shortSha(then.sha256)} then, ${shortSha(now.sha256)} now)`;
  // A record older than SHA-256 stamps: the size alone can tell.
  return then.size === now.size ? null : `another size (${then.size} bytes then, ${now.size} now)`;
}

/**
 * One phrase per data key whose file (folder) now is not the one the earlier run recorded under
 * that key's path: `<key>: <now> is not the file the run read at <then> (<how>)`. `recorded`: the
 * earlier run's data_files; `stampsNow`: the new data's stamps with SHA-256s (dataFileStamps).
 * Keys the earlier run has no stamp for, or whose file is not there now, are passed over.
 */
export function dataGivenAnewChanges(then: DataSpec, now: DataSpec, recorded: DataFileStamps, stampsNow: DataFileStamps): string[] {
  const changes: string[] = [];
  for (const { key, then: a, now: b } of pathsByKey(then, now, recorded)) {
    const before = recorded[a], after = stampsNow[b];
    if (before === undefined || after === undefined) continue;
    const how = difference(before, after);
    if (how === null) continue;
    const what = before.videos !== undefined ? "folder" : "file";
    changes.push(a === b ? `${key}: ${b} has ${how} since that run read it` : `${key}: ${b} is not the ${what} that run read at ${a}: ${how}`);
  }
  return changes;
}
