/**
 * conv2d: torch.nn.Conv2d with a square kernel, stride, zero padding, optional bias.
 * VJP from ordinary ops (no gradient ops exist in onnxruntime; onnxruntime-node.md):
 *   dx = ConvTranspose(dy, W) with output_padding (H + 2P - K) mod S;
 *   dW = Conv(x as (C,N,H,W), dy as (M,N,h,w) kernel, dilations=S), cut to K x K, as (M,C,K,K);
 *   db = ReduceSum(dy) over (N, h, w).
 */
import type { LayerSpec } from "../model/model-spec.js";
import { checkKernelFits, defineLayer, imageShape, outputPadding, param, windowOut } from "./layer-def.js";

type Conv2dSpec = Extract<LayerSpec, { type: "conv2d" }>;

const SWAP_BATCH_CHANNEL = [1, 0, 2, 3];

export const conv2d = defineLayer<Conv2dSpec>({
  type: "conv2d",
  parameterised: true,
  outShape(spec, inShape) {
    const [, h, w] = imageShape("conv2d", inShape);
    checkKernelFits(spec.kernel, spec.padding, h, w);
    return [spec.out_channels, windowOut(h, spec.kernel, spec.stride, spec.padding), windowOut(w, spec.kernel, spec.stride, spec.padding)];
  },
  params(spec, inShape) {
    const inChannels = inShape[0];
    const fanIn = inChannels * spec.kernel * spec.kernel;
    const weight = { suffix: "weight" as const, shape: [spec.out_channels, inChannels, spec.kernel, spec.kernel], fanIn };
    return spec.bias ? [weight, { suffix: "bias" as const, shape: [spec.out_channels], fanIn }] : [weight];
  },
  forward(g, layer, x, params) {
    const { kernel, stride, padding } = layer.spec;
    const inputs = [x, param(params, "weight", layer)];
    if (layer.spec.bias) inputs.push(param(params, "bias", layer));
    const y = g.op("Conv", inputs, {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [padding, padding, padding, padding],
    });
    return { y, saved: {} };
  },
  vjp(g, layer, v, needDx) {
    const { kernel, stride, padding } = layer.spec;
    const [, h, w] = layer.inShape;
    const weight = param(v.params, "weight", layer);
    const pads = [padding, padding, padding, padding];
    const extraH = outputPadding(h, kernel, stride, padding);
    const extraW = outputPadding(w, kernel, stride, padding);
    const dx = needDx
      ? g.op("ConvTranspose", [v.dy, weight], {
          kernel_shape: [kernel, kernel],
          strides: [stride, stride],
          pads,
          output_padding: [extraH, extraW],
        })
      : null;
    // Batch becomes the reduction (channel) axis: one Conv computes every weight gradient.
    const xT = g.op("Transpose", [v.x], { perm: SWAP_BATCH_CHANNEL });
    const dyT = g.op("Transpose", [v.dy], { perm: SWAP_BATCH_CHANNEL });
    let dWT = g.op("Conv", [xT, dyT], { strides: [1, 1], dilations: [stride, stride], pads });
    if (extraH > 0 || extraW > 0) {
      // The correlation is (K + extra) wide: the extra rows belong to input rows no window used.
      dWT = g.op("Slice", [dWT, g.constInt64("zeros2", [0, 0]), g.constInt64("kernel2", [kernel, kernel]), g.constInt64("axes_hw", [2, 3])]);
    }
    const dParams: { weight: string; bias?: string } = { weight: g.op("Transpose", [dWT], { perm: SWAP_BATCH_CHANNEL }) };
    if (layer.spec.bias) {
      dParams.bias = g.op("ReduceSum", [v.dy, g.constInt64("axes_nhw", [0, 2, 3])], { keepdims: 0 });
    }
    return { dx, dParams };
  },
});
