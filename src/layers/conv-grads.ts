/**
 * conv2d's VJP pieces, built from ordinary ops (onnxruntime has no gradient ops;
 * docs/design/onnxruntime-node.md). Each formulation was chosen by measurement
 * (docs/PERFORMANCE.md gives the attempt numbers):
 *   weight gradient, stride 1:  unfold + one batched MatMul (unfoldWeightGrad);
 *   weight gradient, stride S:  input phases against shifted dy (phaseWeightGrad);
 *   input gradient:             ConvTranspose (in conv2d.ts), or as phases by a sub-pixel conv
 *                               (subPixelInputGrad) for a fused graph's layers below, or that
 *                               conv interleaved (interleavedSubPixelInputGrad) on a GPU target
 *                               asking for it (GraphTarget.convInputGrad; attempt 68);
 *   from a phase-split dy:      phasedDyWeightGrad and biasGrad;
 *   weight gradient, one Conv:  convWeightGrad, only on a non-CPU target asking for it
 *                               (GraphTarget.convWeightGrad "conv"; attempt 64);
 *   weight gradient, one GEMM:  gemmWeightGrad (CPU: stride 1 on small images; a non-CPU target
 *                               asking for it at every stride, GraphTarget.convWeightGrad "gemm").
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { nchwcConv, nchwcFits } from "./conv-nchwc.js";
import { param, type PlacedLayer, type VjpInputs } from "./layer-def.js";
import { sumPerChannel } from "./norm-grads.js";
import { spaceToDepth } from "./phases.js";
import { convInputsFor, convPaddingFor, cropLeading } from "./webgpu-conv-faults.js";

export type Conv2dLayer = PlacedLayer<Extract<LayerSpec, { type: "conv2d" }>>;

/**
 * im2col per example by K*K strided slices of the padded input, laid out (N, C*K*K, h*w) without
 * a transpose, rows (c, kh, kw) as the weight's.
 */
export function unfoldColumns(g: GraphBuilder, layer: Conv2dLayer, x: string): string {
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

/**
 * The columns (the forward's, or built here) against dy as (N, h*w, M) in one batched MatMul,
 * summed over N.
 */
export function unfoldWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, out_channels: m } = layer.spec;
  const [c] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  if (!v.saved.cols && g.target.cpu && m > oh * ow) return gemmWeightGrad(g, layer, v);
  if (!v.saved.cols && g.target.cpu && c >= 16) return tapWeightGrad(g, layer, v);
  const cols = v.saved.cols ?? unfoldColumns(g, layer, v.x);
  const dyT = g.op("Transpose", [g.op("Reshape", [v.dy, g.constInt64("n_m_l", [0, m, oh * ow])])], { perm: [0, 2, 1] });
  const perExample = g.op("MatMul", [cols, dyT]); // (N, C*K*K, M)
  const dWT = g.op("ReduceSum", [perExample, g.constInt64("axis0", [0])], { keepdims: 0 });
  return g.op("Reshape", [g.op("Transpose", [dWT], { perm: [1, 0] }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
}

/**
 * The weight gradient as one MatMul: columns unfolded from x transposed to (C, N, H, W) as
 * (C*K*K, N*h*w), against dy as (M, N*h*w). On the CPU target for a stride-1 conv on a small image
 * (more output channels than output pixels, so the per-example products of unfoldWeightGrad
 * outnumber its columns and their sum over N costs more than the MatMul; docs/PERFORMANCE.md
 * attempt 42; attempt 22 took this form for every stride-1 conv and lost on the large images); on
 * a GPU target asking for it (GraphTarget.convWeightGrad "gemm"), at every stride, where one GEMM
 * with a long inner dimension replaces a batched MatMul of N thin products and their sum.
 */
export function gemmWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, stride, padding, out_channels: m } = layer.spec;
  const [c] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const xT = g.op("Transpose", [v.x], { perm: [1, 0, 2, 3] });
  const xp = padding > 0 ? g.op("Pad", [xT, g.constInt64("pads", [0, 0, padding, padding, 0, 0, padding, padding])]) : xT;
  const axes = g.constInt64("axes_hw", [2, 3]);
  // Strided taps take every S-th position; a stride-1 graph keeps the Slice without steps.
  const steps = stride > 1 ? [g.constInt64("steps", [stride, stride])] : [];
  const taps: string[] = [];
  for (let kh = 0; kh < kernel; kh++) {
    for (let kw = 0; kw < kernel; kw++) {
      const starts = g.constInt64("starts", [kh, kw]);
      const ends = g.constInt64("ends", [kh + stride * (oh - 1) + 1, kw + stride * (ow - 1) + 1]);
      const tap = g.op("Slice", [xp, starts, ends, axes, ...steps]);
      taps.push(g.op("Unsqueeze", [tap, g.constInt64("axis1", [1])]));
    }
  }
  // (C, K*K, N, oh, ow) -> (C*K*K, N*oh*ow)
  const cols = g.op("Reshape", [g.op("Concat", taps, { axis: 1 }), g.constInt64("ckk_nl", [c * kernel * kernel, -1])]);
  const dyT = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [v.dy, g.constInt64("n_m_l", [0, m, oh * ow])])], { perm: [1, 0, 2] }), g.constInt64("m_nl", [m, -1])]);
  const dW = g.op("MatMul", [dyT, g.op("Transpose", [cols], { perm: [1, 0] })]); // (M, C*K*K)
  return g.op("Reshape", [dW, g.constInt64("w_shape", [m, c, kernel, kernel])]);
}

/**
 * A stride-1 weight gradient tap by tap: each tap's slice of the padded x against dy in one
 * batched MatMul, the K*K (N, C, M) products concatenated and summed over N. The (N, C*K*K, h*w)
 * columns of unfoldWeightGrad, several MB at 32 rows of 16 channels on 16x16, are never written
 * (docs/PERFORMANCE.md attempts 43-44). Only for C >= 16: with the C = 1 or
 * 3 of a first conv, the per-tap products are too thin for the MatMul kernel and the step got
 * slower (measured on bench-8block's block 0).
 */
function tapWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, padding: p, out_channels: m } = layer.spec;
  const [c, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  // Flat taps: x padded (one extra row at the bottom), each (n, c) image flattened; tap (kh, kw)
  // is then the contiguous range from kh*Wp + kw of oh*Wp entries, against dy padded to the
  // padded width Wp with zeros (which cancel the entries a row's end wraps into).
  const wp = w + 2 * p;
  const flatLen = (h + 2 * p + 1) * wp;
  const xp = g.op("Reshape", [g.op("Pad", [v.x, g.constInt64("pads", [0, 0, p, p, 0, 0, p + 1, p])]), g.constInt64("n_c_flat", [0, c, flatLen])]);
  const dyp = wp > ow ? g.op("Pad", [v.dy, g.constInt64("dy_pads", [0, 0, 0, 0, 0, 0, 0, wp - ow])]) : v.dy;
  const dyT = g.op("Transpose", [g.op("Reshape", [dyp, g.constInt64("n_m_l", [0, m, oh * wp])])], { perm: [0, 2, 1] });
  const axis = g.constInt64("axis_flat", [2]);
  const taps: string[] = [];
  for (let kh = 0; kh < kernel; kh++) {
    for (let kw = 0; kw < kernel; kw++) {
      const o = kh * wp + kw;
      const tap = g.op("Slice", [xp, g.constInt64("starts", [o]), g.constInt64("ends", [o + oh * wp]), axis]);
      taps.push(g.op("Unsqueeze", [g.op("MatMul", [tap, dyT]), g.constInt64("axis2", [2])])); // (N, C, 1, M)
    }
  }
  const dWT = g.op("ReduceSum", [g.op("Concat", taps, { axis: 2 }), g.constInt64("axis0", [0])], { keepdims: 0 }); // (C, K*K, M)
  return g.op("Reshape", [g.op("Transpose", [dWT], { perm: [2, 0, 1] }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
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
 * computes the contiguous range of phases some tap pairs with it against it (a row slice of X;
 * 10 phase blocks for the 9 taps of K3 S2, against 16 for every phase), summed over N; the K*K
 * real taps are then gathered from the blocks. Out-of-range positions read zeros: X is zero
 * past the input, D past dy and past the flat ends.
 */
export function phaseWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, stride, padding, out_channels: m } = layer.spec;
  const [c, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const taps = tapPhases(kernel, stride, padding);
  const shifts = [...new Set(taps.map((t) => t.shift))].sort((a, b) => a - b);
  // The grid holds every phase position of x, every dy row a nonzero x position reads, and is
  // larger than every shift (so no flat shift moves data past a whole grid).
  const gridSize = (size: number, out: number): number => {
    const phases = Math.ceil(size / stride);
    return Math.max(phases, Math.min(out, phases - shifts[0]), Math.max(...shifts.map(Math.abs)) + 1);
  };
  const hg = gridSize(h, oh);
  const wg = gridSize(w, ow);
  const xGrid = hg * stride > h || wg * stride > w ? g.op("Pad", [v.x, g.constInt64("x_to_grid", [0, 0, 0, 0, 0, 0, hg * stride - h, wg * stride - w])]) : v.x;
  // (N, S*S*C, Hg*Wg), rows (rh, rw, c); a ReLU below given its gradient as phases reads the same split
  const phases = g.op("Reshape", [spaceToDepth(g, xGrid, [c, hg * stride, wg * stride], stride), g.constInt64("n_ssc_l", [0, stride * stride * c, hg * wg])]);
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
  const axis1 = g.constInt64("axis1", [1]);
  const flatShape = g.constInt64("flat", [-1]);
  // Per shift pair, the products of the phases some tap pairs with it: the contiguous range of
  // phase rows [lo, hi] holding them (at K3 S2, 1, 2, 3 and 4 of the 4 phases; the row slices
  // cost less than the products they save, attempt 38). Flattened one after another.
  const blocks: string[] = [];
  const placed = new Map<string, { offset: number; lo: number }>();
  let offset = 0;
  for (const sh of shifts) {
    for (const sw of shifts) {
      const rowsOf = (shift: number) => taps.filter((t) => t.shift === shift).map((t) => t.phase);
      const used = rowsOf(sh).flatMap((rh) => rowsOf(sw).map((rw) => rh * stride + rw));
      const [lo, hi] = [Math.min(...used), Math.max(...used)];
      const delta = sh * wg + sw;
      const source = byColumnShift.get(sw)!;
      const shifted = delta === 0 ? source : g.op("Pad", [source, g.constInt64("flat_shift", [0, 0, delta, 0, 0, -delta])]);
      const rows = lo === 0 && hi === stride * stride - 1 ? phases : g.op("Slice", [phases, g.constInt64("phase_rows_from", [lo * c]), g.constInt64("phase_rows_to", [(hi + 1) * c]), axis1]);
      // MatMul with a transposed right side becomes one FusedMatMul (no copy)
      const perExample = g.op("MatMul", [rows, g.op("Transpose", [shifted], { perm: [0, 2, 1] })]); // (N, rows, M)
      blocks.push(g.op("Reshape", [g.op("ReduceSum", [perExample, axis0], { keepdims: 0 }), flatShape]));
      placed.set(`${sh},${sw}`, { offset, lo });
      offset += (hi - lo + 1) * c * m;
    }
  }
  // dW[m, c, kh, kw] is one entry of the flat products: one Gather of the K*K*C*M real taps
  // (a 6-D Transpose and two Gathers took about 3x as long; attempt 36).
  const tapEntries: number[] = [];
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < c; i++) {
      for (const th of taps) {
        for (const tw of taps) {
          const block = placed.get(`${th.shift},${tw.shift}`)!;
          const row = (th.phase * stride + tw.phase - block.lo) * c + i;
          tapEntries.push(block.offset + row * m + o);
        }
      }
    }
  }
  const flat = g.op("Concat", blocks, { axis: 0 });
  return g.op("Reshape", [g.op("Gather", [flat, g.constInt64("tap_entries", tapEntries)], { axis: 0 }), g.constInt64("w_shape", [m, c, kernel, kernel])]);
}

/**
 * The weight gradient of any conv2d (every kernel, stride, padding) as ONE Conv, for GPU EPs whose
 * conv kernels should beat the unfold's K*K Slices + Concat + per-example MatMul + ReduceSum
 * (docs/GPU.md "Where our step's time goes"; docs/PERFORMANCE.md attempt 64):
 *   dW[m, c, kh, kw] = sum over n, i, j of dy[n, m, i, j] * xpad[n, c, S*i + kh, S*j + kw],
 * which is a Conv whose batch is x's channels and whose channels are x's examples: input x
 * transposed to (C, N, H, W), "weights" dy transposed to (M, N, oh, ow), dilations S, pads P, out
 * (C, M, H', W') transposed to (M, C, K, K). H' = H + 2P - S*(oh - 1) = K + r with r = (H + 2P - K)
 * mod S, the rows the forward's last window leaves over: the end padding drops them where it can
 * (P >= r), else a Slice keeps the first K.
 */
export function convWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, stride, padding: p } = layer.spec;
  const [, h, w] = layer.inShape;
  const rh = (h + 2 * p - kernel) % stride;
  const rw = (w + 2 * p - kernel) % stride;
  const [endH, endW] = [Math.max(0, p - rh), Math.max(0, p - rw)];
  const xT = g.op("Transpose", [v.x], { perm: [1, 0, 2, 3] });
  const dyT = g.op("Transpose", [v.dy], { perm: [1, 0, 2, 3] });
  let dWT = g.op("Conv", [xT, dyT], { dilations: [stride, stride], pads: [p, p, endH, endW] }); // (C, M, H', W')
  if (p - rh < 0 || p - rw < 0) {
    dWT = g.op("Slice", [dWT, g.constInt64("starts", [0, 0]), g.constInt64("ends", [kernel, kernel]), g.constInt64("axes_hw", [2, 3])]);
  }
  return g.op("Transpose", [dWT], { perm: [1, 0, 2, 3] });
}

/** How subPixelInputGrad convolves dy: a D x D kernel, dy padded by `before` and `after` rows (and columns). */
interface SubPixelPlan {
  taps: TapPhase[];
  maxShift: number;
  d: number;
  before: number;
  after: [number, number];
}

/**
 * The sub-pixel form of a strided conv's input gradient, or null where it does not apply: the
 * input must split evenly into S x S phases and dy's padding must not be negative. With
 * `strideOne`, a stride-1 conv has one too (one phase: the Conv of dy with W's taps flipped and its
 * channels swapped, padded by K - 1 - P), for a target that asks (GraphTarget.convInputGrad).
 */
export function subPixelPlan(layer: Conv2dLayer, strideOne = false): SubPixelPlan | null {
  const { kernel, stride, padding } = layer.spec;
  const [, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  if (stride < (strideOne ? 1 : 2) || h % stride !== 0 || w % stride !== 0) return null;
  const taps = tapPhases(kernel, stride, padding);
  const shifts = taps.map((t) => t.shift);
  const maxShift = Math.max(...shifts);
  const minShift = Math.min(...shifts);
  // Output grid position a reads dy row a - shift: dy is padded by maxShift rows before (so the
  // kernel offset is maxShift - shift >= 0) and by what makes the output H/S rows long after.
  const after: [number, number] = [h / stride - oh - minShift, w / stride - ow - minShift];
  if (maxShift < 0 || after[0] < 0 || after[1] < 0) return null;
  return { taps, maxShift, d: maxShift - minShift + 1, before: maxShift, after };
}

/**
 * A strided conv's input gradient as the S x S phases of dx (layers/phases.ts), without
 * ConvTranspose: phase (rh, rw) of dx at grid position (a, b) sums W[m, c, kh, kw] dy[m, a - sh,
 * b - sw] over the taps whose phase is (rh, rw), which is one stride-1 conv of dy with a
 * (S*S*C, M, D, D) kernel gathered from W (zeros where a phase has no tap at an offset: 16/9 of the
 * multiply-adds at K3 S2). ConvTranspose's col2im and the interleave both disappear, and the conv
 * runs on the NCHWc kernels where the channel counts fit (attempt 37).
 */
export function subPixelInputGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const plan = subPixelPlan(layer, true);
  if (!plan) throw new Error(`BUG: graph ${g.name}: layer ${layer.index} has no sub-pixel input gradient`);
  const { kernel, stride, out_channels: m } = layer.spec;
  const [c] = layer.inShape;
  const { taps, maxShift, d, before, after } = plan;
  const zeroEntry = m * c * kernel * kernel; // the zero appended after the flat weight
  const tapAt = (phase: number, offset: number) => taps.findIndex((t) => t.phase === phase && maxShift - t.shift === offset);
  const entries: number[] = [];
  for (let rh = 0; rh < stride; rh++) {
    for (let rw = 0; rw < stride; rw++) {
      for (let i = 0; i < c; i++) {
        for (let o = 0; o < m; o++) {
          for (let dh = 0; dh < d; dh++) {
            for (let dw = 0; dw < d; dw++) {
              const kh = tapAt(rh, dh);
              const kw = tapAt(rw, dw);
              entries.push(kh < 0 || kw < 0 ? zeroEntry : ((o * c + i) * kernel + kh) * kernel + kw);
            }
          }
        }
      }
    }
  }
  const flatWeight = g.op("Concat", [g.op("Reshape", [param(v.params, "weight", layer), g.constInt64("flat", [-1])]), g.constFloat("zero", [0], [1])], { axis: 0 });
  const kernelValue = g.op("Reshape", [g.op("Gather", [flatWeight, g.constInt64("sub_pixel_entries", entries)], { axis: 0 }), g.constInt64("sub_pixel_shape", [stride * stride * c, m, d, d])]);
  const pads: [number, number, number, number] = [before, before, after[0], after[1]];
  if (nchwcFits(g, m, stride * stride * c)) return nchwcConv(g, v.dy, kernelValue, null, { m: stride * stride * c, c: m, kernel: d, stride: 1, pads });
  const padding = convPaddingFor(g, pads, [layer.outShape[1], layer.outShape[2]], d);
  const [dy, weight] = convInputsFor(g, v.dy, kernelValue, { c: m, m: stride * stride * c, kernel: d, stride: 1, pads: padding.pads });
  return cropLeading(g, g.op("Conv", [dy, weight], { kernel_shape: [d, d], pads: padding.pads }), padding.crop);
}

/**
 * Weight gradient of a stride-1 conv from dy given as S x S phases (N, S*S*M, hg, wg), output
 * row S*a + rh. Tap kh of phase rh reads padded input row S*a + rh + kh = S*(a + sigma) + rho:
 * input phase rho at grid position a + sigma. So the padded input is split into phases once
 * (SpaceToDepth), each grid offset (sigma_h, sigma_w) is one window of all its phases, and one
 * batched MatMul pairs every window with every phase of dy, summed over N. dW[m, c, kh, kw] is then
 * the sum over the S*S phases of dy of one product each: a Gather and a ReduceSum of a few hundred
 * entries.
 */
export function phasedDyWeightGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const { kernel, padding, out_channels: m } = layer.spec;
  const s = v.dyPhases ?? 0;
  const [c, h, w] = layer.inShape;
  const [, oh, ow] = layer.outShape;
  const [hg, wg] = [oh / s, ow / s];
  const sigmas = Math.floor((s + kernel - 2) / s) + 1;
  // Padded to S*(grid + sigmas - 1) rows and columns: every window lies inside, and the input
  // padding P before comes first.
  const [hp, wp] = [s * (hg + sigmas - 1), s * (wg + sigmas - 1)];
  const xp = g.op("Pad", [v.x, g.constInt64("pads", [0, 0, padding, padding, 0, 0, hp - h - padding, wp - w - padding])]);
  const xPhases = spaceToDepth(g, xp, [c, hp, wp], s); // (N, S*S*C, hp/S, wp/S)
  const axes = g.constInt64("axes_hw", [2, 3]);
  const windows: string[] = [];
  for (let sh = 0; sh < sigmas; sh++) {
    for (let sw = 0; sw < sigmas; sw++) {
      windows.push(g.op("Slice", [xPhases, g.constInt64("starts", [sh, sw]), g.constInt64("ends", [sh + hg, sw + wg]), axes]));
    }
  }
  const rows = sigmas * sigmas * s * s * c; // (sigma_h, sigma_w, rho_h, rho_w, c)
  const cols = g.op("Reshape", [g.op("Concat", windows, { axis: 1 }), g.constInt64("n_rows_l", [0, rows, hg * wg])]);
  const dyT = g.op("Transpose", [g.op("Reshape", [v.dy, g.constInt64("n_ssm_l", [0, s * s * m, hg * wg])])], { perm: [0, 2, 1] });
  const products = g.op("ReduceSum", [g.op("MatMul", [cols, dyT]), g.constInt64("axis0", [0])], { keepdims: 0 }); // (rows, S*S*M)
  const row = (uh: number, uw: number, i: number) => (((Math.floor(uh / s) * sigmas + Math.floor(uw / s)) * s + (uh % s)) * s + (uw % s)) * c + i;
  const entries: number[] = [];
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < c; i++) {
      for (let kh = 0; kh < kernel; kh++) {
        for (let kw = 0; kw < kernel; kw++) {
          for (let rh = 0; rh < s; rh++) {
            for (let rw = 0; rw < s; rw++) entries.push(row(rh + kh, rw + kw, i) * (s * s * m) + (rh * s + rw) * m + o);
          }
        }
      }
    }
  }
  const flat = g.op("Reshape", [products, g.constInt64("flat", [-1])]);
  const perPhase = g.op("Reshape", [g.op("Gather", [flat, g.constInt64("tap_entries", entries)], { axis: 0 }), g.constInt64("w_phases", [m, c, kernel, kernel, s * s])]);
  return g.op("ReduceSum", [perPhase, g.constInt64("axis4", [4])], { keepdims: 0 });
}

/** db: dy summed over everything but its channel, in either layout. */
export function biasGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const s = v.dyPhases ?? 0;
  if (s === 0) return sumPerChannel(g, v.dy, 4, 1);
  // Phases (N, S*S*M, hg, wg) as (N, S*S, M, hg*wg): the channel between the phases and the pixels.
  const byPhase = g.op("Reshape", [v.dy, g.constInt64("n_ss_m_l", [0, s * s, layer.spec.out_channels, -1])]);
  if (g.target.channelSums === "staged") return sumPerChannel(g, byPhase, 4, 2);
  return g.op("ReduceSum", [byPhase, g.constInt64("axes_n_ss_l", [0, 1, 3])], { keepdims: 0 });
}

/**
 * A conv's input gradient by the sub-pixel Conv (subPixelInputGrad) as plain (N, C, H, W): its
 * S x S phases interleaved by DepthToSpace (ONNX's DCR order is the phase order of layers/phases.ts);
 * at stride 1 the Conv's output is dx itself.
 */
export function interleavedSubPixelInputGrad(g: GraphBuilder, layer: Conv2dLayer, v: VjpInputs): string {
  const phases = subPixelInputGrad(g, layer, v);
  const { stride } = layer.spec;
  return stride === 1 ? phases : g.op("DepthToSpace", [phases], { blocksize: stride, mode: "DCR" });
}
