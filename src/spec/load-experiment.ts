/**
 * An experiment file (plus command-line overrides) to a validated ExperimentSpec: YAML parsed
 * safely, overrides applied, the whole file checked by the schema (all problems reported at
 * once), then every file it names checked to exist and the model loaded (shape inference), so a
 * bad experiment fails here, before anything is created on disk. A command that reads only the
 * model and the settings (`sideways schedule`) may leave out the data and checkpoint files.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { ModelError, SpecError } from "../errors.js";
import { loadExperimentModel } from "../train/run-experiment.js";
import { resolveUserPath } from "../util/user-path.js";
import type { Model } from "../model/model.js";
import { ExperimentSpec } from "./experiment-spec.js";
import { applyOverrides, type Override } from "./overrides.js";
import { overridesAbout, settingSource } from "./override-source.js";
import { movedRunInputsHint } from "./moved-run-inputs.js";
import { describeValue, formatIssues } from "./spec-issues.js";
import { readYamlFile } from "./yaml-file.js";

export interface LoadedExperiment {
  /** the experiment file as given on the command line (named in messages) */
  file: string;
  /** directory that relative paths in the spec resolve against */
  baseDir: string;
  /** the `key=value` overrides applied over the file, as given (named in messages about their keys) */
  overrides: readonly string[];
  /** the same overrides as parsed, each against the file as the ones before it left it */
  parsedOverrides: readonly Override[];
  /** the file's contents with overrides applied, before defaults */
  raw: Record<string, unknown>;
  spec: ExperimentSpec;
  model: Model;
}

export interface LoadOptions {
  /**
   * Whether the files a run reads besides the model (data.*, train.init_checkpoint) must exist
   * (default true: run, validate, sweep). False for a command that needs only the model and the
   * settings, so that a file written for another machine's data can still be inspected there;
   * every schema check and the model's still apply. "data": the data's files only (`evaluate`,
   * which starts from trained weights, not from train.init_checkpoint).
   */
  checkRunInputs?: boolean | "data";
  /**
   * Whether a key given twice in `overrides` is an error (default true). False for a sweep's run,
   * whose swept values and `sweep=null` follow the user's overrides (`sweep={...}` among them) and
   * win; planSweep has refused overrides of swept keys, so only `sweep` can repeat there.
   */
  oneValuePerKey?: boolean;
}

/** The experiment keys that name files or folders (relative to the file in it; to the current directory in an override). */
export const EXPERIMENT_PATH_KEYS: ReadonlySet<string> = new Set([
  "model",
  "train.init_checkpoint",
  "data.clips",
  "data.labels",
  "data.eval_clips",
  "data.eval_labels",
  "data.class_names",
  "data.root",
  "data.split.dir",
]);

export function loadExperiment(file: string, overrides: readonly string[] = [], options: LoadOptions = {}): LoadedExperiment {
  const raw = readYamlFile(file, "experiment file");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new SpecError(`${file}: expected a mapping of keys (name:, model:, data:, ...) at the top level, found ${describeValue(raw)}`, file);
  checkNotModelFile(raw as Record<string, unknown>, file);
  const parsedOverrides: Override[] = [];
  const withOverrides = applyOverrides(raw as Record<string, unknown>, overrides, ExperimentSpec, { keys: EXPERIMENT_PATH_KEYS, relativeTo: process.cwd() }, options.oneValuePerKey ?? true, parsedOverrides);
  const baseDir = dirname(resolve(file));
  const spec = validateExperiment(withOverrides, file, "", overrides);
  const model = checkExperimentFiles(spec, baseDir, file, options.checkRunInputs ?? true, overrides);
  return { file, baseDir, overrides, parsedOverrides, raw: withOverrides, spec, model };
}

/** A model file given where an experiment file belongs: say so instead of listing its keys as unknown. */
function checkNotModelFile(raw: Record<string, unknown>, file: string): void {
  if ("layers" in raw && !("data" in raw) && !("model" in raw))
    throw new SpecError(
      `${file}: this is a model file (it has layers:), not an experiment file; an experiment file names it under model: ` +
        `(model: ${basename(file)}) beside data:, train:, ... (see experiments/quickstart.yaml)`,
      file,
    );
}

/** Schema validation of a raw experiment mapping; all issues in one SpecError. */
export function validateExperiment(raw: unknown, file: string, context = "", overrides: readonly string[] = []): ExperimentSpec {
  const parsed = ExperimentSpec.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  const lines = formatIssues(parsed.error.issues, raw, file, ExperimentSpec, overrides);
  const first = parsed.error.issues[0]?.path.join(".");
  throw new SpecError((context ? `${context}:\n` : "") + lines.join("\n"), file, first);
}

/**
 * Every path the spec names must exist (with `runInputs` false, only the model file); the model
 * must load. Returns the loaded model.
 */
export function checkExperimentFiles(spec: ExperimentSpec, baseDir: string, file: string, runInputs: boolean | "data" = true, overrides: readonly string[] = []): Model {
  const paths: [string, string | null | undefined][] = [["model", typeof spec.model === "string" ? spec.model : null]];
  if (runInputs !== false) paths.push(...runInputPaths(spec).filter(([key]) => runInputs === true || key.startsWith("data.")));
  for (const [key, p] of paths) {
    if (p === null || p === undefined) continue;
    const full = resolveUserPath(baseDir, p);
    // data.root is a folder of class folders; every other path a file (else "EISDIR" without the key).
    const wantsFolder = key === "data.root";
    if (!existsSync(full)) {
      // A path a run folder's config.yaml names (not an override's): where to give the new one.
      const moved = overridesAbout(key, overrides).length === 0 ? movedRunInputsHint(file, baseDir, paths, overrides) : null;
      const hint = moved ?? "paths in the experiment file are relative to it, paths in overrides to the current directory";
      throw new SpecError(`${settingSource(file, overrides, key)}: ${key}: ${wantsFolder ? "folder" : "file"} not found: '${p}' (looked for ${full}; ${hint})`, file, key);
    }
    if (statSync(full).isDirectory() !== wantsFolder)
      throw new SpecError(`${settingSource(file, overrides, key)}: ${key}: expected a ${wantsFolder ? "folder" : "file"}, found a ${wantsFolder ? "file" : "folder"}: ${p === full ? full : `'${p}' (${full})`}`, file, key);
  }
  try {
    return loadExperimentModel(spec, baseDir, file);
  } catch (err) {
    if (!(err instanceof ModelError) || typeof spec.model !== "string") throw err;
    throw new ModelError(`${file}: model: ${err.message}`, err.file, err.keyPath ? `model(${spec.model}).${err.keyPath}` : "model");
  }
}

/** The files a run reads besides the model: the initial checkpoint and the data, by spec key. */
function runInputPaths(spec: ExperimentSpec): [string, string | null | undefined][] {
  const paths: [string, string | null | undefined][] = [["train.init_checkpoint", spec.train.init_checkpoint]];
  const data = spec.data;
  if (data.kind === "npy") paths.push(["data.clips", data.clips], ["data.labels", data.labels], ["data.eval_clips", data.eval_clips], ["data.eval_labels", data.eval_labels]);
  // A list of names names no file.
  if (data.kind === "npy" && typeof data.class_names === "string") paths.push(["data.class_names", data.class_names]);
  if (data.kind === "video-folder") paths.push(["data.root", data.root]);
  return paths;
}
