/**
 * Execution providers: the one table mapping a config's `runtime.provider` to onnxruntime's
 * execution-provider option, and the advice shown when one cannot be set up.
 */
export const PROVIDERS = Object.freeze(["cpu", "cuda", "webgpu"] as const);
export type Provider = (typeof PROVIDERS)[number];

export interface ProviderOptions {
  provider: Provider;
  deviceId?: number;
  /** intra-op threads per session (docs/design/onnxruntime-node.md: 1 with many sessions). */
  threads?: number;
}

export const CUDA_HELP = [
  "The CUDA execution provider needs onnxruntime-node's CUDA libraries, which `npm ci` skips",
  "(.npmrc: ignore-scripts=true). With internet access and CUDA 12 + cuDNN 9 on the",
  "library path, install them with:",
  "  ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false",
  "or use runtime.provider=webgpu (built in) or runtime.provider=cpu. See README.md, 'GPU'.",
].join("\n");
