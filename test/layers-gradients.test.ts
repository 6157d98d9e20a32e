/**
 * Every layer kind, through one table and one check: the ONNX forward graph (float32) against
 * the float64 reference forward, and the ONNX backward graph (float32) and the reference
 * backward against central finite differences of the reference forward.
 *
 * The scalar differentiated is L = <dy, f(x, θ)> for a random dy, so its gradient is the VJP.
 * Errors are ||a - b|| / max(||a||, ||b||) over the whole tensor. Tolerances: the reference
 * backward is float64 and FD on piecewise-linear layers is exact up to rounding (about
 * 1e-16 * |L| / h = 1e-10), so 1e-7; the ONNX graphs compute in float32 (unit roundoff 6e-8,
 * sums of at most a few hundred terms), so 1e-5 for forward values. Gradients: 1e-5 on the CPU
 * provider (observed at most about 1e-6 over every case, the normalisation layers' sums that
 * cancel included; 1e-6 would leave no margin), and on a GPU provider the goals' 1e-3 (cuDNN's
 * algorithms, chosen per session, round more: test/helpers/gpu-providers.ts convTolerance).
 */
import { expect } from "chai";
import { CUDA_CONV_WGRAD_TARGET, CUDA_TARGET, NCHWC_DOMAIN, PORTABLE_TARGET, WEBGPU_TARGET, type GraphForms, type GraphTarget } from "../src/graph/graph-builder.js";
import { onnx } from "../src/graph/onnx.js";
import { buildBlockGraphs, gradName } from "../src/layers/block-graphs.js";
import { hitsWebGpuChannelFault } from "../src/layers/webgpu-conv-faults.js";
import { subPixelPlan, type Conv2dLayer } from "../src/layers/conv-grads.js";
import { CLIPS_PER_FRAME } from "../src/layers/layer-def.js";
import { LayerSpec } from "../src/model/model-spec.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import type { ProviderOptions } from "../src/runtime/providers.js";
import { GraphSession } from "../src/runtime/session.js";
import { CUDA_ATTEMPT_67_TARGET } from "./helpers/cuda-targets.js";
import { describeOnGpus } from "./helpers/gpu-providers.js";
import { oneLayerModel } from "./helpers/one-layer-model.js";
import { refBackward, refForward, type RefParams, type RefTensor } from "./reference/layers-ref.js";
import { centralDifferences, dot, randomArray, randomInt, relativeError, seededRandom } from "./reference/numeric.js";
import { NO_NCHWC, skipBecause } from "./helpers/skip.js";

interface LayerCase {
  name: string;
  spec: Record<string, unknown>;
  /** Per-example input shape, drawn from the case's seeded generator. */
  inShape: (rng: () => number) => number[];
  /** Build for onnxruntime's NCHWc kernels (channel counts chosen so conv2d uses them where the CPU has them). */
  nchwc?: boolean;
  /** Build for the CPU target without requiring an NCHWc conv (CPU-only formulations of other layers). */
  cpu?: boolean;
  /** Rows of the batch (default BATCH) and, for batch_norm's per-frame statistics, rows per frame (default all). */
  batch?: number;
  clips?: number;
  /** Input values uniform in [-inputScale, inputScale) (default 1): the same draws, scaled. */
  inputScale?: number;
}

const image = (c: number, lo: number, hi: number) => (rng: () => number) => [c, randomInt(rng, lo, hi), randomInt(rng, lo, hi)];
const fixed = (shape: number[]) => () => shape;

const CASES: LayerCase[] = [
  { name: "conv2d k3 s1 p1 bias", spec: { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, inShape: image(3, 4, 9) },
  { name: "conv2d k3 s2 p0, (H-K) odd: output_padding 1", spec: { type: "conv2d", out_channels: 3, kernel: 3, stride: 2 }, inShape: fixed([2, 8, 10]) },
  { name: "conv2d k3 s2 p1 no bias, odd size", spec: { type: "conv2d", out_channels: 5, kernel: 3, stride: 2, padding: 1, bias: false }, inShape: fixed([3, 7, 9]) },
  { name: "conv2d k3 s2 p1 random size", spec: { type: "conv2d", out_channels: 2, kernel: 3, stride: 2, padding: 1 }, inShape: image(2, 5, 10) },
  { name: "conv2d k5 s3 p2", spec: { type: "conv2d", out_channels: 2, kernel: 5, stride: 3, padding: 2 }, inShape: image(2, 6, 11) },
  { name: "conv2d k3 s1 p1, wide input (unfolded weight gradient)", spec: { type: "conv2d", out_channels: 3, kernel: 3, padding: 1 }, inShape: image(8, 4, 7) },
  { name: "conv2d k3 s1 p0 no bias, wide input, odd size (unfolded)", spec: { type: "conv2d", out_channels: 2, kernel: 3, bias: false }, inShape: fixed([9, 7, 5]) },
  { name: "conv2d k1 no bias", spec: { type: "conv2d", out_channels: 3, kernel: 1, bias: false }, inShape: image(4, 3, 6) },
  { name: "relu", spec: { type: "relu" }, inShape: image(3, 3, 7) },
  { name: "relu on features", spec: { type: "relu" }, inShape: fixed([13]) },
  { name: "maxpool2d k2 (stride 2)", spec: { type: "maxpool2d", kernel: 2 }, inShape: image(2, 4, 9) },
  { name: "maxpool2d k3 s2 p1 (overlapping)", spec: { type: "maxpool2d", kernel: 3, stride: 2, padding: 1 }, inShape: image(3, 5, 10) },
  { name: "maxpool2d k3 s1 (heavy overlap)", spec: { type: "maxpool2d", kernel: 3, stride: 1 }, inShape: fixed([2, 6, 7]) },
  { name: "maxpool2d k2 s1 p1", spec: { type: "maxpool2d", kernel: 2, stride: 1, padding: 1 }, inShape: fixed([1, 5, 4]) },
  { name: "avgpool2d k2 (stride 2), odd size", spec: { type: "avgpool2d", kernel: 2 }, inShape: fixed([2, 7, 9]) },
  { name: "avgpool2d k3 s2 p1 (pads counted)", spec: { type: "avgpool2d", kernel: 3, stride: 2, padding: 1 }, inShape: image(3, 5, 10) },
  { name: "avgpool2d k3 s1 p1", spec: { type: "avgpool2d", kernel: 3, stride: 1, padding: 1 }, inShape: image(2, 3, 7) },
  { name: "global_avg_pool", spec: { type: "global_avg_pool" }, inShape: image(4, 1, 7) },
  { name: "flatten", spec: { type: "flatten" }, inShape: image(3, 2, 5) },
  { name: "flatten of features", spec: { type: "flatten" }, inShape: fixed([7]) },
  { name: "linear bias", spec: { type: "linear", out_features: 6 }, inShape: fixed([11]) },
  { name: "linear no bias", spec: { type: "linear", out_features: 3, bias: false }, inShape: fixed([8]) },
  // NCHWc forward (appended: the seeds of the cases above stay as they were) (block size 16 on AVX-512, 8 on AVX2: 16 and 32 channels are multiples of both).
  { name: "conv2d NCHWc k3 s1 p1 bias, NCHW input (C < block)", spec: { type: "conv2d", out_channels: 16, kernel: 3, padding: 1 }, inShape: image(3, 4, 7), nchwc: true },
  { name: "conv2d NCHWc k3 s2 p1 no bias, blocked input", spec: { type: "conv2d", out_channels: 16, kernel: 3, stride: 2, padding: 1, bias: false }, inShape: fixed([16, 5, 4]), nchwc: true },
  { name: "conv2d NCHWc k1 bias, 32 channels out", spec: { type: "conv2d", out_channels: 32, kernel: 1 }, inShape: fixed([16, 3, 4]), nchwc: true },
  // Normalisation and residual units (appended likewise). batch_norm: 2 frames of 3 clips, each frame its own statistics.
  { name: "batch_norm, 2 frames of 3 clips, odd size", spec: { type: "batch_norm" }, inShape: fixed([3, 5, 3]), batch: 6, clips: 3 },
  { name: "batch_norm momentum 0.3 eps 1e-3, 3 frames of 2 clips", spec: { type: "batch_norm", momentum: 0.3, eps: 1e-3 }, inShape: image(2, 2, 6), batch: 6, clips: 2 },
  { name: "batch_norm, one frame of 1 clip, 2x3 pixels", spec: { type: "batch_norm" }, inShape: fixed([4, 2, 3]), batch: 1, clips: 1 },
  { name: "group_norm 2 groups", spec: { type: "group_norm", groups: 2 }, inShape: image(6, 2, 5) },
  { name: "group_norm 1 group eps 1e-2 (layer norm)", spec: { type: "group_norm", groups: 1, eps: 1e-2 }, inShape: fixed([3, 4, 3]) },
  { name: "group_norm per channel (instance norm), on features", spec: { type: "group_norm", groups: 5 }, inShape: fixed([5]) },
  {
    // No bias before a normalisation: its gradient is exactly 0 and FD's noise would be all of it.
    name: "residual identity: conv-BN-relu-conv-GN",
    spec: { type: "residual", layers: [{ type: "conv2d", out_channels: 3, kernel: 3, padding: 1, bias: false }, { type: "batch_norm" }, { type: "relu" }, { type: "conv2d", out_channels: 3, kernel: 3, padding: 1, bias: false }, { type: "group_norm", groups: 3 }] },
    inShape: fixed([3, 5, 4]),
    batch: 4,
    clips: 2,
  },
  {
    name: "residual conv shortcut, stride 2, odd size",
    spec: { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1 }, { type: "relu" }, { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }] },
    inShape: fixed([2, 7, 5]),
  },
  { name: "residual conv shortcut after a pool, channels change", spec: { type: "residual", shortcut: "conv", layers: [{ type: "maxpool2d", kernel: 2 }, { type: "conv2d", out_channels: 3, kernel: 1 }] }, inShape: fixed([2, 4, 6]) },
  {
    // Few parameters (3 input channels, a 1x1 second conv): finite differences cost a reference forward each.
    name: "residual NCHWc: conv-BN-relu-conv inside, conv shortcut",
    spec: { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 16, kernel: 3, padding: 1, bias: false }, { type: "batch_norm" }, { type: "relu" }, { type: "conv2d", out_channels: 16, kernel: 1, stride: 2 }] },
    inShape: fixed([3, 5, 4]),
    nchwc: true,
    batch: 4,
    clips: 2,
  },
  // A stride-1 input gradient as the conv of dy with the flipped weight on the NCHWc kernels (C and M multiples of the block).
  { name: "conv2d NCHWc k3 s1 p1 no bias, 16 channels in and out on 4x5 (input gradient as a flipped conv, weight gradient tap by tap)", spec: { type: "conv2d", out_channels: 16, kernel: 3, padding: 1, bias: false }, inShape: fixed([16, 4, 5]), nchwc: true },
  { name: "conv2d NCHWc k3 s1 p0 bias, 16 to 32 channels (flipped conv padded by 2; one-MatMul weight gradient)", spec: { type: "conv2d", out_channels: 32, kernel: 3 }, inShape: fixed([16, 4, 5]), nchwc: true },
  { name: "conv2d NCHWc k3 s1 p0 bias, 16 channels on 6x6 (weight gradient tap by tap, unpadded)", spec: { type: "conv2d", out_channels: 16, kernel: 3 }, inShape: fixed([16, 6, 6]), nchwc: true },
  // Round 7 (appended: earlier cases keep their seeds).
  // The flipped conv's filter made straight from W (conv-nchwc.ts nchwcTransposedFilter) with two output blocks and one input block.
  { name: "conv2d NCHWc k3 s1 p1 no bias, 32 to 16 channels (flipped filter: two output blocks)", spec: { type: "conv2d", out_channels: 16, kernel: 3, padding: 1, bias: false }, inShape: fixed([32, 4, 4]), nchwc: true },
  // The CPU target's affine step as an inference BatchNormalization of xhat (batch-norm.ts affineCpu).
  { name: "batch_norm on the CPU target, 2 frames of 3 clips, odd size", spec: { type: "batch_norm" }, inShape: fixed([3, 5, 3]), batch: 6, clips: 3, cpu: true },
  { name: "batch_norm eps 1e-3 on the CPU target, 3 frames of 2 clips", spec: { type: "batch_norm", eps: 1e-3 }, inShape: image(2, 2, 6), batch: 6, clips: 2, cpu: true },
  // Round 8 (appended likewise): strides whose last window leaves r = (H + 2P - K) mod S rows over,
  // which the weight gradient as one dilated Conv (conv-grads.ts convWeightGrad) drops by its end
  // padding (P >= r) or a Slice (P < r); every form runs them.
  { name: "conv2d k3 s2 p1, even size: r = P = 1 on both axes", spec: { type: "conv2d", out_channels: 3, kernel: 3, stride: 2, padding: 1 }, inShape: fixed([2, 8, 6]) },
  { name: "conv2d k5 s3 p1 no bias: r = 1 on rows, 0 on columns", spec: { type: "conv2d", out_channels: 2, kernel: 5, stride: 3, padding: 1, bias: false }, inShape: fixed([2, 10, 12]) },
  { name: "conv2d k5 s3 p0: r = 0 on rows, 1 > P on columns", spec: { type: "conv2d", out_channels: 3, kernel: 5, stride: 3 }, inShape: fixed([2, 11, 9]) },
  { name: "conv2d k2 s3 p0 (stride over kernel), r = 2 > P", spec: { type: "conv2d", out_channels: 2, kernel: 2, stride: 3 }, inShape: fixed([3, 7, 10]) },
  { name: "conv2d k5 s1 p2", spec: { type: "conv2d", out_channels: 3, kernel: 5, padding: 2 }, inShape: image(2, 5, 8) },
  { name: "conv2d k4 s2 p2 no bias, odd size", spec: { type: "conv2d", out_channels: 2, kernel: 4, stride: 2, padding: 2, bias: false }, inShape: fixed([2, 7, 9]) },
  // Attempt 68 (appended likewise): strided convs whose input splits evenly into phases, so the
  // sub-pixel input gradient applies (conv-grads.ts subPixelPlan), with 1 or 2 taps per phase and
  // axis, and a stride-1 conv padded by K - 1 (its flipped conv has no padding).
  { name: "conv2d k4 s2 p1 on 8x6: two taps in every phase", spec: { type: "conv2d", out_channels: 3, kernel: 4, stride: 2, padding: 1 }, inShape: fixed([2, 8, 6]) },
  { name: "conv2d k3 s2 p0 no bias on 8x10: phase 0 has two taps, phase 1 one", spec: { type: "conv2d", out_channels: 2, kernel: 3, stride: 2, bias: false }, inShape: fixed([3, 8, 10]) },
  { name: "conv2d k2 s2 p0 on 6x4: one tap per phase", spec: { type: "conv2d", out_channels: 4, kernel: 2, stride: 2 }, inShape: fixed([2, 6, 4]) },
  { name: "conv2d k3 s1 p2: padded by K - 1", spec: { type: "conv2d", out_channels: 2, kernel: 3, padding: 2 }, inShape: fixed([2, 4, 5]) },
  // onnxruntime's WebGPU Conv miscomputes with C > 3 input channels, C % 3 = 0, C % 4 != 0 and a
  // multiple of 4 output channels (docs/GPU.md "WebGPU EP faults"): forward, and the sub-pixel
  // input gradient's Conv over dy's 6 channels.
  { name: "conv2d k3 s1 p1, 6 to 8 channels", spec: { type: "conv2d", out_channels: 8, kernel: 3, padding: 1 }, inShape: fixed([6, 5, 4]) },
  { name: "conv2d k3 s2 p1 no bias, 9 to 4 channels", spec: { type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1, bias: false }, inShape: fixed([9, 6, 6]) },
  { name: "conv2d k3 s2 p1, 4 to 6 channels on 8x8 (sub-pixel Conv over 6 channels of dy)", spec: { type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1 }, inShape: fixed([4, 8, 8]) },
  // ... and with an input exactly K x K padded only after it: the sub-pixel Conv over a 2x2 dy.
  { name: "conv2d k3 s2 p1 on 4x4 (sub-pixel Conv over a 2x2 dy, padded after only)", spec: { type: "conv2d", out_channels: 5, kernel: 3, stride: 2, padding: 1 }, inShape: fixed([4, 4, 4]) },
  // The channel fault holds for 1x1 kernels too, except pointwise (stride 1, no padding): a
  // residual unit's strided 1x1 conv shortcut from 6 channels.
  { name: "residual conv shortcut (1x1 stride 2) from 6 to 8 channels", spec: { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 8, kernel: 3, stride: 2, padding: 1, bias: false }, { type: "relu" }] }, inShape: fixed([6, 5, 6]) },
  // Pools whose stride exceeds the kernel (pixels no window reads get no gradient).
  { name: "maxpool2d k2 s3 (stride over the kernel)", spec: { type: "maxpool2d", kernel: 2, stride: 3 }, inShape: fixed([2, 8, 7]) },
  { name: "avgpool2d k3 s3 p1 (stride equal to the kernel, pads counted)", spec: { type: "avgpool2d", kernel: 3, stride: 3, padding: 1 }, inShape: fixed([2, 7, 8]) },
  { name: "avgpool2d k2 s3 (stride over the kernel)", spec: { type: "avgpool2d", kernel: 2, stride: 3 }, inShape: fixed([1, 8, 8]) },
  // Shortcuts as lists of layers (appended likewise): torchvision's downsample, a bias-free strided
  // 1x1 conv and a batch_norm (2 frames of 2 clips: each frame its own statistics, on both paths);
  // ResNet-D's, an average pool before a pointwise conv.
  {
    name: "residual shortcut [conv 1x1 s2 no bias, batch_norm], odd size",
    spec: {
      type: "residual",
      shortcut: [{ type: "conv2d", out_channels: 4, kernel: 1, stride: 2, bias: false }, { type: "batch_norm" }],
      layers: [{ type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1, bias: false }, { type: "batch_norm" }, { type: "relu" }, { type: "conv2d", out_channels: 4, kernel: 3, padding: 1, bias: false }, { type: "batch_norm" }],
    },
    inShape: fixed([3, 5, 6]),
    batch: 4,
    clips: 2,
  },
  {
    name: "residual shortcut [avgpool2d k2, conv 1x1]",
    spec: { type: "residual", shortcut: [{ type: "avgpool2d", kernel: 2 }, { type: "conv2d", out_channels: 3, kernel: 1 }], layers: [{ type: "conv2d", out_channels: 3, kernel: 3, stride: 2, padding: 1 }, { type: "relu" }] },
    inShape: fixed([2, 6, 4]),
  },
  // leaky_relu (appended likewise): the default slope, a slope over 1, slope 0 (relu), and inside a residual unit.
  { name: "leaky_relu (slope 0.01)", spec: { type: "leaky_relu" }, inShape: image(3, 3, 7) },
  { name: "leaky_relu slope 0.2 on features, odd size", spec: { type: "leaky_relu", slope: 0.2 }, inShape: fixed([13]) },
  { name: "leaky_relu slope 1.5", spec: { type: "leaky_relu", slope: 1.5 }, inShape: fixed([2, 5, 3]) },
  { name: "leaky_relu slope 0 (relu)", spec: { type: "leaky_relu", slope: 0 }, inShape: fixed([3, 3, 5]) },
  {
    name: "residual identity: conv-leaky_relu-conv",
    spec: { type: "residual", layers: [{ type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }, { type: "leaky_relu", slope: 0.1 }, { type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }] },
    inShape: fixed([2, 5, 4]),
  },
  // silu and gelu (appended likewise): on [-1, 1), where both bend, and on [-6, 6), where their tails
  // (gelu's Phi near 0 and 1, silu's sigmoid saturating) count; inside a residual unit.
  { name: "silu", spec: { type: "silu" }, inShape: image(3, 3, 7) },
  { name: "silu on features in [-6, 6), odd size", spec: { type: "silu" }, inShape: fixed([13]), inputScale: 6 },
  { name: "gelu", spec: { type: "gelu" }, inShape: image(3, 3, 7) },
  { name: "gelu in [-6, 6)", spec: { type: "gelu" }, inShape: fixed([2, 5, 3]), inputScale: 6 },
  {
    name: "residual identity: conv-gelu-conv-silu",
    spec: { type: "residual", layers: [{ type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }, { type: "gelu" }, { type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }, { type: "silu" }] },
    inShape: fixed([2, 5, 4]),
    inputScale: 3,
  },
  // gelu's tanh approximation (appended likewise), on [-1, 1) and [-6, 6) (where tanh saturates and
  // its 1 - t^2 underflows towards 0 in float32), inside a residual unit; and `approximate: none`
  // written out, the exact form.
  { name: "gelu approximate tanh", spec: { type: "gelu", approximate: "tanh" }, inShape: image(3, 3, 7) },
  { name: "gelu approximate tanh in [-6, 6), odd size", spec: { type: "gelu", approximate: "tanh" }, inShape: fixed([2, 5, 3]), inputScale: 6 },
  { name: "gelu approximate none (the exact form, written out)", spec: { type: "gelu", approximate: "none" }, inShape: fixed([13]), inputScale: 3 },
  {
    name: "residual identity: conv-gelu(tanh)-conv",
    spec: { type: "residual", layers: [{ type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }, { type: "gelu", approximate: "tanh" }, { type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }] },
    inShape: fixed([2, 5, 4]),
    inputScale: 3,
  },
];

const BATCH = 2;
const threads = { provider: "cpu" as const, threads: 1 };

const f32 = (a: Float64Array) => Float32Array.from(a);
/** "layers.0.weight" of "0.layers.0.weight": the name within the layer. */
const suffixOf = (name: string) => name.slice(name.indexOf(".") + 1);

function graphUsesNchwc(bytes: Uint8Array): boolean {
  return (onnx.ModelProto.decode(bytes).graph?.node ?? []).some((n) => n.domain === NCHWC_DOMAIN && n.opType === "Conv");
}

describe("layer gradients: ONNX graphs and the float64 reference against finite differences", () => {
  let nchwcTarget: GraphTarget = PORTABLE_TARGET;
  before(async () => {
    nchwcTarget = await graphTargetFor({ provider: "cpu" });
  });

  CASES.forEach((c, caseIndex) => {
    it(c.name, async function () {
      if (c.nchwc && nchwcTarget.nchwcBlock === 0) skipBecause(this, NO_NCHWC);
      await checkLayerCase(c, caseIndex, c.nchwc || c.cpu ? nchwcTarget : PORTABLE_TARGET, threads);
    });
  });

  it("relu passes dy exactly where x > 0: zero, -0, a denormal and the largest float", () => checkReluMaskExact(PORTABLE_TARGET));
  // Finite differences cannot check a tie (the max is not differentiable there), and after a ReLU ties are common.
  for (const [name, target] of [["Indices", PORTABLE_TARGET], ["windows (WebGPU's form)", WEBGPU_TARGET]] as const) {
    it(`maxpool2d's gradient with tied maxima (${name}) goes to the first maximum of each window in row-major order, as PyTorch's`, () => checkMaxPoolTies(target));
  }
});

// The same table on each GPU provider, with the graphs built for its target (the NCHWc cases are
// CPU kernels and do not apply). Same tolerances: the GPU kernels compute in float32 too.
describeOnGpus("layer gradients: ONNX graphs against the float64 reference", (gpu) => {
  CASES.forEach((c, caseIndex) => {
    if (!c.nchwc && !c.cpu) it(c.name, () => checkLayerCase(c, caseIndex, gpu.target, gpu.opts));
  });
  // conv2d's weight gradient as one dilated Conv (GraphTarget.convWeightGrad): the CUDA A/B
  // candidate (SIDEWAYS_CUDA_WGRAD=conv), checked on each GPU's Conv kernel too.
  CASES.forEach((c, caseIndex) => {
    if (!c.nchwc && !c.cpu && conv2dCount(c.spec) > 0) it(`${c.name}, weight gradient as one dilated Conv`, () => checkLayerCase(c, caseIndex, { ...gpu.target, convWeightGrad: "conv" }, gpu.opts));
  });
  // The candidates of attempt 68 (SIDEWAYS_GRAPH_FORMS), on each GPU's kernels too.
  CASES.forEach((c, caseIndex) => {
    const forms = { convInputGrad: "subpixel", unfoldForwardChannels: 64, convWeightGrad: "columns" } as const;
    if (!c.nchwc && !c.cpu && conv2dCount(c.spec) > 0) it(`${c.name}, sub-pixel input gradient, forward over the unfold, unfold weight gradient`, () => checkLayerCase(c, caseIndex, { ...gpu.target, ...forms }, gpu.opts));
  });
});

// conv2d's weight gradient as one dilated Conv (GraphTarget.convWeightGrad "conv", the CUDA A/B
// candidate of SIDEWAYS_CUDA_WGRAD=conv): portable ONNX, so the CPU provider runs it too. Every
// case with a conv2d (residual units' inner and shortcut convs included), same tolerances.
describe("layer gradients with conv2d's weight gradient as one dilated Conv (convWeightGrad), CPU provider", () => {
  CASES.forEach((c, caseIndex) => {
    if (conv2dCount(c.spec) > 0) it(c.name, () => checkLayerCase(c, caseIndex, CUDA_CONV_WGRAD_TARGET, threads));
  });
});

// CUDA_TARGET's own formulations (staged channel sums, relu's mask as Sign: docs/PERFORMANCE.md
// attempt 67) are portable ONNX: the whole table on the CPU provider, same tolerances, so that a
// machine without a GPU checks the arithmetic the CUDA provider runs.
describe("layer gradients in CUDA_TARGET's graph forms (staged channel sums, Sign mask), CPU provider", () => {
  CASES.forEach((c, caseIndex) => {
    if (!c.nchwc && !c.cpu) it(c.name, () => checkLayerCase(c, caseIndex, CUDA_TARGET, threads));
  });

  it("every ReduceSum over a conv2d's or normalisation's dy sums contiguous axes, and relu's mask is one Sign", () => {
    for (const c of CASES.filter((c) => !c.nchwc && !c.cpu)) {
      const spec = LayerSpec.parse(c.spec);
      const model = oneLayerModel(spec, c.inShape(seededRandom(1)));
      const kinds = JSON.stringify(c.spec);
      for (const [target, staged] of [[CUDA_TARGET, true], [PORTABLE_TARGET, false]] as const) {
        const graph = onnx.ModelProto.decode(buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target }).backward).graph!;
        const axesOf = (n: { input?: string[] | null }) => {
          const raw = graph.initializer!.find((t) => t.name === n.input![1])!.rawData!;
          return Array.from(new BigInt64Array(Uint8Array.from(raw).buffer), Number);
        };
        const interleaved = graph.node!.filter((n) => n.opType === "ReduceSum").map(axesOf).filter((axes) => axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1));
        if (staged) expect(interleaved, `${c.name}: ReduceSum axes with a kept axis between them`).to.deep.equal([]);
        const ops = graph.node!.map((n) => n.opType);
        if (kinds.includes('"relu"')) {
          expect(ops.includes("Sign"), `${c.name}: Sign mask`).to.equal(staged);
          if (staged && c.spec.type === "relu") expect(ops, `${c.name}: no Cast mask`).to.not.include("Cast");
        }
        // The portable graphs of a conv2d with bias still sum its dy over (N, h, w) in one ReduceSum.
        if (!staged && c.spec.type === "conv2d" && (c.spec as { bias?: boolean }).bias !== false) expect(interleaved, `${c.name}: portable bias gradient`).to.deep.include([0, 2, 3]);
      }
    }
  });

  it("relu's Sign mask passes dy exactly where x > 0: zero, -0, a denormal and the largest float", () => checkReluMaskExact(CUDA_TARGET));
});

// The GPU candidates of attempt 68 (GraphTarget.convInputGrad, unfoldForwardChannels; chosen on a GPU
// provider by SIDEWAYS_GRAPH_FORMS) are portable ONNX: every case with a conv2d on the CPU provider,
// same tolerances. unfoldForwardChannels 64 takes every stride-1 conv of the table through the unfold.
const CANDIDATE_FORMS: { name: string; target: GraphTarget }[] = [
  { name: "conv2d's input gradient as the sub-pixel Conv (convInputGrad subpixel)", target: { ...CUDA_ATTEMPT_67_TARGET, convInputGrad: "subpixel" } },
  { name: "the stride-1 training forward over the unfold (unfoldForwardChannels 64)", target: { ...CUDA_ATTEMPT_67_TARGET, unfoldForwardChannels: 64 } },
  { name: "the unfold weight gradient at every stride (convWeightGrad columns)", target: { ...CUDA_ATTEMPT_67_TARGET, convWeightGrad: "columns" } },
  { name: "the weight gradient as one GEMM at every stride (convWeightGrad gemm)", target: { ...CUDA_ATTEMPT_67_TARGET, convWeightGrad: "gemm" } },
  // Attempt 75: WebGPU's graphs with phases made without SpaceToDepth (the strided weight gradients).
  { name: "WebGPU's graphs with phases by Reshape and Transpose (spaceToDepth transpose)", target: { ...WEBGPU_TARGET, spaceToDepth: "transpose" } },
];
for (const form of CANDIDATE_FORMS) {
  describe(`layer gradients with ${form.name}, CPU provider`, () => {
    CASES.forEach((c, caseIndex) => {
      if (!c.nchwc && !c.cpu && conv2dCount(c.spec) > 0) it(c.name, () => checkLayerCase(c, caseIndex, form.target, threads));
    });
  });
}

describe("the GPU candidate forms' graphs (attempt 68)", () => {
  const graphsOf = (c: LayerCase, target: GraphTarget) => {
    const spec = LayerSpec.parse(c.spec);
    const model = oneLayerModel(spec, c.inShape(seededRandom(1)));
    const ops = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);
    const graphs = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target });
    return { layer: model.layers[0], forward: ops(graphs.forward), backward: ops(graphs.backward) };
  };
  const plainConvs = CASES.filter((c) => !c.nchwc && !c.cpu && c.spec.type === "conv2d");

  it("convInputGrad subpixel: no ConvTranspose wherever the sub-pixel plan applies, DepthToSpace at stride S > 1; ConvTranspose elsewhere", () => {
    let applied = 0;
    for (const c of plainConvs) {
      const { layer, backward } = graphsOf(c, { ...CUDA_ATTEMPT_67_TARGET, convInputGrad: "subpixel" });
      const plan = subPixelPlan(layer as Conv2dLayer, true);
      const strided = (c.spec as { stride?: number }).stride ?? 1;
      expect(backward.includes("ConvTranspose"), `${c.name}: ConvTranspose`).to.equal(plan === null);
      expect(backward.includes("DepthToSpace"), `${c.name}: DepthToSpace`).to.equal(plan !== null && strided > 1);
      if (plan !== null) applied++;
      expect(graphsOf(c, CUDA_ATTEMPT_67_TARGET).backward, `${c.name}, ConvTranspose before attempt 69`).to.include("ConvTranspose");
    }
    expect(applied, "cases the sub-pixel form applies to").to.be.at.least(8);
  });

  it("convWeightGrad columns: a strided conv's weight gradient from its strided unfold, not from input phases", () => {
    const strided = plainConvs.filter((c) => ((c.spec as { stride?: number }).stride ?? 1) > 1);
    expect(strided.length).to.be.at.least(8);
    for (const c of strided) {
      expect(graphsOf(c, CUDA_TARGET).backward, `${c.name}, CUDA_TARGET`).to.include("SpaceToDepth");
      const columns = graphsOf(c, { ...CUDA_TARGET, convWeightGrad: "columns" }).backward;
      expect(columns, `${c.name}, columns`).to.not.include("SpaceToDepth");
      expect(columns.filter((op) => op === "Slice"), `${c.name}, columns: one strided Slice a tap`).to.have.length((c.spec as { kernel: number }).kernel ** 2);
    }
  });

  it("convWeightGrad gemm: every conv's weight gradient is one 2-D MatMul over K*K taps of x, no batched product summed over N", () => {
    const backwardNodes = (c: LayerCase, target: GraphTarget) => {
      const model = oneLayerModel(LayerSpec.parse(c.spec), c.inShape(seededRandom(1)));
      return onnx.ModelProto.decode(buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target }).backward).graph!.node!;
    };
    // A ReduceSum of a MatMul's output: the unfold's per-example products summed over N.
    const summedProducts = (nodes: onnx.INodeProto[]) => {
      const matmuls = new Set(nodes.filter((n) => n.opType === "MatMul").flatMap((n) => n.output!));
      return nodes.filter((n) => n.opType === "ReduceSum" && matmuls.has(n.input![0])).length;
    };
    let strided = 0;
    for (const c of plainConvs) {
      const gemm = backwardNodes(c, { ...CUDA_TARGET, convWeightGrad: "gemm" });
      const ops = gemm.map((n) => n.opType);
      expect(ops, `${c.name}, gemm`).to.not.include("SpaceToDepth");
      expect(ops.filter((op) => op === "MatMul"), `${c.name}, gemm: one MatMul`).to.have.length(1);
      expect(ops.filter((op) => op === "Slice"), `${c.name}, gemm: one Slice a tap`).to.have.length((c.spec as { kernel: number }).kernel ** 2);
      expect(summedProducts(gemm), `${c.name}, gemm`).to.equal(0);
      if (((c.spec as { stride?: number }).stride ?? 1) > 1) strided++;
      else expect(summedProducts(backwardNodes(c, CUDA_TARGET)), `${c.name}, CUDA_TARGET: the unfold's sum over N`).to.equal(1);
    }
    expect(strided, "strided cases").to.be.at.least(8);
  });

  // One-layer blocks: convRelu and the phase hand-over need more; test/model-gradient.test.ts checks those.
  it("the CPU target ignores every GPU form (convWeightGrad, convInputGrad, unfoldForwardChannels, convRelu): the same graphs, byte for byte", () => {
    for (const c of CASES.filter((c) => conv2dCount(c.spec) > 0)) {
      const spec = LayerSpec.parse(c.spec);
      const model = oneLayerModel(spec, c.inShape(seededRandom(1)));
      for (const cpu of [{ nchwcBlock: 0, cpu: true }, { nchwcBlock: 8, cpu: true }]) {
        const plain = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target: cpu });
        const fields: GraphForms[] = [{ convWeightGrad: "conv" }, { convWeightGrad: "columns" }, { convWeightGrad: "gemm" }, { convInputGrad: "subpixel" }, { convInputGrad: "phases" }, { unfoldForwardChannels: 64 }, { convRelu: "fused" }];
        for (const forms of fields) {
          const asked = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target: { ...cpu, ...forms } });
          expect(Buffer.from(asked.backward).equals(Buffer.from(plain.backward)), `${c.name}, ${JSON.stringify(forms)}: backward`).to.equal(true);
          expect(Buffer.from(asked.forward).equals(Buffer.from(plain.forward)), `${c.name}, ${JSON.stringify(forms)}: forward`).to.equal(true);
        }
      }
    }
  });
});

describe("WebGPU's Conv fault: zero channels added where its Conv miscomputes (webgpu-conv-faults.ts)", () => {
  it("is the observed set: C > 3, C % 3 = 0, C % 4 != 0, a multiple of 4 output channels, not a pointwise conv", () => {
    const conv = (c: number, m: number, kernel: number, stride = 1, p = 0) => hitsWebGpuChannelFault({ c, m, kernel, stride, pads: [p, p, p, p] });
    const hits = Array.from({ length: 40 }, (_, i) => i + 1).filter((c) => conv(c, 4, 3, 1, 1));
    expect(hits).to.deep.equal([6, 9, 15, 18, 21, 27, 30, 33, 39]);
    expect([conv(6, 6, 3), conv(6, 12, 2), conv(6, 4, 1), conv(6, 4, 1, 2), conv(6, 4, 1, 1, 1)]).to.deep.equal([false, true, false, true, true]);
  });

  it("WEBGPU_TARGET pads the input and weight of exactly those Convs (forward and the sub-pixel input gradient), other targets none", () => {
    // Each Pad that feeds a Conv: the channels it adds at the end of axis 1.
    const channelPads = (c: LayerCase, target: GraphTarget, which: "forward" | "backward") => {
      const model = oneLayerModel(LayerSpec.parse(c.spec), c.inShape(seededRandom(1)));
      const graph = onnx.ModelProto.decode(buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target })[which]).graph!;
      const values = (name: string) => Array.from(new BigInt64Array(Uint8Array.from(graph.initializer!.find((t) => t.name === name)!.rawData!).buffer), Number);
      const convInputs = new Set(graph.node!.filter((n) => n.opType === "Conv").flatMap((n) => n.input!));
      return graph.node!.filter((n) => n.opType === "Pad" && convInputs.has(n.output![0]) && n.input![1].startsWith("channel_pads")).map((n) => values(n.input![1])[5]);
    };
    const byName = (name: string) => CASES.find((c) => c.name.startsWith(name))!;
    expect(channelPads(byName("conv2d k3 s1 p1, 6 to 8 channels"), WEBGPU_TARGET, "forward"), "6 -> 8: x and W to 8 channels").to.deep.equal([2, 2]);
    expect(channelPads(byName("conv2d k3 s2 p1 no bias, 9 to 4 channels"), WEBGPU_TARGET, "forward"), "9 -> 4: to 12").to.deep.equal([3, 3]);
    expect(channelPads(byName("conv2d k3 s1 p1 bias"), WEBGPU_TARGET, "forward"), "3 -> 4: none").to.deep.equal([]);
    const subPixel = byName("conv2d k3 s2 p1, 4 to 6 channels on 8x8");
    expect(channelPads(subPixel, { ...WEBGPU_TARGET, convInputGrad: "subpixel" }, "backward"), "sub-pixel Conv over dy's 6 channels into 16").to.deep.equal([2, 2]);
    for (const target of [CUDA_TARGET, PORTABLE_TARGET]) {
      expect(channelPads(byName("conv2d k3 s1 p1, 6 to 8 channels"), target, "forward")).to.deep.equal([]);
      expect(channelPads(subPixel, { ...target, convInputGrad: "subpixel" }, "backward")).to.deep.equal([]);
    }
  });

  it("WEBGPU_TARGET pads the sub-pixel Conv over a K x K dy padded after only before too, and drops those outputs", () => {
    const c = CASES.find((c) => c.name.startsWith("conv2d k3 s2 p1 on 4x4"))!;
    const model = oneLayerModel(LayerSpec.parse(c.spec), c.inShape(seededRandom(1)));
    const convPads = (target: GraphTarget) => {
      const graph = onnx.ModelProto.decode(buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target: { ...target, convInputGrad: "subpixel" } }).backward).graph!;
      const conv = graph.node!.find((n) => n.opType === "Conv")!;
      const cropped = graph.node!.some((n) => n.opType === "Slice" && n.input![0] === conv.output![0]);
      return { pads: Array.from(conv.attribute!.find((a) => a.name === "pads")!.ints!, Number), cropped };
    };
    expect(convPads(WEBGPU_TARGET)).to.deep.equal({ pads: [1, 1, 1, 1], cropped: true });
    expect(convPads(CUDA_TARGET)).to.deep.equal({ pads: [0, 0, 1, 1], cropped: false });
  });
});

/** relu's backward, built for `target`, passes dy exactly where x > 0 and nowhere else. */
async function checkReluMaskExact(target: GraphTarget): Promise<void> {
  const spec = LayerSpec.parse({ type: "relu" });
  const model = oneLayerModel(spec, [6]);
  const graphs = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target });
  const backward = await GraphSession.create(graphs.backward, "relu mask", threads);
  try {
    const x = Float32Array.of(-1, -0, 0, 1e-40, 2, 3.4e38);
    const dy = Float32Array.of(5, 6, 7, -8, 9, 10);
    const out = await backward.run({ "b0.x": { data: x, dims: [1, 6] }, "b0.dy": { data: dy, dims: [1, 6] } });
    expect(Array.from(out["b0.dx"].data).map(Math.abs)).to.deep.equal([0, 0, 0, 8, 9, 10]);
  } finally {
    await backward.release();
  }
}

/**
 * maxpool2d's backward, built for `target`, on inputs with tied maxima: a hand case (an all-zero
 * window gives its first element the whole gradient; overlapping windows add up), then a ReLU'd
 * input with values from {0, 0.5, 1} against the float64 reference, which takes the first maximum.
 */
async function checkMaxPoolTies(target: GraphTarget): Promise<void> {
  const run = async (spec: Record<string, unknown>, shape: number[], x: Float32Array, dy: Float32Array) => {
    const model = oneLayerModel(LayerSpec.parse(spec), shape.slice(1));
    const graphs = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target });
    const backward = await GraphSession.create(graphs.backward, "maxpool ties", threads);
    try {
      const outShape = [shape[0], ...model.blocks[0].outShape];
      return (await backward.run({ "b0.x": { data: x, dims: shape }, "b0.dy": { data: dy, dims: outShape } }))["b0.dx"].data;
    } finally {
      await backward.release();
    }
  };
  // 1 x 1 x 2 x 3, k2 s1: windows [0 0 | 0 0] and [0 0 | 0 0] overlap at column 1, all zeros.
  const hand = await run({ type: "maxpool2d", kernel: 2, stride: 1 }, [1, 1, 2, 3], new Float32Array(6), Float32Array.of(5, 7));
  expect(Array.from(hand)).to.deep.equal([5, 7, 0, 0, 0, 0]);
  const rng = seededRandom(77);
  const spec = { type: "maxpool2d", kernel: 3, stride: 2, padding: 1 };
  const shape = [2, 3, 7, 6];
  const x = Float32Array.from({ length: 2 * 3 * 7 * 6 }, () => [0, 0, 0, 0.5, 1][Math.floor(rng() * 5)]);
  const model = oneLayerModel(LayerSpec.parse(spec), shape.slice(1));
  const dy = Float32Array.from(randomArray(rng, shape[0] * model.blocks[0].outShape.reduce((a, b) => a * b, 1)));
  const ref = refBackward(LayerSpec.parse(spec), { data: Float64Array.from(x), dims: shape }, {}, { data: Float64Array.from(dy), dims: [shape[0], ...model.blocks[0].outShape] }, shape[0]);
  // dx is dy routed and summed where windows overlap: float32 sums of at most 4 terms.
  expect(relativeError(await run(spec, shape, x, dy), ref.dx.data)).to.be.below(1e-6);
}

/** How many conv2d layers a case's spec holds (a residual unit's inner layers and its shortcut's). */
function conv2dCount(spec: Record<string, unknown>): number {
  if (spec.type === "conv2d") return 1;
  if (spec.type !== "residual") return 0;
  const count = (layers: Record<string, unknown>[]) => layers.reduce((n, l) => n + conv2dCount(l), 0);
  const shortcut = Array.isArray(spec.shortcut) ? count(spec.shortcut as Record<string, unknown>[]) : spec.shortcut === "conv" ? 1 : 0;
  return count(spec.layers as Record<string, unknown>[]) + shortcut;
}

/** Conv nodes with a dilations attribute: only convWeightGrad makes them in our graphs. */
function dilatedConvs(bytes: Uint8Array): number {
  return (onnx.ModelProto.decode(bytes).graph?.node ?? []).filter((n) => n.opType === "Conv" && (n.attribute ?? []).some((a) => a.name === "dilations")).length;
}

async function checkLayerCase(c: LayerCase, caseIndex: number, target: GraphTarget, opts: ProviderOptions): Promise<void> {
  const rng = seededRandom(1000 + caseIndex);
  const spec = LayerSpec.parse(c.spec);
  const inShape = c.inShape(rng);
  const model = oneLayerModel(spec, inShape);
  const block = model.blocks[0];
  const batch = c.batch ?? BATCH;
  const clips = c.clips ?? batch;
  const x: RefTensor = { data: randomArray(rng, batch * inShape.reduce((a, b) => a * b, 1), c.inputScale ?? 1), dims: [batch, ...inShape] };
  const params: RefParams = {};
  for (const p of block.params) params[suffixOf(p.name)] = randomArray(rng, p.shape.reduce((a, b) => a * b, 1), 1 / Math.sqrt(p.fanIn));

  const y = refForward(spec, x, params, clips);
  expect(y.dims, "reference output dims").to.deep.equal([batch, ...block.outShape]);
  const dy: RefTensor = { data: randomArray(rng, y.data.length), dims: y.dims };
  const ref = refBackward(spec, x, params, dy, clips);
  const loss = () => dot(dy.data, refForward(spec, x, params, clips).data);

  // Reference backward against finite differences.
  expect(relativeError(ref.dx.data, centralDifferences(loss, x.data)), "reference dx vs FD").to.be.below(1e-7);
  for (const [suffix, values] of Object.entries(params)) {
    expect(relativeError(ref.dParams[suffix], centralDifferences(loss, values)), `reference d${suffix} vs FD`).to.be.below(1e-7);
  }

  // ONNX graphs against the reference (the reference's gradients now equal FD's).
  const graphs = buildBlockGraphs(model, block, { inputGrad: true, target });
  if (c.nchwc && target.nchwcBlock > 0) expect(graphUsesNchwc(graphs.forward), "forward graph uses the NCHWc Conv").to.equal(true);
  const convForm = target.convWeightGrad === "conv" && !target.cpu;
  expect(dilatedConvs(graphs.backward), "weight gradients as one dilated Conv each").to.equal(convForm ? conv2dCount(c.spec) : 0);
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = { "b0.x": { data: f32(x.data), dims: x.dims } };
  for (const p of block.params) feeds[p.name] = { data: f32(params[suffixOf(p.name)]), dims: p.shape };
  const forward = await GraphSession.create(graphs.forward, `${c.name} forward`, opts);
  const backward = await GraphSession.create(graphs.backward, `${c.name} backward`, opts);
  // Layers with per-frame statistics declare the rows-per-frame input in the training graphs.
  if (forward.inputNames.includes(CLIPS_PER_FRAME)) feeds[CLIPS_PER_FRAME] = { data: Float32Array.of(clips), dims: [1] };
  const gradTolerance = opts.provider === "cpu" ? 1e-5 : 1e-3;
  try {
    const out = (await forward.run(feeds))["b0.y"];
    expect(out.dims, "ONNX output dims").to.deep.equal(y.dims);
    expect(relativeError(out.data, y.data), "ONNX forward vs reference").to.be.below(1e-5);
    const grads = await backward.run({ ...feeds, "b0.dy": { data: f32(dy.data), dims: dy.dims } });
    expect(grads["b0.dx"].dims).to.deep.equal(x.dims);
    expect(relativeError(grads["b0.dx"].data, ref.dx.data), "ONNX dx vs FD").to.be.below(gradTolerance);
    for (const p of block.params) {
      const g = grads[gradName(p.name)];
      expect(g.dims, `${gradName(p.name)} dims`).to.deep.equal(p.shape);
      expect(relativeError(g.data, ref.dParams[suffixOf(p.name)]), `ONNX ${gradName(p.name)} vs FD`).to.be.below(gradTolerance);
    }
  } finally {
    await forward.release();
    await backward.release();
  }
}
