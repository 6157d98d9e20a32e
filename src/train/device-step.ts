/**
 * BP or Sideways training with the weights and optimizer state kept by onnxruntime between steps
 * (`runtime.device_step`; docs/GPU.md "Where the graphs are placed"). Each step is one call of the
 * device step graph (device-step-graph.ts): the clip batch and labels go in, each frame's loss and
 * the batch-norm statistics come out, and the stepped parameters and optimizer state stay where the
 * call left them and are fed to the next call as they are. On WebGPU they stay in GPU buffers;
 * on the CUDA and CPU providers onnxruntime-node can only return host tensors, which are still fed
 * back without any work in JavaScript (no gradient accumulation, no TypeScript optimizer).
 *
 * The host's Weights map and Optimizer are stale while the device step trains: sync() copies the
 * device's values back before anything reads them (evaluation, checkpoints, the final weights),
 * and load() puts host values on the device (the start, a resume).
 */
import { callName, chainCalls } from "../graph/chain-calls.js";
import { type GraphTarget } from "../graph/graph-builder.js";
import { CLIPS_PER_FRAME } from "../layers/layer-def.js";
import { blockStatKeys, statValueName } from "../layers/block-graphs.js";
import { checkLabels, oneHotRows } from "../layers/softmax-cross-entropy.js";
import type { BlockStats } from "../model/buffers.js";
import type { Model, Weights } from "../model/model.js";
import type { ClipBatch } from "../data/source.js";
import type { Optimizer } from "../optim/optimizer.js";
import { countsSteps, optimizerScalars, optimizerSlots } from "../optim/optimizer-graph.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { GraphSession, type DeviceValue, type Feeds } from "../runtime/session.js";
import { usesDeviceStep, type ExperimentSpec, type OptimizerSpec } from "../spec/experiment-spec.js";
import { SpecError } from "../errors.js";
import { buildClipRowsGraph, buildDeviceStepGraph, carriedNames, CLIP_ROWS, DEVICE_STEP_NAMES, FLAT_PARAMS, forwardFrames, nextName, paramLayout, stateName, type ClipInput, type DeviceStepMethod } from "./device-step-graph.js";

/**
 * Why a run the spec allows the device step for (experiment-spec.ts deviceStepBlocker) still cannot
 * use it with this model and clip length, or null: Sideways' whole-clip graph needs every block to
 * get a gradient (T >= 2L-1; block-graphs.ts addSidewaysClip).
 */
export function deviceStepModelBlocker(method: string, blocks: number, frames: number): string | null {
  if (method === "sideways" && frames < 2 * blocks - 1) {
    return `Sideways' device step needs clips of at least 2L-1 = ${2 * blocks - 1} frames for ${blocks} blocks (every block gets a gradient), got ${frames}`;
  }
  return null;
}

/**
 * Whether a run trains with the device step: runtime.device_step as the spec resolves it
 * (usesDeviceStep), where this model and clip length allow it. `auto` falls back to the executor
 * where they do not; `true` there is a SpecError naming the key, from `run` as from `validate`.
 */
export function trainsOnDevice(spec: Pick<ExperimentSpec, "train" | "runtime" | "diagnostics">, blocks: number, frames: number): boolean {
  if (!usesDeviceStep(spec)) return false;
  const blocker = deviceStepModelBlocker(spec.train.method, blocks, frames);
  if (blocker === null) return true;
  if (spec.runtime.device_step === true) throw new SpecError(`runtime.device_step: expected false or auto: ${blocker}`, undefined, "runtime.device_step");
  if (spec.runtime.steps_per_call > 1) throw new SpecError(`runtime.steps_per_call: expected 1 (only the device step chains steps in one call, and this run falls back from it: ${blocker}), found ${spec.runtime.steps_per_call}`, undefined, "runtime.steps_per_call");
  return false;
}

export interface DeviceStepResult {
  /** One loss per frame that reached the loss, in frame order (as the executor's). */
  losses: number[];
  stats: BlockStats[];
  /** Seconds inside onnxruntime. */
  busySeconds: number;
  /** With train.grad_clip_norm: the gradient's total norm before clipping. */
  gradNorm?: number;
}

export class DeviceStep {
  private carried: Record<string, DeviceValue> = {};
  /** Optimizer steps taken so far (Adam's bias correction); every parameter steps every time. */
  private stepsTaken = 0;
  private readonly names: string[];
  private readonly nextNames: string[];
  private readonly statKeys: Map<number, string[]>;
  private readonly layout: ReturnType<typeof paramLayout>;

  /** The session of each number of steps per call used so far (the first: stepsPerCall's). */
  private readonly sessions = new Map<number, GraphSession>();

  private constructor(
    private readonly model: Model,
    private readonly optimizer: OptimizerSpec,
    private readonly frames: number,
    private readonly session: GraphSession,
    readonly method: DeviceStepMethod,
    /** How each step takes its clips: float32, or as their 8-bit pixels (every batch must carry them). */
    readonly clipInput: ClipInput,
    /** Steps a call takes at most (graph/chain-calls.ts): a call of fewer (a run's steps before an evaluation) gets a session of its own (prepare). */
    readonly stepsPerCall: number,
    /** The session of `k` steps per call. */
    private readonly createSession: (k: number) => Promise<GraphSession>,
    /** train.label_smoothing: the targets fed to the graph's head (softmax-cross-entropy.ts oneHotRows). */
    private readonly labelSmoothing: number,
  ) {
    this.sessions.set(stepsPerCall, session);
    this.names = carriedNames(optimizer);
    this.layout = paramLayout(model);
    this.nextNames = this.names.map(nextName);
    this.statKeys = new Map(model.blocks.map((b) => [b.index, blockStatKeys(b)]));
  }

  /**
   * The step graph of `method` for clips of `frames` frames taken as `clipInput`, built for `target`
   * and placed on `provider`; with `stepsPerCall` > 1, that many steps chained in one graph
   * (graph/chain-calls.ts), each on its own clip batch, for steps(). `gradClipNorm`:
   * train.grad_clip_norm, clipping inside the graph; `labelSmoothing`: train.label_smoothing, in
   * the targets fed to the graph (its loss and gradient are the host head's with them).
   */
  static async create(model: Model, optimizer: OptimizerSpec, frames: number, provider: ProviderOptions, target: GraphTarget, method: DeviceStepMethod = "bp", clipInput: ClipInput = "float32", stepsPerCall = 1, gradClipNorm?: number, labelSmoothing = 0): Promise<DeviceStep> {
    const carried = carriedNames(optimizer).map((input) => ({ input, output: nextName(input) }));
    const step = buildDeviceStepGraph(model, optimizer, frames, target, method, clipInput, gradClipNorm);
    const createSession = (k: number) => GraphSession.create(chainCalls(step, k, carried), `${model.name} ${method} device step${k > 1 ? ` x${k}` : ""}`, provider, carried.map((c) => c.output));
    return new DeviceStep(model, optimizer, frames, await createSession(stepsPerCall), method, clipInput, stepsPerCall, createSession, labelSmoothing);
  }

  /**
   * Puts `weights` and the optimizer's state on the device; a parameter without state gets zeros
   * (its first step). Adam's step counts must agree: this rule steps every parameter every time.
   */
  load(weights: Weights, optimizer: Optimizer): void {
    const state = optimizer.exportState();
    const counts = new Set(this.model.params.map((p) => state.get(stateName(p.name, "step"))?.[0] ?? 0));
    if (countsSteps(this.optimizer) && counts.size > 1) {
      throw new Error(`BUG: the device step needs one Adam step count for every parameter, found ${[...counts].join(", ")}`);
    }
    this.stepsTaken = [...counts][0] ?? 0;
    this.disposeCarried();
    const { offsets, total } = this.layout;
    const params = new Float32Array(total);
    const slots = new Map(optimizerSlots(this.optimizer).map((slot) => [slot, new Float32Array(total)]));
    this.model.params.forEach((p, i) => {
      const w = weights.get(p.name);
      if (!w) throw new Error(`BUG: no weights for ${p.name}`);
      params.set(w, offsets[i]);
      for (const [slot, values] of slots) {
        const s = state.get(stateName(p.name, slot));
        if (s) values.set(s, offsets[i]);
      }
    });
    this.carried[FLAT_PARAMS] = this.session.toDevice({ data: params, dims: [total] });
    for (const [slot, values] of slots) this.carried[stateName(FLAT_PARAMS, slot)] = this.session.toDevice({ data: values, dims: [total] });
  }

  /** One step of the rule on `batch` at learning rate `lr`: its forwards and backwards of the clip batch, then the optimizer. */
  async step(batch: ClipBatch, lr: number): Promise<DeviceStepResult> {
    return (await this.steps([batch], [lr]))[0];
  }

  /**
   * batches.length steps (at most stepsPerCall) in one call, step j on `batches[j]` at `lrs[j]`:
   * the same as that many step() calls, one after another. Each result's busySeconds is its share
   * of the call's.
   */
  async steps(batches: readonly ClipBatch[], lrs: readonly number[]): Promise<DeviceStepResult[]> {
    const k = batches.length;
    if (k < 1 || k > this.stepsPerCall || lrs.length !== k) throw new Error(`BUG: a device step of at most ${this.stepsPerCall} steps per call got ${k} batches and ${lrs.length} learning rates`);
    if (Object.keys(this.carried).length === 0) throw new Error("BUG: DeviceStep.steps before load");
    const session = await this.sessionOf(k);
    // Call j's own input or output: under its name in one step's graph, callName's in a chain.
    const at = (name: string, j: number) => (k === 1 ? name : callName(name, j));
    const feeds: Feeds = {};
    batches.forEach((batch, j) => {
      const [B, T] = batch.dims;
      if (T !== this.frames) throw new Error(`BUG: device step built for ${this.frames}-frame clips got ${T}`);
      // The one-hot rows of an out-of-range label are zero, which the graph's loss would count as 0.
      checkLabels(batch.labels, this.model.classes);
      const own: Feeds = { ...clipFeeds(batch, this.clipInput), [DEVICE_STEP_NAMES.onehot]: oneHotRows(batch.labels, this.model.classes, batch.labels.length, this.labelSmoothing), [DEVICE_STEP_NAMES.scale]: { data: Float32Array.of(1 / B), dims: [1] } };
      for (const [name, value] of Object.entries(optimizerScalars(this.optimizer, lrs[j], this.stepsTaken + j + 1))) own[name] = { data: Float32Array.of(value), dims: [1] };
      if (session.inputNames.includes(at(CLIPS_PER_FRAME, j))) own[CLIPS_PER_FRAME] = { data: Float32Array.of(B), dims: [1] };
      for (const [name, value] of Object.entries(own)) feeds[at(name, j)] = value;
    });
    const t0 = performance.now();
    const { host, device } = await session.runDevice(feeds, this.carried, this.nextNames);
    const busySeconds = (performance.now() - t0) / 1000 / k;
    const previous = this.carried;
    this.carried = Object.fromEntries(this.names.map((n, i) => [n, device[this.nextNames[i]]]));
    for (const v of Object.values(previous)) GraphSession.dispose(v);
    this.stepsTaken += k;

    return batches.map((batch, j) => {
      const [B, T] = batch.dims;
      const losses = Array.from(host[at(DEVICE_STEP_NAMES.losses, j)].data);
      const stats: BlockStats[] = [];
      for (const [k, keys] of this.statKeys) {
        if (keys.length > 0) stats.push({ block: k, clipsPerFrame: B, frames: forwardFrames(this.method, this.model, T, k), values: new Map(keys.map((key) => [key, host[at(statValueName(k, key), j)].data])) });
      }
      const gradNorm = host[at(DEVICE_STEP_NAMES.gradNorm, j)]?.data[0];
      return { losses, stats, busySeconds, ...(gradNorm === undefined ? {} : { gradNorm }) };
    });
  }

  /** Builds the sessions of calls of `lengths` steps now, so that no step waits for one (a run's calls before evaluations and checkpoints). */
  async prepare(lengths: readonly number[]): Promise<void> {
    for (const k of lengths) await this.sessionOf(k);
  }

  /** The call lengths whose sessions are built, shortest first. */
  get builtLengths(): number[] {
    return [...this.sessions.keys()].sort((a, b) => a - b);
  }

  private async sessionOf(k: number): Promise<GraphSession> {
    let session = this.sessions.get(k);
    if (!session) this.sessions.set(k, (session = await this.createSession(k)));
    return session;
  }

  /** Where the carried weights and state are between steps: GPU memory (WebGPU) or host memory. */
  get placement(): "gpu" | "host" {
    return Object.values(this.carried).some((v) => GraphSession.onGpu(v)) ? "gpu" : "host";
  }

  /** Copies the device's parameters into `weights` and its optimizer state into `optimizer`. */
  async sync(weights: Weights, optimizer: Optimizer): Promise<void> {
    const values = await this.session.read(this.carried);
    const { offsets, sizes } = this.layout;
    const part = (name: string, i: number) => values[name].data.slice(offsets[i], offsets[i] + sizes[i]);
    const state = new Map<string, Float32Array>();
    this.model.params.forEach((p, i) => {
      weights.get(p.name)!.set(part(FLAT_PARAMS, i));
      for (const slot of optimizerSlots(this.optimizer)) state.set(stateName(p.name, slot), part(stateName(FLAT_PARAMS, slot), i));
      if (countsSteps(this.optimizer)) state.set(stateName(p.name, "step"), Float32Array.of(this.stepsTaken));
    });
    // Before the first step there is no state to give back (optimizer.ts creates it on a first step).
    if (this.stepsTaken > 0) optimizer.importState(state);
  }

  private disposeCarried(): void {
    for (const v of Object.values(this.carried)) GraphSession.dispose(v);
    this.carried = {};
  }

  async release(): Promise<void> {
    this.disposeCarried();
    for (const session of this.sessions.values()) await session.release();
  }
}

/** The batch's clips as a step taking `clipInput` is fed them. */
function clipFeeds(batch: ClipBatch, clipInput: ClipInput): Feeds {
  if (clipInput === "float32") return { [DEVICE_STEP_NAMES.clips]: { data: batch.clips, dims: [...batch.dims] } };
  if (!batch.pixels) throw new Error("BUG: a device step built for 8-bit clips got a batch without pixels");
  const perChannel = [batch.dims[2], 1, 1];
  return {
    [DEVICE_STEP_NAMES.clips]: { data: batch.pixels.data, dims: [...batch.dims] },
    [DEVICE_STEP_NAMES.clipScale]: { data: batch.pixels.scale, dims: perChannel },
    [DEVICE_STEP_NAMES.clipShift]: { data: batch.pixels.shift, dims: perChannel },
  };
}

/**
 * The float32 time-major rows [T B, ...frame] that a step taking 8-bit clips makes of `batch`'s
 * pixels on `provider` (buildClipRowsGraph): to compare, bit for bit, with the host's float clips.
 */
export async function clipRowsOnDevice(batch: ClipBatch, provider: ProviderOptions): Promise<Float32Array> {
  const [, T, ...frame] = batch.dims;
  const session = await GraphSession.create(buildClipRowsGraph(T, frame), "8-bit clip input", provider);
  try {
    return (await session.run(clipFeeds(batch, "uint8")))[CLIP_ROWS].data;
  } finally {
    await session.release();
  }
}
