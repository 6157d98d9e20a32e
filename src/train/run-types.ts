/**
 * The contract between the training loop (train/run-experiment.ts) and whoever drives it (the CLI,
 * sweeps, progress display). Metric names are the CSV column names (snake_case, unit suffix).
 */
import type { Method } from "../schedule/registry.js";

export interface StepMetrics {
  step: number; // 1-based optimizer update count
  total_steps: number;
  train_loss: number | null; // mean loss over the losses computed in this clip batch; null (an empty CSV cell) when no frame reached the loss
  lr: number;
  wall_s: number; // since the run started
  step_s: number; // this step's wall time
  frames_per_s: number; // training frames (B*T) per second of this step
  data_wait_s: number; // time this step's thread gave to data: waiting for its batch, making later ones (DataSourceStats.dataS)
  [diagnostic: string]: number | null; // e.g. cos_b0, n_b0, busy_s0 when diagnostics are on; null where there is no value
}

export interface EvalMetrics {
  step: number;
  eval_loss: number;
  eval_clip_top1: number;
  eval_frame_top1: number;
  eval_clips: number;
  /** Where evaluation clips come several to a video (video-folder): video-level top-1 and how many videos. */
  eval_video_top1?: number;
  eval_videos?: number;
  /** With more than 5 classes (src/train/top-k.ts): clip top-5, and on video-folder data video top-5. */
  eval_clip_top5?: number;
  eval_video_top5?: number;
}

export type RunStatus = "completed" | "failed" | "nan_loss" | "interrupted";

export interface RunSummary {
  status: RunStatus;
  message?: string;
  run_id: string;
  method: Method;
  steps_done: number;
  wall_s: number;
  frames_per_s: number; // training frames per second over the whole run
  data_wait_share: number; // share of the training steps' time their thread gave to data (data_wait_s summed)
  final_train_loss: number | null;
  final_eval_loss: number | null;
  final_eval_clip_top1: number | null;
  final_eval_frame_top1: number | null;
  best_eval_clip_top1: number | null;
  /** Video-level top-1 of the last evaluation, where evaluation clips come several to a video (video-folder). */
  final_eval_video_top1?: number;
  /** The largest video-level top-1 of any evaluation of the run (video-folder data, as final_eval_video_top1). */
  best_eval_video_top1?: number;
  /** Clip top-5 of the last evaluation, with more than 5 classes (absent with 5 or fewer: it would be 1). */
  final_eval_clip_top5?: number;
  /** Video top-5 of the last evaluation: video-folder data with more than 5 classes. */
  final_eval_video_top5?: number;
  /**
   * The step of the best evaluation: by best_eval_video_top1 where there is one, else by
   * best_eval_clip_top1 (the first of equal ones); the weights of best.safetensors with output.keep_best.
   */
  best_eval_step?: number;
  /**
   * Clip (video) top-5 of the evaluation best_eval_step names, not the largest top-5 of any
   * evaluation: what a paper quotes beside that evaluation's top-1. Absent where it has none.
   */
  best_eval_clip_top5?: number;
  best_eval_video_top5?: number;
  /** The evaluation used the training clips (eval_fraction: 0, or npy without eval_clips). */
  eval_on_train: boolean;
  /** Files skipped as unreadable (video-folder with skip_bad_files), with why. */
  skipped_files: { file: string; reason: string }[];
  /**
   * Videos shorter than a clip's span, whose clips end in copies of their last frame (video-folder;
   * absent in summaries of older versions).
   */
  short_videos?: { file: string; frames: number; span: number }[];
  /**
   * How each attempt ran (a resumed run has several, in order; frames_per_s covers them all; an
   * attempt killed before writing its summary leaves none, its run-meta.json provenance stays):
   * what the `auto` settings became on its machine. Absent in runs older than this field.
   */
  execution?: ExecutionRecord[];
  /**
   * The name of each class, by label (logit index), where the data names them: a video folder's
   * (classInd.txt's numbering with a ucf101 split, else the class folders sorted by name), shapes'
   * and moving-mnist's with task: digit ("0" to "9"). Absent for other data (npy, moving-mnist's
   * directions) and in older summaries.
   * Recorded so that a per-class analysis of the run need not work out the label order again.
   */
  classes?: string[];
  /** What a reader of the results must know about the run (clips too short for Sideways to reach every block, divergedWithoutNaN, chanceLevelWarning); runs.csv's `warnings`. */
  warnings?: string[];
  /** Advice on running it again, which does not change how to read its results (data.workers for a data-bound run); printed at its end too. */
  notes?: string[];
}

/**
 * What a run's settings resolved to where it ran. `runtime.workers: auto`, measured stage
 * balancing, `train.bp_frames_per_pass: auto`, `runtime.device_step: auto` and the graph
 * formulations chosen for the provider depend on the machine, and they decide the frames/s (and
 * the float32 rounding) a paper reports.
 */
export interface ExecutionRecord {
  provider: string;
  device_id: number | number[];
  /** intra-op threads per session */
  threads: number;
  /** block indices of each stage: a depth-parallel stage, or a data-parallel replica (every block) */
  stages: number[][];
  replicas: number;
  /** the whole step as one graph call (runtime.device_step) */
  device_step: boolean;
  /** how the device step took its clips: float32, or their 8-bit pixels (CUDA); null without it */
  device_step_clips: "float32" | "uint8" | null;
  /** steps the device step took per onnxruntime call at most (runtime.steps_per_call); 1 without it */
  steps_per_call: number;
  /** frames of each clip per BP pass (on the largest replica's share of the batch); null for other methods */
  bp_frames_per_pass: number | null;
  /** the graph formulations for this provider (src/graph/graph-builder.ts GraphTarget) */
  graph_target: Record<string, unknown>;
}

export interface ProgressReporter {
  runStarted(info: { runId: string; totalSteps: number; method: string; description: string }): void;
  stepDone(m: StepMetrics): void;
  evalDone(m: EvalMetrics): void;
  runEnded(summary: RunSummary): void;
  log(message: string): void;
  /** A warning (why a result is suspect: a block that cannot learn, a loss that diverged, a model at chance); shown with --quiet too. */
  warn(message: string): void;
}

export interface RunContext {
  /** The experiment file, or null when the spec came from elsewhere. */
  specFile: string | null;
  /** Directory that relative paths in the spec (model, data, checkpoint) resolve against. */
  baseDir: string;
  /** results/<name>/<run id>/ ; created by the run. */
  runDir: string;
  runId: string;
  progress: ProgressReporter;
  /**
   * Called once, right before the run writes its first file: the caller creates and locks the
   * run directory here. Everything that can fail on bad input has been checked by then.
   */
  prepareRunDir?: () => void;
  /** Continue from runDir/resume.safetensors when it exists and was written for `configHash`. */
  resume?: boolean;
  /** Identifies the resolved config; stored in resume checkpoints. */
  configHash?: string;
  /** The self-contained config written as config.yaml (model inline, absolute paths); else `spec`. */
  resolvedConfig?: unknown;
  /** Runs training on this machine at once, this one among them (a sweep's --jobs); 1 when absent. */
  concurrentRuns?: number;
}

/** A summary before anything has happened: status failed until the run says otherwise. */
export function newRunSummary(runId: string, method: Method): RunSummary {
  return {
    status: "failed",
    run_id: runId,
    method,
    steps_done: 0,
    wall_s: 0,
    frames_per_s: 0,
    data_wait_share: 0,
    final_train_loss: null,
    final_eval_loss: null,
    final_eval_clip_top1: null,
    final_eval_frame_top1: null,
    best_eval_clip_top1: null,
    eval_on_train: false,
    skipped_files: [],
    short_videos: [],
  };
}
