/**
 * The activation-keeping block graphs that BP uses (forwardSaving + backwardFromSaved) give the
 * same block outputs and gradients as the recomputing pair (forward + backward), whose gradients
 * the layer and model gradient tests check against float64 references. Both run the same ops on
 * the same float32 values (ReLU's mask read from y instead of x selects the same elements), so
 * the results are compared bit for bit.
 */
import { expect } from "chai";
import { PORTABLE_TARGET, type GraphTarget } from "../src/graph/graph-builder.js";
import { buildSavedBlockGraphs } from "../src/layers/block-graphs.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model } from "../src/model/model.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { Tensor } from "../src/tensor.js";
import { Rng } from "../src/util/rng.js";
import { everyLayerKindSpec, sameBits } from "./helpers/tiny-models.js";
import { NO_NCHWC, skipBecause } from "./helpers/skip.js";

const model = resolveModel({ ...everyLayerKindSpec, input: { channels: 2, height: 8, width: 8 } }, "inline");

describe("activation-keeping block graphs (BP)", function () {
  this.timeout(60_000);

  it("save only what the backward reads: a conv+ReLU block its output, a linear block nothing", () => {
    const saved = model.blocks.map((b) => buildSavedBlockGraphs(model, b, { inputGrad: b.index > 0 }).saved);
    // block 0: conv, relu, maxpool -> the ReLU output (maxpool input, and the ReLU mask);
    // block 1: conv, relu, avgpool, flatten -> the ReLU output; block 2: linear, relu -> its output; block 3: linear -> none.
    expect(saved).to.deep.equal([["b0.s1"], ["b1.s4"], ["b2.y"], []]);
  });

  it("same outputs and gradients as the recomputing graphs, bit for bit, in every block", async () => {
    await checkSavedEqualsRecomputed(model, PORTABLE_TARGET);
  });

  it("the same with onnxruntime's NCHWc kernels (fused conv+ReLU in both pairs)", async function () {
    const target = await graphTargetFor({ provider: "cpu" });
    if (target.nchwcBlock === 0) skipBecause(this, NO_NCHWC);
    const wide = resolveModel({ ...everyLayerKindSpec, input: { channels: 2, height: 8, width: 8 }, layers: everyLayerKindSpec.layers.map((l) => (l.type === "conv2d" ? { ...l, out_channels: 16 } : l)) }, "inline");
    await checkSavedEqualsRecomputed(wide, target);
  });
});

async function checkSavedEqualsRecomputed(model: Model, target: GraphTarget): Promise<void> {
  const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model, target), { provider: "cpu", threads: 1 });
  try {
    const weights = initWeights(model, 2);
    const rng = new Rng(8);
    const N = 5;
    let x: Tensor = { data: Float32Array.from({ length: N * 2 * 8 * 8 }, () => rng.next() - 0.5), dims: [N, 2, 8, 8] };
    for (const b of model.blocks) {
      const plainY = await runner.forward(b.index, x, weights);
      const fwd = await runner.forwardSaving(b.index, x, weights);
      expect(sameBits(fwd.y.data, plainY.data), `block ${b.index} output`).to.equal(true);
      const dy = { data: Float32Array.from(plainY.data, () => rng.next() - 0.5), dims: plainY.dims };
      const a = await runner.backward(b.index, x, dy, weights);
      const s = await runner.backwardFromSaved(b.index, x, fwd, dy, weights);
      for (const [name, g] of a.dParams) expect(sameBits(s.dParams.get(name)!.data, g.data), `${name}`).to.equal(true);
      if (b.index > 0) expect(sameBits(s.dx!.data, a.dx!.data), `block ${b.index} dx`).to.equal(true);
      x = plainY;
    }
  } finally {
    await runner.release();
  }
}
