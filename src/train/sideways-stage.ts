/**
 * The Sideways rule (docs/design/sideways.md, "Sideways") for one stage and one clip batch.
 *
 * At tick t every block computes from what tick t-1 left: block k's input is the output block k-1
 * produced at t-1 (block 0 gets frame t), its gradient is the input-gradient block k+1 produced at
 * t-1 (the top block gets the gradient of this tick's loss). No activation is kept beyond one
 * tick, so the blocks of one tick are independent and the stages run at the same time.
 */
import { oneHotRows, softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
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

/** Why a Sideways run's clips are too short for every block to learn (callers say it as a warning or an error), or null. */
export function clipLengthWarning(blocks: number, frames: number): string | null {
  const idle = blocksWithoutGradient(blocks, frames);
  if (idle.length === 0) return null;
  return (
    `with ${frames}-frame clips and ${blocks} blocks, Sideways never sends a gradient to ` +
    `block${idle.length > 1 ? "s" : ""} ${idle.join(", ")} (they stay at their initial weights); ` +
    `data.clip_length >= ${2 * blocks - 1} (2L-1) lets every block learn`
  );
}

export async function runSidewaysStage(ctx: StageContext, batch: StageBatch): Promise<StageResult> {
  const { spec, runner, links } = ctx;
  const result = newStageResult();
  const t0 = performance.now();
  runner.busySeconds = 0;
  runner.calls = 0;
  runner.beginBatch(batch.clipDims[0]);
  const lo = spec.blocks[0];
  const hi = spec.blocks[spec.blocks.length - 1];
  const top = spec.totalBlocks - 1;
  const T = batch.clipDims[1];

  // What the previous tick left for this one, by block index.
  let outPrev = new Map<number, Tagged | null>(); // out_k^{t-1}
  let gradPrev = new Map<number, Tagged | null>(); // g_down of block k at t-1 (goes to block k-1)

  const head = spec.blocks.includes(top) && batch.labels ? { onehot: oneHotRows(batch.labels, runner.classes, batch.labels.length, batch.labelSmoothing), scale: 1 / batch.labels.length } : null;
  for (let t = 0; t < T; t++) {
    // This tick's boundary values go to the neighbours for tick t+1 (nobody reads tick T-1's).
    const sends = t < T - 1;
    // Boundary messages produced by the neighbours at tick t-1 (none exist before tick 0). With
    // the tick graph, the one from below is awaited when block lo runs (TickIo.inputFromBelow).
    const byBlock = batch.sidewaysTickGraph === false;
    const recvBelow = async () => (links.below && t > 0 ? (await links.below.recv()).act : null);
    const fromBelow = byBlock ? await recvBelow() : null;
    const fromAbove = links.above && t > 0 ? (await links.above.recv()).grad : null;

    // Each block's input (block 0: frame t; else block k-1's output of tick t-1) and, below the
    // top, its output gradient (block k+1's input gradient of tick t-1); null where none exists.
    const tick: Tick = { t, T, top, head, inputs: new Map(), grads: new Map() };
    for (const k of spec.blocks) {
      if (k === 0) {
        if (!batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
        tick.inputs.set(k, { tensor: clipFrame(batch.clips, batch.clipDims, t), frame: t });
      } else if (k !== lo || byBlock) {
        tick.inputs.set(k, k === lo ? fromBelow : (outPrev.get(k - 1) ?? null));
      }
      if (k !== top) tick.grads.set(k, k === hi ? fromAbove : (gradPrev.get(k + 1) ?? null));
    }
    const io: TickIo = {
      sendDown: links.below && sends ? (grad) => links.below!.send({ tick: t, grad }) : null,
      inputFromBelow: links.below && !byBlock ? recvBelow : null,
    };
    const { outNow, gradNow } = byBlock ? await tickBlockByBlock(ctx, batch, result, tick) : await tickInOneGraph(ctx, batch, result, tick, io);
    if (byBlock) io.sendDown?.(gradNow.get(lo) ?? null);
    if (links.above && sends) links.above.send({ tick: t, act: outNow.get(hi) ?? null });
    outPrev = outNow;
    gradPrev = gradNow;
  }

  for (const k of spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = runner.busySeconds;
  result.calls = runner.calls;
  result.stats = runner.takeStats();
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}

interface Tick {
  t: number;
  T: number;
  top: number;
  /** The in-graph head's one-hot labels and 1/B, on the stage holding the top block (the same every tick). */
  head: { onehot: Tensor; scale: number } | null;
  /** Without block lo's entry while it is still to come from the stage below (TickIo.inputFromBelow). */
  inputs: Map<number, Tagged | null>;
  /** Output gradients of the blocks below the top; the top's comes from this tick's loss. */
  grads: Map<number, Tagged | null>;
}

/** A stage's exchange with the stage below in one tick (tickInOneGraph). */
interface TickIo {
  /** Block lo's input gradient to the stage below, sent as soon as it is out; null: none is sent at this tick. */
  sendDown: ((grad: Tagged | null) => void) | null;
  /** Block lo's input (the stage below's output of tick t-1); null: no stage below. */
  inputFromBelow: (() => Promise<Tagged | null>) | null;
}

interface TickOutputs {
  /** out_k^t, for the blocks whose output someone reads. */
  outNow: Map<number, Tagged | null>;
  /** Block k's input gradient of this tick (goes to block k-1). */
  gradNow: Map<number, Tagged | null>;
}

/** The forward output is read next tick by block k+1, or now by the loss at the top; at the last tick only the top's. */
function outputUsed(tick: Tick, k: number): boolean {
  return k === tick.top || tick.t < tick.T - 1;
}

/**
 * One tick of the stage's blocks in one onnxruntime call (BlockRunner.sidewaysTick): the blocks
 * with an input run their forward, those with a gradient too their backward, the others nothing.
 * The top block's gradient is formed inside the graph (float32 softmax); its loss here.
 *
 * A stage with a stage below runs its lowest block lo in a call of its own first, as soon as its
 * input from below is in, and sends lo's input gradient down at once; then the other blocks in
 * one call. The stage below needs that gradient at the start of its next tick, so it gets it
 * one block's work into this stage's tick instead of at its end: the two stages no longer
 * meet at every tick, and each runs ahead as far as the other allows (docs/BENCHMARKS.md,
 * issue 12). Blocks of a tick are independent, so the split changes no value
 * (test/executors.test.ts compares 2 and 3 workers with one stage bit for bit).
 */
async function tickInOneGraph(ctx: StageContext, batch: StageBatch, result: StageResult, tick: Tick, io: TickIo): Promise<TickOutputs> {
  const { spec, runner, weights } = ctx;
  const { t, top } = tick;
  const lo = spec.blocks[0];
  const outNow = new Map<number, Tagged | null>();
  const dParams = new Map<number, Map<string, Tensor>>();
  /** Blocks that ran their backward: the gradient they got (the top's: its own frame) and their input gradient. */
  const ran = new Map<number, { grad: Tagged; dx: Tensor | null }>();
  let logits: Tensor | null = null;

  /** Runs `blocks`' work of this tick in one call (none if no block has any). */
  const runGraph = async (blocks: readonly number[]) => {
    const inputs = new Map<number, Tensor>();
    const grads = new Map<number, Tensor>();
    for (const k of blocks) {
      const input = tick.inputs.get(k);
      const grad = tick.grads.get(k);
      // Every block with an input runs its forward, even one whose output nobody reads: batch norm
      // counts every frame that reaches a block (docs/design/sideways.md).
      if (!input) continue;
      inputs.set(k, input.tensor);
      if (grad) grads.set(k, grad.tensor);
    }
    // A stage above the first has nothing to do until the pipeline reaches it.
    if (inputs.size === 0) return;
    const r = await runner.sidewaysTick(inputs, grads, tick.head, weights);
    for (const k of inputs.keys()) {
      const input = tick.inputs.get(k)!;
      if (outputUsed(tick, k)) outNow.set(k, { tensor: r.outputs.get(k)!, frame: input.frame });
      if (k === top) logits = r.outputs.get(k)!;
      const grad = k === top ? { tensor: r.outputs.get(k)!, frame: input.frame } : (tick.grads.get(k) ?? null);
      if (!grad) continue;
      dParams.set(k, r.dParams.get(k)!);
      ran.set(k, { grad, dx: k > 0 ? r.dxs.get(k)! : null });
    }
  };

  if (io.inputFromBelow) {
    tick.inputs.set(lo, await io.inputFromBelow());
    await runGraph([lo]);
    const r = ran.get(lo);
    io.sendDown?.(r && r.dx ? { tensor: r.dx, frame: r.grad.frame } : null);
    await runGraph(spec.blocks.filter((k) => k !== lo));
  } else {
    await runGraph(spec.blocks);
  }

  // The stage's record of the tick, in block order as if it had run in one piece.
  for (const k of spec.blocks) {
    const input = tick.inputs.get(k);
    if (input && batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: input.frame });
  }
  const gradNow = new Map<number, Tagged | null>();
  for (const k of [...spec.blocks].reverse()) {
    const input = tick.inputs.get(k) ?? null;
    if (!input) continue;
    if (k === top && logits) {
      result.losses.push(softmaxCrossEntropy(logits, batch.labels!, batch.labelSmoothing).loss);
      if (batch.trace) result.trace.push({ tick: t, block: k, kind: "loss", inputFrame: input.frame });
    }
    const r = ran.get(k);
    if (!r) continue;
    accumulate(result, k, dParams.get(k)!);
    if (batch.trace) result.trace.push({ tick: t, block: k, kind: "backward", inputFrame: input.frame, gradFrame: r.grad.frame });
    gradNow.set(k, r.dx ? { tensor: r.dx, frame: r.grad.frame } : null);
  }
  return { outNow, gradNow };
}

/**
 * One tick block by block: two onnxruntime calls per block. A block that also runs its backward
 * this tick keeps its activations (forwardSaving) for it instead of recomputing them: the same
 * gradients bit for bit (test/saved-block-graphs.test.ts).
 */
async function tickBlockByBlock(ctx: StageContext, batch: StageBatch, result: StageResult, tick: Tick): Promise<TickOutputs> {
  const { spec, runner, weights } = ctx;
  const { t, top } = tick;
  const outNow = new Map<number, Tagged | null>();
  const savedNow = new Map<number, SavedForward>();
  for (const k of spec.blocks) {
    const input = tick.inputs.get(k);
    if (!input) continue;
    const backwardFollows = k === top || (tick.grads.get(k) ?? null) !== null;
    // Run even where nobody reads the output (the last tick): batch norm counts every frame that reaches a block.
    let y: Tensor;
    if (backwardFollows) {
      const saved = await runner.forwardSaving(k, input.tensor, weights);
      savedNow.set(k, saved);
      y = saved.y;
    } else {
      y = await runner.forward(k, input.tensor, weights);
    }
    if (outputUsed(tick, k)) outNow.set(k, { tensor: y, frame: input.frame });
    if (batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: input.frame });
  }

  const gradNow = new Map<number, Tagged | null>();
  for (const k of [...spec.blocks].reverse()) {
    const input = tick.inputs.get(k) ?? null;
    let grad: Tagged | null;
    if (k === top) {
      const logits = outNow.get(k) ?? null;
      if (logits) {
        if (!batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
        const { loss, dLogits } = softmaxCrossEntropy(logits.tensor, batch.labels, batch.labelSmoothing);
        result.losses.push(loss);
        if (batch.trace) result.trace.push({ tick: t, block: k, kind: "loss", inputFrame: logits.frame });
        grad = { tensor: dLogits, frame: logits.frame };
      } else {
        grad = null;
      }
    } else {
      grad = tick.grads.get(k) ?? null;
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
  return { outNow, gradNow };
}
