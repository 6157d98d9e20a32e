/** linear: torch.nn.Linear, y = x Wᵀ + b on a flat [features] input. */
import type { LayerSpec } from "../model/model-spec.js";
import { LayerShapeError, defineLayer, param, shapeText } from "./layer-def.js";

type LinearSpec = Extract<LayerSpec, { type: "linear" }>;

export const linear = defineLayer<LinearSpec>({
  type: "linear",
  parameterised: true,
  outShape(spec, inShape) {
    if (inShape.length !== 1) {
      throw new LayerShapeError(`linear needs a flat [features] input, found ${shapeText(inShape)}: put a flatten or global_avg_pool before it`);
    }
    return [spec.out_features];
  },
  params(spec, inShape) {
    const fanIn = inShape[0];
    const weight = { suffix: "weight" as const, shape: [spec.out_features, fanIn], fanIn };
    return spec.bias ? [weight, { suffix: "bias" as const, shape: [spec.out_features], fanIn }] : [weight];
  },
  forward(g, layer, x, params) {
    const inputs = [x, param(params, "weight", layer)];
    if (layer.spec.bias) inputs.push(param(params, "bias", layer));
    return { y: g.op("Gemm", inputs, { transB: 1 }), saved: {} };
  },
  vjp(g, layer, v, needDx) {
    const dx = needDx ? g.op("MatMul", [v.dy, param(v.params, "weight", layer)]) : null;
    const dParams: { weight: string; bias?: string } = { weight: g.op("Gemm", [v.dy, v.x], { transA: 1 }) };
    if (layer.spec.bias) dParams.bias = g.op("ReduceSum", [v.dy, g.constInt64("axis_n", [0])], { keepdims: 0 });
    return { dx, dParams };
  },
});
