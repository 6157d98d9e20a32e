/**
 * Synchronous backpropagation (shared/design/sideways.md, "Synchronous BP") for one stage and one
 * clip batch: for every frame, forward through all blocks, loss, backward through all blocks.
 * Across stages the dependencies serialise the work: a stage waits for its input activation from
 * below, then for the gradient from above. G_k = (1/T) sum_t grad_k,t is formed by the executor.
 */
import { softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Tensor } from "../tensor.js";
import {
  accumulate,
  clipFrame,
  newStageResult,
  type StageBatch,
  type StageContext,
  type StageResult,
  type Tagged,
} from "./stage.js";

export async function runBpStage(ctx: StageContext, batch: StageBatch): Promise<StageResult> {
  const { spec, runner, links, weights } = ctx;
  const result = newStageResult();
  const t0 = performance.now();
  runner.busySeconds = 0;
  const top = spec.totalBlocks - 1;
  const T = batch.clipDims[1];

  for (let t = 0; t < T; t++) {
    let x: Tagged | null;
    if (spec.blocks[0] === 0) {
      if (!batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
      x = { tensor: clipFrame(batch.clips, batch.clipDims, t), frame: t };
    } else {
      x = (await links.below!.recv()).act;
    }
    if (!x) throw new Error(`BUG: BP stage for blocks ${spec.blocks} got no activation for frame ${t}`);

    const inputs: Tensor[] = [];
    for (const k of spec.blocks) {
      inputs.push(x.tensor);
      if (batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: x.frame });
      x = { tensor: await runner.forward(k, x.tensor, weights), frame: x.frame };
    }

    let g: Tagged | null;
    if (spec.blocks[spec.blocks.length - 1] === top) {
      if (!batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
      const { loss, dLogits } = softmaxCrossEntropy(x.tensor, batch.labels);
      result.losses.push(loss);
      if (batch.trace) result.trace.push({ tick: t, block: top, kind: "loss", inputFrame: x.frame });
      g = { tensor: dLogits, frame: x.frame };
    } else {
      links.above!.send({ tick: t, act: x });
      g = (await links.above!.recv()).grad;
    }
    if (!g) throw new Error(`BUG: BP stage for blocks ${spec.blocks} got no gradient for frame ${t}`);

    for (let i = spec.blocks.length - 1; i >= 0; i--) {
      const k = spec.blocks[i];
      const { dx, dParams } = await runner.backward(k, inputs[i], g.tensor, weights);
      accumulate(result, k, dParams);
      if (batch.trace) result.trace.push({ tick: t, block: k, kind: "backward", inputFrame: t, gradFrame: g.frame });
      if (k > 0) g = { tensor: dx!, frame: g.frame };
    }
    if (links.below) links.below.send({ tick: t, grad: g });
  }

  for (const k of spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = runner.busySeconds;
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}
