/**
 * `sideways bench`: the depth-parallel benchmark (BP vs Sideways, sequential vs worker stages) and,
 * with --peer torch, our BP step against PyTorch's on the same machine (bench-peer.ts).
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.js";
import type { Provider } from "../runtime/providers.js";
import { writeJsonAtomic } from "../results/atomic-write.js";
import { loadModelFile } from "../model/load-model.js";
import { benchAugment, formatAugment } from "./bench-augment.js";
import { benchStep, formatStep, stepMethods } from "./bench-step.js";
import { deviceStepModelBlocker } from "../train/device-step.js";
import { benchExecutors, formatExecutorBench } from "./bench-executors.js";

const modelsDir = new URL("../../../models/", import.meta.url);
export const DEFAULT_BENCH_MODEL = fileURLToPath(new URL("bench-8block.yaml", modelsDir));
export const QUICKSTART_MODEL = fileURLToPath(new URL("quickstart-cnn.yaml", modelsDir));

export interface BenchArgs {
  json?: string;
  peer?: string;
  workers?: number;
  quick?: boolean;
  model?: string;
  batch?: number;
  frames?: number;
  rounds?: number;
  threads?: number[];
  /** Execution provider of our side (default cpu); a GPU one runs one thread per stage. */
  provider?: Provider;
  /** Only the training step of BP and Sideways (host path and device step) on --model, --batch, --frames. */
  step?: boolean;
  /** --peer: our step as the device step (default: on a GPU provider, as training's runtime.device_step auto). */
  deviceStep?: boolean;
  /** --peer: PyTorch moves each step's batch from host memory to its device inside the timed step. */
  peerUpload?: boolean;
  /** --peer: the clips are 8-bit pixels, which our device step (and PyTorch, when it uploads) take as such. */
  pixelClips?: boolean;
  /** --peer: training steps per call of our device step, and per synchronisation of PyTorch's device. */
  stepsPerCall?: number;
  /** Only the cost of data.augment on the thread that assembles training batches (bench-augment.ts). */
  augment?: boolean;
}

/**
 * --json is written when the benchmark ends, minutes later: a folder there, or a file where its
 * folder belongs, is said before anything is timed.
 */
function checkJsonTarget(json: string | undefined): void {
  if (json === undefined) return;
  const path = resolve(json);
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(`--json ${json}: this is a folder; expected a file to write the results to (e.g. ${join(json, "bench.json")})`);
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new InputError(`--json ${json}: ${dir} is a file, not a folder; nothing was run`);
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * --json's results, written once they exist and atomically (a bench that fails or is stopped
 * leaves an earlier file as it was); an earlier file is replaced, as scripts expect, and stderr says so.
 */
export function writeBenchJson(json: string, results: unknown): void {
  const replaced = existsSync(json);
  writeJsonAtomic(json, results);
  // As other commands name the files they write (`evaluate --json`, `data`): the results are not only on screen.
  process.stderr.write(`wrote ${json}\n`);
  if (replaced) process.stderr.write(`note: --json ${json} was there already; replaced it with these results\n`);
}

export async function runBench(args: BenchArgs): Promise<void> {
  for (const [flag, set] of [["--peer-upload", args.peerUpload], ["--pixel-clips", args.pixelClips]] as const) {
    if (set && !args.peer) throw new InputError(`${flag}: only with --peer torch (it sets how the peer benchmark's sides take their clips)`);
  }
  // --no-device-step is a choice too: either form was ignored without --peer.
  if (args.deviceStep !== undefined && !args.peer)
    throw new InputError(`--${args.deviceStep ? "" : "no-"}device-step: only with --peer torch (it sets how our side of the peer benchmark steps; 'bench --step' times both)`);
  if ((args.stepsPerCall ?? 1) > 1 && !args.peer) throw new InputError("--steps-per-call: only with --peer torch (it sets how many steps each side takes between synchronisations)");
  checkJsonTarget(args.json);
  if (args.peer) {
    const { runPeerBench } = await import("./bench-peer.js");
    await runPeerBench(args);
    return;
  }
  if (args.augment) {
    const model = loadModelFile(args.model ?? QUICKSTART_MODEL);
    const [B, T] = [args.batch ?? 256, args.frames ?? 8];
    const rows = benchAugment(model, B, T, args.rounds ?? (args.quick ? 3 : 30));
    process.stdout.write(formatAugment(model, B, T, rows) + "\n");
    if (args.json) writeBenchJson(args.json, { model: model.name, clips: B, frames: T, rows, load_average: loadavg() });
    return;
  }
  const log = (line: string) => process.stderr.write(line + "\n");
  const provider = args.provider ?? "cpu";
  const threads = provider === "cpu" ? (args.threads ?? [1, 2]) : [1];
  if (args.step) {
    const stepModel = loadModelFile(args.model ?? QUICKSTART_MODEL);
    const [B, T] = [args.batch ?? 16, args.frames ?? 8];
    const methods = stepMethods(stepModel, T, ["bp", "sideways"]);
    const skipped = methods.includes("sideways") ? [] : [`sideways: ${deviceStepModelBlocker("sideways", stepModel.blocks.length, T)}`];
    const rows = await benchStep(stepModel, B, T, threads, args.rounds ?? (args.quick ? 3 : 20), provider, methods);
    process.stdout.write(formatStep(stepModel, B, T, rows, skipped) + "\n");
    if (args.json) writeBenchJson(args.json, { model: stepModel.name, provider, clips: B, frames: T, rows, not_measured: skipped, load_average: loadavg() });
    return;
  }
  const quickstart = loadModelFile(QUICKSTART_MODEL);
  // Loaded before the quickstart step is timed: a bad --model is said at once, not after it.
  const model = loadModelFile(args.model ?? DEFAULT_BENCH_MODEL);
  // The quickstart experiment's own batch: 16 clips x 8 frames.
  // The quickstart experiment's step, both rules by both paths (on a GPU the device step is what training runs).
  const stepRows = await benchStep(quickstart, 16, 8, threads, args.quick ? 3 : 20, provider, stepMethods(quickstart, 8, ["bp", "sideways"]));
  process.stdout.write(formatStep(quickstart, 16, 8, stepRows) + "\n\n");

  const result = await benchExecutors(
    {
      model,
      batchSize: args.batch ?? 8,
      // Sideways fills and drains its pipeline in every clip (2L-2 ticks with idle stages), so
      // the depth-parallel figures depend on T/L; 64 frames is a short video at 25 fps.
      clipLength: args.frames ?? (args.quick ? 4 * model.blocks.length : 64),
      rounds: args.rounds ?? (args.quick ? 2 : 5),
      maxWorkers: args.workers ?? Number.MAX_SAFE_INTEGER,
      provider,
    },
    log,
  );
  process.stdout.write(formatExecutorBench(result) + "\n");
  if (args.json) writeBenchJson(args.json, { ...result, step_quickstart: stepRows });
}
