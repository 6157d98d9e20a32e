/**
 * Runs a group of tests once per GPU execution provider. Where a provider does not work on this
 * machine the group is skipped with the reason printed (never silently), unless SIDEWAYS_TEST_GPU
 * lists it (e.g. SIDEWAYS_TEST_GPU=webgpu in CI, which installs a software Vulkan driver): then
 * its absence fails the suite.
 * - webgpu: onnxruntime-node's built-in WebGPU EP (a Vulkan driver: a GPU's, or Mesa's lavapipe).
 * - cuda: only where this process runs the CUDA build (SIDEWAYS_ORT=cuda13, after
 *   `sideways gpu install cuda13`; src/runtime/ort-loader.ts), since one process loads one build.
 */
import type { GraphTarget } from "../../src/graph/graph-builder.js";
import { graphTargetFor } from "../../src/runtime/nchwc-probe.js";
import { probeProvider } from "../../src/runtime/probe.js";
import type { ProviderOptions } from "../../src/runtime/providers.js";

export interface GpuUnderTest {
  provider: "webgpu" | "cuda";
  opts: ProviderOptions;
  target: GraphTarget;
}

const GPU_PROVIDERS = ["webgpu", "cuda"] as const;
const availability = new Map<string, Promise<string | null>>();

function required(provider: string): boolean {
  return (process.env.SIDEWAYS_TEST_GPU ?? "").split(",").map((s) => s.trim()).includes(provider);
}

/** null when `provider` works here, else why not. */
function unavailableBecause(provider: GpuUnderTest["provider"]): Promise<string | null> {
  let p = availability.get(provider);
  if (p === undefined) {
    p = (async () => {
      if (provider === "cuda" && process.env.SIDEWAYS_ORT !== "cuda13") return "this process runs the bundled onnxruntime; run with SIDEWAYS_ORT=cuda13 after `sideways gpu install cuda13` (docs/GPU.md)";
      const r = await probeProvider({ provider });
      return r.ok ? null : r.reason;
    })();
    availability.set(provider, p);
  }
  return p;
}

/** describe(`${title} [provider]`) for each GPU provider, with `body` given that provider. */
export function describeOnGpus(title: string, body: (gpu: GpuUnderTest) => void): void {
  for (const provider of GPU_PROVIDERS) {
    const gpu: GpuUnderTest = { provider, opts: { provider, threads: 1 }, target: { nchwcBlock: 0, cpu: false } };
    describe(`${title} [${provider}]`, function () {
      before(async function () {
        const reason = await unavailableBecause(provider);
        if (reason !== null) {
          if (required(provider)) throw new Error(`${provider} is required here (SIDEWAYS_TEST_GPU) but does not work: ${reason}`);
          console.log(`      skipped on ${provider}: ${reason}`);
          this.skip();
        }
        gpu.target = await graphTargetFor(gpu.opts);
      });
      body(gpu);
    });
  }
}

/**
 * The relative tolerance of a check on `gpu` of values that pass through convolutions, where
 * `tight` is the check's own (it holds on the CPU and WebGPU). On CUDA it is the goals' 1e-3 for a
 * GPU update: onnxruntime-node leaves onnxruntime's cuDNN algorithm search at its default
 * (exhaustive, timed in each session), so which conv kernels a session runs changes from one
 * session to the next, and some of them round float32 more coarsely. On an H100 (docs/GPU.md
 * run 8, call 1) the same tests gave 1.6e-4 and 3.1e-4 from float64 and fused logits 2.0e-4
 * from the chained graphs' in 2 of 4 runs, within 2.2e-7 in the others; in call 2, 3.3e-4 in 1 of
 * 4 runs. Two sessions of one BP step graph ended 2.9e-8 apart after 33 steps (call 2). Run 15
 * (H100) gave the largest so far, 6.8e-4 from float64 and 7.0e-4 from the chained graphs'.
 */
export function convTolerance(gpu: GpuUnderTest, tight: number): number {
  return gpu.provider === "cuda" ? Math.max(tight, 1e-3) : tight;
}

/**
 * The same for a check of `gpu`'s float32 values after three steps on moving clips against the
 * CPU's float32 host path, tensor by tensor. On CUDA that gap is mostly the CUDA side's: cuDNN's
 * picks round each element of a gradient within about 1e-4 of it, and a conv's bias gradient (and
 * its Adam moment) sums a whole block's dy, whose terms cancel, so the error of that small sum is
 * relatively larger. Measured on H200s (docs/GPU.md runs 9 and 11): 1.42e-3 (a bias) and 1.49e-3
 * (the first moment of a first conv's bias), in 2 of 8 runs; 2e-3 leaves a third over the worst.
 */
export function betweenPathsTolerance(gpu: GpuUnderTest, tight: number): number {
  return gpu.provider === "cuda" ? Math.max(tight, 2e-3) : tight;
}
