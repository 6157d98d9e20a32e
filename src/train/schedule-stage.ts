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
  const t0 = performance.now();
  ctx.runner.busySeconds = 0;
  ctx.runner.calls = 0;
  // Batch-norm statistics: each block's training forwards run in frame order, so the runner's log
  // is what model/buffers.ts applies (recomputing backwards log nothing).
  ctx.runner.beginBatch(batch.clipDims[0]);
  const stage = new StageInterpreter(ctx, batch, schedule, updates);
  const mine = new Set(ctx.spec.blocks);
  const actions = schedule.actions.filter((a) => mine.has(a.block));
  let i = 0;
  for (let t = 0; t < schedule.ticks; t++) {
    for (; i < actions.length && actions[i].tick === t; i++) {
      const a = actions[i];
      if (a.op === "forward") await stage.forward(t, a.block, a.frame);
      else if (a.op === "loss") stage.loss(t, a.frame);
      else await stage.backward(t, a.block, a.frame, a.gradFrame!);
    }
    if (updates && updatesAfter(t, schedule.ticks, updates.every)) stage.update();
  }
  const result = stage.finish();
  result.stats = ctx.runner.takeStats();
  result.busySeconds = ctx.runner.busySeconds;
  result.calls = ctx.runner.calls;
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}

/** One stage's state while it runs a table: what it holds, what it still owes its neighbours. */
class StageInterpreter {
  readonly result = newStageResult();
  private readonly lo: number;
  private readonly hi: number;
  private readonly top: number;
  /** From the whole table: backwards reading each block:frame input, forwards by block:frame, gradients read by block:gradFrame. */
  private readonly stashReaders = new Map<string, number>();
  private readonly forwards = new Set<string>();
  private readonly gradsRead = new Set<string>();
  /** Block k's output of frame f, for block k+1 on this stage (or the loss). */
  private readonly outputs = new Map<string, Tensor>();
  /** Block k's output gradient from the loss of frame g. */
  private readonly grads = new Map<string, Tensor>();
  private readonly stash = new Map<string, Stashed>();
  /** Steps each block has taken in this clip batch, and copies of weights stashed inputs still refer to. */
  private readonly version: Map<number, number>;
  private readonly snapshots: Map<number, Map<number, Weights>>;
  /** Gradients since each block's last step (in-clip updates). */
  private readonly pendingSums = new Map<string, Float64Array>();
  private readonly pendingCounts = new Map<number, number>();
  private stashBytes = 0;
  private stashPeakBytes = 0;

  constructor(
    private readonly ctx: StageContext,
    private readonly batch: StageBatch,
    private readonly schedule: Schedule,
    private readonly updates: InClipUpdates | null,
  ) {
    const { blocks, totalBlocks } = ctx.spec;
    if (schedule.blocks !== totalBlocks) throw new Error(`BUG: ${schedule.method} schedule for ${schedule.blocks} blocks run on a model of ${totalBlocks}`);
    this.lo = blocks[0];
    this.hi = blocks[blocks.length - 1];
    this.top = totalBlocks - 1;
    this.version = new Map(blocks.map((k) => [k, 0]));
    this.snapshots = new Map(blocks.map((k) => [k, new Map()]));
    for (const a of schedule.actions) {
      if (a.op === "forward") this.forwards.add(key(a.block, a.frame));
      if (a.op === "backward") {
        this.stashReaders.set(key(a.block, a.frame), (this.stashReaders.get(key(a.block, a.frame)) ?? 0) + 1);
        this.gradsRead.add(key(a.block, a.gradFrame!));
      }
    }
  }

  async forward(tick: number, k: number, frame: number): Promise<void> {
    const { runner, weights, links } = this.ctx;
    const x = await this.input(k, frame);
    const readers = this.stashReaders.get(key(k, frame)) ?? 0;
    let y: Tensor;
    let saved: SavedForward | null = null;
    if (readers > 0) {
      saved = await runner.forwardSaving(k, x, weights);
      this.stash.set(key(k, frame), { x, saved, version: this.version.get(k)!, readers });
      this.stashBytes += stashedBytes(x, saved);
      this.stashPeakBytes = Math.max(this.stashPeakBytes, this.stashBytes);
      y = saved.y;
    } else {
      y = await runner.forward(k, x, weights);
    }
    // Block k ran forward on frame `frame`: the one place where per-layer state that follows each
    // forward in frame order (batch-norm running statistics) is updated.
    if (this.batch.trace) this.result.trace.push({ tick, block: k, kind: "forward", inputFrame: frame });
    if (k !== this.top && !this.forwards.has(key(k + 1, frame))) return;
    if (k !== this.hi || k === this.top) {
      this.outputs.set(key(k, frame), y); // for block k+1 on this stage, or the loss
    } else {
      // Sending may transfer (detach) the buffer: send a copy if a backward still reads it.
      const kept = saved !== null && [...saved.saved.values()].includes(y);
      links.above!.send({ tick, act: { tensor: kept ? { data: y.data.slice(), dims: y.dims } : y, frame } });
    }
  }

  loss(tick: number, frame: number): void {
    if (!this.batch.labels) throw new Error("BUG: the stage holding the top block got no labels");
    const { loss, dLogits } = softmaxCrossEntropy(take(this.outputs, key(this.top, frame), "logits"), this.batch.labels, this.batch.labelSmoothing);
    this.result.losses.push(loss);
    this.grads.set(key(this.top, frame), dLogits);
    if (this.batch.trace) this.result.trace.push({ tick, block: this.top, kind: "loss", inputFrame: frame });
  }

  async backward(tick: number, k: number, frame: number, gradFrame: number): Promise<void> {
    const { runner, weights, links } = this.ctx;
    const dy = k === this.hi && k !== this.top ? await this.recv("above", gradFrame) : take(this.grads, key(k, gradFrame), "gradient");
    const entry = this.stash.get(key(k, frame));
    if (!entry) throw new Error(`BUG: schedule interpreter has no stashed input for block:frame ${key(k, frame)}`);
    if (--entry.readers === 0) {
      this.stash.delete(key(k, frame));
      this.stashBytes -= stashedBytes(entry.x, entry.saved);
    }
    let r: BackwardResult;
    if (entry.version === this.version.get(k)) r = await runner.backwardFromSaved(k, entry.x, entry.saved, dy, weights);
    else if (this.updates?.stashing) r = await runner.backwardFromSaved(k, entry.x, entry.saved, dy, this.snapshots.get(k)!.get(entry.version)!);
    else r = await runner.backward(k, entry.x, dy, weights); // the current weights, the block recomputed on the stashed input
    accumulate(this.result, k, r.dParams);
    if (this.updates) this.addPending(k, r.dParams);
    if (this.batch.trace) this.result.trace.push({ tick, block: k, kind: "backward", inputFrame: frame, gradFrame });
    if (k === 0 || !this.gradsRead.has(key(k - 1, gradFrame))) return;
    if (k === this.lo) links.below!.send({ tick, grad: { tensor: r.dx!, frame: gradFrame } });
    else this.grads.set(key(k - 1, gradFrame), r.dx!);
  }

  /** Each block with gradients since its last step steps with their mean (first keeping its weights if a stashed input was computed with them). */
  update(): void {
    const { spec, weights } = this.ctx;
    for (const k of spec.blocks) {
      const n = this.pendingCounts.get(k) ?? 0;
      if (n === 0) continue;
      const v = this.version.get(k)!;
      const names = spec.paramNames.get(k)!;
      if (this.updates!.stashing && this.stashedWith(k, v)) {
        const copy: Weights = new Map(weights);
        for (const name of names) copy.set(name, weights.get(name)!.slice());
        this.snapshots.get(k)!.set(v, copy);
      }
      this.updates!.step(k, new Map(names.map((name) => [name, Float32Array.from(this.pendingSums.get(name)!, (sum) => sum / n)])));
      this.version.set(k, v + 1);
      this.pendingCounts.set(k, 0);
      for (const name of names) this.pendingSums.get(name)!.fill(0);
      for (const old of this.snapshots.get(k)!.keys()) if (!this.stashedWith(k, old)) this.snapshots.get(k)!.delete(old);
    }
  }

  finish(): StageResult {
    if (this.stash.size > 0 || this.outputs.size > 0 || this.grads.size > 0) {
      throw new Error(`BUG: ${this.schedule.method} schedule left values unread on the stage of blocks ${this.ctx.spec.blocks}`);
    }
    for (const k of this.ctx.spec.blocks) if (!this.result.counts.has(k)) this.result.counts.set(k, 0);
    this.result.stashPeakBytes = this.stashPeakBytes;
    return this.result;
  }

  /** Block k's input of a frame: the clip's frame, the stage below's message, or block k-1's output here. */
  private async input(k: number, frame: number): Promise<Tensor> {
    if (k === 0) {
      if (!this.batch.clips) throw new Error("BUG: the stage holding block 0 got no clips");
      return clipFrame(this.batch.clips, this.batch.clipDims, frame);
    }
    return k === this.lo ? this.recv("below", frame) : take(this.outputs, key(k - 1, frame), "input");
  }

  /** The next message from a neighbour, which the tables of both say is this frame's activation (below) or gradient (above). */
  private async recv(from: "below" | "above", frame: number): Promise<Tensor> {
    const { links, spec } = this.ctx;
    const got = from === "below" ? (await links.below!.recv()).act : (await links.above!.recv()).grad;
    if (!got || got.frame !== frame) throw new Error(`BUG: stage of blocks ${spec.blocks} expected frame ${frame} from ${from}, got ${got?.frame ?? "none"}`);
    return got.tensor;
  }

  private stashedWith(k: number, version: number): boolean {
    for (const [s, e] of this.stash) if (e.version === version && Number(s.split(":")[0]) === k) return true;
    return false;
  }

  private addPending(block: number, dParams: Map<string, Tensor>): void {
    for (const [name, g] of dParams) {
      let sum = this.pendingSums.get(name);
      if (!sum) this.pendingSums.set(name, (sum = new Float64Array(g.data.length)));
      for (let j = 0; j < g.data.length; j++) sum[j] += g.data[j];
    }
    this.pendingCounts.set(block, (this.pendingCounts.get(block) ?? 0) + 1);
  }
}
