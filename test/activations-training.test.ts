/**
 * silu and gelu through the real trainers: a run of one SGD step of a 4-block model whose blocks
 * end in silu or gelu (one inside a residual unit), by BP and by Sideways (its ticks, depth-parallel
 * stages and the device step, which runs the clip batch as one graph), against the float64
 * references of the update (test/reference/model-ref.ts, rules-ref.ts on layers-ref.ts: nothing
 * shared with src/), with test/helpers/one-step-run.ts's harness and its tolerance.
 */
import { expect } from "chai";
import { expectOneStepAsReference, ONE_STEP_PATHS, oneStepRunInputs, sgdStepReference } from "./helpers/one-step-run.js";

/** Blocks: conv-silu, strided conv-gelu, a residual unit (conv-gelu-conv) with silu and the pooling, linear. */
const SPEC = {
  name: "silu-gelu",
  input: { channels: 1, height: 8, width: 8 },
  classes: 3,
  layers: [
    { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
    { type: "silu" },
    { type: "conv2d", out_channels: 5, kernel: 3, stride: 2, padding: 1 },
    { type: "gelu" },
    { type: "residual", layers: [{ type: "conv2d", out_channels: 5, kernel: 3, padding: 1 }, { type: "gelu" }, { type: "conv2d", out_channels: 5, kernel: 3, padding: 1 }] },
    { type: "silu" },
    { type: "global_avg_pool" },
    { type: "linear", out_features: 3 },
  ],
};

describe("training with silu and gelu: one SGD step of a run against the float64 references", function () {
  this.timeout(120_000);
  // B = 3 clips of T = 9 >= 2L - 1 frames: every block gets a Sideways gradient, and the device step runs.
  const inputs = oneStepRunInputs("sideways-silu-gelu-", { spec: SPEC, B: 3, clipSeed: 17, initSeed: 29 });

  it("the model has 4 blocks, each activation in the block of the layer before it", () => {
    expect(inputs.model.blocks.map((b) => b.layers.map((l) => l.spec.type))).to.deep.equal([["conv2d", "silu"], ["conv2d", "gelu"], ["residual", "silu", "global_avg_pool"], ["linear"]]);
  });

  for (const path of ONE_STEP_PATHS) {
    it(`${path.path}: the update (and BP's training loss) are the float64 reference's (relative 1e-4)`, async () => {
      await expectOneStepAsReference(inputs, path, {}, sgdStepReference(inputs));
    });
  }
});
