/**
 * The float64 reference of a whole model: the layers of layers-ref.ts chained in order, the
 * softmax cross-entropy head, and backprop through all of it. Only the layer specs of the
 * Model are used (not its blocks), so block grouping does not affect the reference.
 */
import type { Model } from "../../src/model/model.js";
import { refBackward, refEvalForward, refForward, refSoftmaxCrossEntropy, type RefParams, type RefTensor } from "./layers-ref.js";

export type RefWeights = Map<string, Float64Array>;

/** Every tensor of the layer, by its name after "{layerIndex}." (residual units: "layers.0.weight"). */
function layerParams(weights: RefWeights, layerIndex: number): RefParams {
  const out: RefParams = {};
  const prefix = `${layerIndex}.`;
  for (const [name, w] of weights) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = w;
  return out;
}

/** `clips`: rows per frame for batch_norm (rows f*clips .. f*clips+clips-1 are frame f; default: all rows one frame). */
export function refModelForward(model: Model, weights: RefWeights, x: RefTensor, clips?: number): RefTensor[] {
  const activations = [x];
  for (const layer of model.layers) activations.push(refForward(layer.spec, activations[activations.length - 1], layerParams(weights, layer.index), clips));
  return activations;
}

/** The logits of inference (eval mode: batch_norm with its running statistics, in `weights`). */
export function refModelEvalLogits(model: Model, weights: RefWeights, x: RefTensor): RefTensor {
  let y = x;
  for (const layer of model.layers) y = refEvalForward(layer.spec, y, layerParams(weights, layer.index));
  return y;
}

/** Mean loss over the batch and its gradient for every parameter, by PyTorch name. */
export function refModelGradient(model: Model, weights: RefWeights, x: RefTensor, labels: ArrayLike<number>, clips?: number, smoothing = 0): { loss: number; grads: RefWeights } {
  const activations = refModelForward(model, weights, x, clips);
  const head = refSoftmaxCrossEntropy(activations[activations.length - 1], labels, smoothing);
  const grads: RefWeights = new Map();
  let dy = head.dLogits;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    const g = refBackward(layer.spec, activations[i], layerParams(weights, i), dy, clips);
    for (const [suffix, values] of Object.entries(g.dParams)) grads.set(`${i}.${suffix}`, values);
    dy = g.dx;
  }
  return { loss: head.loss, grads };
}
