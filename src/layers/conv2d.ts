/**
 * conv2d: torch.nn.Conv2d with a square kernel, stride, zero padding, optional bias.
 * Forward: Conv; where onnxruntime's NCHWc kernels fit, those (conv-nchwc.ts); in training graphs
 * on the CPU provider, stride 1, a 1x1 Conv over the unfolded columns the weight gradient reuses
 * (on a GPU target, where GraphTarget.unfoldForwardChannels asks); followed by a ReLU on a GPU
 * target asking for it (GraphTarget.convRelu), one FusedConv.
 * VJP (conv-grads.ts for the pieces):
 *   dx = ConvTranspose(dy, W) with output_padding (H + 2P - K) mod S; or, asked for phases
 *        (a fused graph's layers below take them, layers/phases.ts; on a GPU target where
 *        GraphTarget.convInputGrad is "phases", CUDA's default), a sub-pixel conv; or, on a GPU
 *        target asking for it, the sub-pixel conv interleaved;
 *   dW = for stride-1 convs, an unfold of x into per-example columns and a batched MatMul with dy
 *        (from dy as phases: phasedDyWeightGrad); for strided convs, x split into its S*S phases
 *        against shifted copies of dy (phaseWeightGrad); on a GPU target asking for it
 *        (GraphTarget.convWeightGrad), the strided unfold ("columns"), one GEMM over the whole
 *        batch ("gemm") or one Conv of x against dy dilated by the stride ("conv");
 *   db = ReduceSum(dy) over (N, h, w).
 */
import { ORT_CONTRIB_DOMAIN, type Attrs, type GraphBuilder, type GraphTarget } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { biasGrad, convWeightGrad, gemmWeightGrad, interleavedSubPixelInputGrad, phasedDyWeightGrad, phaseWeightGrad, subPixelInputGrad, subPixelPlan, unfoldColumns, unfoldWeightGrad, type Conv2dLayer } from "./conv-grads.js";
import { nchwcConv, nchwcConvFiltered, nchwcFits, nchwcTransposedFilter } from "./conv-nchwc.js";
import { checkKernelFits, defineLayer, imageShape, outputPadding, param, windowOut, type ForwardResult, type VjpInputs } from "./layer-def.js";
import { splitsEvenly } from "./phases.js";
import { convInputsFor } from "./webgpu-conv-faults.js";

type Conv2dSpec = Extract<LayerSpec, { type: "conv2d" }>;

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
  forward(g, layer, x, params, training): ForwardResult {
    if (nchwcFits(g, layer.inShape[0], layer.spec.out_channels)) return { y: forwardNchwc(g, layer, x, params, null), saved: {} };
    return portableForward(g, layer, x, params, training, false);
  },
  forwardFused(g, layer, x, params, activation, training) {
    if (nchwcFits(g, layer.inShape[0], layer.spec.out_channels)) return { y: forwardNchwc(g, layer, x, params, activation), saved: {} };
    // Elsewhere onnxruntime's optimizer may fuse Conv + Relu itself; a GPU target can ask for the
    // fused op outright (GraphTarget.convRelu).
    return !g.target.cpu && g.target.convRelu === "fused" ? portableForward(g, layer, x, params, training, true) : null;
  },
  phasedDx(g, layer) {
    return handsOverPhases(g) && subPixelPlan(layer) ? layer.spec.stride : 0;
  },
  takesPhasedDy(g, layer, stride, needDx) {
    // Only the weight and bias gradients are formed from phases; dx would need them interleaved,
    // and so would the weight gradient as one Conv (convWeightGrad "conv").
    return handsOverPhases(g) && weightGradForm(g) !== "conv" && !needDx && layer.spec.stride === 1 && splitsEvenly(layer.outShape, stride);
  },
  // The unfolded columns of a forward over them (unfoldColumns): rows (C*K*K, oh*ow).
  laterFrames(layer, saved, cut) {
    const [c] = layer.inShape;
    const [, oh, ow] = layer.outShape;
    return saved.cols === undefined ? null : { cols: cut.rows(saved.cols, [c * layer.spec.kernel * layer.spec.kernel, oh * ow]) };
  },
  vjp(g, layer, v, needDx, dxPhases = 0) {
    const dx = !needDx ? null : dxPhases > 0 ? subPixelInputGrad(g, layer, v) : subPixelOn(g, layer) ? interleavedSubPixelInputGrad(g, layer, v) : transposedConv(g, layer, v);
    const dW = weightGrad(g, layer, v);
    const dParams: { weight: string; bias?: string } = { weight: dW };
    if (layer.spec.bias) dParams.bias = biasGrad(g, layer, v);
    return { dx, dxPhases, dParams };
  },
});

/**
 * The weight gradient in the form the target asks for (GraphTarget.convWeightGrad; GPU EPs only:
 * the CPU target keeps its measured forms): from dy as phases where it came so; else the unfold at
 * stride 1 and input phases at stride S ("unfold", the default), the unfold at every stride
 * ("columns"), one GEMM over the whole batch ("gemm"), or one dilated Conv ("conv").
 */
function weightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  if ((v.dyPhases ?? 0) > 0) return phasedDyWeightGrad(g, layer, v);
  const form = weightGradForm(g);
  if (form === "conv") return convWeightGrad(g, layer, v);
  if (form === "gemm") return gemmWeightGrad(g, layer, v);
  return layer.spec.stride === 1 || form === "columns" ? unfoldWeightGrad(g, layer, v) : phaseWeightGrad(g, layer, v);
}

/** The target's weight-gradient form; the CPU target keeps its own ("unfold"). */
function weightGradForm(g: GraphBuilder): NonNullable<GraphTarget["convWeightGrad"]> {
  return g.target.cpu ? "unfold" : (g.target.convWeightGrad ?? "unfold");
}

/**
 * Whether a strided conv's input gradient may go to the layers below as phases (the sub-pixel
 * Conv's output as it is): on the CPU target (attempt 37), and on a target asking for it
 * (GraphTarget.convInputGrad "phases").
 */
function handsOverPhases(g: GraphBuilder): boolean {
  return g.target.cpu || g.target.convInputGrad === "phases";
}

/** The target's choice of the sub-pixel Conv for a plain input gradient (GraphTarget.convInputGrad), where it applies. */
function subPixelOn(g: GraphBuilder, layer: Conv2dLayer): boolean {
  const form = g.target.convInputGrad;
  return !g.target.cpu && (form === "subpixel" || form === "phases") && subPixelPlan(layer, true) !== null;
}

/**
 * Whether a stride-1 conv's forward runs over the unfolded columns: the CPU target's training
 * forwards, whose weight gradients reuse the columns; on another target, every forward of a conv
 * with at most GraphTarget.unfoldForwardChannels input channels, also a plain one whose weight
 * gradient does not read them (a block given its gradient as phases), since the gain there is
 * the K x K kernel avoided.
 */
function unfoldsForward(g: GraphBuilder, layer: Conv2dLayer, training: boolean): boolean {
  return g.target.cpu ? training : layer.inShape[0] <= (g.target.unfoldForwardChannels ?? 0);
}

/**
 * The Conv forward in portable ops: over the unfolded columns where the target asks
 * (unfoldsForward), else a K x K Conv; with `relu`, as one com.microsoft FusedConv with the ReLU.
 */
function portableForward(g: GraphBuilder, layer: Conv2dLayer, x: string, params: VjpInputs["params"], training: boolean, relu: boolean): ForwardResult {
  const { kernel, stride, padding } = layer.spec;
  const conv = (inputs: string[], attrs: Attrs) => (relu ? g.opIn(ORT_CONTRIB_DOMAIN, "FusedConv", inputs, { ...attrs, activation: "Relu" }) : g.op("Conv", inputs, attrs));
  if (stride === 1 && unfoldsForward(g, layer, training)) {
    // onnxruntime's CPU Conv is im2col + GEMM; the weight gradient builds the same columns
    // (unfoldWeightGrad), so build them once and run the forward as a 1x1 conv over them
    // (bit-identical output; docs/PERFORMANCE.md attempt 31). A GPU target may ask for it for
    // few input channels (GraphTarget.unfoldForwardChannels), where a K x K conv kernel is slow.
    const cols = unfoldColumns(g, layer, x);
    const [c] = layer.inShape;
    const [m, oh, ow] = layer.outShape;
    const ckk = c * kernel * kernel;
    const inputs = [g.op("Reshape", [cols, g.constInt64("n_ckk_h_w", [0, ckk, oh, ow])]), g.op("Reshape", [param(params, "weight", layer), g.constInt64("m_ckk_1_1", [m, ckk, 1, 1])])];
    if (layer.spec.bias) inputs.push(param(params, "bias", layer));
    return { y: conv(inputs, { kernel_shape: [1, 1] }), saved: { cols } };
  }
  const pads = [padding, padding, padding, padding];
  const inputs = [...convInputsFor(g, x, param(params, "weight", layer), { c: layer.inShape[0], m: layer.spec.out_channels, kernel, stride, pads })];
  if (layer.spec.bias) inputs.push(param(params, "bias", layer));
  const y = conv(inputs, { kernel_shape: [kernel, kernel], strides: [stride, stride], pads });
  return { y, saved: {} };
}

function forwardNchwc(g: GraphBuilder, layer: Conv2dLayer, x: string, params: VjpInputs["params"], activation: "Relu" | null): string {
  const { kernel, stride, padding: p, out_channels: m } = layer.spec;
  const bias = layer.spec.bias ? param(params, "bias", layer) : null;
  return nchwcConv(g, x, param(params, "weight", layer), bias, { m, c: layer.inShape[0], kernel, stride, pads: [p, p, p, p] }, activation);
}

function transposedConv(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, stride, padding } = layer.spec;
  const [c, h, w] = layer.inShape;
  const m = layer.spec.out_channels;
  if (g.target.cpu && stride === 1 && padding <= kernel - 1 && nchwcFits(g, m, c)) {
    // A stride-1 ConvTranspose is the Conv of dy with W's channels swapped and taps flipped, padded
    // by K - 1 - P: that runs on the NCHWc kernels, where ConvTranspose is a GEMM + col2im per
    // image (docs/PERFORMANCE.md attempt 41).
    const q = kernel - 1 - padding;
    const shape = { m: c, c: m, kernel, stride: 1, pads: [q, q, q, q] as [number, number, number, number] };
    if (m % g.target.nchwcBlock === 0) return nchwcConvFiltered(g, v.dy, nchwcTransposedFilter(g, param(v.params, "weight", layer), [m, c, kernel]), null, shape);
    const swapped = g.op("Transpose", [param(v.params, "weight", layer)], { perm: [1, 0, 2, 3] });
    const flipped = g.op("Slice", [swapped, g.constInt64("flip_starts", [-1, -1]), g.constInt64("flip_ends", [-kernel - 1, -kernel - 1]), g.constInt64("flip_axes", [2, 3]), g.constInt64("flip_steps", [-1, -1])]);
    return nchwcConv(g, v.dy, flipped, null, shape);
  }
  return g.op("ConvTranspose", [v.dy, param(v.params, "weight", layer)], {
    kernel_shape: [kernel, kernel],
    strides: [stride, stride],
    pads: [padding, padding, padding, padding],
    output_padding: [outputPadding(h, kernel, stride, padding), outputPadding(w, kernel, stride, padding)],
  });
}
