/**
 * The Sideways rule (shared/design/sideways.md, "Sideways") for one stage and one clip batch.
 *
 * At tick t every block computes from what tick t-1 left: block k's input is the output block k-1
 * produced at t-1 (block 0 gets frame t), its gradient is the input-gradient block k+1 produced at
 * t-1 (the top block gets the gradient of this tick's loss). No activation is kept beyond one
 * tick, so the blocks of one tick are independent and the stages run at the same time.
 */
import { softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Tensor } from "../tensor.js";
import type { SavedForward } from "./block-runner.js";
import {
  accumulate,
  clipFrame,
  newStageResult,
  type StageBatch,
  type StageContext,
  type StageResult,
  type Tagged,
} from "./stage.js";

/**
 * Blocks (0-based) that never receive a gradient in a clip of T frames: n_k = max(0, T-2L+k+1)
 * with 1-based k is 0 for k <= 2L-T-1. Empty when T >= 2L-1.
 */
export function blocksWithoutGradient(blocks: number, frames: number): number[] {
  return Array.from({ length: blocks }, (_, i) => i).filter((i) => frames - 2 * blocks + (i + 1) + 1 <= 0);
}

/** A warning for a Sideways run whose clips are too short for every block to learn, or null. */
export function clipLengthWarning(blocks: number, frames: number): string | null {
  const idle = blocksWithoutGradient(blocks, frames);
  if (idle.length === 0) return null;
  return (
    `warning: with ${frames}-frame clips and ${blocks} blocks, Sideways never sends a gradient to ` +
    `block${idle.length > 1 ? "s" : ""} ${idle.join(", ")} (they stay at their initial weights); ` +
    `data.clip_length >= ${2 * blocks - 1} (2L-1) lets every block learn`
  );
}

export async function runSidewaysStage(ctx: StageContext, batch: StageBatch): Promise<StageResult> {
  const { spec, runner, links, weights } = ctx;
  const result = newStageResult();
  const t0 = performance.now();
  runner.busySeconds = 0;
  const lo = spec.blocks[0];
  const hi = spec.blocks[spec.blocks.length - 1];
  const top = spec.totalBlocks - 1;
  const T = batch.clipDims[1];

  // What the previous tick left for this one, by block index.
  let outPrev = new Map<number, Tagged | null>(); // out_k^{t-1}
  let gradPrev = new Map<number, Tagged | null>(); // g_down of block k at t-1 (goes to block k-1)

  for (let t = 0; t < T; t++) {
    // Boundary messages produced by the neighbours at tick t-1 (none exist before tick 0).
    const fromBelow = links.below && t > 0 ? (await links.below.recv()).act : null;
    const fromAbove = links.above && t > 0 ? (await links.above.recv()).grad : null;

    const outNow = new Map<number, Tagged | null>();
    const inputs = new Map<number, Tagged | null>();
    // A block's forward and backward at one tick read the same input, so a block that will also
    // run its backward this tick keeps its activations (forwardSaving) instead of recomputing them:
    // the same gradients bit for bit (test/saved-block-graphs.test.ts), one forward less.
    const savedNow = new Map<number, SavedForward>();
    for (const k of spec.blocks) {
      let input: Tagged | null;
      if (k === 0) {
        if (!batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
        input = { tensor: clipFrame(batch.clips, batch.clipDims, t), frame: t };
      } else {
        input = k === lo ? fromBelow : (outPrev.get(k - 1) ?? null);
      }
      inputs.set(k, input);
      if (!input) continue;
      // The top block's gradient comes from this tick's loss; the others' from tick t-1.
      const backwardFollows = k === top || (k === hi ? fromAbove : (gradPrev.get(k + 1) ?? null)) !== null;
      // The forward output is consumed next tick by block k+1, or now by the loss at the top;
      // at the last tick only the top block's output is still used.
      const outputUsed = k === top || t < T - 1;
      if (!backwardFollows && !outputUsed) continue;
      let y: Tensor;
      if (backwardFollows) {
        const saved = await runner.forwardSaving(k, input.tensor, weights);
        savedNow.set(k, saved);
        y = saved.y;
      } else {
        y = await runner.forward(k, input.tensor, weights);
      }
      if (outputUsed) {
        outNow.set(k, { tensor: y, frame: input.frame });
        if (batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: input.frame });
      }
    }

    const gradNow = new Map<number, Tagged | null>();
    for (const k of [...spec.blocks].reverse()) {
      const input = inputs.get(k) ?? null;
      let grad: Tagged | null;
      if (k === top) {
        const logits = outNow.get(k) ?? null;
        if (logits) {
          if (!batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
          const { loss, dLogits } = softmaxCrossEntropy(logits.tensor, batch.labels);
          result.losses.push(loss);
          if (batch.trace) result.trace.push({ tick: t, block: k, kind: "loss", inputFrame: logits.frame });
          grad = { tensor: dLogits, frame: logits.frame };
        } else {
          grad = null;
        }
      } else {
        grad = k === hi ? fromAbove : (gradPrev.get(k + 1) ?? null);
      }
      if (input && grad) {
        const saved = savedNow.get(k);
        if (!saved) throw new Error(`BUG: Sideways block ${k} has a gradient at tick ${t} but kept no activations`);
        const { dx, dParams } = await runner.backwardFromSaved(k, input.tensor, saved, grad.tensor, weights);
        accumulate(result, k, dParams);
        if (batch.trace) {
          result.trace.push({ tick: t, block: k, kind: "backward", inputFrame: input.frame, gradFrame: grad.frame });
        }
        gradNow.set(k, dx ? { tensor: dx, frame: grad.frame } : null);
      }
    }

    // Hand this tick's boundary values to the neighbours for tick t+1 (nobody reads tick T-1's).
    if (t < T - 1) {
      links.above?.send({ tick: t, act: outNow.get(hi) ?? null });
      links.below?.send({ tick: t, grad: gradNow.get(lo) ?? null });
    }
    outPrev = outNow;
    gradPrev = gradNow;
  }

  for (const k of spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = runner.busySeconds;
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}
