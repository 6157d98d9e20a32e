/**
 * gelu: PyTorch's GELU, with its `approximate` argument (the spec's key; absent is "none").
 *
 * approximate none (exact): y = x * Phi(x), Phi the standard normal CDF, 0.5 * (1 + erf(x / sqrt(2))),
 * in PyTorch's order x * 0.5 * (1 + erf(x * M_SQRT1_2)). dx = dy * (Phi(x) + x * phi(x)),
 * phi(x) = exp(-x^2 / 2) / sqrt(2 pi), as PyTorch's backward.
 *
 * approximate tanh: y = 0.5 * x * (1 + tanh(u)), u = sqrt(2 / pi) * (x + 0.044715 * x^3), in
 * PyTorch's order. dx = dy * (0.5 * (1 + t) + 0.5 * x * (1 - t^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 * x^2)),
 * t = tanh(u): the exact derivative of that formula, as PyTorch's backward (not the erf form's).
 *
 * Opset 17 has no Gelu (it came in opset 20, with both forms), so Erf or Tanh, Exp and arithmetic,
 * which every target runs. The VJP reads only x and recomputes Phi or t.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer } from "./layer-def.js";

type GeluSpec = Extract<LayerSpec, { type: "gelu" }>;

/** Phi(x) = 0.5 * (1 + erf(x / sqrt(2))). */
function normalCdf(g: GraphBuilder, x: string): string {
  const erf = g.op("Erf", [g.op("Mul", [x, g.constFloat("sqrt1_2", [Math.SQRT1_2], [])])]);
  return g.op("Mul", [g.constFloat("half", [0.5], []), g.op("Add", [g.constFloat("one", [1], []), erf])]);
}

/** PyTorch's constants of the tanh form: kBeta = sqrt(2 / pi) (M_SQRT2 * M_2_SQRTPI * 0.5) and kKappa. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;

/** t = tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)), and x^2 for the derivative. */
function tanhInner(g: GraphBuilder, x: string): { t: string; square: string } {
  const square = g.op("Mul", [x, x]);
  const cube = g.op("Mul", [square, x]);
  const inner = g.op("Mul", [g.constFloat("sqrt_2_over_pi", [SQRT_2_OVER_PI], []), g.op("Add", [x, g.op("Mul", [g.constFloat("kappa", [KAPPA], []), cube])])]);
  return { t: g.op("Tanh", [inner]), square };
}

function exactForward(g: GraphBuilder, x: string): string {
  return g.op("Mul", [x, normalCdf(g, x)]);
}

function exactSlope(g: GraphBuilder, x: string): string {
  // phi(x) = exp(-0.5 * x * x) / sqrt(2 pi)
  const minusHalfSquare = g.op("Mul", [g.op("Mul", [x, x]), g.constFloat("minus_half", [-0.5], [])]);
  const phi = g.op("Mul", [g.op("Exp", [minusHalfSquare]), g.constFloat("inv_sqrt_2pi", [1 / Math.sqrt(2 * Math.PI)], [])]);
  return g.op("Add", [normalCdf(g, x), g.op("Mul", [x, phi])]);
}

function tanhForward(g: GraphBuilder, x: string): string {
  const { t } = tanhInner(g, x);
  const halfX = g.op("Mul", [g.constFloat("half", [0.5], []), x]);
  return g.op("Mul", [halfX, g.op("Add", [g.constFloat("one", [1], []), t])]);
}

function tanhSlope(g: GraphBuilder, x: string): string {
  const { t, square } = tanhInner(g, x);
  const half = g.constFloat("half", [0.5], []);
  const one = g.constFloat("one", [1], []);
  const left = g.op("Mul", [half, g.op("Add", [one, t])]);
  // d/dx of sqrt(2/pi) (x + kappa x^3) = sqrt(2/pi) (1 + 3 kappa x^2)
  const innerSlope = g.op("Mul", [g.constFloat("sqrt_2_over_pi", [SQRT_2_OVER_PI], []), g.op("Add", [one, g.op("Mul", [g.constFloat("three_kappa", [3 * KAPPA], []), square])])]);
  const sech2 = g.op("Sub", [one, g.op("Mul", [t, t])]);
  const right = g.op("Mul", [g.op("Mul", [g.op("Mul", [half, x]), sech2]), innerSlope]);
  return g.op("Add", [left, right]);
}

export const gelu = defineLayer<GeluSpec>({
  type: "gelu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, layer, x) => ({ y: layer.spec.approximate === "tanh" ? tanhForward(g, x) : exactForward(g, x), saved: {} }),
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const slope = layer.spec.approximate === "tanh" ? tanhSlope(g, v.x) : exactSlope(g, v.x);
    return { dx: g.op("Mul", [v.dy, slope]), dParams: {} };
  },
});
