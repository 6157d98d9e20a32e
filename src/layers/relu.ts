/**
 * relu: y = max(x, 0); dx = dy where x > 0, else 0. The mask reads y (y > 0 exactly when x > 0),
 * so a backward graph fed the saved output needs no recomputed input.
 */
import type { LayerSpec } from "../model/model-spec.js";
import { onnx } from "../graph/onnx.js";
import { defineLayer } from "./layer-def.js";
import { spaceToDepth, splitsEvenly } from "./phases.js";

type ReluSpec = Extract<LayerSpec, { type: "relu" }>;

export const relu = defineLayer<ReluSpec>({
  type: "relu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, _layer, x) => ({ y: g.op("Relu", [x]), saved: {} }),
  // Elementwise: dy as phases is masked by y's phases (the strided conv above splits y anyway).
  takesPhasedDy: (_g, layer, stride) => splitsEvenly(layer.outShape, stride),
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const dyPhases = v.dyPhases ?? 0;
    const y = dyPhases > 0 ? spaceToDepth(g, v.y, layer.outShape, dyPhases) : v.y;
    // dy * float(y > 0) rather than Where(y > 0, dy, 0): onnxruntime's Where with a broadcast
    // zero is slower than Cast + Mul (docs/PERFORMANCE.md attempt 15). Both are exact; a masked
    // entry is dy * 0 (-0 for negative dy, NaN for non-finite dy, which fails the step anyway).
    // y > 0 is computed as bool(y): y is a ReLU output, so y >= 0 and y > 0 exactly where y != 0
    // (-0 included); the float -> bool Cast is faster than Greater against a broadcast zero
    // (attempt 35).
    // On a GPU target, Sign(y) is the same mask in one kernel (GraphTarget.reluMask).
    const { BOOL, FLOAT } = onnx.TensorProto.DataType;
    const mask = g.target.reluMask === "sign" ? g.op("Sign", [y]) : g.op("Cast", [g.op("Cast", [y], { to: BOOL })], { to: FLOAT });
    // A gradient that an Expand spread out (global_avg_pool's VJP) is broadcast by the Mul instead:
    // the same values, without writing the expanded tensor first (docs/PERFORMANCE.md attempt 34).
    // The mask has y's shape, which is the expanded shape, so the product's shape is unchanged.
    return { dx: g.op("Mul", [g.expandedFrom(v.dy) ?? v.dy, mask]), dxPhases: dyPhases, dParams: {} };
  },
});
