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
