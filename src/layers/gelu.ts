/**
 * gelu: y = x * Phi(x), Phi the standard normal CDF, 0.5 * (1 + erf(x / sqrt(2))): PyTorch's GELU
 * with its default approximate="none" (not the tanh approximation), in PyTorch's order
 * x * 0.5 * (1 + erf(x * M_SQRT1_2)). dx = dy * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) /
 * sqrt(2 pi), as PyTorch's backward. Opset 17 has no Gelu (it came in opset 20), so Erf, Exp and
 * arithmetic, which every target runs. The VJP reads only x and recomputes Phi.
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

export const gelu = defineLayer<GeluSpec>({
  type: "gelu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, _layer, x) => ({ y: g.op("Mul", [x, normalCdf(g, x)]), saved: {} }),
  vjp(g, _layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    // phi(x) = exp(-0.5 * x * x) / sqrt(2 pi)
    const minusHalfSquare = g.op("Mul", [g.op("Mul", [v.x, v.x]), g.constFloat("minus_half", [-0.5], [])]);
    const phi = g.op("Mul", [g.op("Exp", [minusHalfSquare]), g.constFloat("inv_sqrt_2pi", [1 / Math.sqrt(2 * Math.PI)], [])]);
    const slope = g.op("Add", [normalCdf(g, v.x), g.op("Mul", [v.x, phi])]);
    return { dx: g.op("Mul", [v.dy, slope]), dParams: {} };
  },
});
