/**
 * One `sideways evaluate` of trained weights: the experiment they are evaluated with (checked
 * before anything runs), the weights read against its model, and the evaluation with its notes
 * and progress on standard error (the command, and each run of a sweep's folder: evaluate-sweep.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError, nameExperimentFile } from "../errors.js";
import { checkCheckpointFits, decodeCheckpoint } from "../model/checkpoint.js";
import type { Weights } from "../model/model.js";
import { perClassCsvText } from "../results/per-class-csv.js";
import { sidewaysVersion } from "../results/provenance.js";
import { weightsRunId } from "../results/weights-run-id.js";
import { loadExperiment } from "../spec/load-experiment.js";
import { settingSource } from "../spec/override-source.js";
import { evaluateWeights, type EvaluationRecord } from "../train/evaluate-weights.js";
import { evalColumns } from "../train/evaluate.js";
import { resumeCheckpointStep } from "../train/resume-checkpoint.js";
import { count } from "../util/count.js";
import type { CliIo } from "./cli-io.js";

/** Seconds between progress lines: a long evaluation (thousands of video clips) says how far it is. */
const PROGRESS_EVERY_S = 10;

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

/**
 * A weights file read once: its SHA-256, and `decode` giving its metadata and weights from the same
 * bytes. Decoding waits until asked: a sweep's run whose evaluation is already in DIR needs only the digest.
 */
export interface WeightsRead {
  sha256: string;
  decode(): { metadata: Record<string, string>; weights: Weights };
}

/**
 * The weights, refused (when decoded) where they are not the experiment's model's, read once for
 * the digest, the metadata and the tensors (three reads of a file of hundreds of MB before), so the
 * digest recorded is of the bytes evaluated even if the file is replaced meanwhile.
 */
export function readWeightsOnce(loaded: LoadedEvaluation): WeightsRead {
  const path = resolve(loaded.weightsFile);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read checkpoint ${path}: ${(e as Error).message}`, path);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return {
    sha256,
    decode: () => {
      const { weights, metadata } = fittingModel(loaded, () => decodeCheckpoint(bytes, loaded.exp.model, path));
      return { metadata: metadata ?? {}, weights };
    },
  };
}

/**
 * Whether the weights fit the experiment's model, from the file's header alone: a sweep checks every
 * run's before it evaluates any (evaluation-preflight.ts), then reads each whole once, as evaluated.
 */
export function checkWeightsFit(loaded: LoadedEvaluation): void {
  fittingModel(loaded, () => checkCheckpointFits(resolve(loaded.weightsFile), loaded.exp.model));
}

/** `read`, whose error of weights that do not fit names the model and the setting that chose it. */
function fittingModel<T>({ configFile, overrides, exp }: LoadedEvaluation, read: () => T): T {
  try {
    return read();
  } catch (err) {
    // An override of the model (model=..., model.layers...) is named: it, not the file, chose the model.
    if (err instanceof InputError) err.message = `${err.message} (evaluate: expected the weights of model ${exp.model.name}, from ${settingSource(configFile, overrides, "model")})`;
    throw err;
  }
}

/**
 * How a sweep's evaluation speaks of each run (evaluate-sweep.ts): its own line per run instead of
 * the "evaluating ..." line, and each note once however many runs it holds for.
 */
export interface EvaluationVoice {
  announce: boolean;
  note: (text: string) => void;
  /** Which run the progress lines are of ("run 3/12 (<run id>)"). */
  run: string;
  /** Seconds between progress lines (default PROGRESS_EVERY_S). */
  progressEveryS?: number;
}

/** What one evaluation gives: the record --json writes, and the text of --per-class's CSV (src/results/per-class-csv.ts). */
export interface EvaluatedWeights {
  record: EvaluationRecord;
  perClassCsv: string;
}

/** Evaluates the weights as a run's evaluations do; notes and progress to standard error. */
export async function evaluateLoaded(io: CliIo, loaded: LoadedEvaluation, read: WeightsRead, voice?: EvaluationVoice): Promise<EvaluatedWeights> {
  const { weightsFile, configFile, overrides, exp } = loaded;
  const { weights, metadata } = read.decode(); // weights that do not fit are refused before any note
  const note = voice?.note ?? ((text: string) => io.err(`note: ${text}\n`));
  const resumeStep = resumeCheckpointStep(weightsFile);
  if (resumeStep !== null) note(`${weightsFile} is a resume checkpoint: the weights of an unfinished run at step ${resumeStep}, not its final ones`);

  const spec = exp.spec;
  // Three-crop testing multiplies the clips a video gives: said, as it is the usual reason to evaluate again.
  const crops = spec.data.kind === "video-folder" && (spec.data.eval_crops ?? 1) > 1 ? ` (${spec.data.eval_crops} spatial crops of each temporal window)` : "";
  if (voice?.announce ?? true) io.err(`evaluating ${weightsFile} (model ${exp.model.name}) on up to ${count(spec.eval.clips, "clip")}${crops} of ${configFile}'s evaluation set, ${spec.runtime.provider} provider\n`);
  let lastReport = performance.now();
  const everyS = voice?.progressEveryS ?? PROGRESS_EVERY_S;
  const progress = (done: number, total: number) => {
    if (performance.now() - lastReport < everyS * 1000 || done >= total) return;
    lastReport = performance.now();
    io.err(`evaluate: ${voice === undefined ? "" : `${voice.run}: `}${done}/${total} clips\n`);
  };
  const evaluation = await evaluateWeights(spec, exp.model, weights, exp.baseDir, progress).catch((err: unknown) => {
    nameExperimentFile(err, configFile, overrides); // a data error names the file and key, as `run` does
    throw err;
  });
  if (evaluation.note !== null) note(evaluation.note);
  if (evaluation.evalOnTrain) note(`the evaluation set is the training clips (eval_on_train)`);
  if (evaluation.result.clips < spec.eval.clips) note(`eval.clips is ${spec.eval.clips}, but the evaluation set has ${count(evaluation.result.clips, "clip")}: all of them were used`);

  const stepText = metadata.step ?? metadata.steps;
  const record: EvaluationRecord = {
    weights: resolve(weightsFile),
    weights_step: stepText !== undefined && Number.isSafeInteger(Number(stepText)) ? Number(stepText) : null,
    weights_sha256: read.sha256,
    run_id: weightsRunId(weightsFile, metadata),
    experiment: resolve(configFile),
    overrides,
    provider: spec.runtime.provider,
    ...evalColumns(evaluation.result),
    eval_on_train: evaluation.evalOnTrain,
    sideways_version: sidewaysVersion(),
    evaluated_at: new Date().toISOString(),
  };
  return { record, perClassCsv: perClassCsvText(evaluation.result.byClass, evaluation.classNames) };
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
