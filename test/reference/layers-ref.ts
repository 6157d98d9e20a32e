/**
 * An independent float64 reference of every layer kind, forward and backward, as plain loops
 * over NCHW arrays (no ONNX, nothing shared with src/layers). Semantics are PyTorch's:
 * zero padding for conv, -inf padding for max pooling, count_include_pad=True for average
 * pooling, floor output sizes. Hyperparameters come from a layer spec with defaults filled in.
 */
import type { LayerSpec } from "../../src/model/model-spec.js";
import { erf } from "./erf.js";

export interface RefTensor {
  data: Float64Array;
  dims: number[];
}

/** Parameters by suffix ("weight", "bias"). */
export type RefParams = Record<string, Float64Array>;

export interface RefGrads {
  dx: RefTensor;
  dParams: RefParams;
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const zerosLike = (t: RefTensor): RefTensor => ({ data: new Float64Array(t.data.length), dims: [...t.dims] });
const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** Every (output position, input position) pair of a square sliding window, padding skipped. */
function* windows(h: number, w: number, k: number, s: number, p: number) {
  const oh = outSize(h, k, s, p);
  const ow = outSize(w, k, s, p);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const taps: { kh: number; kw: number; ih: number; iw: number }[] = [];
      for (let kh = 0; kh < k; kh++) {
        for (let kw = 0; kw < k; kw++) {
          const ih = i * s - p + kh;
          const iw = j * s - p + kw;
          if (ih >= 0 && ih < h && iw >= 0 && iw < w) taps.push({ kh, kw, ih, iw });
        }
      }
      yield { i, j, oh, ow, taps };
    }
  }
}

/** Exact GELU: y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; dy/dx = Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi). */
export function geluExact(x: number): { value: number; slope: number } {
  const cdf = (1 + erf(x / Math.SQRT2)) / 2;
  return { value: x * cdf, slope: cdf + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI) };
}

/**
 * GELU's tanh approximation (PyTorch's approximate="tanh"): y = x (1 + tanh(u)) / 2,
 * u = sqrt(2/pi) (x + 0.044715 x^3); by the product and chain rules, with tanh' = 1 - tanh^2,
 * dy/dx = (1 + t) / 2 + x (1 - t^2) u' / 2, t = tanh(u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
 */
export function geluTanh(x: number): { value: number; slope: number } {
  const c = Math.sqrt(2 / Math.PI);
  const t = Math.tanh(c * (x + 0.044715 * x ** 3));
  return { value: (x * (1 + t)) / 2, slope: (1 + t) / 2 + (x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)) / 2 };
}

/**
 * `clips`: rows per frame for batch_norm's training statistics (rows f*clips .. f*clips+clips-1
 * are frame f); default all rows one frame. Parameters of a residual unit's inner layers are
 * "layers.{j}.weight" etc., of its shortcut "shortcut.weight" (conv) or "shortcut.{j}.weight" (a list).
 */
export function refForward(spec: LayerSpec, x: RefTensor, params: RefParams, clips?: number): RefTensor {
  return refLayer(spec, x, params, null, clips ?? x.dims[0]).y;
}

/**
 * Inference (PyTorch's eval mode): batch_norm normalises with its running statistics, params
 * "running_mean" and "running_var" (inside a residual unit "layers.{j}.running_mean" etc.).
 */
export function refEvalForward(spec: LayerSpec, x: RefTensor, params: RefParams): RefTensor {
  return refLayer(spec, x, params, null, x.dims[0], true).y;
}

export function refBackward(spec: LayerSpec, x: RefTensor, params: RefParams, dy: RefTensor, clips?: number): RefGrads {
  const r = refLayer(spec, x, params, dy, clips ?? x.dims[0]);
  return { dx: r.dx as RefTensor, dParams: r.dParams };
}

/** batch_norm's per-frame mean and biased variance of each channel, [frames][C]. */
export function refFrameStats(x: RefTensor, clips: number): { mean: Float64Array[]; variance: Float64Array[] } {
  const [n, c] = x.dims;
  const hw = size(x.dims.slice(2));
  const mean: Float64Array[] = [];
  const variance: Float64Array[] = [];
  for (let f = 0; f < n / clips; f++) {
    const m = new Float64Array(c);
    const v = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const vals: number[] = [];
      for (let b = f * clips; b < (f + 1) * clips; b++) for (let i = 0; i < hw; i++) vals.push(x.data[(b * c + ch) * hw + i]);
      m[ch] = vals.reduce((a, q) => a + q, 0) / vals.length;
      v[ch] = vals.reduce((a, q) => a + (q - m[ch]) ** 2, 0) / vals.length;
    }
    mean.push(m);
    variance.push(v);
  }
  return { mean, variance };
}

/**
 * Normalisation over index groups: y_i = (x_i - mean_G) / sqrt(var_G + eps) * gamma_c(i) + beta_c(i),
 * and its backward from the textbook formula dx = invstd/m (m dxhat - sum dxhat - xhat sum dxhat xhat).
 */
function refNormalise(x: RefTensor, groups: number[][], channelOf: (i: number) => number, eps: number, params: RefParams, dy: RefTensor | null) {
  const y = zerosLike(x);
  const dx = zerosLike(x);
  const dW = new Float64Array(params.weight.length);
  const db = new Float64Array(params.bias.length);
  for (const idx of groups) {
    const m = idx.length;
    const mean = idx.reduce((a, i) => a + x.data[i], 0) / m;
    const variance = idx.reduce((a, i) => a + (x.data[i] - mean) ** 2, 0) / m;
    const invstd = 1 / Math.sqrt(variance + eps);
    let sumD = 0;
    let sumDX = 0;
    for (const i of idx) {
      const xhat = (x.data[i] - mean) * invstd;
      const c = channelOf(i);
      y.data[i] = xhat * params.weight[c] + params.bias[c];
      const g = dy ? dy.data[i] : 0;
      dW[c] += g * xhat;
      db[c] += g;
      sumD += g * params.weight[c];
      sumDX += g * params.weight[c] * xhat;
    }
    for (const i of idx) {
      const xhat = (x.data[i] - mean) * invstd;
      const dxhat = (dy ? dy.data[i] : 0) * params.weight[channelOf(i)];
      dx.data[i] = (invstd / m) * (m * dxhat - sumD - xhat * sumDX);
    }
  }
  return { y, dx, dParams: { weight: dW, bias: db } };
}

/** Forward, and backward when dy is given (one function per kind keeps both side by side). */
function refLayer(spec: LayerSpec, x: RefTensor, params: RefParams, dy: RefTensor | null, clips: number, running = false): { y: RefTensor; dx: RefTensor | null; dParams: RefParams } {
  const [n] = x.dims;
  switch (spec.type) {
    case "batch_norm": {
      if (running) {
        if (dy) throw new Error("refLayer: batch_norm with running statistics is forward only");
        const hw = size(x.dims.slice(2));
        const c = x.dims[1];
        const y = zerosLike(x);
        x.data.forEach((v, i) => {
          const ch = Math.floor(i / hw) % c;
          y.data[i] = ((v - params.running_mean[ch]) / Math.sqrt(params.running_var[ch] + spec.eps)) * params.weight[ch] + params.bias[ch];
        });
        return { y, dx: null, dParams: {} };
      }
      const [, c] = x.dims;
      const hw = size(x.dims.slice(2));
      const groups: number[][] = [];
      for (let f = 0; f < n / clips; f++) {
        for (let ch = 0; ch < c; ch++) {
          const idx: number[] = [];
          for (let b = f * clips; b < (f + 1) * clips; b++) for (let i = 0; i < hw; i++) idx.push((b * c + ch) * hw + i);
          groups.push(idx);
        }
      }
      return refNormalise(x, groups, (i) => Math.floor(i / hw) % c, spec.eps, params, dy);
    }
    case "group_norm": {
      const [, c] = x.dims;
      const hw = size(x.dims.slice(2));
      const perGroup = (c / spec.groups) * hw;
      const groups: number[][] = [];
      for (let start = 0; start < x.data.length; start += perGroup) groups.push(Array.from({ length: perGroup }, (_, i) => start + i));
      return refNormalise(x, groups, (i) => Math.floor(i / hw) % c, spec.eps, params, dy);
    }
    case "residual": {
      const within = (prefix: string): RefParams =>
        Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const dParams: RefParams = {};
      // A path, as (layer, its parameters' prefix), on x: its output and, with dy, its input
      // gradient (its parameters' gradients into dParams). The identity is the empty path.
      const path = (layers: [LayerSpec, string][]): { y: RefTensor; dx: RefTensor | null } => {
        const xs = [x];
        layers.forEach(([l, prefix], j) => xs.push(refLayer(l, xs[j], within(prefix), null, clips, running).y));
        if (!dy) return { y: xs[layers.length], dx: null };
        let g = dy;
        for (let j = layers.length - 1; j >= 0; j--) {
          const [l, prefix] = layers[j];
          const r = refLayer(l, xs[j], within(prefix), g, clips);
          for (const [k, v] of Object.entries(r.dParams)) dParams[prefix + k] = v;
          g = r.dx as RefTensor;
        }
        return { y: xs[layers.length], dx: g };
      };
      const inner = path(spec.layers.map((l, j) => [l, `layers.${j}.`]));
      let shortcut: [LayerSpec, string][] = [];
      if (spec.shortcut === "conv") {
        const stride = spec.layers.reduce((s, l) => s * (l.type === "conv2d" ? l.stride : l.type === "maxpool2d" || l.type === "avgpool2d" ? (l.stride ?? l.kernel) : 1), 1);
        shortcut = [[{ type: "conv2d", out_channels: inner.y.dims[1], kernel: 1, stride, padding: 0, bias: true }, "shortcut."]];
      } else if (Array.isArray(spec.shortcut)) {
        shortcut = spec.shortcut.map((l, j) => [l, `shortcut.${j}.`]);
      }
      const short = path(shortcut);
      const add = (a: RefTensor, b: RefTensor): RefTensor => ({ data: a.data.map((v, i) => v + b.data[i]), dims: a.dims });
      return { y: add(inner.y, short.y), dx: dy ? add(inner.dx as RefTensor, short.dx as RefTensor) : null, dParams };
    }
    case "conv2d": {
      const [, c, h, w] = x.dims;
      const { out_channels: m, kernel: k, stride: s, padding: p } = spec;
      const W = params.weight;
      const b = spec.bias ? params.bias : null;
      const oh = outSize(h, k, s, p);
      const ow = outSize(w, k, s, p);
      const y: RefTensor = { data: new Float64Array(n * m * oh * ow), dims: [n, m, oh, ow] };
      const dx = zerosLike(x);
      const dW = new Float64Array(W.length);
      const db = new Float64Array(m);
      for (let bn = 0; bn < n; bn++) {
        for (let o = 0; o < m; o++) {
          for (const win of windows(h, w, k, s, p)) {
            const yi = ((bn * m + o) * oh + win.i) * ow + win.j;
            let acc = b ? b[o] : 0;
            const g = dy ? dy.data[yi] : 0;
            if (b) db[o] += g;
            for (let ci = 0; ci < c; ci++) {
              for (const t of win.taps) {
                const xi = ((bn * c + ci) * h + t.ih) * w + t.iw;
                const wi = ((o * c + ci) * k + t.kh) * k + t.kw;
                acc += W[wi] * x.data[xi];
                dx.data[xi] += W[wi] * g;
                dW[wi] += x.data[xi] * g;
              }
            }
            y.data[yi] = acc;
          }
        }
      }
      return { y, dx, dParams: b ? { weight: dW, bias: db } : { weight: dW } };
    }
    case "maxpool2d":
    case "avgpool2d": {
      const [, c, h, w] = x.dims;
      const { kernel: k, padding: p } = spec;
      const s = spec.stride ?? k;
      const oh = outSize(h, k, s, p);
      const ow = outSize(w, k, s, p);
      const y: RefTensor = { data: new Float64Array(n * c * oh * ow), dims: [n, c, oh, ow] };
      const dx = zerosLike(x);
      for (let plane = 0; plane < n * c; plane++) {
        for (const win of windows(h, w, k, s, p)) {
          const yi = (plane * oh + win.i) * ow + win.j;
          const g = dy ? dy.data[yi] : 0;
          const xis = win.taps.map((t) => (plane * h + t.ih) * w + t.iw);
          if (spec.type === "maxpool2d") {
            let best = xis[0];
            for (const xi of xis) if (x.data[xi] > x.data[best]) best = xi;
            y.data[yi] = x.data[best];
            dx.data[best] += g;
          } else {
            // count_include_pad: padded zeros count, so the divisor is always K*K.
            let sum = 0;
            for (const xi of xis) {
              sum += x.data[xi];
              dx.data[xi] += g / (k * k);
            }
            y.data[yi] = sum / (k * k);
          }
        }
      }
      return { y, dx, dParams: {} };
    }
    case "relu": {
      const y = zerosLike(x);
      const dx = zerosLike(x);
      x.data.forEach((v, i) => {
        y.data[i] = Math.max(v, 0);
        dx.data[i] = v > 0 && dy ? dy.data[i] : 0;
      });
      return { y, dx, dParams: {} };
    }
    case "leaky_relu": {
      const y = zerosLike(x);
      const dx = zerosLike(x);
      x.data.forEach((v, i) => {
        y.data[i] = v > 0 ? v : spec.slope * v;
        dx.data[i] = dy ? (v > 0 ? 1 : spec.slope) * dy.data[i] : 0;
      });
      return { y, dx, dParams: {} };
    }
    case "silu": {
      // y = x s, s = 1 / (1 + e^-x); dy/dx = s + x s (1 - s).
      const y = zerosLike(x);
      const dx = zerosLike(x);
      x.data.forEach((v, i) => {
        const s = 1 / (1 + Math.exp(-v));
        y.data[i] = v * s;
        dx.data[i] = dy ? (s + v * s * (1 - s)) * dy.data[i] : 0;
      });
      return { y, dx, dParams: {} };
    }
    case "gelu": {
      const y = zerosLike(x);
      const dx = zerosLike(x);
      const form = spec.approximate === "tanh" ? geluTanh : geluExact;
      x.data.forEach((v, i) => {
        const { value, slope } = form(v);
        y.data[i] = value;
        dx.data[i] = dy ? slope * dy.data[i] : 0;
      });
      return { y, dx, dParams: {} };
    }
    case "global_avg_pool": {
      const [, c, h, w] = x.dims;
      const y: RefTensor = { data: new Float64Array(n * c), dims: [n, c] };
      const dx = zerosLike(x);
      for (let plane = 0; plane < n * c; plane++) {
        for (let i = 0; i < h * w; i++) {
          y.data[plane] += x.data[plane * h * w + i] / (h * w);
          dx.data[plane * h * w + i] = dy ? dy.data[plane] / (h * w) : 0;
        }
      }
      return { y, dx, dParams: {} };
    }
    case "flatten": {
      const features = size(x.dims.slice(1));
      return { y: { data: x.data.slice(), dims: [n, features] }, dx: dy ? { data: dy.data.slice(), dims: [...x.dims] } : null, dParams: {} };
    }
    case "linear": {
      const f = x.dims[1];
      const o = spec.out_features;
      const W = params.weight;
      const b = spec.bias ? params.bias : null;
      const y: RefTensor = { data: new Float64Array(n * o), dims: [n, o] };
      const dx = zerosLike(x);
      const dW = new Float64Array(W.length);
      const db = new Float64Array(o);
      for (let bn = 0; bn < n; bn++) {
        for (let j = 0; j < o; j++) {
          const g = dy ? dy.data[bn * o + j] : 0;
          let acc = b ? b[j] : 0;
          if (b) db[j] += g;
          for (let i = 0; i < f; i++) {
            acc += W[j * f + i] * x.data[bn * f + i];
            dx.data[bn * f + i] += W[j * f + i] * g;
            dW[j * f + i] += x.data[bn * f + i] * g;
          }
          y.data[bn * o + j] = acc;
        }
      }
      return { y, dx, dParams: b ? { weight: dW, bias: db } : { weight: dW } };
    }
  }
}

/** Mean softmax cross-entropy over the batch and its gradient, in float64. */
/**
 * With `smoothing` ε the target row is (1 - ε) onehot + ε / k (torch.nn.CrossEntropyLoss's
 * label_smoothing), written here as the smoothed mixture of the one-hot loss and the uniform one.
 */
export function refSoftmaxCrossEntropy(logits: RefTensor, labels: ArrayLike<number>, smoothing = 0): { loss: number; dLogits: RefTensor } {
  const [b, k] = logits.dims;
  const dLogits = zerosLike(logits);
  let loss = 0;
  for (let r = 0; r < b; r++) {
    const row = Array.from(logits.data.subarray(r * k, (r + 1) * k));
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, c) => a + c, 0);
    const logProb = (j: number) => row[j] - max - Math.log(sum);
    const uniform = -row.reduce((a, _, j) => a + logProb(j), 0) / k;
    loss += ((1 - smoothing) * -logProb(labels[r]) + smoothing * uniform) / b;
    exps.forEach((e, j) => (dLogits.data[r * k + j] = (e / sum - (1 - smoothing) * (j === labels[r] ? 1 : 0) - smoothing / k) / b));
  }
  return { loss, dLogits };
}
