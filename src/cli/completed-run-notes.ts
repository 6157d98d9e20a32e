/**
 * What `run` and `sweep` say of a completed run they find for a config and skip: where its data
 * files changed since it read them, and where the config asks for something that is no part of
 * the run id (so the run is found, not trained again) and the run was made without it
 * (output.keep_best's best.safetensors, npy data.class_names in summary.json). One list for both
 * commands, so that a sweep says what a single run says.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readClassNames } from "../data/class-names.js";
import type { DataSpec } from "../data/data-spec.js";
import { nameExperimentFile } from "../errors.js";
import { type StampsNow, dataFileStamps, staleDataWarning } from "../results/data-files.js";
import { BEST_WEIGHTS_FILE, readRunMeta, readSummary } from "../results/run-dir.js";
import type { ExperimentSpec } from "../spec/experiment-spec.js";
import type { LoadedExperiment } from "../spec/load-experiment.js";
import { resolveUserPath } from "../util/user-path.js";

/** The config a run was found for: its spec and model, the folder its paths are relative to, and the file (with overrides) errors name. */
export type FoundFor = Pick<LoadedExperiment, "spec" | "model" | "baseDir" | "file" | "overrides">;

/**
 * The warnings and notes for the completed run in `runDir`, found for `config` (`data`: its
 * resolved data, absolute paths); `stampsNow` as staleDataWarning takes it. data.class_names that
 * do not fit the model are an exit-2 error naming the experiment file, as for a run to train.
 */
export function completedRunNotes(config: FoundFor, runDir: string, data: DataSpec, stampsNow: StampsNow = dataFileStamps): string[] {
  let names: string | null;
  try {
    names = unrecordedClassNames(config, runDir);
  } catch (err) {
    nameExperimentFile(err, config.file, config.overrides);
    throw err;
  }
  return [staleDataWarning(runDir, readRunMeta(runDir)?.data_files, data, stampsNow), missingBestWeights(config.spec, runDir), names].filter((n) => n !== null);
}

/**
 * A completed run found for a config that asks for output.keep_best, trained without it: the key
 * is no part of the id (the same weights either way), so the run is found and skipped, and the
 * best.safetensors asked for never appears. Said, with the way to get it, or null.
 */
function missingBestWeights(spec: ExperimentSpec, runDir: string): string | null {
  if (spec.output.keep_best !== true || existsSync(join(runDir, BEST_WEIGHTS_FILE))) return null;
  // No evaluation, no best step: keep_best would have written nothing either.
  if (readSummary(runDir)?.best_eval_step == null) return null;
  return `note: ${runDir} was completed without output.keep_best, so it has no ${BEST_WEIGHTS_FILE}; output keys are no part of a run's id, so this config is that run: --force trains it again with it (or give output.dir=DIR to keep this one)`;
}

/**
 * A completed run found for a config whose data.class_names its summary.json does not hold (the
 * run was trained before the names were given, or with others): the key is no part of the id
 * (names change no number), so the run is found and skipped with its old names. Said, or null.
 */
function unrecordedClassNames(config: FoundFor, runDir: string): string | null {
  const data = config.spec.data;
  if (data.kind !== "npy" || data.class_names === undefined) return null;
  const names = readClassNames(data.class_names, config.model.classes, (p) => resolveUserPath(config.baseDir, p));
  const recorded = readSummary(runDir)?.classes;
  if (recorded !== undefined && recorded.length === names.length && recorded.every((n, i) => n === names[i])) return null;
  return `note: ${runDir} was completed with ${recorded === undefined ? "no class names" : "other class names"} in its summary.json; data.class_names is no part of a run's id (names change no number), so this config is that run and its results keep the names they have: ` +
    "`sideways evaluate --experiment` with this experiment names the classes in --per-class's CSV, or --force trains the run again";
}
