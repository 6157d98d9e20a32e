/**
 * Default initialisation, matching PyTorch's nn.Conv2d / nn.Linear `reset_parameters` in
 * distribution (not bit for bit: torch's generator is not reproduced):
 *   weight: kaiming_uniform_(a = sqrt(5)) -> gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
 *           bound = sqrt(3) * gain / sqrt(fanIn) = 1 / sqrt(fanIn), weight ~ U(-bound, bound)
 *   bias:   ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with the same fanIn as the layer's weight
 * where fanIn = in_channels * kh * kw (conv2d) or in_features (linear), given by ParamInfo.
 * Normalisation layers' parameters start at a constant (ParamInfo.init: weight 1, bias 0) and
 * buffers at theirs (running_mean 0, running_var 1, num_batches_tracked 0), as PyTorch's.
 */
import type { Model, Weights } from "./model.js";
import { Rng } from "../util/rng.js";

/**
 * Fresh weights for `model`. Each parameter draws from its own stream,
 * `new Rng(seed).fork("init").fork(param.name)`, so a parameter's values depend only on the
 * seed and its name (adding a layer at the end leaves the others unchanged).
 */
export function initWeights(model: Model, seed: number): Weights {
  const initRng = new Rng(seed).fork("init");
  const weights: Weights = new Map();
  for (const param of model.params) {
    if (param.init !== undefined) {
      weights.set(param.name, new Float32Array(param.shape.reduce((p, d) => p * d, 1)).fill(param.init));
      continue;
    }
    if (!(param.fanIn > 0)) throw new Error(`BUG: parameter "${param.name}" of model ${model.name} has fanIn ${param.fanIn}`);
    const bound = 1 / Math.sqrt(param.fanIn);
    const rng = initRng.fork(param.name);
    const values = new Float32Array(param.shape.reduce((p, d) => p * d, 1));
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-bound, bound);
    weights.set(param.name, values);
  }
  for (const buffer of model.buffers) weights.set(buffer.name, new Float32Array(buffer.shape.reduce((p, d) => p * d, 1)).fill(buffer.init));
  return weights;
}
