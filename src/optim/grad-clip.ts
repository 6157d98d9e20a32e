/**
 * Gradient clipping by the total L2 norm (train.grad_clip_norm), as
 * torch.nn.utils.clip_grad_norm_(parameters, max_norm) with norm_type 2:
 *   norm = sqrt(sum over every parameter's every element of g^2)
 *   g = g * min(1, max_norm / (norm + 1e-6))
 * over the gradients the optimizer is about to take (BP's mean over frames, Sideways' G_k; after
 * data-parallel replicas have averaged theirs, as with DistributedDataParallel). Two forms of one
 * rule: on the host for the executors, and as graph nodes for the device step.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";

/** PyTorch's clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_NORM_EPS = 1e-6;

/** The factor clipping multiplies every gradient by: min(1, maxNorm / (norm + 1e-6)). */
export function clipFactor(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + CLIP_NORM_EPS));
}

/**
 * Scales `grads` in place so that their total L2 norm is at most `maxNorm` (each element rounded
 * to float32 once); returns the norm before clipping, summed in float64.
 */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let squares = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) squares += g[i]! * g[i]!;
  const norm = Math.sqrt(squares);
  const factor = clipFactor(norm, maxNorm);
  if (factor < 1) for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * factor;
  return norm;
}

/**
 * The same on a flat gradient vector `grad` in a graph, in float32: returns the clipped gradient
 * and the norm before clipping ([1]). ReduceSumSquare over the whole vector, then Sqrt, Add, Div and
 * Min give the factor, one Mul applies it (a factor of exactly 1 leaves each element as it was).
 */
export function addGradClip(g: GraphBuilder, grad: string, maxNorm: number): { grad: string; norm: string } {
  const norm = g.op("Sqrt", [g.op("ReduceSumSquare", [grad], { keepdims: 1 })]);
  const ratio = g.op("Div", [g.constFloat("clip_max_norm", [maxNorm], [1]), g.op("Add", [norm, g.constFloat("clip_eps", [CLIP_NORM_EPS], [1])])]);
  const factor = g.op("Min", [ratio, g.constFloat("clip_one", [1], [1])]);
  return { grad: g.op("Mul", [grad, factor]), norm };
}
