/**
 * Deterministic run ids. Every run's identity is the hash of its fully resolved config
 * (spec/resolved-config.ts): a single run's id is that hash; a sweep run's id puts its swept
 * parameters in front of it for readers, so a sweep run again finds its finished runs, and a change
 * to any setting, swept or not, gives new ids instead of replacing the old runs.
 *   params { "train.method": "bp", "train.optimizer.lr": 0.1, seed: 2 }, hash 5d41c7a0
 *     -> "method-bp_lr-0.1_seed-2_5d41c7a0"
 * A path names its file (`model-resnet-mnist`), a list its items with commas (`scale-0.5,1`), a
 * mapping its keys and values (`optimizer-kind-adam,lr-0.1`). The slug is for reading, not
 * parsing: the hash alone tells runs apart. Earlier versions named sweep runs by `legacyRunId`'s
 * slugs; a sweep keeps those where it finds them (results/earlier-run-ids.ts).
 */
import { createHash } from "node:crypto";

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * A sweep run's identity, whichever id style names its folder (results/earlier-run-ids.ts): its
 * config hash and its swept values. The hash alone is not one: settings that cannot change a run's
 * numbers (data.workers, train.checkpoint_every, ...) are left out of it, so a sweep over such a
 * setting plans several runs of one hash.
 */
export function runKey(run: { params: Record<string, unknown>; config_hash: string }): string {
  return `${run.config_hash} ${canonicalJson(run.params)}`;
}

/** First 8 hex digits of the SHA-256 of the canonical JSON. */
export function shortHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 8);
}

/** Parameter keys in a stable order, seed last. */
export function orderedParamKeys(params: Record<string, unknown>): string[] {
  return Object.keys(params).sort((a, b) => (a === "seed" ? 1 : b === "seed" ? -1 : a < b ? -1 : a > b ? 1 : 0));
}

const MAX_SLUG = 80;

/** A swept key's last name; a list item keeps its list's name (`betas.0`, not `0`). */
function slugKey(key: string): string {
  const parts = key.split(".");
  return /^\d+$/.test(parts[parts.length - 1]) && parts.length > 1 ? parts.slice(-2).join(".") : parts[parts.length - 1];
}

/** Letters kept in a slug; any other run of characters is dropped (an underscore kept as one). */
const sanitize = (text: string) => text.replace(/[^A-Za-z0-9.+-]+/g, (m) => (m.includes("_") ? "_" : ""));

/** Extensions a path-like value drops: its file's name is what tells runs apart to a reader. */
const FILE_EXTENSION = /\.(ya?ml|json|npy|npz|safetensors|onnx|csv|txt|mp4|avi)$/i;

/** A string naming a file or folder: one with a path separator, or one that ends in a known file extension. */
export function isPathLike(value: string): boolean {
  return /[\\/]/.test(value) || FILE_EXTENSION.test(value);
}

/** A path's last non-empty part without its extension: `../models/resnet-mnist.yaml` -> `resnet-mnist`. */
export function fileStem(path: string): string {
  const last = path.split(/[\\/]/).filter((p) => p !== "" && p !== "." && p !== "..").pop() ?? path;
  return last.replace(FILE_EXTENSION, "");
}

/**
 * One swept value as a slug: a path as its file's stem, a list as its items joined by `,` (a
 * character no scalar's slug keeps, legal on every common filesystem and in a shell word), a
 * mapping as `key-value` pairs, keys sorted, joined the same way.
 */
function slugValue(value: unknown): string {
  if (typeof value === "string") return sanitize(isPathLike(value) ? fileStem(value) : value);
  if (Array.isArray(value)) return value.map(slugValue).join(",");
  if (value !== null && typeof value === "object")
    return Object.keys(value)
      .sort()
      .map((k) => `${sanitize(k)}-${slugValue((value as Record<string, unknown>)[k])}`)
      .join(",");
  return sanitize(String(value));
}

/** `hash` is the run's config hash (resolved-config.ts). */
export function runIdFor(params: Record<string, unknown>, hash: string): string {
  const slug = orderedParamKeys(params)
    .map((k) => `${sanitize(slugKey(k))}-${slugValue(params[k])}`)
    .join("_")
    .slice(0, MAX_SLUG)
    // A cut slug does not end in a separator (`scale-0.5,_<hash>`).
    .replace(/[-_,.]+$/, "");
  return slug ? `${slug}_${hash}` : hash;
}

/**
 * The id earlier versions gave a sweep run: every swept value's JSON with the characters a slug
 * does not keep dropped (`model-..modelsresnet-mnist.yaml`, `scale-0.51`). Kept so that a sweep
 * run again over such a folder finds its runs under their names (results/earlier-run-ids.ts).
 */
export function legacyRunId(params: Record<string, unknown>, hash: string): string {
  const slug = orderedParamKeys(params)
    .map((k) => `${slugKey(k)}-${typeof params[k] === "string" ? params[k] : canonicalJson(params[k])}`)
    .join("_")
    .replace(/[^A-Za-z0-9.+-]+/g, (m) => (m.includes("_") ? "_" : ""))
    .slice(0, MAX_SLUG);
  return slug ? `${slug}_${hash}` : hash;
}

