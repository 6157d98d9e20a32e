import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import type { DataSpec } from "../../data/data-spec.js";
import { InputError, nameExperimentFile, SpecError } from "../../errors.js";
import { readCheckpoint, readInitCheckpoint } from "../../model/checkpoint.js";
import { INFERENCE_FILE, INFERENCE_INPUT, INFERENCE_OUTPUT, exportFileNames, exportInferenceModel, exportModel } from "../../model/export.js";
import { loadModelFile } from "../../model/load-model.js";
import type { Model, Weights } from "../../model/model.js";
import { loadExperiment, type LoadedExperiment } from "../../spec/load-experiment.js";
import { inferenceDescription, INFERENCE_DESCRIPTION_FILE } from "../../model/inference-description.js";
import { readYamlFile } from "../../spec/yaml-file.js";
import { runWeightsFile } from "../../results/run-weights.js";
import { readSummary } from "../../results/run-dir.js";
import { resumeCheckpointStep } from "../../train/resume-checkpoint.js";
import { fileInPath } from "../../util/file-in-path.js";
import { resolveUserPath } from "../../util/user-path.js";
import type { CliIo } from "../cli-io.js";
import type { HelpExamples } from "../help-examples.js";

interface ExportArgs {
  file?: string;
  overrides: string[];
  out: string;
  checkpoint?: string;
  force: boolean;
}

/**
 * The model (and the weights file, if any) an export is of, and its training data when an
 * experiment or a run's config.yaml says (undefined for a model file).
 */
function exportSource(argv: ExportArgs): { model: Model; weightsPath: string | null; data?: DataSpec; baseDir?: string; initOf?: LoadedExperiment } {
  if (argv.checkpoint !== undefined) argv = { ...argv, checkpoint: runWeightsFile(argv.checkpoint, "export: --checkpoint") };
  if (argv.file === undefined) {
    // A run folder's config.yaml holds the model it trained (inline): the checkpoint alone suffices.
    if (argv.checkpoint === undefined) throw new InputError("export: give a model or experiment file, or --checkpoint of a run (see sideways export --help)");
    const config = join(dirname(argv.checkpoint), "config.yaml");
    if (!existsSync(config))
      throw new InputError(`export: ${argv.checkpoint}: no config.yaml beside it to say which model it holds; give the model or experiment file too (sideways export MODEL.yaml --checkpoint ${argv.checkpoint})`, argv.checkpoint);
    // The data it trained on need not be at hand: a run folder copied off the cluster exports anywhere.
    const run = loadExperiment(config, argv.overrides, { checkRunInputs: false });
    return { model: run.model, weightsPath: argv.checkpoint, data: run.spec.data, baseDir: run.baseDir };
  }
  const doc = readYamlFile(argv.file, "file");
  if (typeof doc === "object" && doc !== null && "layers" in doc) return { model: loadModelFile(argv.file), weightsPath: argv.checkpoint ?? null };
  // Only the model (and the weights read below) are needed: the data may be on another machine.
  const exp = loadExperiment(argv.file, argv.overrides, { checkRunInputs: false });
  const init = exp.spec.train.init_checkpoint;
  if (argv.checkpoint !== undefined || init === null) return { model: exp.model, weightsPath: argv.checkpoint ?? null, data: exp.spec.data, baseDir: exp.baseDir };
  const initPath = resolveUserPath(exp.baseDir, init);
  if (!existsSync(initPath)) throw new SpecError(`${argv.file}: train.init_checkpoint: file not found: '${init}' (looked for ${initPath}); the export would put those weights into ${INFERENCE_FILE}`, argv.file, "train.init_checkpoint");
  return { model: exp.model, weightsPath: initPath, data: exp.spec.data, baseDir: exp.baseDir, initOf: exp };
}

export function exportCommand(io: CliIo): CommandModule<object, ExportArgs> & HelpExamples {
  return {
    command: "export [file] [overrides..]",
    describe: `Write a model's per-block training graphs (ONNX) and a manifest; with trained weights also ${INFERENCE_FILE}, one self-contained inference graph, and ${INFERENCE_DESCRIPTION_FILE}, how to feed it`,
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", describe: "model YAML (has layers:) or experiment YAML; optional with --checkpoint of a run folder" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides (experiment files)" })
        .option("checkpoint", { type: "string", describe: `weights (safetensors: a run's final.safetensors, or the run's folder; default: the experiment's train.init_checkpoint): also write ${INFERENCE_FILE} with them inside, and ${INFERENCE_DESCRIPTION_FILE}: the frames' layout and preprocessing, clip length and class names (also in ${INFERENCE_FILE}'s metadata)` })
        .option("out", { type: "string", demandOption: true, describe: "output folder (made if missing)" })
        .option("force", { type: "boolean", default: false, describe: "replace files an earlier export left in --out" }) as unknown as Argv<ExportArgs>,
    examples: [
      ["$0 export --checkpoint results/quickstart/<run id>/final.safetensors --out deploy/", `${INFERENCE_FILE}: ${INFERENCE_INPUT} [N,C,H,W] -> ${INFERENCE_OUTPUT} [N,classes], for plain onnxruntime`],
      ["$0 export models/small-cnn.yaml --out exported/", "the training graphs of every block"],
    ],
    handler: (argv) => {
      const { model, weightsPath, data, baseDir, initOf } = exportSource(argv);
      // Read (and shape-check) the weights before anything is written.
      let weights: Weights | null = null;
      try {
        // The experiment's train.init_checkpoint names that key (and the file, and the override that set it).
        if (weightsPath !== null) weights = initOf ? readInitCheckpoint(resolve(weightsPath), model) : readCheckpoint(resolve(weightsPath), model);
      } catch (err) {
        if (initOf) nameExperimentFile(err, initOf.file, initOf.overrides);
        throw err;
      }
      refuseFileAsOut(resolve(argv.out), argv.out, weights !== null);
      if (!argv.force) refuseToReplace(resolve(argv.out), exportFileNames(model, weights !== null), argv.out);
      const { files } = exportModel(model, resolve(argv.out));
      io.err(`wrote ${files.length} files (per-block training graphs, manifest.json) to ${argv.out}\n`);
      if (weights !== null && weightsPath !== null) {
        // An interrupted run's folder gives its resume checkpoint: exported, but not as if final.
        const step = resumeCheckpointStep(weightsPath);
        // A run folder's summary.json names the classes its data had, by label.
        const classNames = readSummary(dirname(resolve(weightsPath)))?.classes;
        const description = inferenceDescription({ model, weights: weightsPath, resumeStep: step, data, baseDir, classNames }, { input: INFERENCE_INPUT, output: INFERENCE_OUTPUT });
        exportInferenceModel(model, weights, resolve(argv.out), description);
        const { channels, height, width } = model.input;
        io.err(`wrote ${join(argv.out, INFERENCE_FILE)} (weights of ${weightsPath} inside): ${INFERENCE_INPUT} [N,${channels},${height},${width}] -> ${INFERENCE_OUTPUT} [N,${model.classes}]\n`);
        io.err(`${INFERENCE_INPUT}: ${description.pixels}\n`);
        if (description.video_frames !== null) io.err(`${INFERENCE_INPUT} of a video: ${description.video_frames}\n`);
        if (description.class_order !== null) io.err(`${INFERENCE_OUTPUT}: ${description.class_order}\n`);
        if (description.classes !== null) io.err(`${INFERENCE_OUTPUT}: the classes ${description.classes.join(", ")} (${description.classes_note})\n`);
        else io.err(`${INFERENCE_OUTPUT}: no class names in ${INFERENCE_DESCRIPTION_FILE}: ${description.classes_note}\n`);
        io.err(`wrote ${join(argv.out, INFERENCE_DESCRIPTION_FILE)} (also in ${INFERENCE_FILE}'s metadata_props): the input layout, pixel scaling, clip length, how frames make a clip's prediction${description.classes === null ? "" : " and the class names"}, for use without this tool\n`);
        if (step !== null) io.err(`note: ${weightsPath} is a resume checkpoint: the weights of an unfinished run at step ${step}, not its final ones\n`);
      }
    },
  };
}

/**
 * --out is a folder, made where it is not there: a file at its path, or above it, is refused
 * before anything is written (--force replaces files inside --out, never --out itself).
 */
function refuseFileAsOut(outDir: string, given: string, inference: boolean): void {
  const blocking = fileInPath(outDir);
  if (blocking === null) return;
  const what = blocking === outDir ? `--out ${given} is a file` : `--out ${given}: ${blocking} is a file, not a folder`;
  throw new InputError(`export: ${what}; expected a folder (made if missing) for the per-block graphs${inference ? `, manifest.json, ${INFERENCE_FILE} and ${INFERENCE_DESCRIPTION_FILE}` : " and manifest.json"}; nothing was written`, blocking);
}

/** An earlier export (maybe of other weights) is never replaced without --force; nothing is written. */
function refuseToReplace(outDir: string, names: string[], given: string): void {
  const existing = names.filter((f) => existsSync(join(outDir, f)));
  if (existing.length === 0) return;
  const shown = existing.length > 3 ? `${existing.slice(0, 3).join(", ")} and ${existing.length - 3} more` : existing.join(", ");
  throw new InputError(`export: --out ${given}: ${shown} already exist${existing.length === 1 ? "s" : ""} there (an earlier export); nothing was written (choose another --out, or --force to replace them)`, outDir);
}

