/**
 * The only module that runs onnxruntime-node (loaded through ort-loader.ts, which picks the build).
 * One GraphSession per ONNX graph, created once per run and reused for every call.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type ortTypes from "onnxruntime-node";
import { InputError, ProviderError, RunError } from "../errors.js";
import { GraphBuilder, PORTABLE_TARGET } from "../graph/graph-builder.js";
import type { ByteTensor, Tensor } from "../tensor.js";
import { cudaProviderLoadError } from "./cuda-install.js";
import { withProcessLock } from "./device-lock.js";
import { type Ort, ortFor } from "./ort-loader.js";
import { CUDA_HELP, type ProviderOptions } from "./providers.js";

export type Feeds = Record<string, Tensor | ByteTensor>;
export type Outputs = Record<string, Tensor>;

/**
 * Runs `fn` under the process-wide lock its provider needs (device-lock.ts): on WebGPU every call;
 * on CUDA a session's `setup` (its creation and first run). SIDEWAYS_CUDA_SETUP_LOCK=off drops the
 * CUDA one, only for its A/B (scripts/cuda-setup-lock-ab.sh, docs/GPU.md).
 */
function onDevice<T>(opts: ProviderOptions, fn: () => Promise<T>, setup = false): Promise<T> {
  if (opts.provider === "webgpu") return withProcessLock("webgpu", fn);
  if (opts.provider === "cuda" && setup && process.env.SIDEWAYS_CUDA_SETUP_LOCK !== "off") return withProcessLock("cuda-setup", fn);
  return fn();
}

/**
 * SIDEWAYS_ORT_PROFILE=DIR: onnxruntime writes a per-node trace of every session into DIR (when
 * the session is released); scripts/ort-profile-summary.mjs sums it by operator.
 */
function profiling(label: string): Partial<ortTypes.InferenceSession.SessionOptions> {
  const dir = process.env.SIDEWAYS_ORT_PROFILE;
  return dir ? { enableProfiling: true, profileFilePrefix: join(dir, label.replace(/[^A-Za-z0-9_.-]+/g, "_")) } : {};
}

function sessionOptions(opts: ProviderOptions): ortTypes.InferenceSession.SessionOptions {
  const threads = opts.threads ?? 1;
  const ep: ortTypes.InferenceSession.ExecutionProviderConfig =
    opts.provider === "cuda"
      ? { name: "cuda", deviceId: opts.deviceId ?? 0 }
      : opts.provider === "webgpu"
        ? { name: "webgpu" }
        : { name: "cpu" };
  return {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // Idle intra-op threads spin by default; with one session per graph in one process that
    // steals cores from the sessions actually running (measured in onnxruntime-node.md).
    extra: { session: { "intra_op.allow_spinning": "0" } },
  };
}

/**
 * The graph as a session of `opts`'s provider rewrites it (all levels: on the CPU NCHWc included,
 * on a GPU the copies between host and device it inserts), serialized. onnxruntime-node can only
 * write the optimized model to a file, so this goes through a temp dir.
 */
export async function optimizedGraph(bytes: Uint8Array, opts: ProviderOptions): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "sideways-opt-"));
  try {
    const file = join(dir, "optimized.onnx");
    const ort = await ortFor(opts.provider);
    const session = await onDevice(opts, () => ort.InferenceSession.create(bytes, { ...sessionOptions(opts), optimizedModelFilePath: file }), true);
    await onDevice(opts, () => session.release());
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The graph as onnxruntime's CPU optimizer rewrites it, on one thread (optimizedGraph). */
export function cpuOptimizedGraph(bytes: Uint8Array): Promise<Uint8Array> {
  return optimizedGraph(bytes, { provider: "cpu", threads: 1 });
}

/**
 * A tensor left where the session put it, to be fed to the next run without passing through
 * JavaScript: on WebGPU a GPU buffer (`preferredOutputLocation: 'gpu-buffer'`, the one kind of
 * device output onnxruntime-node has; docs/design/onnxruntime-node.md), elsewhere onnxruntime's
 * own host tensor. Read it with GraphSession.read.
 */
export interface DeviceValue {
  readonly dims: readonly number[];
  /** @internal the onnxruntime tensor; only this module looks inside. */
  readonly value: ortTypes.Tensor;
}

export class GraphSession {
  /** An Identity graph on the same provider, per list of shapes, that copies GPU buffers to host (read). */
  private readers = new Map<string, GraphSession>();
  /** Whether a run has been made: the first is part of the session's setup (onDevice). */
  private ran = false;

  private constructor(
    private readonly ort: Ort,
    private readonly session: ortTypes.InferenceSession,
    readonly label: string,
    private readonly opts: ProviderOptions,
  ) {}

  /**
   * `deviceOutputs`: outputs runDevice returns as DeviceValues, kept on the GPU where the provider
   * can (WebGPU); the other outputs come back to host memory as usual.
   */
  static async create(bytes: Uint8Array, label: string, opts: ProviderOptions, deviceOutputs: readonly string[] = []): Promise<GraphSession> {
    let ort: Ort;
    try {
      ort = await ortFor(opts.provider);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new ProviderError(`cannot load onnxruntime for ${opts.provider}: ${err instanceof Error ? err.message : err}`);
    }
    try {
      const placement: Partial<ortTypes.InferenceSession.SessionOptions> =
        opts.provider === "webgpu" && deviceOutputs.length > 0 ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((n) => [n, "gpu-buffer" as const])) } : {};
      return new GraphSession(ort, await onDevice(opts, () => ort.InferenceSession.create(bytes, { ...sessionOptions(opts), ...profiling(label), ...placement }), true), label, opts);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (opts.provider === "cuda") {
        const why = msg.includes("Failed to load shared library") ? cudaProviderLoadError() : null;
        throw new ProviderError(`cannot create a CUDA session for ${label}: ${msg}${why ? ` (${why})` : ""}\n${CUDA_HELP}`);
      }
      if (opts.provider === "webgpu") {
        throw new ProviderError(`cannot create a WebGPU session for ${label}: ${msg}\nUse runtime.provider=cpu if this machine has no GPU.`);
      }
      throw new RunError(`BUG: onnxruntime rejected graph ${label}: ${msg}`, { cause: err });
    }
  }

  /** One run of the session, its first as setup. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const result = await onDevice(this.opts, fn, !this.ran);
    this.ran = true;
    return result;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph. Feed arrays must not be mutated until the promise settles. */
  async run(feeds: Feeds): Promise<Outputs> {
    let results: ortTypes.InferenceSession.ReturnType;
    try {
      results = await this.call(() => this.session.run(this.ortFeeds(feeds)));
    } catch (err) {
      const shapes = Object.entries(feeds).map(([n, t]) => `${n}[${t.dims.join(",")}]`).join(" ");
      throw new RunError(`onnxruntime failed in ${this.label} with inputs ${shapes}: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
    const out: Outputs = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return out;
  }

  /** Host feeds as onnxruntime tensors (views of the same arrays, no copy). */
  private ortFeeds(feeds: Feeds): Record<string, ortTypes.Tensor> {
    const out: Record<string, ortTypes.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) out[name] = t.data instanceof Uint8Array ? new this.ort.Tensor("uint8", t.data, t.dims) : new this.ort.Tensor("float32", t.data, t.dims);
    return out;
  }

  /** A host tensor as a DeviceValue, for a first runDevice (onnxruntime uploads it on that run). */
  toDevice(t: Tensor): DeviceValue {
    return { dims: t.dims, value: new this.ort.Tensor("float32", t.data, t.dims) };
  }

  /**
   * Runs the graph on host `feeds` and `device` values (from toDevice or an earlier runDevice);
   * the outputs named at create() come back as DeviceValues, the others as host tensors.
   */
  async runDevice(feeds: Feeds, device: Readonly<Record<string, DeviceValue>>, deviceOutputs: readonly string[]): Promise<{ host: Outputs; device: Record<string, DeviceValue> }> {
    let results: ortTypes.InferenceSession.ReturnType;
    try {
      const ortFeeds = this.ortFeeds(feeds);
      for (const [name, v] of Object.entries(device)) ortFeeds[name] = v.value;
      results = await this.call(() => this.session.run(ortFeeds));
    } catch (err) {
      throw new RunError(`onnxruntime failed in ${this.label}: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
    const kept = new Set(deviceOutputs);
    const host: Outputs = {};
    const out: Record<string, DeviceValue> = {};
    for (const [name, t] of Object.entries(results)) {
      if (kept.has(name)) out[name] = { dims: t.dims.map(Number), value: t };
      else host[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return { host, device: out };
  }

  /**
   * Host copies of device values. A GPU buffer goes through an Identity graph whose outputs are on
   * the host: onnxruntime-node's Tensor.getData() aborts the process on them (no downloader).
   */
  async read(values: Readonly<Record<string, DeviceValue>>): Promise<Outputs> {
    const names = Object.keys(values);
    const out: Outputs = {};
    const onGpu = names.filter((n) => values[n].value.location === "gpu-buffer");
    for (const n of names.filter((n) => !onGpu.includes(n))) out[n] = { data: Float32Array.from(values[n].value.data as Float32Array), dims: [...values[n].dims] };
    if (onGpu.length === 0) return out;
    const key = onGpu.map((n) => values[n].dims.join("x")).join(" ");
    let reader = this.readers.get(key);
    if (!reader) {
      const g = new GraphBuilder(`${this.label} read`, PORTABLE_TARGET);
      onGpu.forEach((n, i) => g.outputFixed(g.op("Identity", [g.inputFixed(`in${i}`, values[n].dims)]), values[n].dims, `out${i}`));
      reader = await GraphSession.create(g.toBytes(), `${this.label} read`, this.opts);
      this.readers.set(key, reader);
    }
    const results = await onDevice(this.opts, () => reader.session.run(Object.fromEntries(onGpu.map((n, i) => [`in${i}`, values[n].value]))));
    onGpu.forEach((n, i) => (out[n] = { data: results[`out${i}`].data as Float32Array, dims: [...values[n].dims] }));
    return out;
  }

  /** Whether a device value lives in GPU memory. */
  static onGpu(v: DeviceValue): boolean {
    return v.value.location === "gpu-buffer";
  }

  /** Frees a device value's GPU buffer now rather than at garbage collection (no-op on the host). */
  static dispose(v: DeviceValue): void {
    if (v.value.location === "gpu-buffer") v.value.dispose();
  }

  async release(): Promise<void> {
    for (const r of this.readers.values()) await r.release();
    await onDevice(this.opts, () => this.session.release());
  }
}
