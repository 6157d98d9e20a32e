/**
 * avgpool2d: torch.nn.AvgPool2d with PyTorch's defaults: count_include_pad=True (ONNX's default
 * is 0), ceil_mode False, so every window divides by K*K. The VJP is a depthwise ConvTranspose
 * of dy with a constant 1/(K*K) kernel, which adds overlapping windows' shares.
 */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer, outputPadding } from "./layer-def.js";
import { poolGeometry, poolOutShape } from "./pool2d.js";

type AvgPool2dSpec = Extract<LayerSpec, { type: "avgpool2d" }>;

export const avgpool2d = defineLayer<AvgPool2dSpec>({
  type: "avgpool2d",
  parameterised: false,
  outShape: poolOutShape,
  params: () => [],
  forward(g, layer, x) {
    const { kernelShape, strides, pads } = poolGeometry(layer.spec);
    return { y: g.op("AveragePool", [x], { kernel_shape: kernelShape, strides, pads, count_include_pad: 1 }), saved: {} };
  },
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const { kernel, stride, padding, kernelShape, strides, pads } = poolGeometry(layer.spec);
    const [c, h, w] = layer.inShape;
    const share = g.constFloat("avg_share", new Float32Array(c * kernel * kernel).fill(1 / (kernel * kernel)), [c, 1, kernel, kernel]);
    const dx = g.op("ConvTranspose", [v.dy, share], {
      group: c,
      kernel_shape: kernelShape,
      strides,
      pads,
      output_padding: [outputPadding(h, kernel, stride, padding), outputPadding(w, kernel, stride, padding)],
    });
    return { dx, dParams: {} };
  },
});
