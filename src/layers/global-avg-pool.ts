/** global_avg_pool: (N,C,H,W) -> (N,C), the mean over each channel's H x W. */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer, imageShape } from "./layer-def.js";

type GlobalAvgPoolSpec = Extract<LayerSpec, { type: "global_avg_pool" }>;

export const globalAvgPool = defineLayer<GlobalAvgPoolSpec>({
  type: "global_avg_pool",
  parameterised: false,
  outShape(_spec, inShape) {
    return [imageShape("global_avg_pool", inShape)[0]];
  },
  params: () => [],
  forward(g, _layer, x) {
    return { y: g.op("Flatten", [g.op("GlobalAveragePool", [x])], { axis: 1 }), saved: {} };
  },
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const [c, h, w] = layer.inShape;
    const scaled = g.op("Mul", [v.dy, g.constFloat("inv_area", [1 / (h * w)], [])]);
    const column = g.op("Reshape", [scaled, g.constInt64("nc11", [-1, c, 1, 1])]);
    // Broadcasting (N,C,1,1) against (1,1,H,W) spreads each mean's gradient over its window.
    return { dx: g.op("Expand", [column, g.constInt64("hw_shape", [1, 1, h, w])]), dParams: {} };
  },
});
