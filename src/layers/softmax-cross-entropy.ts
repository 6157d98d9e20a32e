/**
 * The head: softmax cross-entropy of logits [B, K] against integer labels, mean over the batch
 * (docs/design/sideways.md). Computed in TypeScript with float64 accumulation; it is small
 * next to the blocks and keeping it out of ONNX lets the top block's graph end at its logits.
 */
import { DataError } from "../errors.js";
import type { Tensor } from "../tensor.js";

export interface HeadResult {
  /** Mean cross-entropy over the batch (against the smoothed targets, with label smoothing). */
  loss: number;
  /** ∂loss/∂logits, shaped like the logits: (softmax - target) / B. */
  dLogits: Tensor;
}

/** Throws a DataError naming the first label outside [0, classes). */
export function checkLabels(labels: Int32Array, classes: number): void {
  for (let b = 0; b < labels.length; b++) {
    const label = labels[b];
    if (!(label >= 0 && label < classes)) throw new DataError(`label ${label} of batch row ${b} is outside the model's classes [0, ${classes})`);
  }
}

/**
 * With `smoothing` ε (train.label_smoothing), the target of a row is (1 - ε) onehot + ε / K, as
 * torch.nn.CrossEntropyLoss(label_smoothing=ε): loss = -Σ_k target_k log softmax_k, gradient
 * softmax - target. The graphs' heads take the same targets (oneHotRows), so every path agrees.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array, smoothing = 0): HeadResult {
  if (logits.dims.length !== 2) throw new Error(`BUG: softmaxCrossEntropy expects logits [B,K], found [${logits.dims}]`);
  const [batch, classes] = logits.dims;
  if (labels.length !== batch) throw new Error(`BUG: softmaxCrossEntropy got ${labels.length} labels for a batch of ${batch}`);
  checkLabels(labels, classes);
  const dLogits = new Float32Array(batch * classes);
  const probs = new Float64Array(classes);
  const [onLabel, offLabel] = targetValues(classes, smoothing);
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const label = labels[b];
    const row = logits.data.subarray(b * classes, (b + 1) * classes);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += probs[k] = Math.exp(row[k] - max);
    const logSum = Math.log(sum) + max;
    if (smoothing === 0) total += logSum - row[label];
    else for (let k = 0; k < classes; k++) total += (k === label ? onLabel : offLabel) * (logSum - row[k]);
    for (let k = 0; k < classes; k++) dLogits[b * classes + k] = (probs[k] / sum - (k === label ? onLabel : offLabel)) / batch;
  }
  return { loss: total / batch, dLogits: { data: dLogits, dims: [batch, classes] } };
}

/** A row's target at its label and elsewhere: 1 and 0, or with smoothing ε, 1 - ε + ε / K and ε / K. */
function targetValues(classes: number, smoothing: number): [number, number] {
  return smoothing === 0 ? [1, 0] : [1 - smoothing + smoothing / classes, smoothing / classes];
}

/**
 * The target rows of `labels` for the in-graph head of the fused graphs: row r is label
 * labels[r mod B] (rows are time-major, B clips a frame), one-hot, or smoothed with `smoothing` as
 * softmaxCrossEntropy's. An out-of-range label leaves its row zero; softmaxCrossEntropy, which
 * computes the losses from the same logits, rejects it (the device step, whose graph computes
 * them, calls checkLabels).
 */
export function oneHotRows(labels: Int32Array, classes: number, rows = labels.length, smoothing = 0): Tensor {
  const data = new Float32Array(rows * classes);
  const [onLabel, offLabel] = targetValues(classes, smoothing);
  for (let r = 0; r < rows; r++) {
    const label = labels[r % labels.length];
    if (!(label >= 0 && label < classes)) continue;
    if (offLabel !== 0) data.fill(offLabel, r * classes, (r + 1) * classes);
    data[r * classes + label] = onLabel;
  }
  return { data, dims: [rows, classes] };
}
