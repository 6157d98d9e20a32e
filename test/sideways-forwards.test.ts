/**
 * Sideways' executors run exactly the forwards of the rule's table (src/schedule/rules.ts: those
 * whose output the loss, the block's own backward or a kept forward of the block above reads),
 * counted through what every training forward leaves behind: one frame of batch-norm statistics
 * per forward of a block with batch norm (model/buffers.ts). Clip lengths on both sides of 2L-2,
 * below which a frame may reach neither the loss nor a gradient before the clip ends.
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import { sidewaysSchedule } from "../src/schedule/rules.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { BatchOptions, Executor } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { normModel, randomClips } from "./helpers/tiny-models.js";

const cpu = { provider: "cpu" as const, threads: 1 };

describe("Sideways executors run the table's forwards", function () {
  this.timeout(180_000);
  const model = normModel(); // blocks 0-2 hold batch norm, block 3 (linear) none
  const L = model.blocks.length;
  const graphs = buildAllBlockGraphs(model);
  const weights = initWeights(model, 5);
  const withNorm = model.blocks.filter((b) => b.buffers.length > 0).map((b) => b.index);
  let seq: Executor;
  let par: Executor;
  before(async () => {
    seq = await SequentialExecutor.create(model, graphs, cpu);
    par = await ParallelExecutor.create(model, graphs, [[0, 1], [2, 3]], cpu);
  });
  after(async () => {
    await seq.close();
    await par.close();
  });

  it("the model has batch norm in every block but the top", () => {
    expect(withNorm).to.deep.equal([0, 1, 2]);
  });

  for (const T of [3, 4, 5, 6, 7]) {
    it(`T=${T}: batch-norm statistics frames per block = the table's forwards, on the tick graph, block by block, the interpreter and 2 workers`, async () => {
      const table = sidewaysSchedule(L, T);
      const expected = withNorm.map((k) => table.actions.filter((a) => a.op === "forward" && a.block === k).length);
      const batch = randomClips(model, 2, T, 40 + T);
      const runs: [string, Executor, BatchOptions][] = [
        ["tick graph", seq, {}],
        ["block by block", seq, { sidewaysTickGraph: false }],
        ["interpreter", seq, { interpret: true }],
        ["2 workers, tick graph", par, {}],
        ["2 workers, block by block", par, { sidewaysTickGraph: false }],
      ];
      for (const [name, exec, opts] of runs) {
        const r = await exec.runBatch("sideways", batch, weights, opts);
        const frames = withNorm.map((k) => r.stats.filter((s) => s.block === k).reduce((n, s) => n + s.frames, 0));
        expect(frames, `${name}: statistics frames of blocks ${withNorm}`).to.deep.equal(expected);
      }
    });
  }
});
