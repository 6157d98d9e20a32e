/**
 * Runs the forward and backward graphs of a contiguous range of blocks. One GraphSession per
 * graph, created once per run (per worker, in the depth-parallel executor) and reused.
 * It also accounts for the time spent inside onnxruntime, for stage-utilisation figures.
 */
import { isMainThread } from "node:worker_threads";
import { buildBlockGraphs } from "../layers/block-graphs.js";
import type { Block, Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { GraphSession, type Feeds } from "../runtime/session.js";
import type { Tensor } from "../tensor.js";

export interface BlockGraphBytes {
  forward: Uint8Array;
  backward: Uint8Array;
}

/** Builds every block's graph pair once; block 0 gets no input-gradient output (nobody uses it). */
export function buildAllBlockGraphs(model: Model): BlockGraphBytes[] {
  return model.blocks.map((b) => buildBlockGraphs(model, b, { inputGrad: b.index > 0 }));
}

export interface BackwardResult {
  /** Gradient with respect to the block input; null for block 0. */
  dx: Tensor | null;
  /** Gradients by parameter name (PyTorch names). */
  dParams: Map<string, Tensor>;
}

/**
 * Failure injection for tests of the failure path (a worker that throws mid-run):
 * SIDEWAYS_FAILPOINT="block:K:call:N" makes the N-th backward call of block K in a worker thread
 * throw (the main thread's runner, used for evaluation and cost measurement, is left alone).
 */
const failpoint = (() => {
  if (isMainThread) return null;
  const m = /^block:(\d+):call:(\d+)$/.exec(process.env.SIDEWAYS_FAILPOINT ?? "");
  return m ? { block: Number(m[1]), call: Number(m[2]) } : null;
})();

interface BlockSessions {
  block: Block;
  forward: GraphSession;
  backward: GraphSession | null;
}

export class BlockRunner {
  /** Seconds spent inside onnxruntime since the last resetBusy(). */
  busySeconds = 0;

  private constructor(private readonly sessions: Map<number, BlockSessions>) {}

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
      const backward = withBackward ? await GraphSession.create(graphs[k].backward, `block ${k} backward`, opts) : null;
      sessions.set(k, { block, forward, backward });
    }
    return new BlockRunner(sessions);
  }

  private get(k: number): BlockSessions {
    const s = this.sessions.get(k);
    if (!s) throw new Error(`BUG: block ${k} is not run by this runner (has ${[...this.sessions.keys()]})`);
    return s;
  }

  private feeds(block: Block, x: Tensor, weights: Weights): Feeds {
    const feeds: Feeds = { [`b${block.index}.x`]: x };
    for (const p of block.params) {
      const w = weights.get(p.name);
      if (!w) throw new Error(`BUG: no weights for ${p.name} (block ${block.index})`);
      feeds[p.name] = { data: w, dims: p.shape };
    }
    return feeds;
  }

  async forward(k: number, x: Tensor, weights: Weights): Promise<Tensor> {
    const s = this.get(k);
    const t0 = performance.now();
    const out = await s.forward.run(this.feeds(s.block, x, weights));
    this.busySeconds += (performance.now() - t0) / 1000;
    return out[`b${k}.y`];
  }

  private backwardCalls = 0;

  async backward(k: number, x: Tensor, dy: Tensor, weights: Weights): Promise<BackwardResult> {
    const s = this.get(k);
    if (failpoint && failpoint.block === k && ++this.backwardCalls === failpoint.call) {
      throw new Error(`injected failure (SIDEWAYS_FAILPOINT) in block ${k} backward, call ${failpoint.call}`);
    }
    if (!s.backward) throw new Error(`BUG: block ${k} runner was created without backward graphs`);
    const feeds = this.feeds(s.block, x, weights);
    feeds[`b${k}.dy`] = dy;
    const t0 = performance.now();
    const out = await s.backward.run(feeds);
    this.busySeconds += (performance.now() - t0) / 1000;
    const dParams = new Map<string, Tensor>();
    for (const p of s.block.params) dParams.set(p.name, out[`d${p.name}`]);
    return { dx: k > 0 ? out[`b${k}.dx`] : null, dParams };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) {
      await s.forward.release();
      await s.backward?.release();
    }
  }
}
