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
  const { spec, runner, links } = ctx;
  const result = newStageResult();
  const t0 = performance.now();
  runner.busySeconds = 0;
  runner.beginBatch(batch.clipDims[0]);
  const lo = spec.blocks[0];
  const hi = spec.blocks[spec.blocks.length - 1];
  const top = spec.totalBlocks - 1;
  const T = batch.clipDims[1];
  let waitMs = 0;
  const waited = async <M>(p: Promise<M>): Promise<M> => {
    const w0 = performance.now();
    const msg = await p;
    waitMs += performance.now() - w0;
    return msg;
  };

  // What the previous tick left for this one, by block index.
  let outPrev = new Map<number, Tagged | null>(); // out_k^{t-1}
  let gradPrev = new Map<number, Tagged | null>(); // g_down of block k at t-1 (goes to block k-1)

  const head = spec.blocks.includes(top) && batch.labels ? { onehot: oneHotRows(batch.labels, runner.classes), scale: 1 / batch.labels.length } : null;
  for (let t = 0; t < T; t++) {
    // This tick's boundary values go to the neighbours for tick t+1 (nobody reads tick T-1's).
    const sends = t < T - 1;
    // With the tick graph, a stage with a stage above runs block hi's forward first and sends its
    // output at once, and awaits the gradient from above only for block hi's backward, after the
    // rest of its tick (tickInOneGraph): the stages overlap instead of meeting at every tick.
    const deferred = batch.sidewaysTickGraph !== false && links.above !== null && sends;
    // Boundary messages produced by the neighbours at tick t-1 (none exist before tick 0). The
    // tick graph awaits them only where it needs them (TickIo); block by block, first.
    const byBlock = batch.sidewaysTickGraph === false;
    const recvBelow = async () => (links.below && t > 0 ? (await waited(links.below.recv())).act : null);
    const recvAbove = async () => (links.above && t > 0 ? (await waited(links.above.recv())).grad : null);
    const fromBelow = byBlock ? await recvBelow() : null;
    const fromAbove = byBlock || !deferred ? await recvAbove() : null;

    // Each block's input (block 0: frame t; else block k-1's output of tick t-1) and, below the
    // top, its output gradient (block k+1's input gradient of tick t-1); null where none exists.
    const tick: Tick = { t, T, top, head, inputs: new Map(), grads: new Map() };
    for (const k of spec.blocks) {
      if (k === 0) {
        if (!batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
        tick.inputs.set(k, { tensor: clipFrame(batch.clips, batch.clipDims, t), frame: t });
      } else if (k !== lo || byBlock || !links.below) {
        tick.inputs.set(k, k === lo ? fromBelow : (outPrev.get(k - 1) ?? null));
      }
      if (k !== top && !(deferred && k === hi)) tick.grads.set(k, k === hi ? fromAbove : (gradPrev.get(k + 1) ?? null));
    }
    const io: TickIo = {
      sendUp: links.above && sends ? (act) => links.above!.send({ tick: t, act }) : null,
      sendDown: links.below && sends ? (grad) => links.below!.send({ tick: t, grad }) : null,
      inputFromBelow: !byBlock && links.below && lo !== 0 ? recvBelow : null,
      gradFromAbove: deferred ? recvAbove : null,
    };
    const { outNow, gradNow } = byBlock ? await tickBlockByBlock(ctx, batch, result, tick) : await tickInOneGraph(ctx, batch, result, tick, io);
    if (byBlock) {
      io.sendUp?.(outNow.get(hi) ?? null);
      io.sendDown?.(gradNow.get(lo) ?? null);
    }
    outPrev = outNow;
    gradPrev = gradNow;
  }

  for (const k of spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.busySeconds = runner.busySeconds;
  result.waitSeconds = waitMs / 1000;
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
  inputs: Map<number, Tagged | null>;
  /**
   * Output gradients of the blocks below the top; the top's comes from this tick's loss. Without
   * an entry for the stage's top block when that gradient is awaited late (TickIo.gradFromAbove).
   */
  grads: Map<number, Tagged | null>;
}

/** A stage's messages of one tick (tickInOneGraph sends each as soon as it is known). */
interface TickIo {
  /** Block hi's output to the stage above; null: no stage above, or nothing is sent at this tick. */
  sendUp: ((act: Tagged | null) => void) | null;
  /** Block lo's input gradient to the stage below; null as for sendUp. */
  sendDown: ((grad: Tagged | null) => void) | null;
  /** Block lo's input (tick t-1 of the stage below), awaited when first needed; null: it is in Tick.inputs. */
  inputFromBelow: (() => Promise<Tagged | null>) | null;
  /** Block hi's output gradient (tick t-1 of the stage above), awaited last; null: it is in Tick.grads. */
  gradFromAbove: (() => Promise<Tagged | null>) | null;
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
 * With a gradient from above still to come (io.gradFromAbove), the stage's top block hi is taken
 * out of that graph: its activation-keeping forward runs first and its output goes up at once,
 * then the graph of the other blocks (whose input gradient goes down as soon as it is out), and
 * only then is the gradient from above awaited for hi's backward from the kept activations. So a
 * stage never waits for its neighbour's whole tick: the dependencies between stages are one
 * block's work long, not one tick's (docs/BENCHMARKS.md, issue 12). The activation-keeping pair
 * gives the tick graph's values bit for bit (test/executors.test.ts compares 2 and 3 workers with
 * one stage).
 */
async function tickInOneGraph(ctx: StageContext, batch: StageBatch, result: StageResult, tick: Tick, io: TickIo): Promise<TickOutputs> {
  const { spec, runner, weights } = ctx;
  const { t, top } = tick;
  const lo = spec.blocks[0];
  const hi = spec.blocks[spec.blocks.length - 1];
  const outNow = new Map<number, Tagged | null>();
  const dParams = new Map<number, Map<string, Tensor>>();
  /** Block k's gradient of this tick: the one it got (for the trace) and its input gradient. */
  const ran = new Map<number, { grad: Tagged; dx: Tensor | null }>();
  let logits: Tensor | null = null;

  const fromBelow = async () => {
    if (io.inputFromBelow && !tick.inputs.has(lo)) tick.inputs.set(lo, await io.inputFromBelow());
  };
  let kept: { input: Tagged; fwd: SavedForward } | null = null;
  if (io.gradFromAbove) {
    if (lo === hi) await fromBelow();
    const input = tick.inputs.get(hi) ?? null;
    if (input) {
      const fwd = await runner.forwardSaving(hi, input.tensor, weights);
      kept = { input, fwd };
      outNow.set(hi, { tensor: fwd.y, frame: input.frame });
    }
    // Sending transfers (detaches) the buffer: send a copy where hi's backward still reads it.
    const y = kept?.fwd.y;
    const reread = y !== undefined && [...kept!.fwd.saved.values()].some((v) => v.data.buffer === y.data.buffer);
    io.sendUp!(kept && { tensor: reread ? { data: y!.data.slice(), dims: y!.dims } : y!, frame: kept.input.frame });
  }

  await fromBelow();
  const inputs = new Map<number, Tensor>();
  const grads = new Map<number, Tensor>();
  for (const k of spec.blocks) {
    if (io.gradFromAbove && k === hi) continue;
    const input = tick.inputs.get(k);
    const grad = tick.grads.get(k);
    if (!input || (!grad && k !== top && !outputUsed(tick, k))) continue;
    inputs.set(k, input.tensor);
    if (grad) grads.set(k, grad.tensor);
  }
  // A stage above the first has nothing to do until the pipeline reaches it.
  if (inputs.size > 0) {
    const r = await runner.sidewaysTick(inputs, grads, tick.head, weights);
    for (const k of inputs.keys()) {
      const input = tick.inputs.get(k)!;
      if (outputUsed(tick, k)) outNow.set(k, { tensor: r.outputs.get(k)!, frame: input.frame });
      if (k === top) logits = r.outputs.get(k)!;
      const grad = k === top ? { tensor: r.outputs.get(k)!, frame: input.frame } : (tick.grads.get(k) ?? null); // the top's: only its frame is read
      if (!grad) continue;
      dParams.set(k, r.dParams.get(k)!);
      ran.set(k, { grad, dx: k > 0 ? r.dxs.get(k)! : null });
    }
  }
  const down = () => {
    const r = ran.get(lo);
    io.sendDown?.(r && r.dx ? { tensor: r.dx, frame: r.grad.frame } : null);
  };
  if (!(io.gradFromAbove && lo === hi)) down();

  if (io.gradFromAbove) {
    const grad = await io.gradFromAbove();
    if (kept && grad) {
      const b = await runner.backwardFromSaved(hi, kept.input.tensor, kept.fwd, grad.tensor, weights);
      dParams.set(hi, b.dParams);
      ran.set(hi, { grad, dx: b.dx });
    }
    if (lo === hi) down();
  }

  // The stage's record of the tick, in block order as if it had run in one piece.
  for (const k of spec.blocks) {
    const input = tick.inputs.get(k);
    if (input && outputUsed(tick, k) && batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: input.frame });
  }
  const gradNow = new Map<number, Tagged | null>();
  for (const k of [...spec.blocks].reverse()) {
    const input = tick.inputs.get(k) ?? null;
    if (!input) continue;
    if (k === top && logits) {
      result.losses.push(softmaxCrossEntropy(logits, batch.labels!).loss);
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
    if (!backwardFollows && !outputUsed(tick, k)) continue;
    let y: Tensor;
    if (backwardFollows) {
      const saved = await runner.forwardSaving(k, input.tensor, weights);
      savedNow.set(k, saved);
      y = saved.y;
    } else {
      y = await runner.forward(k, input.tensor, weights);
    }
    if (outputUsed(tick, k)) {
      outNow.set(k, { tensor: y, frame: input.frame });
      if (batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: input.frame });
    }
  }

  const gradNow = new Map<number, Tagged | null>();
  for (const k of [...spec.blocks].reverse()) {
    const input = tick.inputs.get(k) ?? null;
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
