import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError, nameExperimentFile } from "../../errors.js";
import { readCheckpoint } from "../../model/checkpoint.js";
import type { Weights } from "../../model/model.js";
import { readSafetensorsMetadata } from "../../model/safetensors.js";
import { writeJsonAtomic } from "../../results/atomic-write.js";
import { sidewaysVersion } from "../../results/provenance.js";
import { runWeightsFile } from "../../results/run-weights.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { evaluateWeights } from "../../train/evaluate-weights.js";
import { evalColumns } from "../../train/evaluate.js";
import { resumeCheckpointStep } from "../../train/resume-checkpoint.js";
import { count } from "../../util/count.js";
import { fileDigest } from "../../util/file-digest.js";
import { evaluateSweep, isSweepFolder } from "./evaluate-sweep.js";
import type { CliIo } from "../cli-io.js";

interface EvaluateArgs {
  weights: string;
  overrides: string[];
  experiment?: string;
  json?: string;
  force: boolean;
  out?: string;
}

/** Seconds between progress lines: a long evaluation (thousands of video clips) says how far it is. */
const PROGRESS_EVERY_S = 10;

/** What --json holds: eval.csv's column names for the figures, so the two files join. */
export interface EvaluationRecord {
  weights: string;
  /** The step the weights are of, as their file says (final: the run's steps; best, resume: their step). */
  weights_step: number | null;
  /** The weights file's SHA-256 (hex): a sweep's evaluation folder tells weights trained again from those it evaluated. */
  weights_sha256: string;
  run_id: string | null;
  experiment: string;
  overrides: string[];
  provider: string;
  eval_clips: number;
  eval_loss: number;
  eval_clip_top1: number;
  eval_frame_top1: number;
  eval_video_top1?: number;
  eval_videos?: number;
  /** With more than 5 classes (src/train/top-k.ts). */
  eval_clip_top5?: number;
  eval_video_top5?: number;
  eval_on_train: boolean;
  sideways_version: string | null;
  evaluated_at: string;
}

export function evaluateCommand(io: CliIo): CommandModule<object, EvaluateArgs> {
  return {
    command: "evaluate <weights> [overrides..]",
    describe: "Evaluate trained weights (a run's folder, a safetensors file, or every run of a sweep's folder) on an experiment's evaluation set, as a run's evaluations do",
    builder: (y: Argv) =>
      y
        .positional("weights", { type: "string", demandOption: true, describe: "a run's folder (its final.safetensors, else resume.safetensors), a weights file (e.g. best.safetensors), or a sweep's folder (with --out)" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides of the experiment, e.g. eval.clips=1000 data.eval_crops=3" })
        .option("experiment", { type: "string", describe: "the experiment whose model, data and eval keys to use (default: the config.yaml beside the weights, the run's own)" })
        .option("json", { type: "string", describe: "also write the figures, the weights and the settings to this JSON file (eval.csv's column names)" })
        .option("out", { type: "string", describe: "with a sweep's folder: where to write each run's JSON (<run id>.json), runs.csv and the table (never the sweep's folder)" })
        .option("force", { type: "boolean", default: false, describe: "replace the --json file if it exists; with a sweep, evaluate into an --out folder holding another evaluation" })
        .example("$0 evaluate results/ucf101/<run id>/ data.eval_crops=3 eval.clips=11349", "the run's final weights on every UCF101 test video (split 1), 3 crops each")
        .example("$0 evaluate results/ucf101-sweep/ data.eval_crops=3 eval.clips=11349 --out results/ucf101-sweep-3crop", "every completed run of a sweep, its runs.csv and table of the new figures in the --out folder")
        .example("$0 evaluate results/quickstart/<run id>/best.safetensors --json best-eval.json", "the best evaluation's weights again, written as JSON") as unknown as Argv<EvaluateArgs>,
    handler: async (argv) => {
      if (isSweepFolder(argv.weights)) return evaluateSweep(io, { sweep: argv.weights, overrides: argv.overrides, out: argv.out, force: argv.force, experiment: argv.experiment, json: argv.json });
      if (argv.out !== undefined) throw new InputError(`evaluate: --out DIR is for a sweep's folder (one holding run folders and runs.csv); ${argv.weights} is not one: give --json FILE for one run's figures`, argv.weights);
      const weightsFile = runWeightsFile(argv.weights, "evaluate:");
      const configFile = argv.experiment ?? join(dirname(weightsFile), "config.yaml");
      const loaded = loadEvaluation(weightsFile, configFile, argv.overrides);
      const jsonFile = argv.json === undefined ? null : resolve(argv.json);
      if (jsonFile !== null && existsSync(jsonFile) && !argv.force) {
        throw new InputError(`evaluate: --json ${argv.json} already exists; nothing was evaluated or written (choose another file, or --force to replace it)`, jsonFile);
      }
      const record = await evaluateLoaded(io, loaded, readWeights(loaded));
      io.out(evaluationText(record));
      if (jsonFile !== null) {
        writeJsonAtomic(jsonFile, record);
        io.err(`wrote ${argv.json}\n`);
      }
    },
  };
}

/** What one evaluation needs, checked before anything is evaluated: the experiment with the overrides applied. */
export interface LoadedEvaluation {
  weightsFile: string;
  configFile: string;
  overrides: string[];
  exp: ReturnType<typeof loadExperiment>;
}

/** The experiment of `weightsFile` (its config.yaml, or `configFile`) with `overrides`; bad input is an InputError naming the file and key. */
export function loadEvaluation(weightsFile: string, configFile: string, overrides: string[]): LoadedEvaluation {
  if (!existsSync(configFile)) {
    throw new InputError(`evaluate: ${weightsFile}: no config.yaml beside it to say which model and data it was trained with; give the experiment with --experiment FILE`, weightsFile);
  }
  // The data must be here; the run's train.init_checkpoint need not be (the weights replace it).
  const exp = loadExperiment(configFile, overrides, { checkRunInputs: "data" });
  if (exp.spec.sweep !== null) {
    throw new InputError(`${configFile}: sweep: evaluate takes one run's settings, found a sweep; give the run's folder (its config.yaml) or an experiment without sweep:`, configFile, "sweep");
  }
  return { weightsFile, configFile, overrides, exp };
}

/** The weights, refused where they are not the experiment's model's. */
export function readWeights({ weightsFile, configFile, exp }: LoadedEvaluation): Weights {
  try {
    return readCheckpoint(resolve(weightsFile), exp.model);
  } catch (err) {
    if (err instanceof InputError) err.message = `${err.message} (evaluate: expected the weights of model ${exp.model.name}, from ${configFile})`;
    throw err;
  }
}

/** Evaluates the weights as a run's evaluations do; notes and progress to standard error; the record --json writes. */
export async function evaluateLoaded(io: CliIo, loaded: LoadedEvaluation, weights: Weights): Promise<EvaluationRecord> {
  const { weightsFile, configFile, overrides, exp } = loaded;
  const resumeStep = resumeCheckpointStep(weightsFile);
  if (resumeStep !== null) io.err(`note: ${weightsFile} is a resume checkpoint: the weights of an unfinished run at step ${resumeStep}, not its final ones\n`);

  const spec = exp.spec;
  io.err(`evaluating ${weightsFile} (model ${exp.model.name}) on up to ${count(spec.eval.clips, "clip")} of ${configFile}'s evaluation set, ${spec.runtime.provider} provider\n`);
  let lastReport = performance.now();
  const progress = (done: number, total: number) => {
    if (performance.now() - lastReport < PROGRESS_EVERY_S * 1000 || done >= total) return;
    lastReport = performance.now();
    io.err(`evaluate: ${done}/${total} clips\n`);
  };
  const evaluation = await evaluateWeights(spec, exp.model, weights, exp.baseDir, progress).catch((err: unknown) => {
    nameExperimentFile(err, configFile, overrides); // a data error names the file and key, as `run` does
    throw err;
  });
  if (evaluation.note !== null) io.err(`note: ${evaluation.note}\n`);
  if (evaluation.evalOnTrain) io.err(`note: the evaluation set is the training clips (eval_on_train)\n`);
  if (evaluation.result.clips < spec.eval.clips) io.err(`note: eval.clips is ${spec.eval.clips}, but the evaluation set has ${count(evaluation.result.clips, "clip")}: all of them were used\n`);

  const metadata = readSafetensorsMetadata(weightsFile) ?? {};
  const stepText = metadata.step ?? metadata.steps;
  return {
    weights: resolve(weightsFile),
    weights_step: stepText !== undefined && Number.isSafeInteger(Number(stepText)) ? Number(stepText) : null,
    weights_sha256: fileDigest(weightsFile, "evaluate: weights") ?? "",
    run_id: metadata.run_id ?? null,
    experiment: resolve(configFile),
    overrides,
    provider: spec.runtime.provider,
    ...evalColumns(evaluation.result),
    eval_on_train: evaluation.evalOnTrain,
    sideways_version: sidewaysVersion(),
    evaluated_at: new Date().toISOString(),
  };
}

/** The figures, one a line, as standard output shows them. */
export function evaluationText(r: EvaluationRecord): string {
  const of = [r.run_id === null ? null : `run ${r.run_id}`, r.weights_step === null ? null : `step ${r.weights_step}`].filter((s) => s !== null);
  const rows: [string, string][] = [
    ["weights", `${r.weights}${of.length > 0 ? ` (${of.join(", ")})` : ""}`],
    ["clips", `${r.eval_clips}${r.eval_on_train ? " (the training clips)" : ""}`],
    ["loss", r.eval_loss.toFixed(4)],
    ["clip top-1", r.eval_clip_top1.toFixed(4)],
  ];
  if (r.eval_clip_top5 !== undefined) rows.push(["clip top-5", r.eval_clip_top5.toFixed(4)]);
  rows.push(["frame top-1", r.eval_frame_top1.toFixed(4)]);
  if (r.eval_video_top1 !== undefined) rows.push(["video top-1", `${r.eval_video_top1.toFixed(4)} (${count(r.eval_videos ?? 0, "video")})`]);
  if (r.eval_video_top5 !== undefined) rows.push(["video top-5", r.eval_video_top5.toFixed(4)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join("");
}
