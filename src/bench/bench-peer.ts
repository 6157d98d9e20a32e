/**
 * `sideways bench --peer torch`: our BP step (one thread, or data-parallel replicas for more) + plain SGD
 * against PyTorch's (bench/torch_peer.py) on the same model file, init checkpoint and clips, in
 * one run. The peer stays alive as a server (--serve); thread count by thread count, the two
 * sides alternate short bursts of steps (the side going first alternating by round), so both see
 * the same machine load. Before anything is timed, both run `checkSteps` SGD steps from the init
 * weights at every thread count, PyTorch once more in float64, and their losses and updated
 * weights and buffers are compared with the float64 run (compareDraw): a disagreement refuses
 * the benchmark with a RunError (exit status 1), unless the float64 run passed within float32
 * rounding of a ReLU's or max-pool's jump (a near-tie, judgeDraw): then the check redraws its
 * batch (checkAgreement). Timing always uses the first batch.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { InputError, RunError } from "../errors.js";
import { assembleBatch } from "../data/clip.js";
import type { ClipBatch } from "../data/source.js";
import { encodeNpy } from "../data/npy.js";
import { applyBlockStats } from "../model/buffers.js";
import { readCheckpoint, writeCheckpoint } from "../model/checkpoint.js";
import { initWeights } from "../model/init.js";
import { loadModelFile } from "../model/load-model.js";
import type { Model, Weights } from "../model/model.js";
import { writeFileAtomic } from "../results/atomic-write.js";
import { Sgd } from "../optim/optimizer.js";
import { buildAllBlockGraphs, type BlockGraphBytes } from "../train/block-runner.js";
import type { Executor } from "../train/executor.js";
import { ReplicaExecutor } from "../train/replica-executor.js";
import { DeviceStep } from "../train/device-step.js";
import type { ClipInput } from "../train/device-step-graph.js";
import type { GraphTarget } from "../graph/graph-builder.js";
import { SequentialExecutor } from "../train/sequential-executor.js";
import { Rng } from "../util/rng.js";
import { QUICKSTART_MODEL, type BenchArgs, writeBenchJson } from "./bench.js";
import { measurePeakFlops, trainingStepFlops, type PeakMeasurement } from "./peer-flops.js";
import { quantile } from "./stats.js";
import { requireTorch, TorchPeer } from "./torch-peer-process.js";
import { formatGraphTarget } from "../runtime/graph-forms.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";
import type { Provider } from "../runtime/providers.js";

/** Largest relative difference tolerated between ours and PyTorch before timing (issue 6). */
export const PEER_TOLERANCE = 1e-4;

/**
 * A near-tie: a ReLU input this close to 0, or a max-pool window whose two largest values are this
 * close, relative to the largest |value| of that tensor (bench/torch_peer.py NearTies). Float32
 * rounding of those inputs reaches 6.7e-7 of the tensor's largest value near 0 (PyTorch's float32
 * against its float64 on both zoo models at 16 x 8 clips, docs/BENCHMARKS.md), so below this
 * margin a float32 run may fall on the other side of the jump than float64 and move a whole
 * gradient term (docs/GPU.md, "Cause").
 */
export const NEAR_TIE_MARGIN = 1e-6;

/** Batches the agreement check draws at most before it refuses (see judgeDraw). */
export const MAX_CHECK_DRAWS = 8;

export interface PeerBenchOptions {
  /** Our model file. */
  modelPath: string;
  /** The model file handed to PyTorch; the same as modelPath except in tests of the refusal. */
  torchModelPath?: string;
  batch: number;
  frames: number;
  threads: number[];
  /** Timed rounds (one step of each side per thread count), after `warmupRounds` untimed ones. */
  rounds: number;
  warmupRounds?: number;
  /** SGD steps both sides run from the init weights before the comparison. */
  checkSteps?: number;
  lr?: number;
  seed?: number;
  /** Near-tie margin of the agreement check (default NEAR_TIE_MARGIN; tests). */
  nearTieMargin?: number;
  /** Batches the agreement check may draw (default MAX_CHECK_DRAWS; tests). */
  maxCheckDraws?: number;
  /** Skip the peak MatMul (tests; always skipped on a GPU, where the CPU's peak says nothing). */
  skipPeak?: boolean;
  /** Our execution provider (default cpu). A GPU provider runs one stage; PyTorch then runs on CUDA. */
  provider?: Provider;
  /** Our BP step as the device step (runtime.device_step); default: on a GPU provider, as training's auto. */
  deviceStep?: boolean;
  /**
   * PyTorch moves each step's batch from host memory to its device inside the timed step, as a
   * training loop fed from host memory does (our side always does); default: its batches stay on
   * the device for the whole benchmark.
   */
  peerUploads?: boolean;
  /**
   * The clips are 8-bit pixels scaled to [0, 1], and our device step takes them as such (a quarter
   * of the bytes to upload, as training on CUDA does with 8-bit data: docs/GPU.md "Clips as 8-bit
   * pixels"); with peerUploads PyTorch moves them as 8-bit pixels too and makes them float32 on its
   * device. Both sides compute on the same float32 values. Needs our device step.
   */
  pixelClips?: boolean;
  /**
   * Steps per call of our device step (graph/chain-calls.ts), default 1; PyTorch then takes as many
   * steps between two synchronisations of its device. Both sides' times are per step.
   */
  stepsPerCall?: number;
  log?: (line: string) => void;
}

export interface PeerCheck {
  threads: number;
  steps: number;
  worst_loss_rel_diff: number;
  worst_weight_rel_diff: number;
  /** Of (weight - init): informative only (see checkAgreement). */
  worst_update_rel_diff: number;
  /** The parameter with the largest updated-weight difference. */
  worst_parameter: string;
  /** Largest max-norm relative distance of a weight or buffer from PyTorch's float64 run: ours, PyTorch's float32. */
  worst_ours_vs_float64: number;
  worst_torch_vs_float64: number;
  /** Batches drawn (1 = the timed batch; each later one the next seed's), the last one agreeing. */
  draws: number;
  /** The agreeing draw's smallest near-tie margin in the float64 run (null: no ReLU or max-pool), and where. */
  near_tie_margin: number | null;
  near_tie_where: string | null;
}

export interface PeerRow {
  threads: number;
  ours_ms_median: number;
  ours_ms_q1: number;
  ours_ms_q3: number;
  torch_ms_median: number;
  torch_ms_q1: number;
  torch_ms_q3: number;
  /** Median over rounds of (our step / PyTorch's step in the same round), and its quartiles. */
  ratio_ours_over_torch: number;
  ratio_q1: number;
  ratio_q3: number;
  ours_gflops: number;
  torch_gflops: number;
  peak: PeakMeasurement | null;
  ours_share_of_peak: number | null;
  torch_share_of_peak: number | null;
}

export interface PeerBenchResult {
  model: string;
  /** Our execution provider; PyTorch's device (its name, e.g. the GPU's, from torch). */
  provider: Provider;
  /** host: executor + TypeScript SGD; device step: runtime.device_step (the default on a GPU). */
  our_path: "host" | "device step";
  /** The graph target our side's graphs were built for, with any SIDEWAYS_GRAPH_FORMS (src/runtime/graph-forms.ts). */
  graph_target: GraphTarget;
  /** Whether PyTorch's timed step includes moving its batch from host memory to its device. */
  torch_uploads_each_step: boolean;
  /** Steps per timed call of our side and per timed window of PyTorch's (PeerBenchOptions.stepsPerCall); times are per step. */
  steps_per_call: number;
  /** Whether our device step took the clips as their 8-bit pixels (its ClipInput). */
  pixel_clips: boolean;
  /** Whether PyTorch's timed step moved them as 8-bit pixels, made float32 on its device (its reply). */
  torch_uploads_pixels: boolean;
  torch_device: string;
  clips_per_step: number;
  frames_per_clip: number;
  frames_per_step: number;
  flops_per_step: number;
  torch_version: string;
  default_threads: number;
  /** At the default setting (default_threads). */
  ratio_ours_over_torch: number;
  rounds: number;
  checks: PeerCheck[];
  rows: PeerRow[];
  load_average_before: number[];
  load_average_after: number[];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max_i |a_i - b_i| / max_i |b_i| (0 when both are all zeros). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff === 0 ? 0 : diff / scale;
}

function cloneWeights(w: Weights): Weights {
  return new Map([...w].map(([k, v]) => [k, v.slice()]));
}

function difference(a: Float32Array, b: Float32Array): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]);
}

interface Fixture {
  dir: string;
  model: Model;
  init: Weights;
  batch: ClipBatch;
}

/** Init checkpoint, clips and labels in a temp dir: the same inputs for both sides. */
function writeFixture(opts: PeerBenchOptions): Fixture {
  const model = loadModelFile(opts.modelPath);
  const dir = mkdtempSync(join(tmpdir(), "sideways-peer-"));
  const seed = opts.seed ?? 0;
  const init = initWeights(model, seed);
  writeCheckpoint(join(dir, "init.safetensors"), model, init);
  const batch = writeClips(dir, "", model, opts, seed);
  return { dir, model, init, batch };
}

/**
 * Random clips and labels for `seed` (uniform [0, 1) pixels; with pixelClips, uniform 8-bit pixels
 * scaled by the data pipeline's assembleBatch, carrying them too), also written as
 * DIR/{prefix}clips.npy (float32) and labels.npy.
 */
function writeClips(dir: string, prefix: string, model: Model, opts: PeerBenchOptions, seed: number): Fixture["batch"] {
  const rng = new Rng(seed).fork("peer-bench-clips");
  const { channels: C, height: H, width: W } = model.input;
  const dims: [number, number, number, number, number] = [opts.batch, opts.frames, C, H, W];
  const size = opts.frames * C * H * W;
  const batch: ClipBatch = opts.pixelClips
    ? assembleBatch(
        Array.from({ length: opts.batch }, () => ({ pixels: Uint8Array.from({ length: size }, () => rng.int(256)), label: rng.int(model.classes) })),
        { frames: opts.frames, channels: C, height: H, width: W },
        { shuffleFrames: false, normalize: null, rng, evalRng: rng },
        "train",
        0,
      )
    : { clips: Float32Array.from({ length: opts.batch * size }, () => rng.next()), labels: Int32Array.from({ length: opts.batch }, () => rng.int(model.classes)), dims };
  writeFileSync(join(dir, `${prefix}clips.npy`), encodeNpy(batch.clips, dims));
  writeFileSync(join(dir, `${prefix}labels.npy`), encodeNpy(batch.labels, [opts.batch]));
  return batch;
}

/**
 * Our side: BP steps with plain SGD from given weights, as training runs them. The host path: the
 * executor's passes (bp_frames_per_pass auto on the CPU, every frame at once on a GPU), then the
 * TypeScript optimizer. The device step (runtime.device_step, which training uses by default on a
 * GPU): the whole step in one graph, the weights staying with onnxruntime between steps.
 */
interface OurSide {
  /** Starts again from `weights` (copied). */
  reset(weights: Weights): void;
  /** One call's steps on `batch` (several with the device step's stepsPerCall); each step's mean loss. */
  steps(batch: Fixture["batch"], lr: number): Promise<number[]>;
  /** The current weights and buffers (brought back to the host for the device step). */
  weights(): Promise<Weights>;
  /** How the step takes its clips (the host path: float32). */
  readonly clipInput: ClipInput;
  close(): Promise<void>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

class HostSide implements OurSide {
  readonly clipInput = "float32";
  private current: Weights = new Map();
  private readonly sgd = new Sgd(0, false, 0);
  constructor(private readonly exec: Executor, private readonly model: Model, private readonly provider: Provider) {}
  reset(weights: Weights): void {
    this.current = cloneWeights(weights);
  }
  async steps(batch: Fixture["batch"], lr: number): Promise<number[]> {
    // "auto" sizes passes for CPU caches; a GPU takes the whole clip batch as one pass.
    const res = await this.exec.runBatch("bp", batch, this.current, { bpFramesPerPass: this.provider === "cpu" ? "auto" : "all" });
    this.sgd.step(this.current, res.grads, lr);
    applyBlockStats(this.model, this.current, res.stats);
    return [mean(res.losses)];
  }
  async weights(): Promise<Weights> {
    return this.current;
  }
  close(): Promise<void> {
    return this.exec.close();
  }
}

class DeviceSide implements OurSide {
  private current: Weights = new Map();
  private readonly sgd = new Sgd(0, false, 0);
  constructor(private readonly device: DeviceStep, private readonly model: Model) {}
  get clipInput(): ClipInput {
    return this.device.clipInput;
  }
  reset(weights: Weights): void {
    this.current = cloneWeights(weights);
    this.device.load(this.current, this.sgd);
  }
  async steps(batch: Fixture["batch"], lr: number): Promise<number[]> {
    const K = this.device.stepsPerCall;
    const results = await this.device.steps(Array<Fixture["batch"]>(K).fill(batch), Array<number>(K).fill(lr));
    // Buffers stay on the host (model/buffers.ts): the statistics come out of the graph.
    for (const res of results) applyBlockStats(this.model, this.current, res.stats);
    return results.map((res) => mean(res.losses));
  }
  async weights(): Promise<Weights> {
    await this.device.sync(this.current, this.sgd);
    return this.current;
  }
  close(): Promise<void> {
    return this.device.release();
  }
}

/**
 * Our BP on `threads` cores: one thread, or as many data-parallel replicas (one thread each).
 * onnxruntime's intra-op threads gained nothing on these small ops (docs/PERFORMANCE.md); but
 * replicas refuse batch_norm (replica-executor.ts), so a model with it gets them instead, and so
 * does the device step, which runs on one stage.
 */
async function ourSide(model: Model, graphs: BlockGraphBytes[], target: GraphTarget, threads: number, provider: Provider, frames: number, deviceStep: boolean, clipInput: ClipInput, stepsPerCall: number): Promise<OurSide> {
  if (deviceStep) return new DeviceSide(await DeviceStep.create(model, { kind: "sgd", lr: 0.1, momentum: 0, nesterov: false, weight_decay: 0 }, frames, { provider, threads }, target, "bp", clipInput, stepsPerCall), model);
  // Models with buffers (batch norm) refuse data-parallel replicas: their threads go to onnxruntime's intra-op pool.
  if (threads === 1 || model.buffers.length > 0) return new HostSide(await SequentialExecutor.create(model, graphs, { provider, threads }), model, provider);
  return new HostSide(await ReplicaExecutor.create(model, graphs, threads, { provider, threads: 1 }), model, provider);
}

/** One draw of the agreement check: its batch's comparison, and the float64 run's smallest near-tie margin. */
interface Draw {
  check: PeerCheck;
  /** Why ours disagrees with float64 on this batch; null when it agrees. */
  disagreement: string | null;
  margin: number | null;
  where: string | null;
}

/**
 * Both sides take `steps` SGD steps from init on `batch`, and PyTorch takes them once more in
 * float64: the reference both float32 sides are measured against. A loss or tensor (parameter or
 * buffer) agrees when ours is within PEER_TOLERANCE of the float64 result, or at most twice as far
 * from it as PyTorch's own float32 result is (cuDNN's float32 is as far as ours on some sums). A
 * tensor's distance is max-norm, relative to the tensor or to how far the steps moved it,
 * whichever is larger. Returns the first disagreement's description, if any, with the float64
 * run's smallest near-tie margin.
 */
async function compareDraw(side: OurSide, peer: TorchPeer, fx: Fixture, batch: Fixture["batch"], threads: number, steps: number, lr: number): Promise<Draw> {
  await peer.command({ cmd: "threads", n: threads });
  const where = `at ${threads} thread(s)`;
  const torchRun = async (dtype: "float32" | "float64") => {
    await peer.command({ cmd: "reset", dtype });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push((await peer.step()).loss);
    const file = join(fx.dir, `torch-${threads}-${dtype}.safetensors`);
    await peer.command({ cmd: "weights", path: file });
    return { losses, weights: readCheckpoint(file, fx.model) };
  };
  side.reset(fx.init);
  let ours = cloneWeights(fx.init);
  const ourLosses: number[] = [];
  // How far the steps moved each tensor, summed over steps (max-norm of each step's change).
  const moved = new Map<string, number>();
  // Whole calls of our side: at least `steps` steps (with several steps a call, the weights are
  // seen after each call only, and a call's movement is counted as one step's: the tolerance's
  // scale can only shrink with it, so the check is as strict or stricter).
  while (ourLosses.length < steps) {
    const before = ours;
    ourLosses.push(...(await side.steps(batch, lr)));
    ours = cloneWeights(await side.weights());
    for (const [name, w] of ours) moved.set(name, (moved.get(name) ?? 0) + maxAbs(difference(w, before.get(name)!)));
  }
  steps = ourLosses.length;
  const t32 = await torchRun("float32");
  const t64 = await torchRun("float64");
  const ties = await peer.command({ cmd: "near_ties" });
  await peer.command({ cmd: "reset" });
  const allowed = (torchOff: number) => Math.max(PEER_TOLERANCE, 2 * torchOff);
  const check: PeerCheck = {
    threads, steps, worst_loss_rel_diff: 0, worst_weight_rel_diff: 0, worst_update_rel_diff: 0, worst_parameter: "", worst_ours_vs_float64: 0, worst_torch_vs_float64: 0,
    draws: 1, near_tie_margin: ties.margin === null ? null : Number(ties.margin), near_tie_where: ties.where === null ? null : String(ties.where),
  };
  const draw = (disagreement: string | null): Draw => ({ check, disagreement, margin: check.near_tie_margin, where: check.near_tie_where });
  for (let s = 0; s < steps; s++) {
    const rel = (x: number) => Math.abs(x - t64.losses[s]) / Math.abs(t64.losses[s]);
    const [a, b] = [rel(ourLosses[s]), rel(t32.losses[s])];
    if (!(a <= allowed(b))) {
      return draw(`the loss of step ${s + 1} ${where}: ours ${ourLosses[s]}, PyTorch float32 ${t32.losses[s]}, float64 ${t64.losses[s]} (ours ${a.toExponential(2)} from float64, allowed ${allowed(b).toExponential(2)})`);
    }
    check.worst_loss_rel_diff = Math.max(check.worst_loss_rel_diff, Math.abs(ourLosses[s] - t32.losses[s]) / Math.abs(t32.losses[s]));
  }
  // Parameters and buffers (batch_norm's running statistics: PyTorch's BatchNorm2d, fed per frame).
  for (const p of [...fx.model.params, ...fx.model.buffers]) {
    const init = fx.init.get(p.name)!;
    const [a, b, ref] = [ours.get(p.name)!, t32.weights.get(p.name)!, t64.weights.get(p.name)!];
    // Relative to the tensor, or to how far the steps moved it where that is larger: steps that
    // cancel (a batch-norm bias stepping back) leave a tensor near 0 whose float32 error is the
    // steps' rounding, not its own.
    const scale = Math.max(maxAbs(ref), moved.get(p.name) ?? 0);
    const [dOurs, dTorch] = [maxAbs(difference(a, ref)) / scale || 0, maxAbs(difference(b, ref)) / scale || 0];
    if (!(dOurs <= allowed(dTorch))) {
      return draw(
        `${fx.model.buffers.includes(p as never) ? "buffer" : "parameter"} ${p.name} ${where} after ${steps} SGD steps is ${dOurs.toExponential(2)} from PyTorch's float64 result ` +
          `(PyTorch's float32: ${dTorch.toExponential(2)}; max-norm relative, allowed ${allowed(dTorch).toExponential(2)})`,
      );
    }
    const dw = maxRelDiff(a, b);
    if (dw >= check.worst_weight_rel_diff) check.worst_parameter = p.name;
    check.worst_weight_rel_diff = Math.max(check.worst_weight_rel_diff, dw);
    check.worst_update_rel_diff = Math.max(check.worst_update_rel_diff, maxRelDiff(difference(a, init), difference(b, init)));
    check.worst_ours_vs_float64 = Math.max(check.worst_ours_vs_float64, dOurs);
    check.worst_torch_vs_float64 = Math.max(check.worst_torch_vs_float64, dTorch);
  }
  return draw(null);
}

/**
 * What the agreement check does after one draw: accept when ours agrees with float64; when it
 * does not, redraw if the float64 run had a near-tie (a margin below `nearTieMargin`: float32
 * rounding may have flipped a ReLU's or max-pool's choice on one side, a jump of the gradient
 * that says nothing about whether the two sides train the same model) and draws remain; refuse
 * otherwise. A real disagreement is systematic: it disagrees on every draw, and is refused.
 */
export function judgeDraw(agrees: boolean, margin: number | null, nearTieMargin: number, drawsLeft: number): "accept" | "redraw" | "refuse" {
  if (agrees) return "accept";
  return margin !== null && margin < nearTieMargin && drawsLeft > 0 ? "redraw" : "refuse";
}

/**
 * The agreement check at one thread count: compareDraw on the timed batch, then, while judgeDraw
 * says so, on the batch of the next seed. Throws RunError naming the disagreement that refuses.
 */
async function checkAgreement(side: OurSide, peer: TorchPeer, fx: Fixture, opts: PeerBenchOptions, threads: number, lr: number, log: (line: string) => void): Promise<PeerCheck> {
  const maxDraws = opts.maxCheckDraws ?? MAX_CHECK_DRAWS;
  const nearTie = opts.nearTieMargin ?? NEAR_TIE_MARGIN;
  const seed = opts.seed ?? 0;
  const tiesSeen: string[] = [];
  try {
    for (let d = 0; ; d++) {
      let batch = fx.batch;
      if (d > 0) {
        batch = writeClips(fx.dir, "check-", fx.model, opts, seed + d);
        await peer.command({ cmd: "data", clips: join(fx.dir, "check-clips.npy"), labels: join(fx.dir, "check-labels.npy") });
      }
      const r = await compareDraw(side, peer, fx, batch, threads, opts.checkSteps ?? 2, lr);
      const margin = r.margin === null ? "no ReLU or max-pool" : `smallest near-tie margin ${r.margin.toExponential(1)} (${r.where})`;
      const verdict = judgeDraw(r.disagreement === null, r.margin, nearTie, maxDraws - 1 - d);
      if (verdict === "accept") return { ...r.check, draws: d + 1 };
      if (verdict === "refuse") {
        const history = tiesSeen.length ? ` (earlier draws disagreed too, each with a near-tie: ${tiesSeen.join("; ")})` : "";
        const why = r.margin !== null && r.margin < nearTie ? `, ${margin}, on all ${d + 1} batches drawn` : `, with no near-tie below ${nearTie} (${margin})`;
        throw new RunError(`refusing to time: ${r.disagreement}${why}${history}; the two sides do not train the same model`);
      }
      tiesSeen.push(`seed ${seed + d}: ${margin}`);
      log(`agreement check, batch of seed ${seed + d}: inconclusive, ${r.disagreement}, but the float64 run has a near-tie: ${margin} < ${nearTie}, within float32 rounding; drawing the batch of seed ${seed + d + 1}`);
    }
  } finally {
    // The timed batch again, whatever the check drew.
    if (tiesSeen.length) await peer.command({ cmd: "data", clips: join(fx.dir, "clips.npy"), labels: join(fx.dir, "labels.npy") });
  }
}

/** Steps each side runs back to back per round; all but the first are timed. */
const BURST_STEPS = 3;

/** A step's start and end on CLOCK_MONOTONIC, ns as decimal strings. */
type Window = [string, string];

/** A timed step: its time, and its window for a CUDA trace's marks. */
interface TimedStep {
  ms: number;
  window: Window;
}

/**
 * The timed steps' windows as the marks scripts/cuda-trace-summary.mjs reads ({pid, marks}), to
 * `file` if one is named (a CUDA trace of process `pid`, scripts/gpu-trace.sh).
 */
function writeMarks(file: string | undefined, pid: number, label: string, windows: readonly Window[]): void {
  if (file) writeFileAtomic(file, JSON.stringify({ pid, marks: windows.map(([start, end]) => ({ label, start, end })) }) + "\n");
}

export async function peerBench(opts: PeerBenchOptions): Promise<PeerBenchResult> {
  requireTorch();
  const log = opts.log ?? (() => {});
  const lr = opts.lr ?? 0.1;
  const warmup = opts.warmupRounds ?? 2;
  const provider = opts.provider ?? "cpu";
  const onGpu = provider !== "cpu";
  if (onGpu && opts.threads.some((t) => t !== 1)) throw new RunError(`BUG: a ${provider} peer benchmark runs one stage (threads [1])`);
  const deviceStep = opts.deviceStep ?? onGpu;
  if (opts.pixelClips && !deviceStep) throw new InputError("--pixel-clips: our side takes 8-bit clips in its device step only; use a GPU provider or --device-step");
  const stepsPerCall = opts.stepsPerCall ?? 1;
  if (stepsPerCall > 1 && !deviceStep) throw new InputError("--steps-per-call: our side chains steps in its device step only; use a GPU provider or --device-step");
  const fx = writeFixture(opts);
  const target = await graphTargetFor({ provider });
  const graphs = buildAllBlockGraphs(fx.model, target);
  const sides: OurSide[] = [];
  let peer: TorchPeer | null = null;
  const loadBefore = loadavg();
  try {
    const started = await TorchPeer.start({
      model: opts.torchModelPath ?? opts.modelPath,
      init: join(fx.dir, "init.safetensors"),
      clips: join(fx.dir, "clips.npy"),
      labels: join(fx.dir, "labels.npy"),
      lr,
      device: onGpu ? "cuda" : "cpu",
      uploadEachStep: opts.peerUploads ?? false,
      uploadPixels: (opts.peerUploads ?? false) && (opts.pixelClips ?? false),
    });
    peer = started.peer;
    for (const threads of opts.threads) sides.push(await ourSide(fx.model, graphs, target, threads, provider, opts.frames, deviceStep, opts.pixelClips ? "uint8" : "float32", stepsPerCall));

    const checks: PeerCheck[] = [];
    for (let i = 0; i < opts.threads.length; i++) {
      checks.push(await checkAgreement(sides[i], peer, fx, opts, opts.threads[i], lr, log));
      log(`agreement at ${opts.threads[i]} thread(s): loss ${checks[i].worst_loss_rel_diff.toExponential(1)}, weights ${checks[i].worst_weight_rel_diff.toExponential(1)} (${checks[i].worst_parameter}), updates ${checks[i].worst_update_rel_diff.toExponential(1)}; from float64: ours ${checks[i].worst_ours_vs_float64.toExponential(1)}, PyTorch float32 ${checks[i].worst_torch_vs_float64.toExponential(1)}; batch ${checks[i].draws} drawn`);
    }

    await peer.command({ cmd: "reset" });
    for (const side of sides) side.reset(fx.init);
    // Each side's timed steps' windows on CLOCK_MONOTONIC (written where SIDEWAYS_STEP_MARKS and
    // SIDEWAYS_PEER_MARKS name files), for reading CUDA traces taken of the two processes.
    const windows = { ours: [] as Window[], torch: [] as Window[] };
    const samples = sides.map(() => ({ ours: [] as number[], torch: [] as number[] }));
    // Thread counts one after another (switching torch's thread count every step costs it),
    // within one count single steps alternate, the side going first alternating by round.
    for (let i = 0; i < sides.length; i++) {
      await peer.command({ cmd: "threads", n: opts.threads[i] });
      // With several steps a call, a sample is a call's (or PyTorch's window's) time per step.
      const timeOurs = async (): Promise<TimedStep> => {
        const [t0, m0] = [performance.now(), process.hrtime.bigint()];
        await sides[i].steps(fx.batch, lr);
        return { ms: (performance.now() - t0) / stepsPerCall, window: [String(m0), String(process.hrtime.bigint())] };
      };
      // Each side runs a burst of steps back to back, as in training, and only the steps after
      // the first are timed: PyTorch's OpenMP threads keep spinning for a while after its last
      // step and would steal the cores of our first step, and a pause instead would put its
      // threads to sleep and slow its first step down.
      const burst = async (step: () => Promise<TimedStep>) => {
        const times: TimedStep[] = [];
        for (let k = 0; k < BURST_STEPS; k++) times.push(await step());
        return times.slice(1);
      };
      const theirStep = async (): Promise<TimedStep> => {
        const t = await peer!.step(stepsPerCall);
        return { ...t, ms: t.ms / stepsPerCall };
      };
      for (let r = 0; r < warmup + opts.rounds; r++) {
        let ours: TimedStep[];
        let theirs: TimedStep[];
        if (r % 2 === 0) {
          ours = await burst(timeOurs);
          theirs = await burst(theirStep);
        } else {
          theirs = await burst(theirStep);
          ours = await burst(timeOurs);
        }
        if (r < warmup) continue;
        samples[i].ours.push(...ours.map((t) => t.ms));
        samples[i].torch.push(...theirs.map((t) => t.ms));
        windows.ours.push(...ours.map((t) => t.window));
        windows.torch.push(...theirs.map((t) => t.window));
      }
      const s = samples[i];
      log(`${opts.threads[i]} thread(s), ${opts.rounds} rounds: ours ${s.ours.map((x) => x.toFixed(1)).join(" ")} ms; PyTorch ${s.torch.map((x) => x.toFixed(1)).join(" ")} ms`);
    }

    writeMarks(process.env.SIDEWAYS_STEP_MARKS, process.pid, "ours", windows.ours);
    writeMarks(process.env.SIDEWAYS_PEER_MARKS, peer.pid, "torch", windows.torch);
    const framesPerStep = opts.batch * opts.frames;
    const flops = trainingStepFlops(fx.model, framesPerStep);
    const rows: PeerRow[] = [];
    for (let i = 0; i < sides.length; i++) {
      const { ours, torch } = samples[i];
      const ratios = ours.map((o, j) => o / torch[j]);
      const peak = opts.skipPeak || onGpu ? null : await measurePeakFlops(opts.threads[i]);
      const oursMs = quantile(ours, 0.5);
      const torchMs = quantile(torch, 0.5);
      const oursG = flops / (oursMs / 1000) / 1e9;
      const torchG = flops / (torchMs / 1000) / 1e9;
      rows.push({
        threads: opts.threads[i],
        ours_ms_median: oursMs,
        ours_ms_q1: quantile(ours, 0.25),
        ours_ms_q3: quantile(ours, 0.75),
        torch_ms_median: torchMs,
        torch_ms_q1: quantile(torch, 0.25),
        torch_ms_q3: quantile(torch, 0.75),
        ratio_ours_over_torch: quantile(ratios, 0.5),
        ratio_q1: quantile(ratios, 0.25),
        ratio_q3: quantile(ratios, 0.75),
        ours_gflops: oursG,
        torch_gflops: torchG,
        peak,
        ours_share_of_peak: peak ? oursG / peak.gflops : null,
        torch_share_of_peak: peak ? torchG / peak.gflops : null,
      });
    }
    return {
      model: fx.model.name,
      provider,
      our_path: deviceStep ? "device step" : "host",
      graph_target: { ...target },
      torch_uploads_each_step: started.hello.upload_each_step === true,
      pixel_clips: sides.every((s) => s.clipInput === "uint8"),
      steps_per_call: stepsPerCall,
      torch_uploads_pixels: started.hello.upload_pixels === true,
      torch_device: String(started.hello.device ?? "cpu"),
      clips_per_step: opts.batch,
      frames_per_clip: opts.frames,
      frames_per_step: framesPerStep,
      flops_per_step: flops,
      torch_version: String(started.hello.torch_version),
      default_threads: opts.threads[0],
      ratio_ours_over_torch: rows[0].ratio_ours_over_torch,
      rounds: opts.rounds,
      checks,
      rows,
      load_average_before: loadBefore,
      load_average_after: loadavg(),
    };
  } finally {
    for (const side of sides) await side.close();
    await peer?.close();
    rmSync(fx.dir, { recursive: true, force: true });
  }
}

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);

export function formatPeerBench(r: PeerBenchResult): string {
  const lines = [
    `BP step, ours (onnxruntime, ${r.provider}, ${r.our_path === "device step" ? "device step" : "host path"}${r.pixel_clips ? ", clips as 8-bit pixels" : ""}${r.steps_per_call > 1 ? `, ${r.steps_per_call} steps a call` : ""}) vs PyTorch ${r.torch_version} (${r.torch_device}${r.torch_uploads_each_step ? `, batch uploaded each step${r.torch_uploads_pixels ? " as 8-bit pixels" : ""}` : ""}${r.steps_per_call > 1 ? `, synchronised every ${r.steps_per_call} steps` : ""}): ${r.model}, ${r.clips_per_step} clips x ${r.frames_per_clip} frames, ` +
      `${(r.flops_per_step / 1e9).toFixed(3)} GFLOP per step; medians of ${r.rounds} interleaved rounds [quartiles]`,
    "",
    "| model | batch | threads | ours ms | PyTorch ms | ratio ours/PyTorch | ours % of peak | PyTorch % of peak | peak GFLOP/s |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${r.model} | ${r.clips_per_step}x${r.frames_per_clip} | ${row.threads} | ${row.ours_ms_median.toFixed(1)} [${row.ours_ms_q1.toFixed(1)}-${row.ours_ms_q3.toFixed(1)}] ` +
        `| ${row.torch_ms_median.toFixed(1)} [${row.torch_ms_q1.toFixed(1)}-${row.torch_ms_q3.toFixed(1)}] ` +
        `| ${row.ratio_ours_over_torch.toFixed(2)} [${row.ratio_q1.toFixed(2)}-${row.ratio_q3.toFixed(2)}] ` +
        `| ${pct(row.ours_share_of_peak)} | ${pct(row.torch_share_of_peak)} | ${row.peak ? row.peak.gflops.toFixed(0) : "-"} |`,
    );
  }
  const c = r.checks
    .map((k) => `${k.threads}t: loss ${k.worst_loss_rel_diff.toExponential(1)}, weights ${k.worst_weight_rel_diff.toExponential(1)}, updates ${k.worst_update_rel_diff.toExponential(1)}; from float64: ours ${k.worst_ours_vs_float64.toExponential(1)}, PyTorch ${k.worst_torch_vs_float64.toExponential(1)}${k.draws > 1 ? ` (on batch ${k.draws} drawn: the earlier ones disagreed at a near-tie)` : ""}`)
    .join("; ");
  lines.push("", `Agreement before timing, worst relative differences ours vs PyTorch float32, and each from PyTorch float64 (ours must be within ${PEER_TOLERANCE} of float64 or twice PyTorch's distance): ${c}.`);
  lines.push(`Our graphs: ${formatGraphTarget(r.graph_target)}.`);
  lines.push(`Load average before/after: ${r.load_average_before.map((x) => x.toFixed(2)).join(" ")} / ${r.load_average_after.map((x) => x.toFixed(2)).join(" ")}`);
  return lines.join("\n");
}

/** The CLI entry (bench.ts): quickstart model, 16 clips x 8 frames, 1 and 2 threads by default. */
export async function runPeerBench(args: BenchArgs): Promise<void> {
  if (args.peer !== "torch") throw new RunError(`BUG: unknown peer ${args.peer}`);
  const result = await peerBench({
    modelPath: args.model ?? QUICKSTART_MODEL,
    batch: args.batch ?? 16,
    frames: args.frames ?? 8,
    threads: (args.provider ?? "cpu") === "cpu" ? (args.threads ?? [1, 2]) : [1],
    provider: args.provider,
    deviceStep: args.deviceStep,
    peerUploads: args.peerUpload,
    pixelClips: args.pixelClips,
    stepsPerCall: args.stepsPerCall,
    rounds: args.rounds ?? (args.quick ? 5 : 30),
    log: (line) => process.stderr.write(line + "\n"),
  });
  process.stdout.write(formatPeerBench(result) + "\n");
  if (args.json) writeBenchJson(args.json, result);
}
