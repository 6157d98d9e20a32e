/**
 * maxpool2d: torch.nn.MaxPool2d (padding counts as -inf). The VJP sends each output gradient
 * to the input element that won its window, found through MaxPool's Indices output (flat
 * indices into the whole input tensor). Windows overlap when stride < kernel, so one input
 * element can win several windows: ScatterElements with reduction "add" sums those gradients
 * (MaxUnpool would keep only one).
 */
import { floatTensorAttr } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer, type ForwardResult } from "./layer-def.js";
import { poolGeometry, poolOutShape } from "./pool2d.js";

type MaxPool2dSpec = Extract<LayerSpec, { type: "maxpool2d" }>;

export const maxpool2d = defineLayer<MaxPool2dSpec>({
  type: "maxpool2d",
  parameterised: false,
  outShape: poolOutShape,
  params: () => [],
  forward(g, layer, x, _params, training): ForwardResult {
    const { kernelShape, strides, pads } = poolGeometry(layer.spec);
    const attrs = { kernel_shape: kernelShape, strides, pads };
    if (!training) return { y: g.op("MaxPool", [x], attrs), saved: {} };
    const [y, indices] = g.node("MaxPool", [x], 2, attrs);
    return { y, saved: { indices } };
  },
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const indices = v.saved.indices;
    if (indices === undefined) throw new Error(`BUG: layer ${layer.index} (maxpool2d) VJP needs the forward's indices`);
    const flat = g.constInt64("flat", [-1]);
    const size = g.op("Reshape", [g.op("Size", [v.x]), flat]);
    const zeros = g.op("ConstantOfShape", [size], { value: floatTensorAttr(0) });
    const scattered = g.op("ScatterElements", [zeros, g.op("Reshape", [indices, flat]), g.op("Reshape", [v.dy, flat])], {
      axis: 0,
      reduction: "add",
    });
    return { dx: g.op("Reshape", [scattered, g.constInt64("in_shape", [-1, ...layer.inShape])]), dParams: {} };
  },
});
