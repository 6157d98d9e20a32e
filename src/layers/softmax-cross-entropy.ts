/**
 * The head: softmax cross-entropy of logits [B, K] against integer labels, mean over the batch
 * (docs/design/sideways.md). Computed in TypeScript with float64 accumulation; it is small
 * next to the blocks and keeping it out of ONNX lets the top block's graph end at its logits.
 */
import { DataError } from "../errors.js";
import type { Tensor } from "../tensor.js";

export interface HeadResult {
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** ∂loss/∂logits, shaped like the logits: (softmax - onehot) / B. */
  dLogits: Tensor;
}

/** Throws a DataError naming the first label outside [0, classes). */
export function checkLabels(labels: Int32Array, classes: number): void {
  for (let b = 0; b < labels.length; b++) {
    const label = labels[b];
    if (!(label >= 0 && label < classes)) throw new DataError(`label ${label} of batch row ${b} is outside the model's classes [0, ${classes})`);
  }
}

export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): HeadResult {
  if (logits.dims.length !== 2) throw new Error(`BUG: softmaxCrossEntropy expects logits [B,K], found [${logits.dims}]`);
  const [batch, classes] = logits.dims;
  if (labels.length !== batch) throw new Error(`BUG: softmaxCrossEntropy got ${labels.length} labels for a batch of ${batch}`);
  checkLabels(labels, classes);
  const dLogits = new Float32Array(batch * classes);
  const probs = new Float64Array(classes);
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const label = labels[b];
    const row = logits.data.subarray(b * classes, (b + 1) * classes);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += probs[k] = Math.exp(row[k] - max);
    total += Math.log(sum) + max - row[label];
    for (let k = 0; k < classes; k++) dLogits[b * classes + k] = (probs[k] / sum - (k === label ? 1 : 0)) / batch;
  }
  return { loss: total / batch, dLogits: { data: dLogits, dims: [batch, classes] } };
}

/**
 * One-hot rows of `labels` for the in-graph head of the fused graphs: row r is label
 * labels[r mod B] (rows are time-major, B clips a frame). An out-of-range label leaves its row
 * zero; softmaxCrossEntropy, which computes the losses from the same logits, rejects it (the device
 * step, whose graph computes them, calls checkLabels).
 */
export function oneHotRows(labels: Int32Array, classes: number, rows = labels.length): Tensor {
  const data = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const label = labels[r % labels.length];
    if (label >= 0 && label < classes) data[r * classes + label] = 1;
  }
  return { data, dims: [rows, classes] };
}

