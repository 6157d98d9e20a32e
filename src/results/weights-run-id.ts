/**
 * Which run a weights file is of, for `sideways evaluate`'s record. Final and best weights carry
 * their run id in their metadata; a resume checkpoint carries only its run's config hash, so its
 * run id is the one run-meta.json beside it gives, where that file is of the same configuration
 * (a file copied into another run's folder, or a folder reused, is not taken for that run's).
 */
import { dirname, resolve } from "node:path";
import { readRunMeta } from "./run-dir.js";

/** The run id of `weightsFile` whose safetensors metadata is `metadata`; null where neither says. */
export function weightsRunId(weightsFile: string, metadata: Readonly<Record<string, string>>): string | null {
  if (metadata.run_id !== undefined) return metadata.run_id;
  if (metadata.config_hash === undefined) return null;
  const meta = readRunMeta(dirname(resolve(weightsFile)));
  return meta !== null && meta.config_hash === metadata.config_hash && typeof meta.run_id === "string" ? meta.run_id : null;
}
