/** A float32 tensor as it travels between the orchestrator, workers and onnxruntime. */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** An 8-bit tensor: clips as pixels, fed to a graph input of type uint8 (ClipPixels). */
export interface ByteTensor {
  data: Uint8Array;
  dims: number[];
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
