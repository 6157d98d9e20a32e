/**
 * One experiment run from a validated spec to files on disk. Set-up first (model, weights, data,
 * graphs, sessions, executor: everything that can fail on bad input, before anything is written),
 * then the training loop, which writes config.yaml, metrics.csv, eval.csv, a resume checkpoint
 * every `train.checkpoint_every` updates, and at the end final.safetensors and summary.json.
 * Whole-file writes are atomic; CSVs are appended row by row.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { yamlText } from "../util/yaml-text.js";
import { createDataSource, dataBoundNote } from "../data/create-source.js";
import { frameCacheRoot } from "../data/video/frame-cache.js";
import { repeatedClipsNote, shortVideoNote, type DataSource } from "../data/source.js";
import { DataError, InputError, NonFiniteLossError, RunError } from "../errors.js";
import { applyBlockStats, refuseTooFewClipsPerFrame } from "../model/buffers.js";
import { readInitCheckpoint, writeCheckpoint } from "../model/checkpoint.js";
import { initWeights } from "../model/init.js";
import { loadModelFile, resolveModel } from "../model/load-model.js";
import type { Model, Weights } from "../model/model.js";
import { clipGradNorm } from "../optim/grad-clip.js";
import { createOptimizer, type Optimizer } from "../optim/optimizer.js";
import { learningRate } from "../optim/schedule.js";
import { writeFileAtomic, writeJsonAtomic } from "../results/atomic-write.js";
import { CsvAppender, truncateCsvAfterStep } from "../results/csv-append.js";
import { readCsv } from "../results/csv-read.js";
import { BEST_WEIGHTS_FILE, FINAL_WEIGHTS_FILE, RUN_CONFIG_FILE, readSummary } from "../results/run-dir.js";
import { RunLockTakenOver, watchRunLock } from "../results/run-lock-watch.js";
import { largestShare } from "./replica-executor.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { accumulateHostPathNote, type ExperimentSpec } from "../spec/experiment-spec.js";
import { BlockRunner, buildAllBlockGraphs } from "./block-runner.js";
import { clipLengthWarning } from "./sideways-stage.js";
import { chanceLevelWarning } from "./chance-level.js";
import { RULES } from "../schedule/registry.js";
import { createExecutor, type ExecutorChoice } from "./create-executor.js";
import { diagnosticColumns, diagnosticRow, scheduleDiagnostics } from "./diagnostics.js";
import { evalColumns, evaluate } from "./evaluate.js";
import { bestMetric, improvesBest, recordEvaluation, staleBestCheckpoint } from "./eval-summary.js";
import { inClipUpdatePlan } from "./in-clip-updates.js";
import { runAccumulated } from "./accumulate.js";
import type { BatchResult } from "./executor.js";
import { RESUME_FILE, readResumeCheckpoint, writeResumeCheckpoint, type ResumeState } from "./resume-checkpoint.js";
import { newRunSummary, type EvalMetrics, type ExecutionRecord, type ProgressReporter, type RunContext, type RunSummary, type StepMetrics } from "./run-types.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";
import type { GraphTarget } from "../graph/graph-builder.js";
import { framesPerPass } from "./bp-stage.js";
import type { ClipBatch } from "../data/source.js";
import { DeviceStep, trainsOnDevice } from "./device-step.js";
import type { ClipInput, DeviceStepMethod } from "./device-step-graph.js";
import { stopsCaughtForSweep, takeEarlyInterrupt } from "./early-interrupt.js";
import { abortOnStopSignal, furtherStopText, onStopRequests, stopCauseText, type StopCause } from "./stop-signals.js";
import { count } from "../util/count.js";
import { resolveUserPath } from "../util/user-path.js";
import { failpointNumbers, stepWaitFailpoint } from "../util/failpoint.js";

export function loadExperimentModel(spec: ExperimentSpec, baseDir: string, specFile: string | null): Model {
  return typeof spec.model === "string"
    ? loadModelFile(resolveUserPath(baseDir, spec.model))
    : resolveModel(spec.model, `${specFile ?? "experiment"}: model`);
}

function checkFinite(result: Pick<BatchResult, "losses" | "grads">, step: number): void {
  for (const loss of result.losses) if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, loss);
  for (const [name, g] of result.grads) {
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i])) throw new NonFiniteLossError(step, NaN, `gradient of ${name} is not finite`);
    }
  }
}

/** config.yaml of a run folder: `sideways run <run folder>/config.yaml` trains the same run again. */
function configYaml(runId: string, config: unknown): string {
  return `# Run ${runId}: its fully resolved config (every default, the model inline, absolute paths).\n# 'sideways run' on this file trains the same run again.\n${yamlText(config)}`;
}

/** How the blocks are spread: data-parallel replicas, or depth-parallel stages. */
function parallelismText(spec: ExperimentSpec, stages: number): string {
  const replicas = spec.runtime.replicas;
  return replicas > 1 ? `${replicas} data-parallel replicas` : stages === 1 ? "1 stage" : `${stages} depth-parallel stages`;
}

/** null where there is nothing to average: an empty CSV cell, never "nan" (which reads as divergence). */
function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

export function metricColumns(model: Model, stages: number, diagnostics: boolean, gradClipping = false): string[] {
  const cols = ["step", "train_loss", "lr", "wall_s", "step_s", "frames_per_s", "data_wait_s"];
  // With train.grad_clip_norm, the norm before clipping: how often, and by how much, it clipped.
  if (gradClipping) cols.push("grad_norm");
  if (diagnostics) cols.push(...diagnosticColumns(model, stages));
  return cols;
}

/** Everything a run needs in memory; built before anything is written. */
interface RunSetup {
  model: Model;
  weights: Weights;
  data: DataSource;
  mainRunner: BlockRunner;
  executor: ExecutorChoice;
  /** BP's whole step on the device (runtime.device_step), or null: the executor and the TypeScript optimizer. */
  deviceStep: DeviceStep | null;
  target: GraphTarget;
}

async function setUpRun(spec: ExperimentSpec, ctx: RunContext): Promise<RunSetup> {
  const { baseDir } = ctx;
  const model = loadExperimentModel(spec, baseDir, ctx.specFile);
  refuseTooFewClipsPerFrame(model, spec.train.batch_size);
  const provider = providerOptionsFor(spec.runtime);
  const weights: Weights = spec.train.init_checkpoint
    ? readInitCheckpoint(resolveUserPath(baseDir, spec.train.init_checkpoint), model)
    : initWeights(model, spec.seed);
  const data = await openRunData(spec, model, baseDir);
  const release: (() => Promise<void>)[] = [() => data.close()];
  try {
    // Before any graph, session or worker is built: `true` where the clips rule the step out is refused here.
    const frames = data.clipShape[0];
    const onDevice = trainsOnDevice(spec, model.blocks.length, frames);
    const target = await graphTargetFor(provider);
    const graphs = buildAllBlockGraphs(model, target);
    const mainRunner = await BlockRunner.create(model, model.blocks.map((b) => b.index), graphs, provider);
    release.push(() => mainRunner.release());
    const executor = await createExecutor(model, graphs, mainRunner, weights, spec.runtime, provider, spec.train.batch_size);
    release.push(() => executor.executor.close());
    const deviceStep = onDevice ? await DeviceStep.create(model, spec.train.optimizer, frames, provider, target, spec.train.method as DeviceStepMethod, deviceStepClipInput(provider, data), spec.runtime.steps_per_call, spec.train.grad_clip_norm, spec.train.label_smoothing) : null;
    return { model, weights, data, mainRunner, executor, deviceStep, target };
  } catch (err) {
    for (const r of release.reverse()) await r();
    throw err;
  }
}

async function closeRun(setup: RunSetup): Promise<void> {
  await setup.deviceStep?.release();
  await setup.executor.executor.close();
  await setup.mainRunner.release();
  await setup.data.close();
}

/** The resume checkpoint of this run directory, if there is one written for this config. */
function findResumeState(ctx: RunContext, model: Model): ResumeState | null {
  const path = join(ctx.runDir, RESUME_FILE);
  if (!ctx.resume || !existsSync(path)) return null;
  let state: ResumeState;
  try {
    state = readResumeCheckpoint(path, model);
  } catch (err) {
    // A checkpoint cut short (a full disk) or written for another model: say what the user can do.
    if (!(err instanceof InputError || err instanceof RunError)) throw err;
    throw new InputError(`${err.message}; the run cannot resume from it: delete ${path} to train the run again from step 0`, path);
  }
  return state.configHash === (ctx.configHash ?? "") ? state : null;
}

export async function runExperiment(spec: ExperimentSpec, ctx: RunContext): Promise<RunSummary> {
  const setup = await setUpRun(spec, ctx);
  try {
    return await train(spec, ctx, setup);
  } finally {
    await closeRun(setup);
  }
}

/** SIDEWAYS_FAILPOINT="stop:hold:MS" (src/util/failpoint.ts): once a stop is taken, wait MS ms. */
async function holdAfterStop(): Promise<void> {
  const ms = failpointNumbers("stop:hold:MS")?.[0];
  if (ms !== undefined) await new Promise((r) => setTimeout(r, ms));
}

/** The run's answer to stops (src/train/stop-signals.ts): whether one came, and how to stop listening. */
interface StopListener {
  interrupted(): boolean;
  off(): void;
}

/**
 * From now on a stop ends the run after its current step, with a resume checkpoint, and a second
 * stop signal aborts (releasing the run's lock), except a sweep's child's, which its sweep aborts
 * (furtherStopText says which signal does what); a stop that came while a sweep's child started
 * (src/train/early-interrupt.ts) counts as one.
 */
function listenForStops(summary: RunSummary, progress: RunContext["progress"]): StopListener {
  let stopCause: StopCause | null = null;
  let stopAborting = () => {};
  const stop = (cause: StopCause, what: string) => {
    stopCause = cause;
    summary.message = `stopped by ${stopCauseText(cause)}`;
    progress.log(`${summary.message}${what}`);
    // A second signal then aborts, releasing the run's lock (a sweep's child's is caught and its
    // sweep aborts it: src/train/early-interrupt.ts).
    stopListening();
    stopAborting = abortOnStopSignal((signal) => progress.log(`${signal} again: aborting without a resume checkpoint`));
  };
  const stopListening = onStopRequests((cause) => stop(cause, `: saving a resume checkpoint after this step (${furtherStopText(cause, stopsCaughtForSweep())})`));
  const early = takeEarlyInterrupt();
  if (early !== null) stop(early, " during set-up: ending before the next step");
  return {
    interrupted: () => stopCause !== null,
    off: () => {
      stopListening();
      stopAborting();
    },
  };
}

async function train(spec: ExperimentSpec, ctx: RunContext, setup: RunSetup): Promise<RunSummary> {
  const summary = newRunSummary(ctx.runId, spec.train.method);
  // Listening before the run's directory is locked: a stop signal that finds no listener ends the
  // process at once, which would leave the lock behind (a lock from another host is never taken
  // over: src/results/file-lock.ts).
  const stops = listenForStops(summary, ctx.progress);
  // What is said of the run before it starts training (resuming, warnings, the evaluation set):
  // said once its start line is out, so that a log reads "started", then these; or, if it never
  // gets there, as it ends.
  const atStart: StartLine[] = [];
  try {
    return await trainListening(spec, ctx, setup, summary, stops, atStart);
  } finally {
    sayAtStart(atStart, ctx.progress);
    stops.off();
  }
}

/** A line said of a run as it starts: a note, or a warning. */
type StartLine = { text: string; warning: boolean };

/** Says the lines kept for the start, once (the list is emptied). */
function sayAtStart(lines: StartLine[], progress: ProgressReporter): void {
  for (const { text, warning } of lines.splice(0)) (warning ? progress.warn(text) : progress.log(text));
}

async function trainListening(spec: ExperimentSpec, ctx: RunContext, setup: RunSetup, summary: RunSummary, stops: StopListener, atStart: StartLine[]): Promise<RunSummary> {
  const { runDir, progress } = ctx;
  const { model, weights, data, mainRunner, deviceStep } = setup;
  const { executor, stages } = setup.executor;
  const method = spec.train.method;
  const totalSteps = spec.train.steps;
  const started = performance.now();

  ctx.prepareRunDir?.();
  mkdirSync(runDir, { recursive: true });
  /** Throws where the run's lock was taken over meanwhile: called before each write into the folder. */
  const lockStillOurs = watchRunLock(runDir, ctx.runId);
  const optimizer: Optimizer = createOptimizer(spec.train.optimizer);
  const resumed = findResumeState(ctx, model);
  // One entry per attempt: a resumed run's frames/s covers every attempt, which may have run
  // on other machines with other stages.
  const prior = resumed ? readSummary(runDir) : null;
  summary.execution = [...(prior?.execution ?? []), executionRecord(spec, setup, data.clipShape[0])];
  // So do the files earlier attempts skipped: this attempt may not read them again.
  const earlierSkipped = prior?.skipped_files ?? [];
  summary.skipped_files = earlierSkipped.map((s) => ({ ...s }));
  const earlierShort = prior?.short_videos ?? [];
  summary.short_videos = earlierShort.map((s) => ({ ...s }));
  let trainFrames = 0;
  let trainSeconds = 0;
  let dataWaitSeconds = 0;
  let priorWall = 0;
  /** The step of eval.csv's last row when resuming (undefined: none). */
  let lastEvalStep: number | undefined;
  if (resumed) {
    for (const [name, w] of resumed.weights) weights.set(name, w);
    optimizer.importState(resumed.optimizer);
    ({ trainFrames, trainSeconds, dataWaitSeconds } = resumed);
    priorWall = resumed.wallSeconds;
    summary.steps_done = resumed.step;
    // Rows logged after the checkpoint are logged again by this attempt.
    truncateCsvAfterStep(join(runDir, "metrics.csv"), resumed.step);
    truncateCsvAfterStep(join(runDir, "eval.csv"), resumed.step);
    // The summary's final metrics are the last rows' until this attempt logs newer ones (an attempt
    // stopped after its last step, by an earlier version, has no step left to log them again).
    if (existsSync(join(runDir, "eval.csv"))) {
      for (const row of readCsv(join(runDir, "eval.csv")).rows) {
        lastEvalStep = Number(row.step);
        recordEvaluation(summary, {
          step: Number(row.step),
          eval_loss: Number(row.eval_loss),
          eval_clip_top1: Number(row.eval_clip_top1),
          eval_frame_top1: Number(row.eval_frame_top1),
          ...(typeof row.eval_video_top1 === "number" ? { eval_video_top1: row.eval_video_top1 } : {}),
          // An eval.csv of an older version has no top-5 columns; an empty cell (5 classes or fewer) reads as null.
          ...(typeof row.eval_clip_top5 === "number" ? { eval_clip_top5: row.eval_clip_top5 } : {}),
          ...(typeof row.eval_video_top5 === "number" ? { eval_video_top5: row.eval_video_top5 } : {}),
        });
      }
    }
    const lastLogged = existsSync(join(runDir, "metrics.csv")) ? readCsv(join(runDir, "metrics.csv")).rows.at(-1) : undefined;
    if (typeof lastLogged?.train_loss === "number") summary.final_train_loss = lastLogged.train_loss;
    atStart.push({ text: `resuming from step ${resumed.step} (${RESUME_FILE}${resumed.atDataError ? ", saved when a data error ended the last attempt: on the data as it is now" : ""})`, warning: false });
  }
  deviceStep?.load(weights, optimizer);
  /** Brings the device step's weights and optimizer state back before anything reads them. */
  const syncHost = async () => deviceStep?.sync(weights, optimizer);
  const wall = () => priorWall + (performance.now() - started) / 1000;
  const shortClips = method === "sideways" ? clipLengthWarning(model.blocks.length, data.clipShape[0]) : null;
  // In the results too: a table row of a run whose lower blocks never learned, or whose batches
  // repeat clips, must say so.
  // train.accumulate: each step takes that many batches of batch_size clips, the clips one batch
  // of batch_size x accumulate would hold at that step (clip c of the stream in batch c / B).
  const perStep = spec.train.accumulate ?? 1;
  const repeated = perStep > 1
    ? repeatedClipsNote("train.batch_size x train.accumulate", spec.train.batch_size * perStep, data.trainClips, "each step")
    : repeatedClipsNote("train.batch_size", spec.train.batch_size, data.trainClips);
  for (const warning of [shortClips, repeated]) {
    if (!warning) continue;
    atStart.push({ text: warning, warning: true });
    summary.warnings = [...(summary.warnings ?? []), warning];
  }
  // Said at every attempt's start, and kept in summary.json with the run (once, however many attempts).
  for (const note of data.notes ?? []) {
    atStart.push({ text: note, warning: false });
    if (!(summary.notes ?? []).includes(note)) summary.notes = [...(summary.notes ?? []), note];
  }
  const hostPath = accumulateHostPathNote(spec);
  if (hostPath !== null) atStart.push({ text: hostPath, warning: false });
  // A resumed run keeps the config.yaml it started with: settings outside its id may differ now
  // (train.checkpoint_every, data.workers, output.dir), and run-meta.json records this attempt's.
  const configFile = join(runDir, RUN_CONFIG_FILE);
  if (resumed === null || !existsSync(configFile)) writeFileAtomic(configFile, configYaml(ctx.runId, ctx.resolvedConfig ?? spec));
  const diagEvery = spec.diagnostics.every;
  const facts = diagEvery > 0 ? scheduleDiagnostics(model, method, data.clipShape[0], spec.train.update_every, spec.train.weight_stashing, stages) : null;
  const inClip = inClipUpdatePlan(spec, model, data.clipShape[0], optimizer);
  const clipNorm = spec.train.grad_clip_norm;
  const metrics = new CsvAppender(join(runDir, "metrics.csv"), metricColumns(model, stages.length, diagEvery > 0, clipNorm !== undefined));
  // Video-level accuracy where evaluation clips come several to a video (video-folder).
  const evalVideo = data.evalVideo;
  const videoColumns = evalVideo ? ["eval_video_top1", "eval_videos"] : [];
  // Top-5 columns last, so that the columns before them keep their places in scripts that cut by
  // position; their cells are empty with 5 classes or fewer (top-5 would be 1 there).
  const top5Columns = ["eval_clip_top5", ...(evalVideo ? ["eval_video_top5"] : [])];
  const evalCsv = new CsvAppender(join(runDir, "eval.csv"), ["step", "eval_loss", "eval_clip_top1", "eval_frame_top1", "eval_clips", ...videoColumns, "wall_s", "eval_on_train", ...top5Columns]);
  summary.eval_on_train = data.evalIsTrain ?? false;
  if (data.classNames !== undefined) summary.classes = [...data.classNames];
  if (summary.eval_on_train) atStart.push({ text: "evaluating on the training clips: eval.csv and summary.json mark it (eval_on_train)", warning: false });
  const evalClips = data.evalCount?.(spec.eval.clips) ?? spec.eval.clips;
  const evalNote = data.evalNote?.(spec.eval.clips) ?? null;
  if (evalNote !== null) atStart.push({ text: evalNote, warning: false });
  if (evalClips < spec.eval.clips) atStart.push({ text: `eval.clips is ${spec.eval.clips}, but the evaluation set has ${count(evalClips, "clip")}: every evaluation uses those ${evalClips} (eval.csv's eval_clips)`, warning: false });
  /**
   * Reports the files the data source skipped and the videos shorter than a clip it read since the
   * last call; the summary lists every attempt's.
   */
  const reported = { skipped: 0, short: 0 };
  const reportSkipped = () => {
    const skipped = data.skipped?.() ?? [];
    for (const s of skipped.slice(reported.skipped)) progress.log(`skipped unreadable file ${s.file}: ${s.reason}`);
    const short = data.shortVideos?.() ?? [];
    for (const v of short.slice(reported.short)) {
      progress.log(`${shortVideoNote(v)} (summary.json: short_videos)`);
    }
    [reported.skipped, reported.short] = [skipped.length, short.length];
    summary.skipped_files = withEarlier(earlierSkipped, skipped);
    summary.short_videos = withEarlier(earlierShort, short);
  };

  const saveResume = async (step: number, atDataError = false) => {
    await syncHost();
    lockStillOurs();
    writeResumeCheckpoint(join(runDir, RESUME_FILE), model, {
      step,
      weights,
      optimizer: optimizer.exportState(),
      trainFrames,
      trainSeconds,
      dataWaitSeconds,
      wallSeconds: wall(),
      configHash: ctx.configHash ?? "",
      atDataError,
    });
  };

  const runEval = async (step: number) => {
    await syncHost();
    const r = await evaluate(model, mainRunner, data.evalBatches(spec.eval.clips, spec.train.batch_size), weights, evalVideo && ((i) => evalVideo(i, evalClips)));
    const m: EvalMetrics = { step, ...evalColumns(r) };
    lockStillOurs();
    // Written before eval.csv's row: a run stopped between the two evaluates that step again when
    // resumed (the same weights), so best.safetensors is never behind the best eval.csv row.
    if (spec.output.keep_best && improvesBest(summary, m)) {
      const { name, value } = bestMetric(m);
      writeCheckpoint(join(runDir, BEST_WEIGHTS_FILE), model, weights, { run_id: ctx.runId, step: String(step), method, [name]: String(value) });
    }
    evalCsv.append({ ...m, wall_s: wall(), eval_on_train: summary.eval_on_train ? 1 : 0 });
    reportSkipped();
    progress.evalDone(m);
    recordEvaluation(summary, m);
  };

  const interrupted = stops.interrupted;
  let held = false;

  try {
    progress.runStarted({
      runId: ctx.runId,
      totalSteps,
      method,
      description: `${method} on ${model.name} (${count(model.blocks.length, "block")}, ${parallelismText(spec, stages.length)}${deviceStep ? `, whole step on the device${spec.runtime.steps_per_call > 1 ? `, up to ${spec.runtime.steps_per_call} steps a call` : ""}` : ""}), data ${data.description}`,
    });
    sayAtStart(atStart, progress);
    const firstStep = summary.steps_done + 1;
    const batches = data.trainBatches(spec.train.batch_size, (firstStep - 1) * perStep);
    const every = spec.train.checkpoint_every;
    const evaluates = (s: number) => s === totalSteps || (spec.eval.every > 0 && s % spec.eval.every === 0);
    const checkpoints = (s: number) => every > 0 && s % every === 0;
    const hostReads = (s: number) => evaluates(s) || checkpoints(s);
    const perCall = deviceStep ? spec.runtime.steps_per_call : 1;
    if (deviceStep && perStep > 1) throw new Error("BUG: the device step with train.accumulate > 1");
    // Every call length's session, built before the first step's timer starts.
    if (deviceStep && perCall > 1) await deviceStep.prepare(callLengths(firstStep, totalSteps, perCall, hostReads));
    // A data error during the evaluation after step s (an undecodable held-out video) saved the
    // resume checkpoint of step s without that evaluation's row: it is done now, so the eval
    // curve has no gap.
    if (resumed && evaluates(resumed.step) && lastEvalStep !== resumed.step) await runEval(resumed.step);
    const stepWait = stepWaitFailpoint();
    for (let step = firstStep; step <= totalSteps && !interrupted(); ) {
      // One call: one step, or with runtime.steps_per_call several on the device, each on its own batch.
      const k = callSteps(step, perCall, hostReads);
      const t0 = performance.now();
      const dataBefore = data.stats?.().dataS;
      const taken: ClipBatch[] = [];
      // (The spec keeps the device step to one batch a step: perStep > 1 is the host path, k = 1.)
      for (let j = 0; j < k * perStep; j++) {
        const next = await batches.next();
        if (next.done) throw new Error("BUG: training batches ended");
        taken.push(next.value);
      }
      const waited = (performance.now() - t0) / 1000;
      const lrs = Array.from({ length: k }, (_, j) => learningRate(spec.train.schedule, spec.train.optimizer.lr, step + j - 1, totalSteps));
      let results: { losses: number[]; stats: BatchResult["stats"]; row: Partial<StepMetrics> }[];
      if (deviceStep) {
        results = (await deviceStep.steps(taken, lrs)).map((r) => ({ losses: r.losses, stats: r.stats, row: r.gradNorm === undefined ? {} : { grad_norm: r.gradNorm } }));
      } else {
        const batchOptions = { bpFramesPerPass: spec.train.bp_frames_per_pass, labelSmoothing: spec.train.label_smoothing };
        const row: Partial<StepMetrics> = {};
        // The reference rule runs first: with in-clip updates the weights change during the batch.
        const reference = facts && step % diagEvery === 0 ? await runAccumulated(executor, RULES[method].diagnosticReference, taken, weights, batchOptions) : null;
        const batchResult = await runAccumulated(executor, method, taken, weights, { ...batchOptions, update: inClip?.(step - 1) });
        checkFinite(batchResult, step);
        if (reference) Object.assign(row, diagnosticRow(model, method, batchResult, reference, facts!));
        if (!batchResult.updated) {
          if (clipNorm !== undefined) row.grad_norm = clipGradNorm(batchResult.grads, clipNorm);
          optimizer.step(weights, batchResult.grads, lrs[0]);
        }
        results = [{ losses: batchResult.losses, stats: batchResult.stats, row }];
      }
      // The step has read its batches: their memory holds later ones (ClipBatch.release).
      const frameCounts = Array.from({ length: k }, (_, j) => taken.slice(j * perStep, (j + 1) * perStep).reduce((n, b) => n + b.dims[0] * b.dims[1], 0));
      for (const b of taken) b.release?.();
      // The step boundary: a process that was away longer than its lock's stale margin finds here
      // that another took the run over, and writes no row of this step.
      lockStillOurs();
      // A call's time and data wait, shared evenly by its steps.
      const stepSeconds = (performance.now() - t0) / 1000 / k;
      // The step's thread on data: waiting for this batch, and making later ones meanwhile
      // (without data.workers the prefetcher makes them here, inside this step's awaits).
      const dataWait = (dataBefore === undefined ? waited : data.stats!().dataS - dataBefore) / k;
      for (let j = 0; j < k; j++, step++) {
        const { losses, stats, row: extra } = results[j];
        if (deviceStep) checkFinite({ losses, grads: new Map() }, step);
        applyBlockStats(model, weights, stats);
        const frames = frameCounts[j]!;
        trainFrames += frames;
        trainSeconds += stepSeconds;
        dataWaitSeconds += dataWait;
        const row: StepMetrics = {
          ...extra,
          step,
          total_steps: totalSteps,
          train_loss: mean(losses),
          lr: lrs[j],
          wall_s: wall(),
          step_s: stepSeconds,
          frames_per_s: frames / stepSeconds,
          data_wait_s: dataWait,
        } as StepMetrics;
        metrics.append(row);
        reportSkipped();
        progress.stepDone(row);
        summary.steps_done = step;
        summary.final_train_loss = row.train_loss;
        // Only a call's last step can be one (callSteps): the host reads the weights there.
        if (evaluates(step)) await runEval(step);
      }
      const done = step - 1;
      if (stepWait) await stepWait(done - k + 1, done, interrupted);
      if (interrupted() && !held) {
        held = true;
        await holdAfterStop();
      }
      if (done < totalSteps && (checkpoints(done) || interrupted())) await saveResume(done);
    }
    // A stop that came during the last step found nothing left to save for: the run is complete
    // (as interrupted, its rerun would find no step to do and write a summary without its metrics).
    const finished = summary.steps_done === totalSteps;
    if (finished && interrupted()) {
      progress.log(`the last step was done when the stop came: ${ctx.runId} completed`);
      delete summary.message;
    }
    summary.status = finished ? "completed" : "interrupted";
    summary.frames_per_s = trainSeconds > 0 ? trainFrames / trainSeconds : 0;
    summary.data_wait_share = trainSeconds > 0 ? dataWaitSeconds / trainSeconds : 0;
    const room = { cores: availableParallelism(), concurrentRuns: ctx.concurrentRuns ?? 1, steppingThreads: setup.executor.stages.length };
    const dataNote = finished ? dataBoundNote(spec.data, summary.data_wait_share, room) : null;
    if (dataNote !== null) {
      summary.notes = [...(summary.notes ?? []), dataNote];
      progress.log(`note: ${dataNote}`);
    }
    const diverged = finished ? divergedWithoutNaN(summary.final_train_loss, model.classes) : null;
    // The last evaluation, as the results report it: a model at chance there is no result.
    const atChance = finished ? chanceLevelWarning(summary.final_eval_loss, summary.final_eval_clip_top1, model.classes, evalClips) : null;
    const staleBest = finished ? staleBestCheckpoint(join(runDir, BEST_WEIGHTS_FILE), summary, spec.output.keep_best ?? false) : null;
    for (const warning of [diverged, atChance, staleBest]) {
      if (warning === null) continue;
      summary.warnings = [...(summary.warnings ?? []), warning];
      progress.warn(warning);
    }
    if (finished) {
      await syncHost();
      lockStillOurs();
      writeCheckpoint(join(runDir, FINAL_WEIGHTS_FILE), model, weights, { run_id: ctx.runId, steps: String(summary.steps_done), method });
      rmSync(join(runDir, RESUME_FILE), { force: true });
    }
    return summary;
  } catch (err) {
    // The files skipped on the way are part of why a run failed (all of a list unreadable).
    reportSkipped();
    summary.status = err instanceof NonFiniteLossError ? "nan_loss" : "failed";
    summary.message = err instanceof Error ? err.message : String(err);
    // A data error (a video that cannot be decoded, skip_bad_files off) ends the run between steps,
    // with the weights of its last step: kept as a resume checkpoint, so that once the data is
    // mended the run goes on from there, not from its last periodic one (up to
    // train.checkpoint_every steps back).
    if (err instanceof DataError && summary.steps_done > 0 && summary.steps_done < totalSteps) {
      try {
        await saveResume(summary.steps_done, true);
        // Said once, by the error itself (the run's "failed" line leaves the error to it).
        err.message += `; a resume checkpoint of step ${summary.steps_done} was saved: mend the data and run again to go on from it`;
        summary.message = err.message;
      } catch {
        // The data error is what the run reports.
      }
    }
    throw err;
  } finally {
    summary.wall_s = wall();
    // The summary is the run's completion record: written last, and only into a folder still ours
    // (a lock taken over is said by the error instead, thrown here where it is found only now).
    const takenOver = writeSummaryIfOurs(summary, runDir, lockStillOurs);
    progress.runEnded(summary);
    // The folder is another process's: that, not how this attempt ended, is what the run says.
    if (takenOver !== null) throw takenOver;
  }
}

/**
 * Writes summary.json, or, where the run's lock is another process's now, nothing: then the run
 * failed, and the returned error says why (null where the summary was written).
 */
function writeSummaryIfOurs(summary: RunSummary, runDir: string, lockStillOurs: () => void): RunLockTakenOver | null {
  try {
    lockStillOurs();
  } catch (err) {
    if (!(err instanceof RunLockTakenOver)) throw err;
    summary.status = "failed";
    summary.message = err.message;
    return err;
  }
  writeJsonAtomic(join(runDir, "summary.json"), summary);
  return null;
}

/**
 * How many steps the call starting at `step` takes: `perCall` where no step before the call's last
 * is one after which the host reads the weights (`hostReads`: an evaluation, a checkpoint, the last
 * step), so that every read sees the weights of exactly its step. Closer to a read, the largest
 * power of two that does not pass it: each length is a session of its own, and this keeps them
 * to floor(log2(perCall)) + 2 at most, whatever the intervals (DeviceStep.prepare builds them
 * before training).
 */
export function callSteps(step: number, perCall: number, hostReads: (step: number) => boolean): number {
  let toRead = 1;
  while (toRead < perCall && !hostReads(step + toRead - 1)) toRead++;
  if (toRead === perCall) return perCall;
  let k = 1;
  while (2 * k <= toRead) k *= 2;
  return k;
}

/** The call lengths of steps `first`..`last` (callSteps), each once. */
export function callLengths(first: number, last: number, perCall: number, hostReads: (step: number) => boolean): number[] {
  const lengths = new Set<number>();
  for (let step = first; step <= last; ) {
    const k = callSteps(step, perCall, hostReads);
    lengths.add(k);
    step += k;
  }
  return [...lengths].sort((a, b) => a - b);
}

/**
 * A completed run whose last training loss is over 10x ln(classes), the loss of a uniform guess,
 * diverged without reaching NaN (a learning rate far too high): its model gives the true class a
 * probability under classes^-10 on average, which no model that learned anything does. Said, not
 * an error: the run and its numbers stand, and the rule is for a reader of the results.
 */
export function divergedWithoutNaN(finalTrainLoss: number | null, classes: number): string | null {
  const chance = Math.log(classes);
  if (finalTrainLoss === null || !(finalTrainLoss > 10 * chance)) return null;
  return `the last training loss, ${finalTrainLoss.toPrecision(3)}, is ${(finalTrainLoss / chance).toPrecision(3)}x ln(${classes}), a uniform guess's: the run diverged (lower the learning rate?)`;
}

/** What this attempt's `auto` settings and provider became (an entry of summary.json `execution`). */
function executionRecord(spec: ExperimentSpec, setup: RunSetup, frames: number): ExecutionRecord {
  const { runtime, train } = spec;
  const passes = setup.deviceStep !== null ? frames : framesPerPass(train.bp_frames_per_pass, largestShare(train.batch_size, runtime.replicas), frames, setup.model);
  return {
    provider: runtime.provider,
    device_id: runtime.device_id,
    threads: runtime.threads,
    stages: setup.executor.stages.map((blocks) => [...blocks]),
    replicas: runtime.replicas,
    device_step: setup.deviceStep !== null,
    device_step_clips: setup.deviceStep?.clipInput ?? null,
    steps_per_call: setup.deviceStep?.stepsPerCall ?? 1,
    bp_frames_per_pass: train.method === "bp" ? passes : null,
    graph_target: { ...setup.target },
  };
}

/**
 * How a run's device step takes its clips: as their 8-bit pixels where the source has them and
 * the step runs on CUDA, where each step uploads the clips from host memory and a quarter of the
 * bytes is the point (docs/GPU.md "Clips as 8-bit pixels"); else float32. The CPU provider reads
 * the host's floats in place; on WebGPU the 8-bit input is tested but unmeasured, so it keeps float32.
 */
export function deviceStepClipInput(provider: ProviderOptions, data: Pick<DataSource, "pixelClips">): ClipInput {
  return provider.provider === "cuda" && data.pixelClips === true ? "uint8" : "float32";
}

/** The session options a run's `runtime` section asks for (device_id a GPU, or one per stage). */
export function providerOptionsFor(runtime: ExperimentSpec["runtime"]): ProviderOptions {
  const devices = runtime.device_id;
  return {
    provider: runtime.provider,
    deviceId: Array.isArray(devices) ? devices[0] : devices,
    stageDeviceIds: Array.isArray(devices) ? devices : undefined,
    threads: runtime.threads,
  };
}

/**
 * Batches the run's data source makes ahead: data.prefetch, and with K batches a call (K steps a
 * call, or train.accumulate K batches a step) at least 2K, up to data.prefetch's own limit of 64
 * (openRunData); with data workers, the source keeps at least one per worker in preparation
 * (ClipSource.trainBatches).
 */
export function runPrefetch(spec: Pick<ExperimentSpec, "data" | "runtime" | "train">): number {
  const perCall = spec.runtime.steps_per_call * (spec.train.accumulate ?? 1);
  return perCall > 1 ? Math.max(spec.data.prefetch, Math.min(2 * perCall, MAX_PREFETCH)) : spec.data.prefetch;
}

/** data.prefetch's largest value (data-spec.ts). */
const MAX_PREFETCH = 64;

/**
 * The run's data source, as `run` and `validate` (cli/preflight.ts) open it. A call of
 * runtime.steps_per_call K steps takes K batches at once, so the
 * source then makes at least 2K ahead: the next call's batches are made while this call trains.
 * Measured (docs/GPU.md run 14): with the default 2 ahead, 4 steps a call were slower than 1;
 * with 8, faster. data.prefetch changes when batches are made, not which (resolved-config.ts).
 */
export function openRunData(spec: ExperimentSpec, model: Model, baseDir: string): ReturnType<typeof createDataSource> {
  return createDataSource({ ...spec.data, prefetch: runPrefetch(spec) }, { input: model.input, classes: model.classes, seed: spec.seed, baseDir, cacheDir: frameCacheRoot() });
}

/** An earlier attempt's list of files, then this attempt's files it lacks. */
function withEarlier<T extends { file: string }>(earlier: readonly T[], now: readonly T[]): T[] {
  const listed = new Set(earlier.map((s) => s.file));
  return [...earlier, ...now.filter((s) => !listed.has(s.file))].map((s) => ({ ...s }));
}
