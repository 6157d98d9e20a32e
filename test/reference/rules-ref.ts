/**
 * Float64 references of the update rules with in-clip updates, block by block, as
 * docs/design/sideways.md states them (1-based ticks, blocks and frames): nothing shared with
 * src/schedule or src/train; the layers come from layers-ref.ts.
 */
import type { ClipBatch } from "../../src/data/source.js";
import type { Model } from "../../src/model/model.js";
import { refBackward, refForward, refSoftmaxCrossEntropy, type RefParams, type RefTensor } from "./layers-ref.js";
import type { RefWeights } from "./model-ref.js";

/** Frame f (1-based) of every clip as a float64 [B, C, H, W] tensor. */
function refFrame(batch: ClipBatch, f: number): RefTensor {
  const [B, T, C, H, W] = batch.dims;
  const size = C * H * W;
  const data = new Float64Array(B * size);
  for (let b = 0; b < B; b++) data.set(batch.clips.subarray((b * T + f - 1) * size, (b * T + f) * size), b * size);
  return { data, dims: [B, C, H, W] };
}

/** Learning rate of block k's (1-based) j-th step (0-based) in the clip batch. */
export type RefLr = (k: number, j: number) => number;

/**
 * Adds a block's gradients to its running sum; plain SGD steps with the means of the blocks that
 * have any, each block at its own j-th step with lr(k, j); `taken` counts each block's steps.
 */
class RefSgd {
  private readonly sums = new Map<number, { n: number; g: RefWeights }>();
  readonly taken = new Map<number, number>();
  constructor(private readonly model: Model, private readonly w: RefWeights, private readonly lr: RefLr) {}
  add(k: number, grads: RefWeights): void {
    const names = this.model.blocks[k - 1].params.map((p) => p.name);
    const s = this.sums.get(k) ?? { n: 0, g: new Map(names.map((n) => [n, new Float64Array(this.w.get(n)!.length)])) };
    s.n++;
    for (const [n, g] of grads) s.g.get(n)!.forEach((_, i, a) => (a[i] += g[i]));
    this.sums.set(k, s);
  }
  step(): void {
    for (const [k, s] of this.sums) {
      const j = this.taken.get(k) ?? 0;
      const lr = this.lr(k, j);
      for (const p of this.model.blocks[k - 1].params) this.w.get(p.name)!.forEach((v, i, a) => (a[i] = v - (lr * s.g.get(p.name)![i]) / s.n));
      this.taken.set(k, j + 1);
    }
    this.sums.clear();
  }
}

/**
 * Sideways with in-clip updates as docs/design/sideways.md states it, in float64, 1-based: at
 * tick t block 1 gets frame t, block k the output block k-1 produced at t-1; the top's gradient is
 * this tick's loss's, block k's the input gradient block k+1 produced at t-1; a block with both
 * runs B_k on its current input with its current weights; after every `every` ticks and after
 * tick T, blocks with gradients step with their mean. `lr`: a number, or block k's (1-based) rate at its j-th step.
 */
export function referenceSideways(model: Model, batch: ClipBatch, start: RefWeights, every: number, lr: number | RefLr, smoothing = 0): RefWeights {
  return referenceSidewaysSteps(model, batch, start, every, lr, smoothing).weights;
}

/** referenceSideways, with the number of steps each block (1-based) took. */
export function referenceSidewaysSteps(model: Model, batch: ClipBatch, start: RefWeights, every: number, lr: number | RefLr, smoothing = 0): { weights: RefWeights; steps: Map<number, number> } {
  const T = batch.dims[1];
  const L = model.blocks.length;
  const w: RefWeights = new Map([...start].map(([n, v]) => [n, Float64Array.from(v)]));
  const sgd = new RefSgd(model, w, typeof lr === "number" ? () => lr : lr);
  let held = new Map<number, RefTensor>(); // out_k of the previous tick
  let sent = new Map<number, RefTensor>(); // input gradient block k produced at the previous tick
  for (let t = 1; t <= T; t++) {
    const nextHeld = new Map<number, RefTensor>();
    const nextSent = new Map<number, RefTensor>();
    for (let k = 1; k <= L; k++) {
      const x = k === 1 ? refFrame(batch, t) : held.get(k - 1);
      if (!x) continue;
      const y = blockForward(model, k - 1, w, x);
      nextHeld.set(k, y);
      const g = k === L ? refSoftmaxCrossEntropy(y, batch.labels, smoothing).dLogits : sent.get(k + 1);
      if (!g) continue;
      const r = blockBackward(model, k - 1, w, x, g);
      nextSent.set(k, r.dx);
      sgd.add(k, r.grads);
    }
    held = nextHeld;
    sent = nextSent;
    if (t % every === 0 || t === T) sgd.step();
  }
  return { weights: w, steps: sgd.taken };
}


/**
 * Block k of a float64 model: its layers in order, forward and backward, with params by PyTorch
 * name: every name under the layer's index, so a residual unit's "layers.0.weight" too.
 */
function blockParams(model: Model, k: number, w: RefWeights, layer: number): RefParams {
  const out: RefParams = {};
  const prefix = `${model.blocks[k].layers[layer].index}.`;
  for (const [name, v] of w) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = v;
  return out;
}

function blockForward(model: Model, k: number, w: RefWeights, x: RefTensor): RefTensor {
  return model.blocks[k].layers.reduce((a, l, i) => refForward(l.spec, a, blockParams(model, k, w, i)), x);
}

/** B_k(a_{k-1}, θ, g): the block recomputed from its input with these weights, then backprop through its layers. */
function blockBackward(model: Model, k: number, w: RefWeights, x: RefTensor, dy: RefTensor): { dx: RefTensor; grads: RefWeights } {
  const layers = model.blocks[k].layers;
  const acts = [x];
  layers.forEach((l, i) => acts.push(refForward(l.spec, acts[i], blockParams(model, k, w, i))));
  const grads: RefWeights = new Map();
  let g = dy;
  for (let i = layers.length - 1; i >= 0; i--) {
    const r = refBackward(layers[i].spec, acts[i], blockParams(model, k, w, i), g);
    for (const [suffix, v] of Object.entries(r.dParams)) grads.set(`${layers[i].index}.${suffix}`, v);
    g = r.dx;
  }
  return { dx: g, grads };
}

/**
 * Pipelined BP as docs/design/sideways.md states it, in float64, 1-based: frame f at block k runs
 * forward at tick f+k-1, its loss at f+L-1, block k's backward at f+2L-1-k; after every `every`
 * ticks and after the last (T+2L-2), each block with gradients since its last step takes a plain
 * SGD step with their mean. A backward uses the weights of its forward (stashing) or the current ones.
 */
export function referencePipelinedBp(model: Model, batch: ClipBatch, start: RefWeights, every: number, stashing: boolean, lr: number): RefWeights {
  const T = batch.dims[1];
  const L = model.blocks.length;
  const w: RefWeights = new Map([...start].map(([n, v]) => [n, Float64Array.from(v)]));
  const sgd = new RefSgd(model, w, () => lr);
  const names = (k: number) => model.blocks[k - 1].params.map((p) => p.name);
  const inputs = new Map<string, { x: RefTensor; w: RefWeights }>(); // k:f -> stashed input and the weights its forward used
  const outputs = new Map<string, RefTensor>();
  const grads = new Map<string, RefTensor>(); // k:f -> gradient arriving at block k's output
  const ticks = T + 2 * L - 2;
  for (let t = 1; t <= ticks; t++) {
    for (let k = 1; k <= L; k++) {
      const f = t - k + 1;
      if (f < 1 || f > T) continue;
      const x = k === 1 ? refFrame(batch, f) : outputs.get(`${k - 1}:${f}`)!;
      inputs.set(`${k}:${f}`, { x, w: new Map(names(k).map((n) => [n, Float64Array.from(w.get(n)!)])) });
      const y = blockForward(model, k - 1, w, x);
      outputs.set(`${k}:${f}`, y);
      if (k === L) grads.set(`${L}:${f}`, refSoftmaxCrossEntropy(y, batch.labels).dLogits);
    }
    for (let k = L; k >= 1; k--) {
      const f = t - 2 * L + 1 + k;
      if (f < 1 || f > T) continue;
      const stashed = inputs.get(`${k}:${f}`)!;
      const r = blockBackward(model, k - 1, stashing ? new Map([...w, ...stashed.w]) : w, stashed.x, grads.get(`${k}:${f}`)!);
      if (k > 1) grads.set(`${k - 1}:${f}`, r.dx);
      sgd.add(k, r.grads);
    }
    if (t % every === 0 || t === ticks) sgd.step();
  }
  return w;
}
