/**
 * The only module that imports onnxruntime-node. One GraphSession per ONNX graph, created once
 * per run and reused for every call.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { ProviderError, RunError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { CUDA_HELP, type ProviderOptions } from "./providers.js";

export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

// onnxruntime's own log lines (e.g. a missing CUDA library) would duplicate the errors we raise
// with advice attached; its default logger is process-wide and set from env before first use.
ort.env.logLevel = "fatal";

function sessionOptions(opts: ProviderOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? 1;
  const ep: ort.InferenceSession.ExecutionProviderConfig =
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
 * The graph as onnxruntime's CPU optimizer rewrites it (all levels, NCHWc included), serialized.
 * onnxruntime-node can only write the optimized model to a file, so this goes through a temp dir.
 */
export async function cpuOptimizedGraph(bytes: Uint8Array): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "sideways-opt-"));
  try {
    const file = join(dir, "optimized.onnx");
    const session = await ort.InferenceSession.create(bytes, { ...sessionOptions({ provider: "cpu", threads: 1 }), optimizedModelFilePath: file });
    await session.release();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class GraphSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
  ) {}

  static async create(bytes: Uint8Array, label: string, opts: ProviderOptions): Promise<GraphSession> {
    try {
      return new GraphSession(await ort.InferenceSession.create(bytes, sessionOptions(opts)), label);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (opts.provider === "cuda") {
        throw new ProviderError(`cannot create a CUDA session for ${label}: ${msg}\n${CUDA_HELP}`);
      }
      if (opts.provider === "webgpu") {
        throw new ProviderError(`cannot create a WebGPU session for ${label}: ${msg}\nUse runtime.provider=cpu if this machine has no GPU.`);
      }
      throw new RunError(`BUG: onnxruntime rejected graph ${label}: ${msg}`, { cause: err });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph. Feed arrays must not be mutated until the promise settles. */
  async run(feeds: Feeds): Promise<Outputs> {
    let results: ort.InferenceSession.ReturnType;
    try {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
      results = await this.session.run(ortFeeds);
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

  async release(): Promise<void> {
    await this.session.release();
  }
}
