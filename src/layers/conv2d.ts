/**
 * conv2d: torch.nn.Conv2d with a square kernel, stride, zero padding, optional bias.
 * Forward: Conv; where onnxruntime's NCHWc kernels fit, those (nchwcConv); in training graphs on
 * the CPU provider, stride 1, a 1x1 Conv over the unfolded columns the weight gradient reuses.
 * VJP from ordinary ops (no gradient ops exist in onnxruntime; onnxruntime-node.md):
 *   dx = ConvTranspose(dy, W) with output_padding (H + 2P - K) mod S;
 *   dW = for stride-1 convs, an unfold of x into per-example columns and a batched MatMul with dy;
 *        for strided convs, x split into its S*S phases (SpaceToDepth) against shifted copies of dy
 *        (phaseWeightGrad);
 *   db = ReduceSum(dy) over (N, h, w).
 */
import { NCHWC_DOMAIN, type GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { type ForwardResult, checkKernelFits, defineLayer, imageShape, outputPadding, param, windowOut, type PlacedLayer, type VjpInputs } from "./layer-def.js";

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
    if (nchwcUsable(g, layer)) return { y: nchwcConv(g, layer, x, params, null), saved: {} };
    const { kernel, stride, padding } = layer.spec;
    if (training && stride === 1 && g.target.cpu) {
      // onnxruntime's CPU Conv is im2col + GEMM; the weight gradient builds the same columns
      // (unfoldWeightGrad), so build them once and run the forward as a 1x1 conv over them
      // (bit-identical output; docs/PERFORMANCE.md attempt 31).
      const cols = unfoldColumns(g, layer, x);
      const [c] = layer.inShape;
      const [m, oh, ow] = layer.outShape;
      const ckk = c * kernel * kernel;
      const inputs = [g.op("Reshape", [cols, g.constInt64("n_ckk_h_w", [0, ckk, oh, ow])]), g.op("Reshape", [param(params, "weight", layer), g.constInt64("m_ckk_1_1", [m, ckk, 1, 1])])];
      if (layer.spec.bias) inputs.push(param(params, "bias", layer));
      return { y: g.op("Conv", inputs, { kernel_shape: [1, 1] }), saved: { cols } };
    }
    const inputs = [x, param(params, "weight", layer)];
    if (layer.spec.bias) inputs.push(param(params, "bias", layer));
    const y = g.op("Conv", inputs, {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [padding, padding, padding, padding],
    });
    return { y, saved: {} };
  },
  forwardFused(g, layer, x, params, activation) {
    // onnxruntime already fuses Conv + Relu into FusedConv on the portable path.
    return nchwcUsable(g, layer) ? nchwcConv(g, layer, x, params, activation) : null;
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
    const dW = stride === 1 ? unfoldWeightGrad(g, layer, v) : phaseWeightGrad(g, layer, v);
    const dParams: { weight: string; bias?: string } = { weight: dW };
    if (layer.spec.bias) {
      dParams.bias = g.op("ReduceSum", [v.dy, g.constInt64("axes_nhw", [0, 2, 3])], { keepdims: 0 });
    }
    return { dx, dParams };
  },
});

/**
 * The NCHWc kernels take a plain NCHW input when C < block (the filter then in OIHWBo order:
 * output channels blocked innermost) and a blocked input when C is a multiple of the block
 * (filter OIHWBiBo); onnxruntime's own NCHWc rewrite has the same two cases and skips others.
 * Unlike that rewrite, we also skip output channel counts that are not a multiple of the block:
 * the padded channels and the ReorderOutput that drops them made quickstart-cnn's 1->8 conv
 * slower than onnxruntime's plain Conv (docs/PERFORMANCE.md attempt 18).
 */
function nchwcUsable(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>): boolean {
  const block = g.target.nchwcBlock;
  const c = layer.inShape[0];
  return block > 0 && layer.spec.out_channels % block === 0 && (c < block || c % block === 0);
}

/**
 * The forward conv through onnxruntime's NCHWc CPU kernels (direct convolutions on a
 * channel-blocked layout; about 1.5x faster than its im2col Conv at this model's small channel
 * counts, docs/PERFORMANCE.md attempt 18). onnxruntime only uses them for constant weights, so the
 * filter is reordered here, in the graph, from the weight fed at run time (nchwcFilter, which also
 * pads output channels to a multiple of the block, as onnxruntime's rewrite does), then
 *   OIHWBo   (C < block):     W[o*B + bo, c, kh, kw]         -> [o, c, kh, kw, bo]
 *   OIHWBiBo (C % block = 0): W[o*B + bo, i*B + bi, kh, kw] -> [o, i, kh, kw, bi, bo]
 * (MlasReorderFilterOIHWBo / OIHWBiBo; test/nchwc.test.ts checks both against onnxruntime's own
 * reorder). The weights are a few KB, so this costs microseconds. ReorderOutput returns NCHW.
 */
function nchwcConv(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, x: string, params: VjpInputs["params"], activation: "Relu" | null): string {
  const { kernel: k, stride, padding, out_channels: m } = layer.spec;
  const block = g.target.nchwcBlock;
  const c = layer.inShape[0];
  const filter = nchwcFilter(g, param(params, "weight", layer), [m, c, k, k]);
  const inputs = [c >= block ? g.opIn(NCHWC_DOMAIN, "ReorderInput", [x], { channels_last: 0 }) : x, filter];
  // nchwcUsable admits only M a multiple of the block, so neither the filter nor the bias is padded here.
  if (layer.spec.bias) inputs.push(param(params, "bias", layer));
  const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [padding, padding, padding, padding], group: 1, ...(activation ? { activation } : {}) };
  const yBlocked = g.opIn(NCHWC_DOMAIN, "Conv", inputs, attrs);
  return g.opIn(NCHWC_DOMAIN, "ReorderOutput", [yBlocked], { channels: m, channels_last: 0 });
}

/** The NCHWc filter of an (M, C, K, K) weight value (see nchwcConv): (Mp, C, K, K), reordered. */
export function nchwcFilter(g: GraphBuilder, weight: string, [m, c, k]: readonly number[]): string {
  const block = g.target.nchwcBlock;
  if (block <= 0 || (c >= block && c % block !== 0)) throw new Error(`BUG: graph ${g.name}: no NCHWc filter for ${c} input channels (block ${block})`);
  const mp = Math.ceil(m / block) * block;
  const padded = mp > m ? g.op("Pad", [weight, g.constInt64("pad_out_channels", [0, 0, 0, 0, mp - m, 0, 0, 0])]) : weight;
  const filter =
    c >= block
      ? g.op("Transpose", [g.op("Reshape", [padded, g.constInt64("o_bo_i_bi_k_k", [mp / block, block, c / block, block, k, k])])], { perm: [0, 2, 4, 5, 3, 1] })
      : g.op("Transpose", [g.op("Reshape", [padded, g.constInt64("o_bo_c_k_k", [mp / block, block, c, k, k])])], { perm: [0, 2, 3, 4, 1] });
  return g.op("Reshape", [filter, g.constInt64("filter_shape", [mp, c, k, k])]);
}

/**
 * The columns (the forward's, or built here) against dy as (N, h*w, M) in one batched MatMul,
 * summed over N.
 */
function unfoldWeightGrad(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, v: VjpInputs): string {
  const { kernel, out_channels: m } = layer.spec;
  const [c] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const cols = v.saved.cols ?? unfoldColumns(g, layer, v.x);
  const dyT = g.op("Transpose", [g.op("Reshape", [v.dy, g.constInt64("n_m_l", [0, m, oh * ow])])], { perm: [0, 2, 1] });
  const perExample = g.op("MatMul", [cols, dyT]); // (N, C*K*K, M)
  const dWT = g.op("ReduceSum", [perExample, g.constInt64("axis0", [0])], { keepdims: 0 });
  return g.op("Reshape", [g.op("Transpose", [dWT], { perm: [1, 0] }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
}

/**
 * im2col per example by K*K strided slices of the padded input, laid out (N, C*K*K, h*w) without
 * a transpose, rows (c, kh, kw) as the weight's.
 */
function unfoldColumns(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, x: string): string {
  const { kernel, stride, padding } = layer.spec;
  const [c] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const xp = padding > 0 ? g.op("Pad", [x, g.constInt64("pads", [0, 0, padding, padding, 0, 0, padding, padding])]) : x;
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
  return g.op("Reshape", [g.op("Concat", taps, { axis: 2 }), g.constInt64("n_ckk_l", [0, c * kernel * kernel, oh * ow])]);
}

/** Which phase of the input (index mod S along one axis) kernel tap k reads, and at what shift. */
interface TapPhase {
  phase: number;
  shift: number;
}

/** Tap k reads padded row S*i + k, input row S*i + k - P = S*(i + shift) + phase. */
function tapPhases(kernel: number, stride: number, padding: number): TapPhase[] {
  return Array.from({ length: kernel }, (_, k) => {
    const shift = Math.floor((k - padding) / stride);
    return { phase: k - padding - shift * stride, shift };
  });
}

/**
 * Weight gradient of a strided conv without strided copies (docs/PERFORMANCE.md attempt 10).
 * SpaceToDepth splits x into its S*S phases, each on a grid of Hg x Wg phase positions:
 * X (N, S*S*C, Hg*Wg). Tap (kh, kw) pairs phase (rh, rw) at position (q, t) with
 * dy[q - sh, t - sw], so dW[:, :, kh, kw] = sum over n, q, t of X[phase] * D[shift], where
 * D[shift] is dy on the same grid moved by the shift. Each D[shift] is one flat shift (a Pad of
 * (N, M, Hg*Wg) by sh*Wg + sw, a fast contiguous copy); the entries a horizontal shift would
 * carry across a row end are zeroed beforehand by a column mask. One batched MatMul per shift
 * computes every phase against it (S*S*nShift^2 blocks for K*K taps: 16 for 9 at K3 S2; the
 * extra multiply-adds cost less than the copies they save), summed over N; the K*K real taps
 * are then gathered from the blocks. Out-of-range positions read zeros: X is zero past the
 * input, D past dy and past the flat ends.
 */
function phaseWeightGrad(g: GraphBuilder, layer: PlacedLayer<Conv2dSpec>, v: VjpInputs): string {
  const { kernel, stride, padding, out_channels: m } = layer.spec;
  const [c, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const taps = tapPhases(kernel, stride, padding);
  const shifts = [...new Set(taps.map((t) => t.shift))].sort((a, b) => a - b);
  const ns = shifts.length;
  // The grid holds every phase position of x, every dy row a nonzero x position reads, and is
  // larger than every shift (so no flat shift moves data past a whole grid).
  const gridSize = (size: number, out: number): number => {
    const phases = Math.ceil(size / stride);
    return Math.max(phases, Math.min(out, phases - shifts[0]), Math.max(...shifts.map(Math.abs)) + 1);
  };
  const hg = gridSize(h, oh);
  const wg = gridSize(w, ow);
  const xGrid = hg * stride > h || wg * stride > w ? g.op("Pad", [v.x, g.constInt64("x_to_grid", [0, 0, 0, 0, 0, 0, hg * stride - h, wg * stride - w])]) : v.x;
  // (N, S*S*C, Hg*Wg), rows (rh, rw, c)
  const phases = g.op("Reshape", [g.op("SpaceToDepth", [xGrid], { blocksize: stride }), g.constInt64("n_ssc_l", [0, stride * stride * c, hg * wg])]);
  const dyGrid = hg === oh && wg === ow ? v.dy : g.op("Pad", [v.dy, g.constInt64("dy_to_grid", [0, 0, 0, 0, 0, 0, hg - oh, wg - ow])]);
  const dyFlat = g.op("Reshape", [dyGrid, g.constInt64("n_m_l", [0, m, hg * wg])]);
  const byColumnShift = new Map(
    shifts.map((sw) => {
      if (sw === 0) return [sw, dyFlat] as const;
      // a shift by sw reads column t - sw; zero the columns it would read across a row end
      const mask = Float32Array.from({ length: hg * wg }, (_, i) => {
        const t = i % wg;
        return (sw < 0 ? t >= -sw : t < wg - sw) ? 1 : 0;
      });
      return [sw, g.op("Mul", [dyFlat, g.constFloat("wrap_mask", mask, [1, 1, hg * wg])])] as const;
    }),
  );
  const axis0 = g.constInt64("axis0", [0]);
  const blocks: string[] = [];
  for (const sh of shifts) {
    for (const sw of shifts) {
      const delta = sh * wg + sw;
      const source = byColumnShift.get(sw)!;
      const shifted = delta === 0 ? source : g.op("Pad", [source, g.constInt64("flat_shift", [0, 0, delta, 0, 0, -delta])]);
      // MatMul with a transposed right side becomes one FusedMatMul (no copy)
      const perExample = g.op("MatMul", [phases, g.op("Transpose", [shifted], { perm: [0, 2, 1] })]); // (N, S*S*C, M)
      blocks.push(g.op("ReduceSum", [perExample, axis0], { keepdims: 0 }));
    }
  }
  const all = g.op("Concat", blocks, { axis: 1 }); // (S*S*C, nShift*nShift*M): rows (rh, rw, c), columns (sh, sw, m)
  // dW[m, c, kh, kw] is one entry of `all`: one Gather of the K*K*C*M real taps from the flat
  // products (a 6-D Transpose and two Gathers took about 3x as long; attempt 36).
  const columns = ns * ns * m;
  const tapEntries: number[] = [];
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < c; i++) {
      for (const th of taps) {
        for (const tw of taps) {
          const row = (th.phase * stride + tw.phase) * c + i;
          const column = (shifts.indexOf(th.shift) * ns + shifts.indexOf(tw.shift)) * m + o;
          tapEntries.push(row * columns + column);
        }
      }
    }
  }
  const flat = g.op("Reshape", [all, g.constInt64("flat", [-1])]);
  return g.op("Reshape", [g.op("Gather", [flat, g.constInt64("tap_entries", tapEntries)], { axis: 0 }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
}
