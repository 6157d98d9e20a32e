/**
 * The Sideways rule against docs/design/sideways.md: index facts checked by tagging frames,
 * the static-clip equality with BP, and a step-by-step reference of the rule on non-smooth clips.
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import type { Model, Weights } from "../src/model/model.js";
import type { Tensor } from "../src/tensor.js";
import { softmaxCrossEntropy } from "../src/layers/softmax-cross-entropy.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { blocksWithoutGradient, clipLengthWarning } from "../src/train/sideways-stage.js";
import { clipFrame } from "../src/train/stage.js";
import { fourBlockModel, randomClips, relDiff } from "./helpers/tiny-models.js";
import type { ClipBatch } from "../src/data/source.js";

describe("Sideways rule (sequential executor)", function () {
  let model: Model;
  let weights: Weights;
  let runner: BlockRunner;
  let exec: SequentialExecutor;
  const L = 4;

  before(async () => {
    model = fourBlockModel();
    expect(model.blocks).to.have.length(L);
    weights = initWeights(model, 7);
    runner = await BlockRunner.create(model, [0, 1, 2, 3], buildAllBlockGraphs(model), { provider: "cpu", threads: 1 });
    exec = SequentialExecutor.withRunner(model, runner);
  });
  after(async () => runner.release());

  for (const T of [3, 7, 10]) {
    it(`T=${T}: n_k = max(0, T-2L+k+1), first loss at tick L, frame offset 2(L-k)`, async () => {
      const r = await exec.runBatch("sideways", randomClips(model, 2, T, 1), weights, { trace: true });
      // sideways.md uses 1-based k and t; here k = index + 1, tick = index + 1.
      expect(r.counts).to.deep.equal([1, 2, 3, 4].map((k) => Math.max(0, T - 2 * L + k + 1)));
      const losses = r.trace.filter((e) => e.kind === "loss");
      expect(losses.length).to.equal(Math.max(0, T - L + 1));
      if (losses.length) expect(losses[0].tick + 1).to.equal(L);
      for (const e of losses) expect(e.inputFrame + 1).to.equal(e.tick + 1 - L + 1); // top output at tick t is frame t-L+1
      for (const e of r.trace.filter((e) => e.kind === "forward")) {
        expect(e.inputFrame + 1, `block ${e.block + 1} tick ${e.tick + 1}`).to.equal(e.tick + 1 - (e.block + 1) + 1);
      }
      const backs = r.trace.filter((e) => e.kind === "backward");
      for (const e of backs) {
        const k = e.block + 1;
        expect(e.inputFrame - e.gradFrame!, `block ${k} tick ${e.tick + 1}`).to.equal(2 * (L - k));
        expect(e.gradFrame! + 1).to.equal(e.tick + 1 - 2 * L + k + 1);
      }
      for (let k = 1; k <= L; k++) {
        const first = backs.filter((e) => e.block === k - 1).map((e) => e.tick + 1);
        if (first.length) expect(Math.min(...first), `block ${k}`).to.equal(2 * L - k);
      }
      expect(r.losses).to.have.length(losses.length);
    });
  }

  for (const T of [2 * L - 1, 2 * L + 2]) {
    it(`static clip, T=${T}: Sideways G_k equals BP G_k for every block (relative 1e-5)`, async () => {
      const batch = randomClips(model, 3, T, 2, true);
      const sw = await exec.runBatch("sideways", batch, weights);
      const bp = await exec.runBatch("bp", batch, weights);
      expect(sw.counts.every((n) => n > 0)).to.equal(true);
      for (const p of model.params) {
        const d = relDiff(sw.grads.get(p.name)!, bp.grads.get(p.name)!);
        // Both average the same per-frame float32 gradients; only summation order and the
        // float32 rounding of each graph differ: 1e-5 is two orders above float32 epsilon.
        expect(d, p.name).to.be.lessThan(1e-5);
      }
    });
  }

  for (const F of [5, 2]) {
    it(`BP in passes of ${F} frames and BP frame by frame give the same G_k (relative 1e-5)`, async () => {
      const batch = randomClips(model, 3, 5, 8);
      const passes = await exec.runBatch("bp", batch, weights, { bpFramesPerPass: F });
      const perFrame = await exec.runBatch("bp", batch, weights, { bpFramesPerPass: 1 });
      expect(passes.counts).to.deep.equal([5, 5, 5, 5]);
      expect(perFrame.counts).to.deep.equal([5, 5, 5, 5]);
      expect(passes.losses).to.have.length(5);
      passes.losses.forEach((l, t) => expect(l).to.be.closeTo(perFrame.losses[t], 1e-6));
      // Same sums in a different order and batch split: float32 rounding only.
      for (const p of model.params) expect(relDiff(passes.grads.get(p.name)!, perFrame.grads.get(p.name)!), p.name).to.be.lessThan(1e-5);
    });
  }

  it("blocksWithoutGradient predicts exactly the blocks the trainer leaves without gradient; the warning names the shortest clip that works", async () => {
    const learnsAll: number[] = [];
    for (const T of [2, 4, 5, 6, 7, 9]) {
      const r = await exec.runBatch("sideways", randomClips(model, 1, T, 6), weights);
      const idle = r.counts.flatMap((n, k) => (n === 0 ? [k] : []));
      expect(blocksWithoutGradient(L, T), `T=${T}`).to.deep.equal(idle);
      expect(clipLengthWarning(L, T) === null, `T=${T}`).to.equal(idle.length === 0);
      if (idle.length === 0) learnsAll.push(T);
    }
    // The clip length the warning asks for is the shortest with which the trainer gave every block a gradient (6 frames leave block 0 out).
    expect(clipLengthWarning(L, 5)).to.equal(
      "with 5-frame clips and 4 blocks, Sideways never sends a gradient to blocks 0, 1 (they stay at their initial weights); data.clip_length >= 7 (2L-1) lets every block learn",
    );
    expect(clipLengthWarning(L, 6)).to.match(/to block 0 \(.*data\.clip_length >= 7 \(2L-1\)/);
    expect(Math.min(...learnsAll)).to.equal(7);
  });

  it("blocks with n_k = 0 get no gradient at all (no update)", async () => {
    const r = await exec.runBatch("sideways", randomClips(model, 2, 5, 3), weights);
    expect(r.counts).to.deep.equal([0, 0, 1, 2]);
    for (const p of model.params) expect(r.grads.has(p.name), p.name).to.equal(p.blockIndex >= 2);
  });

  it("non-smooth clips: Sideways differs from BP and matches a step-by-step reference of the rule", async () => {
    const T = 9;
    const batch = randomClips(model, 2, T, 4);
    const sw = await exec.runBatch("sideways", batch, weights);
    const bp = await exec.runBatch("bp", batch, weights);
    const ref = await sidewaysReference(model, runner, batch, weights);
    for (const p of model.params) {
      const d = relDiff(sw.grads.get(p.name)!, ref.get(p.name)!);
      expect(d, `${p.name} vs reference`).to.be.lessThan(1e-6);
    }
    // The lower blocks see gradients from frames 2(L-k) away: on random frames that is a different update.
    const lowest = relDiff(sw.grads.get("0.weight")!, bp.grads.get("0.weight")!);
    expect(lowest).to.be.greaterThan(1e-2);
  });
});

/**
 * The rule written as recursion over (block, tick) instead of a pipeline: the input of block k at
 * tick t is the synchronous forward of frame t-k (weights are fixed within a clip batch); its
 * gradient is the input-gradient that block k+1 computed at tick t-1 from its own input and its
 * own gradient. 0-based indices throughout.
 */
async function sidewaysReference(model: Model, runner: BlockRunner, batch: ClipBatch, weights: Weights) {
  const L = model.blocks.length;
  const T = batch.dims[1];
  const act = async (k: number, frame: number): Promise<Tensor> => {
    let x = clipFrame(batch.clips, batch.dims, frame);
    for (let j = 0; j < k; j++) x = await runner.forward(j, x, weights);
    return x;
  };
  const memo = new Map<string, Tensor | null>();
  const gradAt = async (k: number, t: number): Promise<Tensor | null> => {
    const key = `${k},${t}`;
    if (memo.has(key)) return memo.get(key)!;
    let g: Tensor | null = null;
    if (k === L - 1) {
      if (t - k >= 0) g = softmaxCrossEntropy(await runner.forward(k, await act(k, t - k), weights), batch.labels).dLogits;
    } else if (t - 1 >= 0 && t - 1 - (k + 1) >= 0) {
      const above = await gradAt(k + 1, t - 1);
      if (above) g = (await runner.backward(k + 1, await act(k + 1, t - 1 - (k + 1)), above, weights)).dx;
    }
    memo.set(key, g);
    return g;
  };
  const sums = new Map<string, Float64Array>();
  const counts = new Array(L).fill(0);
  for (let k = 0; k < L; k++) {
    for (let t = k; t < T; t++) {
      const g = await gradAt(k, t);
      if (!g) continue;
      const { dParams } = await runner.backward(k, await act(k, t - k), g, weights);
      counts[k]++;
      for (const [name, d] of dParams) {
        const s = sums.get(name) ?? new Float64Array(d.data.length);
        d.data.forEach((v, i) => (s[i] += v));
        sums.set(name, s);
      }
    }
  }
  const out = new Map<string, Float32Array>();
  for (const p of model.params) {
    const s = sums.get(p.name);
    if (s) out.set(p.name, Float32Array.from(s, (v) => v / counts[p.blockIndex]));
  }
  return out;
}
