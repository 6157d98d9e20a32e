/**
 * Deterministic run ids. A sweep run's id comes from its swept parameters (seed included), so a
 * sweep run again finds its finished runs; a single run's id is a hash of its resolved config.
 *   { "train.method": "bp", "train.optimizer.lr": 0.1, seed: 2 } -> "method-bp_lr-0.1_seed-2_5d41c7a0"
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

export function runIdFor(params: Record<string, unknown>): string {
  const slug = orderedParamKeys(params)
    .map((k) => `${k.split(".").pop()}-${typeof params[k] === "string" ? params[k] : canonicalJson(params[k])}`)
    .join("_")
    .replace(/[^A-Za-z0-9.+-]+/g, (m) => (m.includes("_") ? "_" : ""))
    .slice(0, MAX_SLUG);
  const hash = shortHash(params);
  return slug ? `${slug}_${hash}` : hash;
}

/** Identifies a configuration regardless of seed: runs sharing it are replicates. */
export function configIdFor(params: Record<string, unknown>): string {
  const { seed: _seed, ...rest } = params;
  return shortHash(rest);
}
