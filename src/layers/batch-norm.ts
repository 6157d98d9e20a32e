/**
 * batch_norm: torch.nn.BatchNorm2d (affine, running statistics), with training statistics taken
 * over the B clips of one frame (docs/ADDING-A-LAYER.md, "Layers with buffers"): a graph's N rows
 * are time-major frames of B rows (B fed as clips_per_frame), viewed as [F, B, C, H, W] and
 * normalised per frame and channel over (B, H, W). So a BP pass of several frames normalises each
 * frame as a Sideways tick does, and its gradient does not depend on the pass size.
 *   training forward: y = (x - mean_f) / sqrt(var_f + eps) * weight + bias (biased var_f);
 *                     returns mean_f and var_f per frame for the running statistics
 *   evaluation forward (buffers given): ONNX BatchNormalization with the running statistics
 *   VJP: dbias = sum dy, dweight = sum dy * xhat, dx per frame (norm-grads.ts's formula)
 *   updateBuffers, per frame in frame order (PyTorch): running = (1 - m) running + m stat, with
 *   the unbiased variance var_f * n / (n - 1), n = B*H*W; num_batches_tracked += 1.
 */
import { float, type GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";
import { clipsPerFrame, defineLayer, imageShape, LayerShapeError, param, type ForwardResult, type PlacedLayer } from "./layer-def.js";
import { affineParams, normalise, perChannel, sumPerChannel, type Normalised } from "./norm-grads.js";

type BatchNormSpec = Extract<LayerSpec, { type: "batch_norm" }>;

/** Axes of one frame's statistic in the [F, B, C, H, W] view. */
const FRAME_AXES = [1, 3, 4];

/** x [N, C, H, W] as [F, B, C, H, W]. */
function framesView(g: GraphBuilder, layer: PlacedLayer<BatchNormSpec>, x: string): string {
  const [c, h, w] = layer.inShape;
  const shape = g.op("Concat", [g.constInt64("minus_one", [-1]), clipsPerFrame(g), g.constInt64("chw", [c, h, w])], { axis: 0 });
  return g.op("Reshape", [x, shape]);
}

function rowsView(g: GraphBuilder, layer: PlacedLayer<BatchNormSpec>, x5: string): string {
  return g.op("Reshape", [x5, g.constInt64("nchw", [-1, ...layer.inShape])]);
}

export const batchNorm = defineLayer<BatchNormSpec>({
  type: "batch_norm",
  parameterised: true,
  startsBlock: false,
  outShape(_spec, inShape) {
    imageShape("batch_norm", inShape);
    return [...inShape];
  },
  params(_spec, inShape) {
    return affineParams(inShape[0]);
  },
  buffers(_spec, inShape) {
    const c = inShape[0];
    return [
      { suffix: "running_mean", shape: [c], init: 0, dtype: "F32" },
      { suffix: "running_var", shape: [c], init: 1, dtype: "F32" },
      { suffix: "num_batches_tracked", shape: [], init: 0, dtype: "I64" },
    ];
  },
  statKeys: () => ["mean", "var"],
  // PyTorch refuses the same ("Expected more than 1 value per channel when training").
  minClipsPerFrame: (_spec, inShape) => (inShape[1] * inShape[2] > 1 ? null : { clips: 2, layer: "batch_norm", inShape }),
  updateBuffers(spec, inShape, buffers, stats, clips) {
    const [c, h, w] = inShape;
    const n = clips * h * w;
    if (n < 2) throw new LayerShapeError(`batch_norm needs more than 1 value per channel and frame to train, got ${clips} clip(s) of ${h}x${w}`);
    const m = spec.momentum;
    const { running_mean: rm, running_var: rv, num_batches_tracked: count } = buffers;
    for (let i = 0; i < c; i++) {
      rm[i] = (1 - m) * rm[i] + m * stats.mean[i];
      rv[i] = (1 - m) * rv[i] + m * ((stats.var[i] * n) / (n - 1));
    }
    count[0] += 1;
  },
  forward(g, layer, x, params, _training, buffers): ForwardResult {
    const c = layer.inShape[0];
    const weight = param(params, "weight", layer);
    const bias = param(params, "bias", layer);
    if (buffers) {
      const inputs = [x, weight, bias, param(buffers, "running_mean", layer), param(buffers, "running_var", layer)];
      return { y: g.op("BatchNormalization", inputs, { epsilon: float(layer.spec.eps) }), saved: {} };
    }
    const n = normalise(g, framesView(g, layer, x), FRAME_AXES, layer.spec.eps, 5);
    const perFrame = g.constInt64("frames_c", [-1, c]);
    return {
      y: g.target.cpu ? affineCpu(g, layer, rowsView(g, layer, n.xhat), weight, bias) : rowsView(g, layer, portableAffine(g, n, weight, bias, c)),
      saved: { xhat: n.xhat, invstd: n.invstd },
      stats: { mean: g.op("Reshape", [n.mean, perFrame]), var: g.op("Reshape", [n.variance, perFrame]) },
    };
  },
  // xhat [F, B, C, H, W] and invstd [F, 1, C, 1, 1]: axis 0 is the frame.
  laterFrames: (_layer, saved, cut) => ({ xhat: cut.frames(saved.xhat), invstd: cut.frames(saved.invstd) }),
  vjp(g, layer, v, needDx) {
    const { xhat, invstd } = v.saved;
    if (xhat === undefined || invstd === undefined) throw new Error(`BUG: layer ${layer.index} (batch_norm) VJP needs the training forward's xhat`);
    const [c, h, w] = layer.inShape;
    const dy5 = framesView(g, layer, v.dy);
    // Per-row sums over the pixels (the one full pass of each reduction) give both the parameter
    // gradients (summed over rows) and the per-frame means of the input gradient (averaged over
    // the frame's clips): dx = invstd * weight * (dy - mean_f(dy) - xhat * mean_f(dy * xhat)),
    // norm-grads.ts's formula with the per-channel weight taken out of the means.
    const rowSums = (value: string) => g.op("ReduceSum", [value, g.constInt64("hw_axes", [3, 4])], { keepdims: 1 });
    const dyRows = rowSums(dy5);
    const dyXhatRows = rowSums(g.op("Mul", [dy5, xhat]));
    const total = (rows: string) => sumPerChannel(g, rows, 5, 2);
    const dParams = { weight: total(dyXhatRows), bias: total(dyRows) };
    if (!needDx) return { dx: null, dParams };
    const frameMean = (rows: string) => g.op("Mul", [g.op("ReduceMean", [rows], { axes: [1], keepdims: 1 }), g.constFloat("inv_hw", [1 / (h * w)], [])]);
    const centred = g.op("Sub", [g.op("Sub", [dy5, frameMean(dyRows)]), g.op("Mul", [xhat, frameMean(dyXhatRows)])]);
    const scale = g.op("Mul", [invstd, perChannel(g, param(v.params, "weight", layer), c, 2)]);
    return { dx: rowsView(g, layer, g.op("Mul", [centred, scale])), dParams };
  },
});

/** (x - mean) * (invstd * weight) + bias: one pass over the tensor fewer than xhat * weight + bias. */
function portableAffine(g: GraphBuilder, n: Normalised, weight: string, bias: string, c: number): string {
  return g.op("Add", [g.op("Mul", [n.centred, g.op("Mul", [n.invstd, perChannel(g, weight, c, 2)])]), perChannel(g, bias, c, 2)]);
}

/**
 * xhat * weight + bias per channel (xhat [N, C, H, W], which the VJP keeps anyway) in one pass, as
 * onnxruntime's CPU inference BatchNormalization with mean 0, variance 1 and epsilon 0: its kernel
 * folds those into a per-channel scale weight / sqrt(1) = weight and shift bias - 0 = bias, exactly.
 * A Mul and an Add broadcasting per channel write the tensor twice (docs/PERFORMANCE.md attempt 62).
 */
function affineCpu(g: GraphBuilder, layer: PlacedLayer<BatchNormSpec>, xhat: string, weight: string, bias: string): string {
  const c = layer.inShape[0];
  const zeros = g.constFloat("zero_mean", new Array<number>(c).fill(0), [c]);
  const ones = g.constFloat("unit_var", new Array<number>(c).fill(1), [c]);
  return g.op("BatchNormalization", [xhat, weight, bias, zeros, ones], { epsilon: float(0) });
}
