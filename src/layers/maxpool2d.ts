/**
 * maxpool2d: torch.nn.MaxPool2d (padding counts as -inf). The VJP sends each output gradient to
 * the input element that won its window (the first in row-major order where several tie, as
 * PyTorch and test/reference/layers-ref.ts do). Windows overlap when stride < kernel, so one
 * input element can win several windows and their gradients add up. Two formulations, chosen by
 * the graph target (src/graph/graph-builder.ts GraphTarget.maxPoolVjp):
 * - "indices": MaxPool's Indices output (flat indices into the whole input) and ScatterElements
 *   with reduction "add" (MaxUnpool would keep only one of several windows' gradients);
 * - "windows", for execution providers without the Indices output (onnxruntime's WebGPU EP):
 *   each of the K*K window taps is a strided slice of the padded input; a tap wins where it
 *   equals the output and no earlier tap did; the winners' gradients go back to their input
 *   positions through one ConvTranspose whose kernel is one-hot per tap (col2im).
 */
import { floatTensorAttr, type GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer, outputPadding, type ForwardResult, type PlacedLayer, type VjpInputs } from "./layer-def.js";
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
    if (!training || g.target.maxPoolVjp === "windows") return { y: g.op("MaxPool", [x], attrs), saved: {} };
    const [y, indices] = g.node("MaxPool", [x], 2, attrs);
    return { y, saved: { indices } };
  },
  // MaxPool's Indices number the whole batch's elements, not a row's, so the later rows' indices
  // point past a cut input: a block with them runs two forwards.
  laterFrames: () => null,
  vjp(g, layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    return { dx: g.target.maxPoolVjp === "windows" ? windowsVjp(g, layer, v) : indicesVjp(g, layer, v), dParams: {} };
  },
});

function indicesVjp(g: GraphBuilder, layer: PlacedLayer<MaxPool2dSpec>, v: VjpInputs): string {
  const indices = v.saved.indices;
  if (indices === undefined) throw new Error(`BUG: layer ${layer.index} (maxpool2d) VJP needs the forward's indices`);
  const flat = g.constInt64("flat", [-1]);
  const size = g.op("Reshape", [g.op("Size", [v.x]), flat]);
  const zeros = g.op("ConstantOfShape", [size], { value: floatTensorAttr(0) });
  const scattered = g.op("ScatterElements", [zeros, g.op("Reshape", [indices, flat]), g.op("Reshape", [v.dy, flat])], {
    axis: 0,
    reduction: "add",
  });
  return g.op("Reshape", [scattered, g.constInt64("in_shape", [-1, ...layer.inShape])]);
}

function windowsVjp(g: GraphBuilder, layer: PlacedLayer<MaxPool2dSpec>, v: VjpInputs): string {
  const { kernel: k, stride: s, padding: p, kernelShape, strides, pads } = poolGeometry(layer.spec);
  const [c, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  // -3.4e38 rather than -inf: a finite pad keeps Equal and Mul free of inf arithmetic; a padded
  // tap can never win, since every window holds at least one real element (padding <= K/2).
  const padded = p > 0 ? g.op("Pad", [v.x, g.constInt64("pads", [0, 0, p, p, 0, 0, p, p]), g.constFloat("pad_value", [-3.4e38], [])]) : v.x;
  const axes = g.constInt64("axes", [2, 3]);
  const steps = g.constInt64("steps", [s, s]);
  const one = g.constFloat("one", [1], []);
  let taken: string | null = null;
  const shares: string[] = [];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const tap = g.op("Slice", [padded, g.constInt64("starts", [a, b]), g.constInt64("ends", [a + s * (oh - 1) + 1, b + s * (ow - 1) + 1]), axes, steps]);
      const isMax = g.op("Cast", [g.op("Equal", [tap, v.y])], { to: 1 });
      // Float arithmetic rather than And/Or/Not on booleans: every execution provider has it.
      const wins: string = taken === null ? isMax : g.op("Mul", [isMax, g.op("Sub", [one, taken])]);
      taken = taken === null ? isMax : g.op("Max", [taken, isMax]);
      shares.push(g.op("Unsqueeze", [g.op("Mul", [wins, v.dy]), g.constInt64("tap_axis", [2])]));
    }
  }
  // [N, C, K*K, oh, ow] -> [N*C, K*K, oh, ow]: every channel's taps as one image, folded back
  // to [N, C, H, W] after the ConvTranspose. (Not one grouped ConvTranspose over C groups of K*K
  // channels: onnxruntime 1.30's WebGPU EP computes grouped ConvTranspose wrongly when a group has
  // more than one input channel; docs/GPU.md.)
  const taps = g.op("Reshape", [g.op("Concat", shares, { axis: 2 }), g.constInt64("taps_shape", [-1, k * k, oh, ow])]);
  const oneHot = new Float32Array(k * k * k * k);
  for (let t = 0; t < k * k; t++) oneHot[t * k * k + t] = 1;
  const folded = g.op("ConvTranspose", [taps, g.constFloat("tap_one_hot", oneHot, [k * k, 1, k, k])], {
    kernel_shape: kernelShape,
    strides,
    pads,
    output_padding: [outputPadding(h, k, s, p), outputPadding(w, k, s, p)],
  });
  return g.op("Reshape", [folded, g.constInt64("in_shape", [-1, c, h, w])]);
}
