/**
 * Deterministic run ids. Every run's identity is the hash of its fully resolved config
 * (spec/resolved-config.ts): a single run's id is that hash; a sweep run's id puts its swept
 * parameters in front of it for readers, so a sweep run again finds its finished runs, and a change
 * to any setting, swept or not, gives new ids instead of replacing the old runs.
 *   params { "train.method": "bp", "train.optimizer.lr": 0.1, seed: 2 }, hash 5d41c7a0
 *     -> "method-bp_lr-0.1_seed-2_5d41c7a0"
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

/** `hash` is the run's config hash (resolved-config.ts). */
export function runIdFor(params: Record<string, unknown>, hash: string): string {
  const slug = orderedParamKeys(params)
    .map((k) => `${slugKey(k)}-${typeof params[k] === "string" ? params[k] : canonicalJson(params[k])}`)
    .join("_")
    .replace(/[^A-Za-z0-9.+-]+/g, (m) => (m.includes("_") ? "_" : ""))
    .slice(0, MAX_SLUG);
  return slug ? `${slug}_${hash}` : hash;
}

