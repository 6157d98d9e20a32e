/**
 * Convolutions through onnxruntime's NCHWc CPU kernels: direct convolutions on a channel-blocked
 * layout, about 1.5x faster than its im2col Conv at small channel counts (docs/PERFORMANCE.md
 * attempt 18). onnxruntime only rewrites a Conv into them when the weight is a constant; ours are
 * fed every step, so the graphs call the `com.microsoft.nchwc` ops themselves and reorder the fed
 * weight inside the graph (nchwcFilter).
 */
import { NCHWC_DOMAIN, type GraphBuilder } from "../graph/graph-builder.js";

/**
 * Whether a conv from `inChannels` to `outChannels` can run on the NCHWc kernels of the graph's
 * target. They take a plain NCHW input when C < block (the filter then in OIHWBo order: output
 * channels blocked innermost) and a blocked input when C is a multiple of the block (filter
 * OIHWBiBo); onnxruntime's own NCHWc rewrite has the same two cases and skips others. Unlike that
 * rewrite, output channel counts that are not a multiple of the block are skipped too: the padded
 * channels and the ReorderOutput that drops them made quickstart-cnn's 1->8 conv slower than
 * onnxruntime's plain Conv (docs/PERFORMANCE.md attempt 18).
 */
export function nchwcFits(g: GraphBuilder, inChannels: number, outChannels: number): boolean {
  const block = g.target.nchwcBlock;
  return block > 0 && outChannels % block === 0 && (inChannels < block || inChannels % block === 0);
}

export interface NchwcConvShape {
  /** Output and input channels, square kernel size. */
  m: number;
  c: number;
  kernel: number;
  stride: number;
  /** ONNX order: top, left, bottom, right. */
  pads: [number, number, number, number];
}

/**
 * Conv of x (N, C, H, W) with a (M, C, K, K) weight value (and optional bias) on the NCHWc kernels,
 * optionally with a fused activation; returns NCHW. Only where nchwcFits(C, M).
 */
export function nchwcConv(g: GraphBuilder, x: string, weight: string, bias: string | null, shape: NchwcConvShape, activation: "Relu" | null = null): string {
  return nchwcConvFiltered(g, x, nchwcFilter(g, weight, [shape.m, shape.c, shape.kernel]), bias, shape, activation);
}

/** nchwcConv with the filter already in the NCHWc order (nchwcFilter, nchwcTransposedFilter). */
export function nchwcConvFiltered(g: GraphBuilder, x: string, filter: string, bias: string | null, shape: NchwcConvShape, activation: "Relu" | null = null): string {
  const { m, c, kernel: k, stride, pads } = shape;
  if (!nchwcFits(g, c, m)) throw new Error(`BUG: graph ${g.name}: no NCHWc conv from ${c} to ${m} channels (block ${g.target.nchwcBlock})`);
  // nchwcFits admits only M a multiple of the block, so neither the filter nor the bias is padded.
  const inputs = [c >= g.target.nchwcBlock ? blocked(g, x) : x, filter];
  if (bias !== null) inputs.push(bias);
  const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [...pads], group: 1, ...(activation ? { activation } : {}) };
  const yBlocked = g.opIn(NCHWC_DOMAIN, "Conv", inputs, attrs);
  return g.opIn(NCHWC_DOMAIN, "ReorderOutput", [yBlocked], { channels: m, channels_last: 0 });
}

/**
 * x (C a multiple of the block) in the blocked layout: the blocked tensor itself where x is the
 * NCHW view another NCHWc conv made of it (one ReorderOutput + ReorderInput pair fewer).
 */
function blocked(g: GraphBuilder, x: string): string {
  return g.madeBy(x, "ReorderOutput", NCHWC_DOMAIN)?.[0] ?? g.opIn(NCHWC_DOMAIN, "ReorderInput", [x], { channels_last: 0 });
}

/**
 * The NCHWc filter of an (M, C, K, K) weight value: (Mp, C, K, K) with output channels padded to
 * a multiple of the block (as onnxruntime's rewrite does), then reordered:
 *   OIHWBo   (C < block):     W[o*B + bo, c, kh, kw]         -> [o, c, kh, kw, bo]
 *   OIHWBiBo (C % block = 0): W[o*B + bo, i*B + bi, kh, kw] -> [o, i, kh, kw, bi, bo]
 * (MlasReorderFilterOIHWBo / OIHWBiBo; test/nchwc.test.ts checks both against onnxruntime's own
 * reorder). The weights are a few KB, so this costs microseconds.
 */
export function nchwcFilter(g: GraphBuilder, weight: string, [m, c, k]: readonly number[]): string {
  const block = g.target.nchwcBlock;
  if (block <= 0 || (c >= block && c % block !== 0)) throw new Error(`BUG: graph ${g.name}: no NCHWc filter for ${c} input channels (block ${block})`);
  const mp = Math.ceil(m / block) * block;
  const padded = mp > m ? g.op("Pad", [weight, g.constInt64("pad_out_channels", [0, 0, 0, 0, mp - m, 0, 0, 0])]) : weight;
  const o = mp / block;
  // onnxruntime's generic Transpose of 5 or 6 dims costs about 4 ns an entry; the same reorder
  // as Transposes of at most 4 (merged) dims is about 3x faster (docs/PERFORMANCE.md attempt 58).
  let filter: string;
  if (c >= block) {
    const i = c / block;
    // [O, Bo, I, Bi*K*K] -> [O, I, Bi*K*K, Bo], then [O*I, Bi, K*K, Bo] -> [O*I, K*K, Bi, Bo].
    const outer = g.op("Transpose", [g.op("Reshape", [padded, g.constInt64("o_bo_i_bikk", [o, block, i, block * k * k])])], { perm: [0, 2, 3, 1] });
    filter = g.op("Transpose", [g.op("Reshape", [outer, g.constInt64("oi_bi_kk_bo", [o * i, block, k * k, block])])], { perm: [0, 2, 1, 3] });
  } else {
    // [O, Bo, C*K*K] -> [O, C*K*K, Bo].
    filter = g.op("Transpose", [g.op("Reshape", [padded, g.constInt64("o_bo_ckk", [o, block, c * k * k])])], { perm: [0, 2, 1] });
  }
  return g.op("Reshape", [filter, g.constInt64("filter_shape", [mp, c, k, k])]);
}

/**
 * The NCHWc filter of the (C, M, K, K) weight with W's (M, C, K, K) channels swapped and its taps
 * flipped (a stride-1 input gradient as a Conv, conv2d.ts transposedConv), straight from W, where
 * both channel counts are multiples of the block. W viewed as [I, Bi, O, Bo, K*K] (I = M/B
 * input blocks of the new conv, O = C/B output blocks) goes to [O*I, K*K, Bi, Bo] in two
 * Transposes of at most 4 merged dims, and the flip is a Gather of whole (Bi, Bo) blocks in
 * reverse tap order, where a negative-step Slice and a 6-D Transpose copied entry by entry
 * (docs/PERFORMANCE.md attempt 59).
 */
export function nchwcTransposedFilter(g: GraphBuilder, weight: string, [m, c, k]: readonly number[]): string {
  const block = g.target.nchwcBlock;
  if (block <= 0 || m % block !== 0 || c % block !== 0) throw new Error(`BUG: graph ${g.name}: no transposed NCHWc filter for ${m} -> ${c} channels (block ${block})`);
  const [i, o, kk] = [m / block, c / block, k * k];
  // [I*Bi, O, Bo*K*K] -> [O, I*Bi, Bo*K*K], then [O*I, Bi, Bo, K*K] -> [O*I, K*K, Bi, Bo].
  const outer = g.op("Transpose", [g.op("Reshape", [weight, g.constInt64("ibi_o_bokk", [m, o, block * kk])])], { perm: [1, 0, 2] });
  const inner = g.op("Transpose", [g.op("Reshape", [outer, g.constInt64("oi_bi_bo_kk", [o * i, block, block, kk])])], { perm: [0, 3, 1, 2] });
  const flipped = g.op("Gather", [inner, g.constInt64("taps_reversed", Array.from({ length: kk }, (_, t) => kk - 1 - t))], { axis: 1 });
  return g.op("Reshape", [flipped, g.constInt64("filter_shape", [c, m, k, k])]);
}
