/**
 * Which onnxruntime-node build this process runs, loaded on first use.
 *
 * - "bundled": the package.json dependency (CPU and WebGPU execution providers built in).
 * - "cuda13": onnxruntime-node 1.29.0 with ONNX Runtime's CUDA-13 provider libraries, laid out by
 *   `sideways gpu install cuda13` (src/runtime/cuda-install.ts, docs/GPU.md). It also runs CPU
 *   and WebGPU sessions.
 *
 * Both builds ship a `libonnxruntime.so.1`; the dynamic linker would hand the second build's
 * binding the first build's library (same soname), so one process loads exactly one build: the
 * first session asked for decides (CUDA -> cuda13, else bundled) unless SIDEWAYS_ORT names one.
 * Worker threads decide the same way from the same provider options.
 */
import { createRequire } from "node:module";
import { ProviderError } from "../errors.js";
import { preloadCudaLibraries, readCudaInstall } from "./cuda-install.js";
import type { Provider } from "./providers.js";

export type Ort = typeof import("onnxruntime-node");
export const ORT_BUILDS = Object.freeze(["bundled", "cuda13"] as const);
export type OrtBuild = (typeof ORT_BUILDS)[number];

let loaded: { build: OrtBuild; ort: Ort } | null = null;

/** The build SIDEWAYS_ORT asks for, or null (decided by the first provider used). */
function requestedBuild(): OrtBuild | null {
  const v = process.env.SIDEWAYS_ORT;
  if (v === undefined || v === "") return null;
  if (!(ORT_BUILDS as readonly string[]).includes(v)) throw new ProviderError(`SIDEWAYS_ORT=${v}: expected one of ${ORT_BUILDS.join(", ")}`);
  return v as OrtBuild;
}

export function loadedOrtBuild(): OrtBuild | null {
  return loaded?.build ?? null;
}

/** The onnxruntime-node module for sessions on `provider`, loading a build on first use. */
export async function ortFor(provider: Provider): Promise<Ort> {
  const want = requestedBuild() ?? (loaded?.build ?? (provider === "cuda" ? "cuda13" : "bundled"));
  if (loaded !== null) {
    if (provider === "cuda" && loaded.build !== "cuda13") {
      readCudaInstall(); // not installed at all: say that first
      throw new ProviderError(
        "this process already runs the bundled onnxruntime (CPU/WebGPU), which has no CUDA provider; " +
          "run CUDA work in its own process, or set SIDEWAYS_ORT=cuda13 to use the CUDA build for everything",
      );
    }
    return loaded.ort;
  }
  const ort = want === "cuda13" ? loadCuda13(provider === "cuda" ? "runtime.provider: cuda" : "SIDEWAYS_ORT=cuda13") : ((await import("onnxruntime-node")).default as unknown as Ort);
  // onnxruntime's own log lines (e.g. a missing CUDA library) would duplicate the errors we raise
  // with advice attached; its default logger is process-wide and set before first use.
  ort.env.logLevel = "fatal";
  loaded = { build: want, ort };
  return ort;
}

/** `askedBy`: the setting that wants the CUDA build, named if it is not installed (readCudaInstall). */
function loadCuda13(askedBy: string): Ort {
  const install = readCudaInstall(undefined, askedBy);
  preloadCudaLibraries(install);
  const require = createRequire(install.packageJson);
  return require("onnxruntime-node") as Ort;
}
