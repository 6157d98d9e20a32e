/**
 * Two Conv shapes onnxruntime-node 1.30's WebGPU EP computes wrong (docs/GPU.md "WebGPU EP
 * faults"; found 2026-11-27 on lavapipe against the CPU provider, relative errors 0.5-4;
 * ConvTranspose has neither fault):
 *   channels: C > 3 input channels with C % 3 = 0 and C % 4 != 0, a multiple of 4 output
 *     channels, and anything but a pointwise conv (1x1, stride 1, no padding): every C from 1 to
 *     72 compared at K = 3, K 1-5 at C = 6, and every C 1-24 at K 1-2 and strides 1-3;
 *   end padding: an input exactly K x K with no padding before and some after (K 2-4 compared).
 * A target that sets GraphTarget.avoidWebGpuConvFaults writes such a Conv another way with the
 * same values: zero channels added to its input and weight up to a multiple of 4 (a zero channel
 * adds 0 * w = 0 to each sum), or a padding row and column before it whose outputs are dropped.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";

/** A Conv's channels and geometry, as the fault rules read them. */
export interface ConvShape {
  c: number;
  m: number;
  kernel: number;
  stride: number;
  /** The `pads` attribute, [top, left, bottom, right]. */
  pads: readonly number[];
}

/** Whether the WebGPU EP miscomputes this Conv (the channel fault). */
export function hitsWebGpuChannelFault({ c, m, kernel, stride, pads }: ConvShape): boolean {
  const pointwise = kernel === 1 && stride === 1 && pads.every((p) => p === 0);
  return c > 3 && c % 3 === 0 && c % 4 !== 0 && m % 4 === 0 && !pointwise;
}

/** A Conv's input (N, C, H, W) and weight (M, C, K, K) as the target needs them (the channel fault). */
export function convInputsFor(g: GraphBuilder, x: string, weight: string, shape: ConvShape): [string, string] {
  if (!g.target.avoidWebGpuConvFaults || !hitsWebGpuChannelFault(shape)) return [x, weight];
  const pads = g.constInt64("channel_pads", [0, 0, 0, 0, 0, 4 - (shape.c % 4), 0, 0]);
  return [g.op("Pad", [x, pads]), g.op("Pad", [weight, pads])];
}

/**
 * A stride-1 Conv's `pads` ([top, left, bottom, right]) over an input of `size` [h, w], as the
 * target needs them (the end-padding fault), and how many leading output rows and columns to
 * drop after it: on such a target, an input exactly K x K padded only after it gets one row and
 * column of padding before as well (every case with padding before was right), whose outputs a
 * Slice drops. (An explicit Pad before the Conv does not help: onnxruntime's optimizer folds a
 * Pad into the Conv's own padding.)
 */
export function convPaddingFor(g: GraphBuilder, pads: [number, number, number, number], size: [number, number], kernel: number): { pads: [number, number, number, number]; crop: number } {
  const [top, left, bottom, right] = pads;
  const faulty = top === 0 && left === 0 && (bottom > 0 || right > 0) && size[0] === kernel && size[1] === kernel;
  if (!g.target.avoidWebGpuConvFaults || !faulty) return { pads, crop: 0 };
  return { pads: [1, 1, bottom, right], crop: 1 };
}

/** `y` (N, C, H, W) without its first `crop` rows and columns (convPaddingFor's). */
export function cropLeading(g: GraphBuilder, y: string, crop: number): string {
  if (crop === 0) return y;
  return g.op("Slice", [y, g.constInt64("crop_from", [crop, crop]), g.constInt64("crop_to", [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]), g.constInt64("axes_hw", [2, 3])]);
}
