/**
 * The SHA-256 of a file's bytes, for a run's identity where a setting names a file whose contents
 * decide the result (train.init_checkpoint: an interrupted run's resume.safetensors changes as that
 * run goes on). Read in chunks (a checkpoint may pass readFileSync's 2 GiB limit) and cached by
 * path, inode, size and change time, so a sweep of many runs from one checkpoint reads it once.
 * null when the file does not exist (the run's own checks report it); any other failure to read
 * it is an input error naming the key, never an id made from the path alone.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { InputError } from "../errors.js";

const cache = new Map<string, { stamp: string; digest: string }>();
const CHUNK = 1 << 24;

/**
 * The SHA-256 of the file at `path`, read once per process while its inode, size and times stay
 * the same (the one cache of file hashes: run identity, npy checks and data stamps all read it).
 * Throws the file system's error; fileDigest below turns it into an input error naming a key.
 */
export function cachedSha256(path: string): string {
  const s = statSync(path);
  const stamp = `${s.ino}:${s.size}:${s.ctimeMs}:${s.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.digest;
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, "r");
  try {
    for (let n: number; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  const digest = hash.digest("hex");
  cache.set(path, { stamp, digest });
  return digest;
}

export function fileDigest(path: string, key: string): string | null {
  try {
    if (!statSync(path).isFile()) throw new InputError(`${key}: ${path} is not a file`, undefined, key);
    return cachedSha256(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err instanceof InputError ? err : new InputError(`${key}: cannot read ${path}: ${(err as Error).message}`, undefined, key);
  }
}
