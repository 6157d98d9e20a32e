/**
 * output.keep_best: best.safetensors holds the weights of the run's best evaluation (the first of
 * equal ones), which a run of the same settings stopped at that step ends with, bit for bit;
 * summary.json's best_eval_step names that step with or without the key.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readCheckpoint, writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { readSafetensorsMetadata } from "../src/model/safetensors.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { staleBestCheckpoint } from "../src/train/eval-summary.js";
import { runExperiment } from "../src/train/run-experiment.js";
import { newRunSummary, type ProgressReporter } from "../src/train/run-types.js";
import { freshFolderForAllTests } from "./helpers/temp-folder.js";
import { fourBlockModel, fourBlockSpec, sameBits } from "./helpers/tiny-models.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };

describe("output.keep_best: best.safetensors", function () {
  this.timeout(120_000);
  let dir = "";
  freshFolderForAllTests("sideways-keep-best-", (d) => (dir = d));

  const spec = (steps: number, keepBest: boolean) =>
    ExperimentSpec.parse({
      name: "keep-best",
      model: fourBlockSpec,
      data: { kind: "shapes", clip_length: 4 },
      // A large rate: the accuracy goes up and down, so the best evaluation is not the last.
      train: { method: "bp", batch_size: 8, steps, optimizer: { kind: "sgd", lr: 0.5, momentum: 0.9 } },
      eval: { every: 1, clips: 32 },
      output: keepBest ? { keep_best: true } : {},
    });
  const run = async (name: string, steps: number, keepBest: boolean) => {
    const runDir = join(dir, name);
    const summary = await runExperiment(spec(steps, keepBest), { specFile: null, baseDir: dir, runDir, runId: name, progress: silent });
    expect(summary.status, summary.message).to.equal("completed");
    return { runDir, summary };
  };

  it("holds the weights of the first best evaluation, which a run stopped at that step ends with (bit for bit); best_eval_step names it", async () => {
    const { runDir, summary } = await run("whole", 12, true);
    const rows = readCsv(join(runDir, "eval.csv")).rows.map((r) => ({ step: Number(r.step), top1: Number(r.eval_clip_top1) }));
    const best = Math.max(...rows.map((r) => r.top1));
    const bestStep = rows.find((r) => r.top1 === best)!.step;
    expect(bestStep, "the best evaluation is not the last (else this test would not tell best from final)").to.be.below(12);
    expect(summary.best_eval_step).to.equal(bestStep);
    // (12 steps at this rate end at chance, which is a warning of its own: only best.safetensors' matter here.)
    expect((summary.warnings ?? []).filter((w) => w.includes("best.safetensors")), "a run with keep_best throughout has the right file").to.deep.equal([]);
    expect(readSafetensorsMetadata(join(runDir, "best.safetensors"))).to.include({ step: String(bestStep), eval_clip_top1: String(best) });
    const shorter = await run("stopped-at-best", bestStep, false);
    const model = fourBlockModel();
    const [bestWeights, stopped] = [readCheckpoint(join(runDir, "best.safetensors"), model), readCheckpoint(join(shorter.runDir, "final.safetensors"), model)];
    for (const p of model.params) expect(sameBits(bestWeights.get(p.name)!, stopped.get(p.name)!), p.name).to.equal(true);
    // Without the key: no best.safetensors, the same best_eval_step.
    expect(existsSync(join(shorter.runDir, "best.safetensors"))).to.equal(false);
    expect(shorter.summary.best_eval_step).to.equal(bestStep);
  });

  it("a best.safetensors of another step than best_eval_step (keep_best switched at a resume) is a warning naming both steps; the right one, or none without keep_best, is not", () => {
    const model = fourBlockModel();
    const file = join(dir, "best.safetensors");
    const summary = { ...newRunSummary("r", "bp"), best_eval_step: 3 };
    expect(staleBestCheckpoint(file, summary, true)).to.match(/best\.safetensors is missing, not those of the best evaluation \(step 3, .*switched on at a resume.*train\.steps=3/);
    expect(staleBestCheckpoint(file, summary, false), "no file and no keep_best: nothing to say").to.equal(null);
    writeCheckpoint(file, model, initWeights(model, 1), { step: "5" });
    expect(staleBestCheckpoint(file, summary, true)).to.match(/holds the weights of step 5, not those of the best evaluation \(step 3/);
    expect(staleBestCheckpoint(file, summary, false)).to.match(/holds the weights of step 5, .*on in an earlier attempt and is off now/);
    expect(staleBestCheckpoint(file, { ...summary, best_eval_step: 5 }, true)).to.equal(null);
    expect(staleBestCheckpoint(file, newRunSummary("r", "bp"), true), "no evaluation yet").to.equal(null);
  });
});
