/** Learning curves: mean and band over seeds per configuration, rendered to SVG headless. */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cosinePoints, curvePoints, plotLearningCurves } from "../src/results/plot.js";
import type { RunRecord } from "../src/results/runs-table.js";

function fakeRun(root: string, id: string, method: string, params: Record<string, unknown>, losses: number[], acc: number[], configId = method): RunRecord {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "metrics.csv"), "step,train_loss\n" + losses.map((l, i) => `${i + 1},${l}`).join("\n") + "\n");
  writeFileSync(join(dir, "eval.csv"), "step,eval_clip_top1\n" + acc.map((a, i) => `${(i + 1) * 2},${a}`).join("\n") + "\n");
  const meta = { run_id: id, config_id: configId, config_hash: id, experiment: "t", index: 0, params, seed: (params.seed as number) ?? 0, method };
  return { dir, meta, summary: null, status: "completed" };
}

describe("plot: learning curves", function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), "sideways-plot-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("mean and ±1 sample std over seeds, one line per configuration", () => {
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [1, 2], [0.5]),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [3, 2], [0.7]),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [4, 4], [0.1]),
    ];
    const pts = curvePoints(runs, "metrics.csv", "train_loss");
    const bp1 = pts.find((p) => p.config === "method=bp" && p.step === 1)!;
    // losses 1 and 3: mean 2, sample std sqrt(2)
    expect(bp1.mean).to.equal(2);
    expect(bp1.hi - bp1.mean).to.be.closeTo(Math.SQRT2, 1e-12);
    expect(bp1.n).to.equal(2);
    expect(pts.find((p) => p.config === "method=bp" && p.step === 2)).to.include({ mean: 2, lo: 2, hi: 2 });
    expect(pts.filter((p) => p.config === "method=sideways").map((p) => [p.method, p.mean, p.lo])).to.deep.equal([["sideways", 4, 4], ["sideways", 4, 4]]);
  });

  it("configurations with the same label (a setting neither sweep swept) stay apart: one line each, the config id in the label", () => {
    const runs = [
      fakeRun(root, "a0", "bp", { "train.method": "bp", seed: 0 }, [1, 1], [0.5], "aaaaaaaa1111"),
      fakeRun(root, "a1", "bp", { "train.method": "bp", seed: 1 }, [3, 3], [0.5], "aaaaaaaa1111"),
      fakeRun(root, "b0", "bp", { "train.method": "bp", seed: 0 }, [10, 10], [0.5], "bbbbbbbb2222"),
      fakeRun(root, "s0", "sideways", { "train.method": "sideways", seed: 0 }, [4, 4], [0.1], "cccccccc3333"),
    ];
    const pts = curvePoints(runs, "metrics.csv", "train_loss");
    expect([...new Set(pts.map((p) => p.config))].sort()).to.deep.equal(["method=bp [aaaaaaaa]", "method=bp [bbbbbbbb]", "method=sideways"]);
    expect(pts.find((p) => p.config === "method=bp [aaaaaaaa]" && p.step === 1)).to.include({ mean: 2, n: 2 });
    expect(pts.find((p) => p.config === "method=bp [bbbbbbbb]" && p.step === 1)).to.include({ mean: 10, n: 1 });
  });

  it("a Sideways-only chart: one legend, no 'bp' anywhere, no dashes", async () => {
    const runs = [
      fakeRun(root, "s0", "sideways", { "data.frame_stride": 1, seed: 0 }, [2, 1.5, 1], [0.3, 0.5], "stride-1"),
      fakeRun(root, "s1", "sideways", { "data.frame_stride": 2, seed: 0 }, [2, 1.6, 1.1], [0.3, 0.45], "stride-2"),
    ];
    const svgs = new Map<string, string>();
    await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    for (const svg of svgs.values()) {
      expect(svg).to.include("frame_stride=1").and.include("frame_stride=2");
      expect(svg).not.to.match(/>bp<|>method<|dashed/);
      expect(svg).not.to.match(/stroke-dasharray="6,3"/);
      // vega draws each legend as a group with role "legend"; one legend only.
      expect(svg.match(/class="mark-group role-legend"/g)).to.have.length(1);
    }
  });

  it("writes SVGs with a legend per configuration and BP dashed", async () => {
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [2, 1.5, 1], [0.3, 0.5]),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2, 1.6, 1.1], [0.3, 0.45]),
    ];
    const svgs = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    expect(out).to.deep.equal([{ file: "loss.svg", lines: 2 }, { file: "clip_accuracy.svg", lines: 2 }]);
    for (const svg of svgs.values()) {
      expect(svg.startsWith("<svg")).to.equal(true);
      expect(svg).to.include("method=bp").and.include("method=sideways");
      expect(svg).to.match(/stroke-dasharray="6,3"/);
      expect(svg).to.include("solid: Sideways, dashed: BP");
      expect(svg.match(/class="mark-group role-legend"/g)).to.have.length(1);
    }
  });

  it("gradient cosine per block: mean over a run's diagnostic steps, then mean and std over its seeds", async () => {
    const withCos = (id: string, seed: number, rows: string[]) => {
      const r = fakeRun(root, id, "sideways", { "data.frame_stride": 2, seed }, [1], [0.5]);
      writeFileSync(join(r.dir, "metrics.csv"), "step,train_loss,cos_b0,cos_b1\n" + rows.join("\n") + "\n");
      return r;
    };
    // seed 0: block 0 cosines 0.8 and 0.6 (mean 0.7), the step without diagnostics is skipped; seed 1: 0.9.
    const runs = [withCos("a", 0, ["1,2.0,0.8,1", "2,1.9,,", "3,1.8,0.6,1"]), withCos("b", 1, ["1,2.0,0.9,0.98"])];
    const pts = cosinePoints(runs);
    // Blocks numbered as the cos_b{k} columns: from 0.
    const b0 = pts.find((p) => p.block === 0)!;
    expect(b0.config).to.equal("frame_stride=2");
    expect(b0.mean).to.be.closeTo(0.8, 1e-12);
    expect(b0.hi - b0.mean).to.be.closeTo(Math.SQRT1_2 * 0.2, 1e-12); // sample std of 0.7 and 0.9
    expect(pts.find((p) => p.block === 1)!.mean).to.be.closeTo(0.99, 1e-12);
    const svgs = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    expect(out.map((o) => o.file)).to.include("gradient_cosine.svg");
    expect(svgs.get("gradient_cosine.svg")).to.include("frame_stride=2");
  });
});
