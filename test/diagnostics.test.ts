/**
 * The per-block cosine diagnostic (src/train/diagnostics.ts, docs/design/sideways.md "Diagnostics
 * every rule reports": the cosine with BP's G_k on the same clip batch), against cosines computed
 * here in float64 from the gradients: blockCosines on hand-made vectors, diagnosticRow on hand-made
 * batch results, and the cos_b<k> a run logs against Sideways' and BP's gradients of that run's
 * first batch, recomputed in this test.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { loadModelFile } from "../src/model/load-model.js";
import { initWeights } from "../src/model/init.js";
import type { Model } from "../src/model/model.js";
import { readCsv } from "../src/results/csv-read.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { blockCosines, diagnosticRow, type ScheduleDiagnostics } from "../src/train/diagnostics.js";
import type { BatchResult } from "../src/train/executor.js";
import { openRunData } from "../src/train/run-experiment.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { captureIo } from "./helpers/capture-io.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");

/** Cosine of two vectors, in float64. */
function cosine(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i] * y[i];
  return dot / (Math.hypot(...Array.from(x)) * Math.hypot(...Array.from(y)));
}

/** The cosine of two gradient sets over all of a block's parameters taken as one vector. */
function cosineOfBlock(model: Model, k: number, a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  const joined = (g: Map<string, Float32Array>) => model.blocks[k].params.flatMap((p) => Array.from(g.get(p.name)!));
  return cosine(joined(a), joined(b));
}

/** Deterministic values in [-1, 1) (a small LCG), so the vectors need no fixture. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function batchResult(grads: Map<string, Float32Array>, counts: number[], stashPeakBytes: (number | null)[]): BatchResult {
  const stages = stashPeakBytes.length;
  return {
    grads,
    counts,
    losses: [],
    stageBusySeconds: new Array(stages).fill(0.25),
    stageWallSeconds: new Array(stages).fill(1),
    stageCalls: new Array(stages).fill(0),
    stageWaitSeconds: new Array(stages).fill(0),
    stageSendSeconds: new Array(stages).fill(0),
    trace: [],
    stats: [],
    updated: false,
    stashPeakBytes,
  };
}

describe("diagnostics: cosine with the reference rule's gradient", function () {
  this.timeout(120_000);
  // models/tiny.yaml: block 0 = conv2d (0.weight 4x1x3x3, 0.bias 4), relu, pool; block 1 = linear (3.weight 3x4, 3.bias 3).
  const model = loadModelFile(resolve("test/fixtures/specs/models/tiny.yaml"));
  const names = model.blocks.map((b) => b.params.map((p) => p.name));

  it("the test model has a block of several parameters (the cosine is over all of them as one vector)", () => {
    expect(names).to.deep.equal([["0.weight", "0.bias"], ["3.weight", "3.bias"]]);
  });

  it("blockCosines: several parameters per block as one vector; orthogonal 0, opposite -1; a zero or absent gradient has no cosine (NaN)", () => {
    const size = (name: string) => model.params.find((p) => p.name === name)!.shape.reduce((a, b) => a * b, 1);
    // Block 0: unrelated vectors, the bias of b opposite to a's and long, so the cosine over the
    // block is not the mean of the per-parameter cosines nor the weight's alone.
    const a = new Map<string, Float32Array>([
      ["0.weight", values(size("0.weight"), 1)],
      ["0.bias", Float32Array.of(1, 2, 3, 4)],
    ]);
    const b = new Map<string, Float32Array>([
      ["0.weight", values(size("0.weight"), 2)],
      ["0.bias", Float32Array.of(-10, -20, -30, -40)],
    ]);
    // Block 1: orthogonal, each nonzero only where the other is zero, in different parameters.
    a.set("3.weight", Float32Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? i + 1 : 0)));
    a.set("3.bias", Float32Array.of(0, 0, 0));
    b.set("3.weight", Float32Array.from({ length: 12 }, (_, i) => (i % 2 === 1 ? i + 1 : 0)));
    b.set("3.bias", Float32Array.of(5, -1, 2));
    const expected0 = cosineOfBlock(model, 0, a, b);
    const weightOnly = cosine(a.get("0.weight")!, b.get("0.weight")!);
    expect(cosine(a.get("0.bias")!, b.get("0.bias")!)).to.be.closeTo(-1, 1e-12);
    expect(Math.abs(expected0 - weightOnly), "the case tells the block cosine from the first parameter's").to.be.above(0.1);
    expect(Math.abs(expected0 - (weightOnly - 1) / 2), "and from the mean of the per-parameter cosines").to.be.above(0.1);
    // float64 sums of float32 products in both: equal to rounding (1e-12 is far above it, far below the differences tested).
    const cos = blockCosines(model, a, b);
    expect(cos[0]).to.be.closeTo(expected0, 1e-12);
    expect(cos[0]).to.be.below(-0.5); // the long opposite bias dominates
    expect(cos[1]).to.equal(0);

    // Opposite directions (-2a against a) give -1, the same direction at another length 1.
    const minusTwice = new Map([...a].map(([n, v]) => [n, v.map((x) => -2 * x)]));
    expect(blockCosines(model, a, minusTwice)[0]).to.be.closeTo(-1, 1e-12);
    expect(blockCosines(model, a, new Map([...a].map(([n, v]) => [n, v.map((x) => 0.5 * x)])))[0]).to.be.closeTo(1, 1e-12);

    // A block with no gradient on one side (n_k = 0: absent from BatchResult.grads), or an all-zero
    // one, has no direction: NaN, which diagnosticRow logs as an empty cell.
    const noBlock1 = new Map([...a].filter(([n]) => !n.startsWith("3.")));
    const withoutBlock1 = blockCosines(model, noBlock1, b);
    expect(withoutBlock1[0]).to.be.closeTo(expected0, 1e-12);
    expect(withoutBlock1[1]).to.be.NaN;
    const zero = new Map([...a].map(([n, v]) => [n, new Float32Array(v.length)]));
    expect(blockCosines(model, zero, b).every(Number.isNaN)).to.equal(true);
  });

  it("diagnosticRow logs the cosine of the rule's gradient with the reference's, n_k of the stale side, and the peak stash in MiB", () => {
    const size = (name: string) => model.params.find((p) => p.name === name)!.shape.reduce((a, b) => a * b, 1);
    const rule = new Map(model.params.map((p, i) => [p.name, values(size(p.name), 10 + i)]));
    const reference = new Map(model.params.map((p, i) => [p.name, values(size(p.name), 20 + i)]));
    const facts: ScheduleDiagnostics = {
      blocks: [0, 1].map(() => ({ gradients: 0, steps: 1, gradDelayTicks: 0, weightLagSteps: 0, weightStaleTicks: 0, versionMismatch: 0, stashedInputs: 0 })),
      predictedIdle: [0.5, 0.125],
    };
    const row = diagnosticRow(model, "sideways", batchResult(rule, [1, 3], [3 * 2 ** 20, 1536]), batchResult(reference, [4, 4], [0, 0]), facts);
    for (const k of [0, 1]) {
      const expected = cosineOfBlock(model, k, rule, reference);
      expect(Math.abs(expected), `block ${k}: the case is not near ±1`).to.be.below(0.9);
      expect(row[`cos_b${k}`], `cos_b${k}`).to.be.closeTo(expected, 1e-12);
    }
    expect([row.n_b0, row.n_b1], "Sideways' own counts").to.deep.equal([1, 3]);
    expect([row.stash_mb_s0, row.stash_mb_s1]).to.deep.equal([3, 1536 / 2 ** 20]);
    expect([row.busy_frac_s0, row.idle_pred_frac_s1]).to.deep.equal([0.25, 0.125]);
    // BP's row compares BP with Sideways (the registry's reference for bp) and logs Sideways' counts.
    const bpRow = diagnosticRow(model, "bp", batchResult(reference, [4, 4], [null, null]), batchResult(rule, [1, 3], [0, 0]), facts);
    // BP's one-graph pass measures no stash: empty cells, not 0 MB.
    expect([bpRow.stash_mb_s0, bpRow.stash_mb_s1]).to.deep.equal([null, null]);
    expect(bpRow.cos_b1).to.be.closeTo(cosineOfBlock(model, 1, rule, reference), 1e-12);
    expect([bpRow.n_b0, bpRow.n_b1]).to.deep.equal([1, 3]);
    // A block the rule gave no gradient: an empty cell.
    const partial = new Map([...rule].filter(([n]) => n.startsWith("3.")));
    expect(diagnosticRow(model, "sideways", batchResult(partial, [0, 3], [0, 0]), batchResult(reference, [4, 4], [0, 0]), facts).cos_b0).to.equal(null);
  });

  // End to end: the run's cos_b<k> against the gradients of the same first batch and initial
  // weights, formed here by the interpreter (not the fused paths the run takes) and compared in
  // float64 here. The two differ by float32 summation order, relative 1e-6 at most on each
  // gradient, which moves a cosine by at most about that times the sine of the angle (here < 0.05):
  // 1e-7 is above it (2.6e-10 observed) and far below 1 - cos of both blocks (at initial weights the
  // gradients of different frames are close: 1.2e-3 for block 0, 9.1e-6 for the top block).
  it("a Sideways run's logged cos_b<k> is the cosine of Sideways' and BP's gradients on its batch, grad_delay_ticks_b<k> 2(L-1-k)", async () => {
    const overrides = ["train.steps=1", "diagnostics.every=1"];
    const dir = mkdtempSync(join(tmpdir(), "sideways-diag-cos-"));
    try {
      const io = captureIo();
      expect(await main(["run", GOOD, ...overrides, `output.dir=${dir}`, "--quiet"], io), io.stderr).to.equal(0);
      const rows = readCsv(join(dir, readdirSync(dir)[0], "metrics.csv")).rows;
      expect(rows).to.have.length(1);

      const exp = loadExperiment(GOOD, overrides);
      expect(exp.spec.train.method).to.equal("sideways");
      const weights = initWeights(exp.model, exp.spec.seed);
      const data = await openRunData(exp.spec, exp.model, exp.baseDir);
      const exec = await SequentialExecutor.create(exp.model, buildAllBlockGraphs(exp.model), { provider: "cpu", threads: 1 });
      try {
        const batch = (await data.trainBatches(exp.spec.train.batch_size, 0).next()).value!;
        const sideways = await exec.runBatch("sideways", batch, weights, { interpret: true });
        const bp = await exec.runBatch("bp", batch, weights, { interpret: true });
        const L = exp.model.blocks.length;
        const T = batch.dims[1];
        const tolerance = 1e-7;
        expect([L, T]).to.deep.equal([2, 4]);
        expect(sideways.counts, "n_k = T-2L+k+1 (1-based k): both blocks have gradients").to.deep.equal(Array.from({ length: L }, (_, k) => T - 2 * L + (k + 1) + 1)).and.not.include(0);
        for (let k = 0; k < L; k++) {
          const expected = cosineOfBlock(exp.model, k, sideways.grads, bp.grads);
          expect(1 - expected, `block ${k}: Sideways' gradient is not BP's on this clip (a cosine of 1 would pass)`).to.be.above(50 * tolerance);
          expect(Number(rows[0][`cos_b${k}`]), `cos_b${k}`).to.be.closeTo(expected, tolerance);
          expect(Number(rows[0][`n_b${k}`]), `n_b${k}`).to.equal(sideways.counts[k]);
          expect(Number(rows[0][`grad_delay_ticks_b${k}`]), `grad_delay_ticks_b${k}`).to.equal(2 * (L - 1 - k));
        }
      } finally {
        await exec.close();
        await data.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The registry's diagnosticReference: BP's runs compare with Sideways (comparing with itself
  // would log 1). The cosine is symmetric, so a BP run's cos_b<k> on its first batch is the Sideways
  // run's from the same seed (same initial weights and clips). Both runs take the fused paths for
  // both rules, in the other order: 1e-7 as above, and 1 - cos is far above it on both blocks.
  it("a BP run's logged cos_b<k> is the cosine with Sideways' gradient: the Sideways run's cos_b<k> on the same first batch", async () => {
    const cos = async (method: string) => {
      const dir = mkdtempSync(join(tmpdir(), "sideways-diag-bp-"));
      try {
        const io = captureIo();
        expect(await main(["run", GOOD, `train.method=${method}`, "train.steps=1", "diagnostics.every=1", `output.dir=${dir}`, "--quiet"], io), io.stderr).to.equal(0);
        const rows = readCsv(join(dir, readdirSync(dir)[0], "metrics.csv")).rows;
        return model.blocks.map((_, k) => Number(rows[0][`cos_b${k}`]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const [bp, sideways] = [await cos("bp"), await cos("sideways")];
    // The lowest block's gradient is the stalest (2(L-1) frames): far from BP's, so that a BP run
    // comparing BP with itself (cosine 1) could not pass. The top block's differs by 9e-6 only.
    expect(1 - sideways[0], "block 0: Sideways' gradient is not BP's on this batch").to.be.above(1e-3);
    sideways.forEach((c, k) => expect(bp[k], `bp's cos_b${k}`).to.be.closeTo(c, 1e-7));
  });
});
