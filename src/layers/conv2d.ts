/**
 * conv2d: torch.nn.Conv2d with a square kernel, stride, zero padding, optional bias.
 * VJP from ordinary ops (no gradient ops exist in onnxruntime; onnxruntime-node.md):
 *   dx = ConvTranspose(dy, W) with output_padding (H + 2P - K) mod S;
 *   dW = Conv(x as (C,N,H,W), dy as (M,N,h,w) kernel, dilations=S), cut to K x K, as (M,C,K,K),
 *        or, for stride-1 convs, an unfold of x into per-example columns and a batched MatMul with dy;
 *   db = ReduceSum(dy) over (N, h, w).
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { checkKernelFits, defineLayer, imageShape, outputPadding, param, windowOut, type PlacedLayer, type VjpInputs } from "./layer-def.js";

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
    const dW = useUnfold(layer) ? unfoldWeightGrad(g, layer, v) : correlationWeightGrad(g, layer, v, extraH, extraW);
    const dParams: { weight: string; bias?: string } = { weight: dW };
    if (layer.spec.bias) {
      dParams.bias = g.op("ReduceSum", [v.dy, g.constInt64("axes_nhw", [0, 2, 3])], { keepdims: 0 });
    }
    return { dx, dParams };
  },
});

/**
 * Two ways to the weight gradient; which is faster depends on the shape. Measured on one
 * onnxruntime CPU thread, whole backward graph of conv2d + global_avg_pool without input
 * gradient, batch 64 (median ms, correlation / unfold): C=32 32x32 M=64 k3 s1
 * (batch 32) 21.6 / 15.5; C=16 16x16 M=16 k3 s1 3.3 / 2.6; C=40 8x8 M=32 k3 s1 2.5 / 2.1;
 * C=1 32x32 M=16 k5 s1 1.4 / 2.2; C=16 32x32 M=32 k3 s2 4.8 / 5.6. The unfold then became
 * per-example (no transpose of the columns, docs/PERFORMANCE.md attempt 2), which also won on
 * C=1 32x32 M=8 k3 s1 (block backward, batch 128: 2.6 -> 2.1 ms) and lost on every stride-2
 * conv tried: unfolding pays for stride 1, whatever the channel count.
 */
function useUnfold(layer: PlacedLayer<Conv2dSpec>): boolean {
  return layer.spec.stride === 1;
}

/** Batch becomes the reduction (channel) axis: one Conv correlates x with dy for every weight. */
function correlationWeightGrad(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, v: VjpInputs, extraH: number, extraW: number): string {
  const { kernel, stride, padding } = layer.spec;
  const pads = [padding, padding, padding, padding];
  const xT = g.op("Transpose", [v.x], { perm: SWAP_BATCH_CHANNEL });
  const dyT = g.op("Transpose", [v.dy], { perm: SWAP_BATCH_CHANNEL });
  let dWT = g.op("Conv", [xT, dyT], { strides: [1, 1], dilations: [stride, stride], pads });
  if (extraH > 0 || extraW > 0) {
    dWT = g.op("Slice", [dWT, g.constInt64("zeros2", [0, 0]), g.constInt64("kernel2", [kernel, kernel]), g.constInt64("axes_hw", [2, 3])]);
  }
  return g.op("Transpose", [dWT], { perm: SWAP_BATCH_CHANNEL });
}

/**
 * im2col per example by K*K strided slices of the padded input, laid out (N, C*K*K, h*w) without
 * a transpose; one batched MatMul with dy as (N, h*w, M), summed over N.
 */
function unfoldWeightGrad(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, v: VjpInputs): string {
  const { kernel, stride, padding, out_channels: m } = layer.spec;
  const [c] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const xp = padding > 0 ? g.op("Pad", [v.x, g.constInt64("pads", [0, 0, padding, padding, 0, 0, padding, padding])]) : v.x;
  const axes = g.constInt64("axes_hw", [2, 3]);
  const steps = g.constInt64("steps", [stride, stride]);
  const taps: string[] = [];
  for (let kh = 0; kh < kernel; kh++) {
    for (let kw = 0; kw < kernel; kw++) {
      const starts = g.constInt64("starts", [kh, kw]);
      const ends = g.constInt64("ends", [kh + stride * (oh - 1) + 1, kw + stride * (ow - 1) + 1]);
      taps.push(g.op("Unsqueeze", [g.op("Slice", [xp, starts, ends, axes, steps]), g.constInt64("axis2", [2])]));
    }
  }
  // (N, C, K*K, oh, ow) -> (N, C*K*K, oh*ow): a free reshape
  const cols = g.op("Reshape", [g.op("Concat", taps, { axis: 2 }), g.constInt64("n_ckk_l", [0, c * kernel * kernel, oh * ow])]);
  const dyT = g.op("Transpose", [g.op("Reshape", [v.dy, g.constInt64("n_m_l", [0, m, oh * ow])])], { perm: [0, 2, 1] });
  const perExample = g.op("MatMul", [cols, dyT]); // (N, C*K*K, M)
  const dWT = g.op("ReduceSum", [perExample, g.constInt64("axis0", [0])], { keepdims: 0 });
  return g.op("Reshape", [g.op("Transpose", [dWT], { perm: [1, 0] }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
}
