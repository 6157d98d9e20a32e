/** A completed run whose last evaluation is no better than a uniform guess's (collapsed, diverged, or never trained) says so. */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { CHANCE_LOSS_TOLERANCE, chanceLevelWarning, chanceTop1Limit } from "../src/train/chance-level.js";
import type { RunSummary } from "../src/train/run-types.js";
import { captureIo } from "./helpers/capture-io.js";
import { GOOD } from "./helpers/spec-fixtures.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const QUICKSTART = resolve("experiments/quickstart.yaml");

function onlySummary(root: string): RunSummary {
  const [id] = readdirSync(root).filter((d) => !d.endsWith(".lock"));
  return JSON.parse(readFileSync(join(root, id!, "summary.json"), "utf8")) as RunSummary;
}

describe("runs at chance", function () {
  this.timeout(120_000);
  inFreshFolderEachTest("sideways-chance-", () => {});

  it("a run that never trained (lr 1e-9) completes with the warning in its output and summary.json", async () => {
    const io = captureIo();
    const args = ["run", QUICKSTART, "train.steps=2", "train.optimizer={kind: sgd, lr: 1e-9}", "eval.clips=64", "output.dir=never"];
    expect(await main(args, io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/warning: the last evaluation's loss, 2\.3\d+, is within 0\.05 of ln\(10\) = 2\.3026, a uniform guess's, and its clip top-1, 0\.\d+, is at chance \(1\/10; 64 clips, so above 0\.213 would not be\): the model predicts about the same for every class, so it collapsed or never trained/);
    expect(io.stderr).to.include("try a lower train.optimizer.lr").and.include("more train.steps");
    const summary = onlySummary("never");
    expect(summary.status).to.equal("completed");
    expect(summary.warnings).to.have.length(1);
    expect(summary.warnings![0]).to.match(/^the last evaluation's loss, .* collapsed or never trained/);
  });

  it("a run at a far too high rate (SGD lr 10) that ends above ln(K) at chance top-1 is flagged as no better than a uniform guess", async () => {
    const io = captureIo();
    const args = ["run", QUICKSTART, "train.steps=60", "train.optimizer={kind: sgd, lr: 10}", "eval.clips=64", "output.dir=collapsed"];
    expect(await main(args, io), io.stderr).to.equal(0);
    const summary = onlySummary("collapsed");
    expect(summary.status).to.equal("completed");
    // Outside the within-tolerance rule: a loss well above ln(10) + 0.05, at chance top-1 on 64 clips.
    expect(summary.final_eval_loss).to.be.above(Math.log(10) + 2 * CHANCE_LOSS_TOLERANCE);
    expect(summary.final_eval_clip_top1).to.be.at.most(chanceTop1Limit(10, 64));
    expect(io.stderr).to.match(/warning: the last evaluation's loss, \d\.\d+, is above ln\(10\) \+ 0\.05 = 2\.3526, worse than a uniform guess's, .*: the model is no better than a uniform guess: it gives every clip about the same answer, or diverged, or fits only its training clips/);
    expect(summary.warnings).to.have.length(1);
    expect(summary.warnings![0]).to.match(/^the last evaluation's loss, .* no better than a uniform guess/);
  });

  it("a run that learns has no warning", async () => {
    const io = captureIo();
    const args = ["run", GOOD, "train.method=bp", "train.optimizer={kind: adam, lr: 0.03}", "train.steps=400", "train.batch_size=8", "eval.clips=64", "output.dir=learns"];
    expect(await main(args, io), io.stderr).to.equal(0);
    const summary = onlySummary("learns");
    // It learned: top-1 above what chance reaches on 64 clips, and a loss well under ln(3).
    expect(summary.final_eval_clip_top1).to.be.above(chanceTop1Limit(3, 64));
    expect(summary.final_eval_loss).to.be.below(Math.log(3) - CHANCE_LOSS_TOLERANCE);
    expect(io.stderr).to.not.include("warning");
    expect(summary.warnings).to.equal(undefined);
  });

  it("the rule's edges: the loss not below ln(K) less the tolerance (within it, or above it where the top-1 can judge), and top-1 at most chance plus 3 standard deviations", () => {
    const ln10 = Math.log(10);
    // Equal logits: ln(K) exactly, as the researcher's collapsed run (ln 6 = 1.7918).
    expect(chanceLevelWarning(Math.log(6), 1 / 6, 6, 600)).to.be.a("string");
    expect(chanceLevelWarning(ln10 + 0.049, 0.1, 10, 256)).to.be.a("string");
    expect(chanceLevelWarning(ln10 - 0.049, 0.1, 10, 256)).to.be.a("string");
    expect(chanceLevelWarning(ln10 - 0.051, 0.1, 10, 256)).to.equal(null);
    // 256 clips over 10 classes: chance's top-1 has standard deviation sqrt(0.1 x 0.9 / 256) = 0.01875.
    expect(chanceTop1Limit(10, 256)).to.be.closeTo(0.1 + 3 * 0.01875, 1e-12);
    expect(chanceLevelWarning(ln10, 0.156, 10, 256)).to.be.a("string");
    expect(chanceLevelWarning(ln10, 0.157, 10, 256)).to.equal(null);
    // docs/RESULTS.md: the optimizers study's SGD lr 0.003 runs (2.301-2.304, 0.09-0.11) are flagged;
    // the in-clip-lr study's weakest run that learned (0.19, 256 clips) is not, whatever its loss.
    expect(chanceLevelWarning(2.301, 0.11, 10, 256)).to.be.a("string");
    expect(chanceLevelWarning(2.3, 0.19, 10, 256)).to.equal(null);
    // Above ln(K) + the tolerance at chance top-1: worse than a uniform guess (the quickstart at SGD lr 3,
    // 60 steps, ended at 2.397 = ln(10) + 0.095), with its own wording.
    const above = chanceLevelWarning(ln10 + 0.051, 0.1, 10, 256);
    expect(above).to.match(
      /^the last evaluation's loss, 2\.3536, is above ln\(10\) \+ 0\.05 = 2\.3526, worse than a uniform guess's, and its clip top-1, 0\.100, is at chance \(1\/10; 256 clips, so above 0\.156 would not be\): the model is no better than a uniform guess: it gives every clip about the same answer, or diverged, or fits only its training clips/,
    );
    expect(above).to.not.include("within");
    expect(chanceLevelWarning(ln10 + 0.095, 0.1, 10, 256)).to.include("worse than a uniform guess's");
    expect(chanceLevelWarning(40, 0.156, 10, 256)).to.include("worse than a uniform guess's");
    // However high the loss, a top-1 above chance learned something: no warning.
    expect(chanceLevelWarning(ln10 + 0.5, 0.157, 10, 256)).to.equal(null);
    expect(chanceLevelWarning(40, 0.6, 10, 256)).to.equal(null);
    // Few evaluation clips (4 of 3 classes): every top-1 counts as chance (the limit is over 1), so a loss
    // above ln(K) says nothing; only the loss within the tolerance of ln(K) is flagged, as before.
    expect(chanceTop1Limit(3, 4)).to.be.above(1);
    expect(chanceLevelWarning(Math.log(3) + 0.051, 1 / 3, 3, 4)).to.equal(null);
    expect(chanceLevelWarning(Math.log(3) + 2, 0.25, 3, 4)).to.equal(null);
    expect(chanceLevelWarning(Math.log(3) + 0.049, 1 / 3, 3, 4)).to.match(/is within 0\.05 of ln\(3\) = 1\.0986, a uniform guess's/);
    // No evaluation, or a loss that is not a number: nothing to say.
    expect(chanceLevelWarning(null, null, 10, 256)).to.equal(null);
    expect(chanceLevelWarning(Number.NaN, 0.1, 10, 256)).to.equal(null);
  });
});
