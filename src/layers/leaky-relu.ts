/**
 * leaky_relu: y = x where x > 0, slope * x elsewhere (PyTorch's LeakyReLU, negative_slope);
 * dx = dy where x > 0, slope * dy elsewhere. With slope >= 0 (the schema's bound) y > 0 exactly
 * where x > 0, so the mask reads y, as relu's does, and a backward graph fed the saved output
 * needs no recomputed input.
 */
import { float } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer } from "./layer-def.js";

type LeakyReluSpec = Extract<LayerSpec, { type: "leaky_relu" }>;

export const leakyRelu = defineLayer<LeakyReluSpec>({
  type: "leaky_relu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, layer, x) => ({ y: g.op("LeakyRelu", [x], { alpha: float(layer.spec.slope) }), saved: {} }),
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    // The factor 1 where y > 0, slope elsewhere: Where(y > 0, 1, slope), from portable ops only.
    const zero = g.constFloat("zero", [0], []);
    const one = g.constFloat("one", [1], []);
    const slope = g.constFloat("slope", [layer.spec.slope], []);
    const factor = g.op("Where", [g.op("Greater", [v.y, zero]), one, slope]);
    return { dx: g.op("Mul", [v.dy, factor]), dParams: {} };
  },
});
