/**
 * The normalisation arithmetic batch_norm and group_norm share, on a view of x whose `axes` are
 * the elements of one statistic (batch_norm: one frame's clips and pixels of a channel;
 * group_norm: one example's channels of a group and their pixels):
 *   forward  xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps)  (biased variance)
 *   backward dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
 * Plain ONNX ops (ReduceMean, Sub, Mul, Sqrt, Reciprocal) so that every target runs them.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { ParamShape } from "./layer-def.js";

/** A normalisation's per-channel affine parameters, as PyTorch's BatchNorm2d and GroupNorm: weight 1, bias 0. */
export function affineParams(channels: number): ParamShape[] {
  return [
    { suffix: "weight", shape: [channels], fanIn: channels, init: 1 },
    { suffix: "bias", shape: [channels], fanIn: channels, init: 0 },
  ];
}

export interface Normalised {
  mean: string;
  /** x - mean. */
  centred: string;
  /** Biased variance, as the normalisation uses it. */
  variance: string;
  invstd: string;
  xhat: string;
}

/**
 * The mean over `axes` (keepdims) of a `rank`-D value: the trailing (contiguous) axes first, then
 * the others on the much smaller result. The same mean (equal counts per group); onnxruntime's
 * CPU reduction over axes interleaved with kept ones is several times slower than this.
 */
export function meanOver(g: GraphBuilder, x: string, axes: number[], rank: number): string {
  let t = rank;
  while (axes.includes(t - 1)) t--;
  const trailing = axes.filter((a) => a >= t);
  const rest = axes.filter((a) => a < t);
  if (trailing.length === 0 || rest.length === 0) return g.op("ReduceMean", [x], { axes, keepdims: 1 });
  return g.op("ReduceMean", [g.op("ReduceMean", [x], { axes: trailing, keepdims: 1 })], { axes: rest, keepdims: 1 });
}

export function normalise(g: GraphBuilder, x: string, axes: number[], eps: number, rank: number): Normalised {
  const mean = meanOver(g, x, axes, rank);
  const centred = g.op("Sub", [x, mean]);
  const variance = meanOver(g, g.op("Mul", [centred, centred]), axes, rank);
  const invstd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, g.constFloat("eps", [eps], [])])])]);
  return { mean, centred, variance, invstd, xhat: g.op("Mul", [centred, invstd]) };
}

/** dx of xhat = normalise(x) given dxhat, in the same view (axes as for normalise). */
export function normaliseVjp(g: GraphBuilder, dxhat: string, n: Pick<Normalised, "xhat" | "invstd">, axes: number[], rank: number): string {
  const meanD = meanOver(g, dxhat, axes, rank);
  const meanDX = meanOver(g, g.op("Mul", [dxhat, n.xhat]), axes, rank);
  return g.op("Mul", [n.invstd, g.op("Sub", [g.op("Sub", [dxhat, meanD]), g.op("Mul", [n.xhat, meanDX])])]);
}

/** gamma or beta [C] as [C, 1, ..., 1] so that it broadcasts over the `trailing` dims after C. */
export function perChannel(g: GraphBuilder, value: string, channels: number, trailing: number): string {
  return g.op("Reshape", [value, g.constInt64("per_channel", [channels, ...Array<number>(trailing).fill(1)])]);
}

/** Sum of `value` over every axis but the channel axis `channelAxis` of a `rank`-D tensor, as [C]. */
export function sumPerChannel(g: GraphBuilder, value: string, rank: number, channelAxis: number): string {
  const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== channelAxis);
  const sum = (x: string, over: number[]) => g.op("ReduceSum", [x, g.constInt64("axes", over)], { keepdims: 0 });
  const trailing = axes.filter((a) => a > channelAxis);
  const leading = axes.filter((a) => a < channelAxis);
  if (g.target.channelSums !== "staged" || trailing.length === 0 || leading.length === 0) return sum(value, axes);
  // The trailing axes first (contiguous), leaving [..leading, C]; then the leading ones (contiguous too).
  return sum(sum(value, trailing), leading);
}
