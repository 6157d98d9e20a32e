/**
 * An independent float64 reference of every layer kind, forward and backward, as plain loops
 * over NCHW arrays (no ONNX, nothing shared with src/layers). Semantics are PyTorch's:
 * zero padding for conv, -inf padding for max pooling, count_include_pad=True for average
 * pooling, floor output sizes. Hyperparameters come from a layer spec with defaults filled in.
 */
import type { LayerSpec } from "../../src/model/model-spec.js";

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

export function refForward(spec: LayerSpec, x: RefTensor, params: RefParams): RefTensor {
  return refLayer(spec, x, params, null).y;
}

export function refBackward(spec: LayerSpec, x: RefTensor, params: RefParams, dy: RefTensor): RefGrads {
  const r = refLayer(spec, x, params, dy);
  return { dx: r.dx as RefTensor, dParams: r.dParams };
}

/** Forward, and backward when dy is given (one function per kind keeps both side by side). */
function refLayer(spec: LayerSpec, x: RefTensor, params: RefParams, dy: RefTensor | null): { y: RefTensor; dx: RefTensor | null; dParams: RefParams } {
  const [n] = x.dims;
  switch (spec.type) {
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
export function refSoftmaxCrossEntropy(logits: RefTensor, labels: ArrayLike<number>): { loss: number; dLogits: RefTensor } {
  const [b, k] = logits.dims;
  const dLogits = zerosLike(logits);
  let loss = 0;
  for (let r = 0; r < b; r++) {
    const row = Array.from(logits.data.subarray(r * k, (r + 1) * k));
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, c) => a + c, 0);
    loss += -(row[labels[r]] - max - Math.log(sum)) / b;
    exps.forEach((e, j) => (dLogits.data[r * k + j] = (e / sum - (j === labels[r] ? 1 : 0)) / b));
  }
  return { loss, dLogits };
}
