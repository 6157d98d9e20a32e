/**
 * Data-parallel replicas: the clip-weighted mean of the replicas' gradients is the batch
 * gradient (both methods, uneven shares included), and repeated runs are bit-identical.
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { ReplicaExecutor, splitClips } from "../src/train/replica-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { fourBlockModel, randomClips, relDiff, sameBits } from "./helpers/tiny-models.js";
import { CPU_ONE_THREAD as cpu } from "./helpers/executors.js";

describe("replica executor (data parallelism)", function () {
  this.timeout(60_000);
  const model = fourBlockModel();
  const graphs = buildAllBlockGraphs(model);
  const weights = initWeights(model, 4);

  it("splitClips: contiguous shares that differ by at most one clip", () => {
    expect(splitClips(5, 2)).to.deep.equal([{ first: 0, count: 2 }, { first: 2, count: 3 }]);
    expect(splitClips(6, 3)).to.deep.equal([{ first: 0, count: 2 }, { first: 2, count: 2 }, { first: 4, count: 2 }]);
    expect(splitClips(7, 3).map((s) => s.count)).to.deep.equal([2, 2, 3]);
  });

  for (const method of ["bp", "sideways"] as const) {
    it(`${method}: 2 and 3 replicas give the sequential gradient and losses (relative 1e-5), uneven shares included`, async () => {
      const batch = randomClips(model, 5, 8, 21);
      const seq = await SequentialExecutor.create(model, graphs, cpu);
      const reference = await seq.runBatch(method, batch, weights, { bpFramesPerPass: 4 });
      await seq.close();
      for (const replicas of [2, 3]) {
        const rep = await ReplicaExecutor.create(model, graphs, replicas, cpu);
        try {
          const r = await rep.runBatch(method, batch, weights, { bpFramesPerPass: 4 });
          expect(r.counts).to.deep.equal(reference.counts);
          expect(r.losses).to.have.length(reference.losses.length);
          r.losses.forEach((l, i) => expect(l).to.be.closeTo(reference.losses[i], 1e-6));
          expect([...r.grads.keys()]).to.deep.equal([...reference.grads.keys()]);
          // Per-replica means then a weighted mean instead of one sum: float32 rounding only.
          for (const [name, g] of reference.grads) expect(relDiff(r.grads.get(name)!, g), `${name}, ${replicas} replicas`).to.be.lessThan(1e-5);
          expect(r.stageBusySeconds).to.have.length(replicas);
          const again = await rep.runBatch(method, batch, weights, { bpFramesPerPass: 4 });
          for (const [name, g] of r.grads) expect(sameBits(again.grads.get(name)!, g), `${name} repeatable`).to.equal(true);
        } finally {
          await rep.close();
        }
      }
    });
  }
});
