/**
 * GPipe (train.method: gpipe): its table follows the rule as docs/design/sideways.md states it,
 * its predicted bubble is GPipe's, and with one update per clip batch it gives BP's gradient, on
 * one thread and on worker stages. It was added as a generator and a registry entry alone, which
 * is what "schedules as data" promises.
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import { blockFacts, unitCosts } from "../src/schedule/analysis.js";
import { RULES } from "../src/schedule/registry.js";
import { gpipeSchedule } from "../src/schedule/rules.js";
import { interpreterSteps, simulatedIdleFractions } from "../src/schedule/simulate.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { balancedStages } from "../src/train/stage-plan.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { InputError } from "../src/errors.js";
import { fourBlockModel, randomClips, relDiff, sameBits } from "./helpers/tiny-models.js";
import { CPU_ONE_THREAD as cpu, sequentialExecutorForSuite, withoutFusedBp } from "./helpers/executors.js";

describe("gpipe", function () {
  this.timeout(180_000);

  it("the table: forwards at f+k, the loss at f+L-1, backwards from the turn at T+L-2 in reverse frame order, one block a tick down; 2T+2L-3 ticks", () => {
    for (const [L, T] of [[4, 6], [3, 8], [1, 3], [5, 2]]) {
      const s = gpipeSchedule(L, T);
      // The rule restated (0-based), independently of the generator's loops.
      const expected = new Set<string>();
      for (let f = 0; f < T; f++) {
        for (let k = 0; k < L; k++) {
          expected.add(`${f + k} F ${k} ${f}`);
          expected.add(`${T + L - 2 + (T - 1 - f) + (L - 1 - k)} B ${k} ${f}<${f}`);
        }
        expected.add(`${f + L - 1} L ${L - 1} ${f}`);
      }
      const got = s.actions.map((a) => `${a.tick} ${a.op === "forward" ? "F" : a.op === "loss" ? "L" : "B"} ${a.block} ${a.frame}${a.op === "backward" ? `<${a.gradFrame}` : ""}`);
      expect(new Set(got), `L=${L} T=${T}`).to.deep.equal(expected);
      expect(got).to.have.length(expected.size);
      expect(s.ticks, `L=${L} T=${T}`).to.equal(2 * T + 2 * L - 3);
      // Every backward comes after every forward of its block (the pipeline drains), the last
      // frame's top backward in the tick of its forward.
      for (let k = 0; k < L; k++) {
        const ticks = (op: string) => s.actions.filter((a) => a.block === k && a.op === op).map((a) => a.tick);
        expect(Math.min(...ticks("backward")), `block ${k}`).to.be.at.least(Math.max(...ticks("forward")));
      }
      // n_k = T, one step per clip batch, and every block keeps all T inputs at once.
      const facts = blockFacts(s, "clip", false);
      expect(facts.map((f) => [f.gradients, f.steps, f.stashedInputs]), `L=${L} T=${T}`).to.deep.equal(Array.from({ length: L }, () => [T, 1, T]));
    }
  });

  it("its predicted idle on one block per stage is GPipe's bubble: (L-1)/(T+L-1) for stage 0, which works until the end", () => {
    // Forward 1, backward 2: the forwards reach the top stage at T+L-1; its T backwards follow at
    // once, and each lower stage's start 2 later, so stage k's last backward ends at
    // (T+L-1) + 2(L-1-k) + 2T = 3(T+L-1) - 2k, after 3T of work.
    for (const [L, T] of [[4, 6], [3, 8], [2, 16]]) {
      const stages = Array.from({ length: L }, (_, k) => [k]);
      const idle = simulatedIdleFractions(interpreterSteps(gpipeSchedule(L, T), stages, unitCosts(L)));
      const expected = Array.from({ length: L }, (_, k) => 1 - (3 * T) / (3 * (T + L - 1) - 2 * k));
      idle.forEach((x, k) => expect(x, `L=${L} T=${T} stage ${k}`).to.be.closeTo(expected[k], 1e-12));
      expect(idle[0]).to.be.closeTo((L - 1) / (T + L - 1), 1e-12);
    }
  });

  describe("training", () => {
    const model = fourBlockModel();
    const graphs = buildAllBlockGraphs(model);
    let seq: SequentialExecutor;
    sequentialExecutorForSuite(model, withoutFusedBp(graphs), (e) => (seq = e));

    it("gives BP's losses exactly and its gradient to float32 rounding (its frames summed in reverse order); worker stages give the sequential run's bit for bit", async () => {
      const batch = randomClips(model, 3, 9, 21);
      const weights = initWeights(model, 8);
      const piped = await seq.runBatch("gpipe", batch, weights);
      const bp = await seq.runBatch("bp", batch, weights, { bpFramesPerPass: 1 });
      expect(piped.counts).to.deep.equal([9, 9, 9, 9]);
      // Each frame's loss is computed the same way, and listed in frame order.
      expect(piped.losses).to.deep.equal(bp.losses);
      // Sums of 9 float32 gradients in another order: relative 1e-5, as for the fused BP pass (test/pipeline-interpreter.test.ts).
      for (const p of model.params) expect(relDiff(piped.grads.get(p.name)!, bp.grads.get(p.name)!), p.name).to.be.below(1e-5);
      const par = await ParallelExecutor.create(model, graphs, balancedStages([1, 1, 1, 1], 4), cpu);
      try {
        const staged = await par.runBatch("gpipe", batch, weights);
        for (const p of model.params) expect(sameBits(staged.grads.get(p.name)!, piped.grads.get(p.name)!), p.name).to.equal(true);
        // Every block keeps all 9 inputs: stage k's peak is 9 times its one-frame stash.
        const one = (await par.runBatch("gpipe", randomClips(model, 3, 1, 21), weights)).stashPeakBytes;
        staged.stashPeakBytes.forEach((bytes, k) => expect(bytes! / one[k]!, `stage ${k}`).to.equal(9));
      } finally {
        await par.close();
      }
    });
  });

  it("is a train.method of the schema, with no in-clip updates or weight stashing (GPipe flushes before its one update)", () => {
    expect(RULES.gpipe.generate).to.equal(gpipeSchedule);
    const file = "experiments/quickstart.yaml";
    expect(loadExperiment(file, ["train.method=gpipe"]).spec.train.method).to.equal("gpipe");
    expect(() => loadExperiment(file, ["train.method=gpipe", "train.update_every=4"])).to.throw(InputError, /train\.update_every/);
    expect(() => loadExperiment(file, ["train.method=gpipe", "train.weight_stashing=true"])).to.throw(InputError, /train\.weight_stashing/);
  });
});
