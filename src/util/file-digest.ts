/**
 * The SHA-256 of a file's bytes, for a run's identity where a setting names a file whose contents
 * decide the result (train.init_checkpoint: an interrupted run's resume.safetensors changes as that
 * run goes on). Cached by path, size and modification time, so a sweep of many runs from one
 * checkpoint reads it once. null when the file cannot be read (the run's own checks report it).
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

const cache = new Map<string, { size: number; mtimeMs: number; digest: string }>();

export function fileDigest(path: string): string | null {
  try {
    const { size, mtimeMs } = statSync(path);
    const hit = cache.get(path);
    if (hit !== undefined && hit.size === size && hit.mtimeMs === mtimeMs) return hit.digest;
    const digest = createHash("sha256").update(readFileSync(path)).digest("hex");
    cache.set(path, { size, mtimeMs, digest });
    return digest;
  } catch {
    return null;
  }
}
