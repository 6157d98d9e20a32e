/**
 * The normalisation arithmetic batch_norm and group_norm share, on a view of x whose `axes` are
 * the elements of one statistic (batch_norm: one frame's clips and pixels of a channel;
 * group_norm: one example's channels of a group and their pixels):
 *   forward  xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps)  (biased variance)
 *   backward dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
 * Plain ONNX ops (ReduceMean, Sub, Mul, Sqrt, Reciprocal) so that every target runs them.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";

export interface Normalised {
  mean: string;
  /** Biased variance, as the normalisation uses it. */
  variance: string;
  invstd: string;
  xhat: string;
}

export function normalise(g: GraphBuilder, x: string, axes: number[], eps: number): Normalised {
  const mean = g.op("ReduceMean", [x], { axes, keepdims: 1 });
  const centred = g.op("Sub", [x, mean]);
  const variance = g.op("ReduceMean", [g.op("Mul", [centred, centred])], { axes, keepdims: 1 });
  const invstd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, g.constFloat("eps", [eps], [])])])]);
  return { mean, variance, invstd, xhat: g.op("Mul", [centred, invstd]) };
}

/** dx of xhat = normalise(x) given dxhat, in the same view (axes as for normalise). */
export function normaliseVjp(g: GraphBuilder, dxhat: string, n: Pick<Normalised, "xhat" | "invstd">, axes: number[]): string {
  const meanD = g.op("ReduceMean", [dxhat], { axes, keepdims: 1 });
  const meanDX = g.op("ReduceMean", [g.op("Mul", [dxhat, n.xhat])], { axes, keepdims: 1 });
  return g.op("Mul", [n.invstd, g.op("Sub", [g.op("Sub", [dxhat, meanD]), g.op("Mul", [n.xhat, meanDX])])]);
}

/** gamma or beta [C] as [C, 1, ..., 1] so that it broadcasts over the `trailing` dims after C. */
export function perChannel(g: GraphBuilder, value: string, channels: number, trailing: number): string {
  return g.op("Reshape", [value, g.constInt64("per_channel", [channels, ...Array<number>(trailing).fill(1)])]);
}

/** Sum of `value` over every axis but the channel axis `channelAxis` of a `rank`-D tensor, as [C]. */
export function sumPerChannel(g: GraphBuilder, value: string, rank: number, channelAxis: number): string {
  const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== channelAxis);
  return g.op("ReduceSum", [value, g.constInt64("axes", axes)], { keepdims: 0 });
}
