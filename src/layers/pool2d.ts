/** Shape rules shared by maxpool2d and avgpool2d (PyTorch: stride defaults to kernel, ceil_mode false). */
import { LayerShapeError, checkKernelFits, imageShape, windowOut } from "./layer-def.js";

export interface PoolSpec {
  type: "maxpool2d" | "avgpool2d";
  kernel: number;
  stride?: number;
  padding: number;
}

export interface PoolGeometry {
  kernel: number;
  stride: number;
  padding: number;
  kernelShape: number[];
  strides: number[];
  pads: number[];
}

export function poolGeometry(spec: PoolSpec): PoolGeometry {
  const { kernel, padding } = spec;
  const stride = spec.stride ?? kernel;
  return { kernel, stride, padding, kernelShape: [kernel, kernel], strides: [stride, stride], pads: [padding, padding, padding, padding] };
}

export function poolOutShape(spec: PoolSpec, inShape: readonly number[]): number[] {
  const [c, h, w] = imageShape(spec.type, inShape);
  const { kernel, stride, padding } = poolGeometry(spec);
  // PyTorch rejects this too ("pad should be at most half of effective kernel size").
  if (padding > Math.floor(kernel / 2)) {
    throw new LayerShapeError(`padding ${padding} is more than half of kernel ${kernel}`);
  }
  checkKernelFits(kernel, padding, h, w);
  return [c, windowOut(h, kernel, stride, padding), windowOut(w, kernel, stride, padding)];
}
