/**
 * Runs the graphs of a contiguous range of blocks (a stage): per block the forward, the
 * recomputing backward and the activation-keeping pair (forwardSaving, backwardFromSaved); for
 * the whole range a Sideways tick in one graph (sidewaysTick); and, when the range is the whole
 * model, a BP pass in one graph (fusedBpPass). One GraphSession per graph, created once per run
 * (per worker, in the parallel executors) and reused; all but the forwards on first use.
 * It also accounts for the time spent inside onnxruntime, for stage-utilisation figures.
 */
import { isMainThread } from "node:worker_threads";
import { RunError } from "../errors.js";
import { PORTABLE_TARGET, type GraphTarget } from "../graph/graph-builder.js";
import { blockStatKeys, buildBlockGraphs, buildEvalForwardGraph, buildFusedBpGraph, buildSavedBlockGraphs, buildSidewaysTickGraph, FUSED_BP_NAMES, gradName, statValueName, type SavedBlockGraphs, type TickMode } from "../layers/block-graphs.js";
import { CLIPS_PER_FRAME } from "../layers/layer-def.js";
import type { BlockStats } from "../model/buffers.js";
import type { Block, Model, Weights } from "../model/model.js";
import { graphTargetFor } from "../runtime/nchwc-probe.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { GraphSession, type Feeds } from "../runtime/session.js";
import type { Tensor } from "../tensor.js";
import { failpointNumbers } from "../util/failpoint.js";

export interface BlockGraphBytes {
  forward: Uint8Array;
  backward: Uint8Array;
  /** The activation-keeping pair (BP); without it forwardSaving/backwardFromSaved use the pair above. */
  saved?: SavedBlockGraphs;
  /**
   * Block 0's entry only: the whole model's BP pass as one graph (buildFusedBpGraph), which a
   * runner holding every block uses for BP (fusedBpPass). Without it BP goes block by block.
   */
  fusedBp?: Uint8Array;
  /** Blocks with buffers only: the evaluation forward, which normalises with them (forwardEval). */
  evalForward?: Uint8Array;
}

/**
 * Builds every block's graphs once; block 0 gets no input-gradient output (nobody uses it).
 * `target` from graphTargetFor(provider) (runtime/nchwc-probe.ts); default portable ONNX.
 */
export function buildAllBlockGraphs(model: Model, target: GraphTarget = PORTABLE_TARGET): BlockGraphBytes[] {
  return model.blocks.map((b) => ({
    ...buildBlockGraphs(model, b, { inputGrad: b.index > 0, target }),
    saved: buildSavedBlockGraphs(model, b, { inputGrad: b.index > 0, target }),
    ...(b.index === 0 ? { fusedBp: buildFusedBpGraph(model, { target }) } : {}),
    ...(b.buffers.length > 0 ? { evalForward: buildEvalForwardGraph(model, b, { target }) } : {}),
  }));
}

/** One Sideways tick: the outputs of the blocks that ran; input and parameter gradients of those that ran their backward. */
export interface SidewaysTickResult {
  outputs: Map<number, Tensor>;
  /** By block index, blocks above 0. */
  dxs: Map<number, Tensor>;
  dParams: Map<number, Map<string, Tensor>>;
}

/** One BP pass through every block: the logits and every block's parameter gradients. */
export interface FusedBpResult {
  logits: Tensor;
  /** By block index, then parameter name. */
  dParams: Map<number, Map<string, Tensor>>;
}

/** A block output with the activations its saved backward graph reads (by graph value name). */
export interface SavedForward {
  y: Tensor;
  saved: Map<string, Tensor>;
}

export interface BackwardResult {
  /** Gradient with respect to the block input; null for block 0. */
  dx: Tensor | null;
  /** Gradients by parameter name (PyTorch names). */
  dParams: Map<string, Tensor>;
}

/**
 * Failure injection for tests of the failure path (a worker that throws mid-run):
 * SIDEWAYS_FAILPOINT="block:K:call:N" (src/util/failpoint.ts) makes the N-th backward call of
 * block K in a worker thread throw (the main thread's runner, used for evaluation and cost
 * measurement, is left alone).
 */
const failpoint = (() => {
  const n = isMainThread ? null : failpointNumbers("block:K:call:N");
  return n ? { block: n[0], call: n[1] } : null;
})();

interface BlockSessions {
  block: Block;
  forward: GraphSession;
  /** The recomputing backward graph; null for a runner created without backward graphs. */
  backwardGraph: Uint8Array | null;
  savedGraphs: SavedBlockGraphs | null;
  /**
   * Created on first use, so runs that never call them do not pay: the trainers use the fused
   * graphs or the activation-keeping pair, evaluation only the forward.
   */
  backward: GraphSession | null;
  savedForward: GraphSession | null;
  savedBackward: GraphSession | null;
  evalForwardGraph: Uint8Array | null;
  evalForward: GraphSession | null;
  /** blockStatKeys: what this block's training forwards output. */
  statKeys: string[];
}

export class BlockRunner {
  /** Seconds spent inside onnxruntime; a stage resets it at the start of each clip batch. */
  busySeconds = 0;
  /** onnxruntime calls since a stage last reset it (with busySeconds). */
  calls = 0;

  /** The fused BP graph's session, created on first use; null bytes: this runner has none. */
  private fusedBpSession: GraphSession | null = null;
  /** Sideways tick graphs' sessions, by the blocks' modes (sidewaysTick). */
  private readonly tickSessions = new Map<string, GraphSession>();
  /** Rows per frame of the training graphs' inputs (beginBatch); null: every call's rows are one frame. */
  private clipsPerFrame: number | null = null;
  /** Per-frame statistics of the training forwards since beginBatch, in call order (model/buffers.ts). */
  private statsLog: BlockStats[] = [];

  private constructor(
    private readonly sessions: Map<number, BlockSessions>,
    private readonly opts: ProviderOptions,
    readonly model: Model,
    private readonly fusedBpBytes: Uint8Array | null,
  ) {}

  static async create(
    model: Model,
    blockIndices: readonly number[],
    graphs: readonly BlockGraphBytes[],
    opts: ProviderOptions,
    withBackward = true,
  ): Promise<BlockRunner> {
    const sessions = new Map<number, BlockSessions>();
    for (const k of blockIndices) {
      const block = model.blocks[k];
      const forward = await GraphSession.create(graphs[k].forward, `block ${k} forward`, opts);
      const backwardGraph = withBackward ? graphs[k].backward : null;
      const savedGraphs = withBackward ? (graphs[k].saved ?? null) : null;
      sessions.set(k, { block, forward, backwardGraph, savedGraphs, backward: null, savedForward: null, savedBackward: null, evalForwardGraph: graphs[k].evalForward ?? null, evalForward: null, statKeys: blockStatKeys(block) });
    }
    const holdsEveryBlock = model.blocks.every((b) => sessions.has(b.index));
    return new BlockRunner(sessions, opts, model, withBackward && holdsEveryBlock ? (graphs[0]?.fusedBp ?? null) : null);
  }

  get classes(): number {
    return this.model.classes;
  }

  /** Starts a clip batch of B clips: frames of B rows, and an empty statistics log. */
  beginBatch(clipsPerFrame: number): void {
    this.clipsPerFrame = clipsPerFrame;
    this.statsLog = [];
  }

  /** The statistics logged since beginBatch (model/buffers.ts applies them), emptying the log. */
  takeStats(): BlockStats[] {
    const log = this.statsLog;
    this.statsLog = [];
    return log;
  }

  /** `session` run on `feeds` of `rows` input rows, with the rows-per-frame input where it reads one; timed. */
  private async run(session: GraphSession, feeds: Feeds, rows: number): Promise<Record<string, Tensor>> {
    if (session.inputNames.includes(CLIPS_PER_FRAME)) feeds[CLIPS_PER_FRAME] = { data: Float32Array.of(this.clipsPerFrame ?? rows), dims: [1] };
    const t0 = performance.now();
    const out = await session.run(feeds);
    this.busySeconds += (performance.now() - t0) / 1000;
    this.calls++;
    return out;
  }

  /** Logs block k's per-frame statistics from a training forward's outputs. */
  private logStats(k: number, out: Record<string, Tensor>, rows: number): void {
    const keys = this.get(k).statKeys;
    if (keys.length === 0) return;
    const clips = this.clipsPerFrame ?? rows;
    this.statsLog.push({ block: k, clipsPerFrame: clips, frames: rows / clips, values: new Map(keys.map((key) => [key, out[statValueName(k, key)].data])) });
  }

  /**
   * One Sideways tick of this runner's blocks in one onnxruntime call (buildSidewaysTickGraph):
   * the blocks in `inputs` run their forward, those also in `grads` (or the top block, whose
   * gradient comes from `head`: one-hot labels and 1/B) their backward too. One graph per
   * combination of block modes, built for the provider's graph target and created on first use:
   * the pipeline's fill and drain ticks run only the blocks that have work.
   */
  async sidewaysTick(inputs: ReadonlyMap<number, Tensor>, grads: ReadonlyMap<number, Tensor>, head: { onehot: Tensor; scale: number } | null, weights: Weights): Promise<SidewaysTickResult> {
    const top = this.model.blocks.length - 1;
    const modes = new Map<number, TickMode>();
    for (const k of [...this.sessions.keys()].sort((a, b) => a - b)) {
      if (inputs.has(k)) modes.set(k, grads.has(k) || k === top ? "both" : "forward");
    }
    if (modes.size === 0) throw new Error("BUG: a Sideways tick with no block input");
    // Failure injection counts a block's backward in a tick as one backward call, top down.
    for (const [k, mode] of [...modes].reverse()) if (mode === "both") this.failpointCheck(k);
    const key = [...modes].map(([k, m]) => `${k}:${m}`).join(" ");
    let session = this.tickSessions.get(key);
    if (!session) {
      const target = await graphTargetFor(this.opts);
      session = await GraphSession.create(buildSidewaysTickGraph(this.model, modes, { target }), `Sideways tick (${key})`, this.opts);
      this.tickSessions.set(key, session);
    }
    const feeds: Feeds = {};
    for (const [k, mode] of modes) {
      Object.assign(feeds, this.feeds(this.model.blocks[k], inputs.get(k)!, weights));
      if (mode === "both" && k !== top) feeds[`b${k}.dy`] = grads.get(k)!;
    }
    if (modes.get(top) === "both") {
      if (!head) throw new Error("BUG: a Sideways tick of the top block needs the labels");
      feeds[FUSED_BP_NAMES.onehot] = head.onehot;
      feeds[FUSED_BP_NAMES.scale] = { data: Float32Array.of(head.scale), dims: [1] };
    }
    const out = await this.run(session, feeds, inputs.values().next().value!.dims[0]);
    for (const k of modes.keys()) this.logStats(k, out, inputs.get(k)!.dims[0]);
    const both = [...modes].filter(([, m]) => m === "both").map(([k]) => k);
    return {
      outputs: new Map([...modes.keys()].map((k) => [k, out[`b${k}.y`]])),
      dxs: new Map(both.filter((k) => k > 0).map((k) => [k, out[`b${k}.dx`]])),
      dParams: new Map(both.map((k) => [k, new Map(this.model.blocks[k].params.map((p) => [p.name, out[gradName(p.name)]]))])),
    };
  }

  /** Whether fusedBpPass can run: this runner holds every block and was given the fused graph. */
  get hasFusedBp(): boolean {
    return this.fusedBpBytes !== null;
  }

  /**
   * One BP pass of every block in one onnxruntime call (buildFusedBpGraph): rows x, their one-hot
   * labels and the head's gradient scale (1/B). Same gradients as forwardSaving/backwardFromSaved
   * block by block with the TypeScript head, up to float32 rounding of the softmax.
   */
  async fusedBpPass(x: Tensor, onehot: Tensor, scale: number, weights: Weights): Promise<FusedBpResult> {
    if (!this.fusedBpBytes) throw new Error("BUG: fusedBpPass on a runner without the fused BP graph");
    // Failure injection counts a fused pass as one backward call of every block, top down.
    for (let k = this.model.blocks.length - 1; k >= 0; k--) this.failpointCheck(k);
    this.fusedBpSession ??= await GraphSession.create(this.fusedBpBytes, `${this.model.name} BP pass`, this.opts);
    const feeds: Feeds = { [FUSED_BP_NAMES.x]: x, [FUSED_BP_NAMES.onehot]: onehot, [FUSED_BP_NAMES.scale]: { data: Float32Array.of(scale), dims: [1] } };
    for (const block of this.model.blocks) Object.assign(feeds, this.paramFeeds(block, weights));
    const out = await this.run(this.fusedBpSession, feeds, x.dims[0]);
    for (const block of this.model.blocks) this.logStats(block.index, out, x.dims[0]);
    const dParams = new Map(this.model.blocks.map((b) => [b.index, new Map(b.params.map((p) => [p.name, out[gradName(p.name)]]))]));
    return { logits: out[FUSED_BP_NAMES.logits], dParams };
  }

  private get(k: number): BlockSessions {
    const s = this.sessions.get(k);
    if (!s) throw new Error(`BUG: block ${k} is not run by this runner (has ${[...this.sessions.keys()]})`);
    return s;
  }

  private feeds(block: Block, x: Tensor, weights: Weights): Feeds {
    return { [`b${block.index}.x`]: x, ...this.paramFeeds(block, weights) };
  }

  private paramFeeds(block: Block, weights: Weights): Feeds {
    const feeds: Feeds = {};
    for (const p of block.params) {
      const w = weights.get(p.name);
      if (!w) throw new Error(`BUG: no weights for ${p.name} (block ${block.index})`);
      const expected = p.shape.reduce((a, b) => a * b, 1);
      // Checked here rather than left to onnxruntime, whose error would name a whole tick graph.
      if (w.length !== expected) throw new RunError(`block ${block.index}: parameter ${p.name} has ${w.length} values, expected ${expected} (shape [${p.shape.join(",")}])`);
      feeds[p.name] = { data: w, dims: p.shape };
    }
    return feeds;
  }

  /** The block's training forward (layers with buffers normalise each frame by its own statistics, which are logged). */
  async forward(k: number, x: Tensor, weights: Weights): Promise<Tensor> {
    const s = this.get(k);
    const out = await this.run(s.forward, this.feeds(s.block, x, weights), x.dims[0]);
    this.logStats(k, out, x.dims[0]);
    return out[`b${k}.y`];
  }

  /** The evaluation forward: as forward(), but layers with buffers normalise with them (read from `weights`). */
  async forwardEval(k: number, x: Tensor, weights: Weights): Promise<Tensor> {
    const s = this.get(k);
    if (!s.evalForwardGraph) return (await this.run(s.forward, this.feeds(s.block, x, weights), x.dims[0]))[`b${k}.y`];
    s.evalForward ??= await GraphSession.create(s.evalForwardGraph, `block ${k} evaluation forward`, this.opts);
    const feeds = this.feeds(s.block, x, weights);
    for (const b of s.block.buffers) {
      const values = weights.get(b.name);
      if (!values) throw new Error(`BUG: no buffer ${b.name} (block ${k})`);
      feeds[b.name] = { data: values, dims: b.shape };
    }
    return (await this.run(s.evalForward, feeds, x.dims[0]))[`b${k}.y`];
  }

  private backwardCalls = 0;

  async backward(k: number, x: Tensor, dy: Tensor, weights: Weights): Promise<BackwardResult> {
    const s = this.get(k);
    this.failpointCheck(k);
    if (!s.backwardGraph) throw new Error(`BUG: block ${k} runner was created without backward graphs`);
    s.backward ??= await GraphSession.create(s.backwardGraph, `block ${k} backward`, this.opts);
    return this.runBackward(s, s.backward, this.feeds(s.block, x, weights), dy);
  }

  /** The block forward, also returning the activations backwardFromSaved needs (BP). */
  async forwardSaving(k: number, x: Tensor, weights: Weights): Promise<SavedForward> {
    const s = this.get(k);
    if (!s.savedGraphs) return { y: await this.forward(k, x, weights), saved: new Map() };
    // A forward that saves nothing beyond its output is the plain forward graph: reuse its session.
    const extra = s.savedGraphs.saved.some((name) => name !== `b${k}.y`);
    if (extra && !s.savedForward) s.savedForward = await GraphSession.create(s.savedGraphs.forward, `block ${k} forward (saving)`, this.opts);
    const out = await this.run(extra ? s.savedForward! : s.forward, this.feeds(s.block, x, weights), x.dims[0]);
    this.logStats(k, out, x.dims[0]);
    const y = out[`b${k}.y`];
    return { y, saved: new Map(s.savedGraphs.saved.map((name) => [name, out[name]])) };
  }

  /** The block backward from forwardSaving's activations (same gradients as backward()). */
  async backwardFromSaved(k: number, x: Tensor, fwd: SavedForward, dy: Tensor, weights: Weights): Promise<BackwardResult> {
    const s = this.get(k);
    if (!s.savedGraphs) return this.backward(k, x, dy, weights);
    this.failpointCheck(k);
    if (!s.savedBackward) s.savedBackward = await GraphSession.create(s.savedGraphs.backward, `block ${k} backward (saved)`, this.opts);
    const feeds = this.feeds(s.block, x, weights);
    for (const name of s.savedGraphs.saved) {
      const t = fwd.saved.get(name);
      if (!t) throw new Error(`BUG: block ${k} backward needs saved ${name}, which forwardSaving did not return`);
      feeds[name] = t;
    }
    return this.runBackward(s, s.savedBackward, feeds, dy);
  }

  private failpointCheck(k: number): void {
    if (failpoint && failpoint.block === k && ++this.backwardCalls === failpoint.call) {
      throw new Error(`injected failure (SIDEWAYS_FAILPOINT) in block ${k} backward, call ${failpoint.call}`);
    }
  }

  private async runBackward(s: BlockSessions, session: GraphSession, feeds: Feeds, dy: Tensor): Promise<BackwardResult> {
    const k = s.block.index;
    feeds[`b${k}.dy`] = dy;
    const out = await this.run(session, feeds, dy.dims[0]);
    const dParams = new Map<string, Tensor>();
    for (const p of s.block.params) dParams.set(p.name, out[`d${p.name}`]);
    return { dx: k > 0 ? out[`b${k}.dx`] : null, dParams };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) {
      await s.forward.release();
      await s.backward?.release();
      await s.savedForward?.release();
      await s.savedBackward?.release();
      await s.evalForward?.release();
    }
    await this.fusedBpSession?.release();
    for (const session of this.tickSessions.values()) await session.release();
  }
}
