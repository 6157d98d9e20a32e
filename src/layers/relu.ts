/**
 * relu: y = max(x, 0); dx = dy where x > 0, else 0. The mask reads y (y > 0 exactly when x > 0),
 * so a backward graph fed the saved output needs no recomputed input.
 */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer } from "./layer-def.js";

type ReluSpec = Extract<LayerSpec, { type: "relu" }>;

export const relu = defineLayer<ReluSpec>({
  type: "relu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, _layer, x) => ({ y: g.op("Relu", [x]), saved: {} }),
  vjp(g, _layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const zero = g.constFloat("zero", [0], []);
    return { dx: g.op("Where", [g.op("Greater", [v.y, zero]), v.dy, zero]), dParams: {} };
  },
});
