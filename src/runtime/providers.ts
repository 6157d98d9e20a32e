/**
 * Execution providers: the one table mapping a config's `runtime.provider` to onnxruntime's
 * execution-provider option, and the advice shown when one cannot be set up.
 */
export const PROVIDERS = Object.freeze(["cpu", "cuda", "webgpu"] as const);
export type Provider = (typeof PROVIDERS)[number];

export interface ProviderOptions {
  provider: Provider;
  deviceId?: number;
  /** One device per depth-parallel stage, round-robin (stageProvider). */
  stageDeviceIds?: readonly number[];
  /** intra-op threads per session (docs/design/onnxruntime-node.md: 1 with many sessions). */
  threads?: number;
}

export const CUDA_HELP = [
  "The CUDA execution provider runs on a separate onnxruntime build with CUDA 13 libraries: install it once",
  "with `sideways gpu install cuda13` (it needs CUDA 13 + cuDNN 9, e.g. from PyTorch's cu130 wheels), and",
  "`sideways doctor` lists what this machine has. Or use runtime.provider=webgpu (built in) or cpu. See docs/GPU.md.",
].join("\n");

/**
 * The provider options of depth-parallel stage `stage`: `stageDeviceIds` (runtime.device_id given
 * as a list) places the stages on GPUs round-robin; otherwise every stage shares `deviceId`.
 */
export function stageProvider(opts: ProviderOptions, stage: number): ProviderOptions {
  const ids = opts.stageDeviceIds;
  return ids === undefined || ids.length === 0 ? opts : { ...opts, deviceId: ids[stage % ids.length] };
}
