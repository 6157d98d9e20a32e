/**
 * The interpreter: runs any rule's action table (src/schedule/) for one stage and one clip batch,
 * block by block, on the sequential executor (one stage holding every block) and on worker
 * stages alike, so both give bit-identical weights. Between stages only what the table says a
 * neighbour reads is sent: a block's output when the block above has a forward of that frame, an
 * input gradient when the block below has a backward with that gradient.
 *
 * Each block keeps (stashes) the input of a frame, with its saved activations and the version of
 * its weights, from the forward until the last backward that reads it. With in-clip updates
 * (train.update_every, docs/design/sideways.md) blocks step after every N ticks; a backward whose
 * input was computed with older weights uses those weights again (weight stashing, kept as a
 * snapshot until no stashed input refers to them) or recomputes the block with the current ones.
 */
import { softmaxCrossEntropy } from "../layers/softmax-cross-entropy.js";
import type { Weights } from "../model/model.js";
import type { Schedule } from "../schedule/action.js";
import { updatesAfter } from "../schedule/analysis.js";
import type { Tensor } from "../tensor.js";
import type { BackwardResult, SavedForward } from "./block-runner.js";
import { accumulate, clipFrame, newStageResult, type StageBatch, type StageContext, type StageResult } from "./stage.js";

/** In-clip updates: `step` moves block k's weights (in ctx.weights) by these mean gradients. */
export interface InClipUpdates {
  every: number;
  stashing: boolean;
  step(block: number, grads: Map<string, Float32Array>): void;
}

interface Stashed {
  x: Tensor;
  saved: SavedForward;
  /** Steps block k had taken in this clip batch when the forward ran. */
  version: number;
  /** Backwards still to read it. */
  readers: number;
}

const key = (block: number, frame: number) => `${block}:${frame}`;

function take<T>(map: Map<string, T>, k: string, what: string): T {
  const v = map.get(k);
  if (v === undefined) throw new Error(`BUG: schedule interpreter has no ${what} for block:frame ${k}`);
  map.delete(k);
  return v;
}

/** Bytes a stashed input holds: the input and the activations kept for the backward (each tensor once). */
const stashedBytes = (x: Tensor, saved: SavedForward) => [...new Set([x, ...saved.saved.values()])].reduce((s, v) => s + v.data.byteLength, 0);

export async function runScheduleStage(ctx: StageContext, batch: StageBatch, schedule: Schedule, updates: InClipUpdates | null): Promise<StageResult> {
  const { spec, runner, links, weights } = ctx;
  const result = newStageResult();
  const t0 = performance.now();
  runner.busySeconds = 0;
  const lo = spec.blocks[0];
  const hi = spec.blocks[spec.blocks.length - 1];
  const top = spec.totalBlocks - 1;
  if (schedule.blocks !== spec.totalBlocks) throw new Error(`BUG: ${schedule.method} schedule for ${schedule.blocks} blocks run on a model of ${spec.totalBlocks}`);

  // Who reads what, from the whole table (the neighbours' actions decide what is sent).
  const stashReaders = new Map<string, number>(); // block:frame -> backwards reading that input
  const forwards = new Set<string>(); // block:frame
  const gradsRead = new Set<string>(); // block:gradFrame
  for (const a of schedule.actions) {
    if (a.op === "forward") forwards.add(key(a.block, a.frame));
    if (a.op === "backward") {
      stashReaders.set(key(a.block, a.frame), (stashReaders.get(key(a.block, a.frame)) ?? 0) + 1);
      gradsRead.add(key(a.block, a.gradFrame!));
    }
  }

  const outputs = new Map<string, Tensor>(); // block k's output of frame f, for block k+1 on this stage (or the loss)
  const grads = new Map<string, Tensor>(); // block k's output gradient from the loss of frame g
  const stash = new Map<string, Stashed>();
  const version = new Map(spec.blocks.map((k) => [k, 0]));
  const snapshots = new Map<number, Map<number, Weights>>(spec.blocks.map((k) => [k, new Map()]));
  const pending = { sums: new Map<string, Float64Array>(), counts: new Map<number, number>() };
  let stashBytes = 0;
  let stashPeakBytes = 0;

  const recvAct = async (frame: number): Promise<Tensor> => {
    const msg = await links.below!.recv();
    if (!msg.act || msg.act.frame !== frame) throw new Error(`BUG: stage of blocks ${spec.blocks} expected frame ${frame} from below, got ${msg.act?.frame ?? "none"}`);
    return msg.act.tensor;
  };
  const recvGrad = async (frame: number): Promise<Tensor> => {
    const msg = await links.above!.recv();
    if (!msg.grad || msg.grad.frame !== frame) throw new Error(`BUG: stage of blocks ${spec.blocks} expected the gradient of frame ${frame} from above, got ${msg.grad?.frame ?? "none"}`);
    return msg.grad.tensor;
  };

  let i = 0;
  const mine = new Set(spec.blocks);
  const actions = schedule.actions.filter((a) => mine.has(a.block));
  for (let t = 0; t < schedule.ticks; t++) {
    for (; i < actions.length && actions[i].tick === t; i++) {
      const a = actions[i];
      const k = a.block;
      if (a.op === "forward") {
        if (k === 0 && !batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
        const x = k === 0 ? clipFrame(batch.clips!, batch.clipDims, a.frame) : k === lo ? await recvAct(a.frame) : take(outputs, key(k - 1, a.frame), "input");
        const readers = stashReaders.get(key(k, a.frame)) ?? 0;
        let y: Tensor;
        let saved: SavedForward | null = null;
        if (readers > 0) {
          saved = await runner.forwardSaving(k, x, weights);
          stash.set(key(k, a.frame), { x, saved, version: version.get(k)!, readers });
          stashBytes += stashedBytes(x, saved);
          stashPeakBytes = Math.max(stashPeakBytes, stashBytes);
          y = saved.y;
        } else {
          y = await runner.forward(k, x, weights);
        }
        // Block k ran forward on frame a.frame: the one place where per-layer state that follows
        // each forward in frame order (batch-norm running statistics) is updated.
        if (batch.trace) result.trace.push({ tick: t, block: k, kind: "forward", inputFrame: a.frame });
        if (k === top) {
          outputs.set(key(k, a.frame), y);
        } else if (forwards.has(key(k + 1, a.frame))) {
          if (k !== hi) {
            outputs.set(key(k, a.frame), y);
          } else {
            // Sending may transfer (detach) the buffer: send a copy if a backward still reads it.
            const kept = saved !== null && [...saved.saved.values()].includes(y);
            links.above!.send({ tick: t, act: { tensor: kept ? { data: y.data.slice(), dims: y.dims } : y, frame: a.frame } });
          }
        }
      } else if (a.op === "loss") {
        if (!batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
        const { loss, dLogits } = softmaxCrossEntropy(take(outputs, key(k, a.frame), "logits"), batch.labels);
        result.losses.push(loss);
        grads.set(key(k, a.frame), dLogits);
        if (batch.trace) result.trace.push({ tick: t, block: k, kind: "loss", inputFrame: a.frame });
      } else {
        const g = a.gradFrame!;
        const dy = k === hi && k !== top ? await recvGrad(g) : take(grads, key(k, g), "gradient");
        const entry = stash.get(key(k, a.frame));
        if (!entry) throw new Error(`BUG: schedule interpreter has no stashed input for block:frame ${key(k, a.frame)}`);
        if (--entry.readers === 0) {
          stash.delete(key(k, a.frame));
          stashBytes -= stashedBytes(entry.x, entry.saved);
        }
        let r: BackwardResult;
        if (entry.version === version.get(k)) r = await runner.backwardFromSaved(k, entry.x, entry.saved, dy, weights);
        else if (updates?.stashing) r = await runner.backwardFromSaved(k, entry.x, entry.saved, dy, snapshots.get(k)!.get(entry.version)!);
        else r = await runner.backward(k, entry.x, dy, weights); // the current weights, the block recomputed on the stashed input
        accumulate(result, k, r.dParams);
        if (updates) addPending(pending, k, r.dParams);
        if (batch.trace) result.trace.push({ tick: t, block: k, kind: "backward", inputFrame: a.frame, gradFrame: g });
        if (k > 0 && gradsRead.has(key(k - 1, g))) {
          if (k === lo) links.below!.send({ tick: t, grad: { tensor: r.dx!, frame: g } });
          else grads.set(key(k - 1, g), r.dx!);
        }
      }
    }
    if (updates && updatesAfter(t, schedule.ticks, updates.every)) {
      for (const k of spec.blocks) {
        const n = pending.counts.get(k) ?? 0;
        if (n === 0) continue;
        const v = version.get(k)!;
        const stashedAt = (ver: number) => [...stash].some(([s, e]) => e.version === ver && Number(s.split(":")[0]) === k);
        if (updates.stashing && stashedAt(v)) {
          const copy: Weights = new Map(weights);
          for (const name of spec.paramNames.get(k)!) copy.set(name, weights.get(name)!.slice());
          snapshots.get(k)!.set(v, copy);
        }
        const mean = new Map<string, Float32Array>();
        for (const name of spec.paramNames.get(k)!) mean.set(name, Float32Array.from(pending.sums.get(name)!, (s) => s / n));
        updates.step(k, mean);
        version.set(k, v + 1);
        pending.counts.set(k, 0);
        for (const name of spec.paramNames.get(k)!) pending.sums.get(name)!.fill(0);
        for (const old of snapshots.get(k)!.keys()) if (!stashedAt(old)) snapshots.get(k)!.delete(old);
      }
    }
  }
  if (stash.size > 0 || outputs.size > 0 || grads.size > 0) throw new Error(`BUG: ${schedule.method} schedule left values unread on the stage of blocks ${spec.blocks}`);

  for (const k of spec.blocks) if (!result.counts.has(k)) result.counts.set(k, 0);
  result.stashPeakBytes = stashPeakBytes;
  result.busySeconds = runner.busySeconds;
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}

function addPending(pending: { sums: Map<string, Float64Array>; counts: Map<number, number> }, block: number, dParams: Map<string, Tensor>): void {
  for (const [name, g] of dParams) {
    let sum = pending.sums.get(name);
    if (!sum) pending.sums.set(name, (sum = new Float64Array(g.data.length)));
    for (let j = 0; j < g.data.length; j++) sum[j] += g.data[j];
  }
  pending.counts.set(block, (pending.counts.get(block) ?? 0) + 1);
}
