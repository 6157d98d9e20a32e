/**
 * Optional keys whose absence trains exactly as one written value does (the same batches and
 * weights bit for bit): train.label_smoothing 0 (one-hot targets), train.accumulate 1 (one batch a
 * step), a video folder's data.eval_crops 1 (the centre crop). The one list that the run id
 * (resolved-config.ts configHash: hashed as absent), `validate --print` (printed-config.ts: shown at
 * that value) and the results tables (results/run-settings.ts: read as that value where a
 * config.yaml lacks the key) all follow. Keys whose no-op is no fixed value are not here:
 * data.decode_size's follows the model input (configHash handles it), and a no-op data.augment is
 * another run id (resolved-config.ts says why).
 */
import type { DataSpec } from "../data/data-spec.js";

export interface AbsentAs {
  section: "train" | "data";
  key: string;
  value: number;
  /** The data kinds that have the key; absent: every kind. */
  kinds?: readonly DataSpec["kind"][];
}

export const ABSENT_AS: readonly AbsentAs[] = [
  { section: "train", key: "accumulate", value: 1 },
  { section: "train", key: "label_smoothing", value: 0 },
  { section: "data", key: "eval_crops", value: 1, kinds: ["video-folder"] },
];

/** Whether `entry`'s key exists for data of `kind`. */
export function appliesTo(entry: AbsentAs, kind: string | undefined): boolean {
  return entry.kinds === undefined || (kind !== undefined && (entry.kinds as readonly string[]).includes(kind));
}

/** `values` (the config's `section`) without the keys that are unset or at their absence's value. */
export function withoutAbsentAs<T extends object>(section: AbsentAs["section"], values: T): T {
  const out = { ...values } as Record<string, unknown>;
  for (const e of ABSENT_AS) if (e.section === section && (out[e.key] === undefined || out[e.key] === e.value)) delete out[e.key];
  return out as unknown as T;
}
