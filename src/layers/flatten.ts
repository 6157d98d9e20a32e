/** flatten: (N, ...) -> (N, features), torch.nn.Flatten(); its VJP reshapes back. */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer } from "./layer-def.js";

type FlattenSpec = Extract<LayerSpec, { type: "flatten" }>;

export const flatten = defineLayer<FlattenSpec>({
  type: "flatten",
  parameterised: false,
  outShape: (_spec, inShape) => [inShape.reduce((a, b) => a * b, 1)],
  params: () => [],
  forward: (g, _layer, x) => ({ y: g.op("Flatten", [x], { axis: 1 }), saved: {} }),
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    return { dx: g.op("Reshape", [v.dy, g.constInt64("in_shape", [-1, ...layer.inShape])]), dParams: {} };
  },
});
