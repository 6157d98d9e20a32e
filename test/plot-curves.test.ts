/** Learning curves: mean and band over seeds per configuration, rendered to SVG headless. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BAND_NOTE, SIDEWAYS_LOSS_NOTE, UNKNOWN_RULE_LINE, WALL_AXIS_TITLE, configLabels, cosinePoints, curvePoints, plotLearningCurves } from "../src/results/plot.js";
import { meanStd, spreadOf } from "../src/results/paper-table.js";
import type { RunRecord } from "../src/results/runs-table.js";
import { InputError } from "../src/errors.js";
import { readCsv } from "../src/results/csv-read.js";
import { METHOD_NAMES, RULES } from "../src/schedule/registry.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

function fakeRun(root: string, id: string, method: string, params: Record<string, unknown>, losses: number[], acc: number[], configId = method): RunRecord {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "metrics.csv"), "step,train_loss\n" + losses.map((l, i) => `${i + 1},${l}`).join("\n") + "\n");
  writeFileSync(join(dir, "eval.csv"), "step,eval_clip_top1\n" + acc.map((a, i) => `${(i + 1) * 2},${a}`).join("\n") + "\n");
  const meta = { run_id: id, config_id: configId, config_hash: id, experiment: "t", index: 0, params, seed: (params.seed as number) ?? 0, method };
  return { dir, meta, summary: null, status: "completed", stepsDone: null };
}

const svgFiles = (files: Map<string, string>) => [...files].filter(([name]) => name.endsWith(".svg")).map(([, svg]) => svg);

describe("plot: learning curves", function () {
  this.timeout(30_000);
  let root: string;
  freshFolderEachTest("sideways-plot-", (d) => (root = d));

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

  it("a seed that stopped early is left out of the later points (n counts the runs with a value there), not averaged in as 0", () => {
    // seed 0 logged steps 1-4, seed 1 stopped after step 2 (a killed or shorter run).
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [1, 2, 5, 7], []),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [3, 4], []),
    ];
    const pts = curvePoints(runs, "metrics.csv", "train_loss");
    // Steps 1-2: both runs (means 2 and 3); steps 3-4: seed 0 alone, its own values, no band.
    expect(pts.map((p) => [p.step, p.mean, p.n, p.std])).to.deep.equal([[1, 2, 2, Math.SQRT2], [2, 3, 2, Math.SQRT2], [3, 5, 1, null], [4, 7, 1, null]]);
  });

  it("NaN and ±Infinity cells (a diverged step) are steps without a value: no point is NaN, the other seeds still count there", () => {
    // The trainer writes a diverged loss as nan/inf; the reader keeps them as NaN/±Infinity.
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [], []),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [3, 4, 5, 6], []),
    ];
    writeFileSync(join(runs[0].dir, "metrics.csv"), "step,train_loss\n1,1\n2,nan\n3,inf\n4,-Infinity\n");
    const pts = curvePoints(runs, "metrics.csv", "train_loss");
    // Step 1: both seeds (1 and 3); steps 2-4: seed 1 alone.
    expect(pts.map((p) => [p.step, p.mean, p.n])).to.deep.equal([[1, 2, 2], [2, 4, 1], [3, 5, 1], [4, 6, 1]]);
    for (const p of pts) expect([p.mean, p.lo, p.hi].every(Number.isFinite), `step ${p.step}`).to.equal(true);
    // A run whose only values are non-finite draws nothing at all rather than a NaN line.
    const alone = curvePoints([runs[0]], "metrics.csv", "train_loss");
    expect(alone.map((p) => [p.step, p.mean])).to.deep.equal([[1, 1]]);
  });

  it("past 100 steps, consecutive steps are averaged in bins of ceil(steps / 100): at most 100 points, each at its bin's last step", () => {
    // 250 steps, loss = step²: bins of ceil(250 / 100) = 3 steps (bins of 2 would make 125 points),
    // so 84 points, the last bin holding step 250 alone. The mean of a bin of squares is worked out
    // here term by term, independent of the binning code.
    const losses = Array.from({ length: 250 }, (_, i) => (i + 1) ** 2);
    const pts = curvePoints([fakeRun(root, "bp0", "bp", { seed: 0 }, losses, [])], "metrics.csv", "train_loss");
    expect(pts.length).to.be.at.most(100);
    expect(pts).to.have.length(84);
    pts.forEach((p, k) => {
      const bin = [3 * k + 1, 3 * k + 2, 3 * k + 3].filter((s) => s <= 250);
      // Labelled with the bin's last step, so a curve never seems to get somewhere before it did.
      expect(p.step, `point ${k}`).to.equal(bin[bin.length - 1]);
      expect(p.x, `point ${k}`).to.equal(p.step);
      // Sums of at most three squares below 250² are exact in float64; the division rounds once.
      expect(p.mean, `point ${k}`).to.be.closeTo(bin.reduce((a, s) => a + s * s, 0) / bin.length, 1e-9);
      expect(p.n).to.equal(1);
    });
    expect(pts[0]).to.include({ step: 3, mean: 14 / 3, bin_steps: 3 });
    // The last bin holds step 250 alone, and says so.
    expect(pts[83]).to.include({ step: 250, mean: 62500, bin_steps: 1 });
  });

  it("a binned curve says so on the figure and in its CSV (bin_steps); an unbinned one says nothing of bins", async () => {
    const long = fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, Array.from({ length: 250 }, (_, i) => 1 / (i + 1)), [0.5]);
    const files = new Map<string, string>();
    await plotLearningCurves([long], (name, text) => files.set(name, text));
    expect(files.get("loss.svg")).to.include("each point: the mean of 3 consecutive logged steps (the CSV's bin_steps), drawn at the last of them");
    expect(csvRows(files.get("loss.csv")!).map((r) => r.bin_steps).slice(-2)).to.deep.equal(["3", "1"]);
    // One evaluation: no bin, no note.
    expect(files.get("clip_accuracy.svg")).not.to.include("consecutive logged steps");
    // A shorter configuration beside it, binned in 2s (150 steps): the note says "up to 3".
    const both = new Map<string, string>();
    await plotLearningCurves([long, fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, Array.from({ length: 150 }, () => 1), [0.4])], (name, text) => both.set(name, text));
    expect(both.get("loss.svg")).to.include("each point: the mean of up to 3 consecutive logged steps");
    expect(new Set(csvRows(both.get("loss.csv")!).filter((r) => r.config === "method=sideways").map((r) => r.bin_steps))).to.deep.equal(new Set(["2"]));
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

  it("configurations with the same label are named by the settings of their config.yaml that set them apart (at most three), else by config id", () => {
    const runs = [
      fakeRun(root, "a0", "bp", { "train.method": "bp", seed: 0 }, [1, 1], [0.5], "aaaaaaaa1111"),
      fakeRun(root, "a1", "bp", { "train.method": "bp", seed: 1 }, [3, 3], [0.5], "aaaaaaaa1111"),
      fakeRun(root, "b0", "bp", { "train.method": "bp", seed: 0 }, [10, 10], [0.5], "bbbbbbbb2222"),
      fakeRun(root, "s0", "sideways", { "train.method": "sideways", seed: 0 }, [4, 4], [0.1], "cccccccc3333"),
    ];
    const config = (steps: number, seed: number, channels: number) => `name: t${seed}\nseed: ${seed}\nmodel:\n  layers: [{ type: conv2d, out_channels: ${channels} }]\ntrain:\n  method: bp\n  steps: ${steps}\ndata: { workers: ${seed} }\n`;
    writeFileSync(join(root, "a0", "config.yaml"), config(60, 0, 4));
    writeFileSync(join(root, "b0", "config.yaml"), config(200, 1, 8));
    // a1 has no config.yaml: its configuration's other run (a0) speaks for it. The seed, the name
    // and data.workers differ too, but are no part of a configuration.
    expect([...configLabels(runs).values()].sort()).to.deep.equal(["method=bp, layers.0.out_channels=4, steps=60", "method=bp, layers.0.out_channels=8, steps=200", "method=sideways"]);
    // One of them without config.yaml (an older run): the config id.
    rmSync(join(root, "b0", "config.yaml"));
    expect([...configLabels(runs).values()].sort()).to.deep.equal(["method=bp [aaaaaaaa]", "method=bp [bbbbbbbb]", "method=sideways"]);
  });

  it("a run outside the sweep (no swept values) is labelled by the sweep's keys and what sets it apart, leaving out settings it does not have", () => {
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [1, 1], [0.5], "bp-config"),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [4, 4], [0.1], "sw-config"),
      fakeRun(root, "own", "bp", {}, [2, 2], [0.5], "own-config"),
    ];
    const config = (method: string, steps: number, optimizer: string) => `name: t\nseed: 0\ntrain:\n  method: ${method}\n  steps: ${steps}\n  optimizer: ${optimizer}\n`;
    const sgd = "{ kind: sgd, lr: 0.1, momentum: 0.9 }";
    writeFileSync(join(root, "bp0", "config.yaml"), config("bp", 40, sgd));
    writeFileSync(join(root, "sw0", "config.yaml"), config("sideways", 40, sgd));
    // `sideways run <bp0>/config.yaml train.steps=50` into the sweep's folder: a bare "bp" said neither.
    writeFileSync(join(root, "own", "config.yaml"), config("bp", 50, sgd));
    expect([...configLabels(runs).values()].sort()).to.deep.equal(["method=bp, steps=40", "method=bp, steps=50", "method=sideways"]);
    // With Adam, which has no momentum: the key is left out of its label, not "momentum=null".
    writeFileSync(join(root, "own", "config.yaml"), config("bp", 40, "{ kind: adam, lr: 0.001 }"));
    expect([...configLabels(runs).values()].sort()).to.deep.equal(["method=bp, kind=adam, lr=0.001", "method=bp, kind=sgd, lr=0.1, momentum=0.9", "method=sideways"]);
  });

  it("a Sideways-only chart: one legend, no 'bp' anywhere, no dashes", async () => {
    const runs = [
      fakeRun(root, "s0", "sideways", { "data.frame_stride": 1, seed: 0 }, [2, 1.5, 1], [0.3, 0.5], "stride-1"),
      fakeRun(root, "s1", "sideways", { "data.frame_stride": 2, seed: 0 }, [2, 1.6, 1.1], [0.3, 0.45], "stride-2"),
    ];
    const svgs = new Map<string, string>();
    await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    for (const svg of svgFiles(svgs)) {
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
    expect(out).to.deep.equal([
      { file: "loss.svg", data: "loss.csv", lines: 2 },
      { file: "clip_accuracy.svg", data: "clip_accuracy.csv", lines: 2 },
    ]);
    expect([...svgs.keys()].sort()).to.deep.equal(["clip_accuracy.csv", "clip_accuracy.svg", "loss.csv", "loss.svg"]);
    for (const svg of svgFiles(svgs)) {
      expect(svg.startsWith("<svg")).to.equal(true);
      expect(svg).to.include("method=bp").and.include("method=sideways");
      expect(svg).to.match(/stroke-dasharray="6,3"/);
      // The legend draws each configuration's line as the chart does: BP's symbol dashed, Sideways' solid.
      const symbols = [...svg.matchAll(/role-legend-symbol"[^>]*><path [^>]*stroke-dasharray="([^"]*)"[^]*?role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => [m[2], m[1]]);
      expect(symbols).to.deep.equal([["method=bp", "6,3"], ["method=sideways", "1,0"]]);
      expect(svg).to.include("solid: Sideways, dashed: BP");
      expect(svg.match(/class="mark-group role-legend"/g)).to.have.length(1);
    }
  });

  it("runs with video-level accuracy (video-folder data) get video_accuracy.svg and video_accuracy_vs_time.svg beside the clip accuracy figures; a configuration without it has no line, said so", async () => {
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [2, 1], []),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [2, 1], []),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2, 1], []),
    ];
    writeFileSync(join(runs[0].dir, "eval.csv"), "step,eval_clip_top1,eval_video_top1,eval_videos,wall_s\n2,0.25,0.5,4,3\n");
    writeFileSync(join(runs[1].dir, "eval.csv"), "step,eval_clip_top1,eval_video_top1,eval_videos,wall_s\n2,0.5,1,4,5\n");
    const files = new Map<string, string>();
    const out = await plotLearningCurves(runs.slice(0, 2), (name, text) => files.set(name, text));
    expect(out.map((o) => o.file)).to.deep.equal(["loss.svg", "video_accuracy.svg", "video_accuracy_vs_time.svg", "clip_accuracy.svg", "clip_accuracy_vs_time.svg"]);
    // The mean over the two seeds of eval_video_top1, not of the clip accuracy (0.375).
    expect(csvRows(files.get("video_accuracy.csv")!).map((r) => [r.step, r.mean, r.n])).to.deep.equal([["2", "0.75", "2"]]);
    expect(csvRows(files.get("video_accuracy_vs_time.csv")!).map((r) => [r.wall_s, r.mean])).to.deep.equal([["4", "0.75"]]);
    expect(files.get("video_accuracy.svg")).to.include("Evaluation video accuracy").and.include("video top-1");
    // Sideways' run has clip accuracy alone (not video-folder data): no line on the video figures, named there.
    writeFileSync(join(runs[2].dir, "eval.csv"), "step,eval_clip_top1,wall_s\n2,0.5,3\n");
    const mixed = await plotLearningCurves(runs, () => undefined);
    expect(mixed.find((o) => o.file === "video_accuracy.svg")).to.deep.equal({
      file: "video_accuracy.svg", data: "video_accuracy.csv", lines: 1,
      noLine: "no line for method=sideways: no value of eval_video_top1 in its runs' eval.csv (video-level accuracy is measured on video-folder data only)",
    });
    expect(mixed.find((o) => o.file === "clip_accuracy.svg")).to.deep.equal({ file: "clip_accuracy.svg", data: "clip_accuracy.csv", lines: 2 });
  });

  it("the legend lists the configurations in the runs' order (runs.csv's sweep order), not sorted as text", async () => {
    // A sweep over blocks: [2, 10, 4]. Sorted as text the legend would read 10, 2, 4.
    const runs = [2, 10, 4].map((blocks) => {
      const r = fakeRun(root, `b${blocks}`, blocks === 10 ? "bp" : "sideways", { "model.blocks": blocks, seed: 0 }, [2, 1.5], [0.3], `blocks-${blocks}`);
      writeFileSync(join(r.dir, "metrics.csv"), "step,train_loss,cos_b0\n1,2.0,0.9\n2,1.5,0.8\n");
      return r;
    });
    const svgs = new Map<string, string>();
    await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    expect([...svgs.keys()]).to.include("gradient_cosine.svg");
    for (const svg of svgFiles(svgs)) {
      const labels = [...svg.matchAll(/role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => m[1]);
      expect(labels).to.deep.equal(["blocks=2", "blocks=10", "blocks=4"]);
    }
    // Each legend symbol keeps its own configuration's dash: blocks=10 is BP's (dashed), the others solid.
    const symbols = [...svgs.get("loss.svg")!.matchAll(/role-legend-symbol"[^>]*><path [^>]*stroke-dasharray="([^"]*)"[^]*?role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => [m[2], m[1]]);
    expect(symbols).to.deep.equal([["blocks=2", "1,0"], ["blocks=10", "6,3"], ["blocks=4", "1,0"]]);
  });

  it("--spread: the band is the standard error or the mean's 95% confidence interval, said on the figure, in a column of its CSV and in the files' names", async () => {
    // Two seeds: losses 1 and 3 at step 1 (std sqrt(2)); cosines 0.8 and 0.6 (std 0.1 sqrt(2)).
    const runs = [0, 1].map((seed) => {
      const r = fakeRun(root, `bp${seed}`, "bp", { "train.method": "bp", seed }, [1 + 2 * seed, 2], [0.5]);
      writeFileSync(join(r.dir, "metrics.csv"), `step,train_loss,cos_b0\n1,${1 + 2 * seed},${0.8 - 0.2 * seed}\n2,2,\n`);
      return r;
    });
    // t(0.975, 1) = 12.7062047361747 from published tables.
    const t1 = 12.7062047361747;
    const ci = curvePoints(runs, "metrics.csv", "train_loss", "step", undefined, "ci95");
    // std sqrt(2), n 2: sem sqrt(2) / sqrt(2) = 1, the half-width t1 x 1.
    expect(ci[0].hi - ci[0].mean).to.be.closeTo(t1, 1e-9);
    expect(ci[0].mean - ci[0].lo).to.be.closeTo(t1, 1e-9);
    const sem = curvePoints(runs, "metrics.csv", "train_loss", "step", undefined, "sem");
    expect(sem[0].hi - sem[0].mean).to.be.closeTo(1, 1e-12);
    // Step 2: the seeds agree, no band.
    expect(sem[1]).to.include({ lo: 2, hi: 2 });
    const files = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, text) => files.set(name, text), [], "step", [], "ci95");
    expect(out.map((o) => o.file)).to.deep.equal(["loss-ci95.svg", "clip_accuracy-ci95.svg", "gradient_cosine-ci95.svg"]);
    expect([...files.keys()].filter((f) => !f.includes("-ci95."))).to.deep.equal([]);
    expect(files.get("loss-ci95.svg")).to.include("band: 95% confidence interval of the mean (Student's t").and.not.include(BAND_NOTE);
    expect(files.get("gradient_cosine-ci95.svg")).to.include("bar: 95% confidence interval of the mean");
    const loss = csvRows(files.get("loss-ci95.csv")!);
    expect(Number(loss[0].ci95)).to.be.closeTo(t1, 1e-9);
    expect(Number(loss[0].std)).to.be.closeTo(Math.SQRT2, 1e-12);
    const cos = csvRows(files.get("gradient_cosine-ci95.csv")!);
    expect(Number(cos[0].ci95)).to.be.closeTo(t1 * 0.1, 1e-9);
  });

  it("--spread: the CSV's sem and ci95 are the paper table's for the same values, to the last digit", async () => {
    // Three seeds whose mean + sem - mean is not the sem in float64 (0.06333333333333335, not ...34).
    const values = [0.31, 0.47, 0.52];
    const runs = values.map((v, seed) => fakeRun(root, `bp${seed}`, "bp", { "train.method": "bp", seed }, [v], [v]));
    for (const spread of ["sem", "ci95"] as const) {
      const files = new Map<string, string>();
      await plotLearningCurves(runs, (name, text) => files.set(name, text), [], "step", [], spread);
      const expected = spreadOf(meanStd(values), spread)!;
      expect(csvRows(files.get(`loss-${spread}.csv`)!)[0][spread], spread).to.equal(String(expected));
      expect(csvRows(files.get(`clip_accuracy-${spread}.csv`)!)[0][spread], spread).to.equal(String(expected));
    }
  });

  it("the drawn lines, read back from the SVG in data units, are the means over seeds of the CSVs; vs-time uses eval.csv's wall_s", async () => {
    // Two seeds of BP, one of Sideways; eval.csv with the wall_s the runs recorded.
    const evalCsv = (dir: string, rows: [number, number, number][]) =>
      writeFileSync(join(dir, "eval.csv"), "step,eval_clip_top1,wall_s\n" + rows.map((r) => r.join(",")).join("\n") + "\n");
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [2.2, 1.8, 1.2, 1.0], []),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [2.4, 2.0, 1.6, 1.4], []),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2.3, 2.1, 1.9, 1.7], []),
    ];
    evalCsv(runs[0].dir, [[2, 0.2, 3.0], [4, 0.6, 7.0]]);
    evalCsv(runs[1].dir, [[2, 0.4, 5.0], [4, 0.8, 9.0]]);
    evalCsv(runs[2].dir, [[2, 0.1, 2.0], [4, 0.3, 4.0]]);
    const svgs = new Map<string, string>();
    await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    const expected: Record<string, Record<string, [number, number][]>> = {
      "loss.svg": { "method=bp": [[1, 2.3], [2, 1.9], [3, 1.4], [4, 1.2]], "method=sideways": [[1, 2.3], [2, 2.1], [3, 1.9], [4, 1.7]] },
      "clip_accuracy.svg": { "method=bp": [[2, 0.3], [4, 0.7]], "method=sideways": [[2, 0.1], [4, 0.3]] },
      // x: the mean over seeds of the wall_s each run recorded at that evaluation.
      "clip_accuracy_vs_time.svg": { "method=bp": [[4, 0.3], [8, 0.7]], "method=sideways": [[2, 0.1], [4, 0.3]] },
    };
    for (const [file, lines] of Object.entries(expected)) {
      const svg = svgs.get(file)!;
      const x = axisScale(svg, "X");
      const y = axisScale(svg, "Y");
      const drawn = linesIn(svg);
      expect(Object.keys(drawn).sort(), file).to.deep.equal(Object.keys(lines).sort());
      for (const [config, points] of Object.entries(lines)) {
        const got = drawn[config].map(([px, py]) => [x.value(px), y.value(py)]);
        expect(got, `${file} ${config}`).to.have.length(points.length);
        // Tick marks are drawn at whole (or half) pixels: a point is read back to within 1 px of its axis.
        got.forEach(([gx, gy], i) => {
          expect(gx, `${file} ${config} x ${i}`).to.be.closeTo(points[i][0], x.perPixel);
          expect(gy, `${file} ${config} y ${i}`).to.be.closeTo(points[i][1], y.perPixel);
        });
      }
      expect(svg, file).to.include(BAND_NOTE);
    }
    expect(svgs.get("clip_accuracy_vs_time.svg")).to.include(`X-axis titled '${WALL_AXIS_TITLE}'`);
    // Only the training-loss chart, where the rules' losses average different frames, says so.
    expect(svgs.get("loss.svg")).to.include(SIDEWAYS_LOSS_NOTE);
    expect(svgs.get("clip_accuracy.svg")).not.to.include(SIDEWAYS_LOSS_NOTE);
    expect(svgs.get("loss.svg")).to.include("Y-axis titled 'train loss'").and.include("X-axis titled 'step'");
    // Steps are whole numbers: a 4-step run's axis has no tick between them (vega put one at each half step).
    const xLabels = (svg: string) => [...svg.slice(svg.indexOf('aria-label="X-axis')).matchAll(/role-axis-label"[\s\S]*?<\/g>/g)][0]![0].match(/>([-\d.]+)<\/text>/g)!.map((t) => Number(t.slice(1, -7)));
    expect(xLabels(svgs.get("loss.svg")!)).to.deep.equal([1, 2, 3, 4]);
  });

  it("loss.svg's note on the frames a loss averages names each exact rule drawn beside Sideways, and no rule not drawn", async () => {
    const runs = ["sideways", "bp", "pipelined-bp", "gpipe"].map((m) => fakeRun(root, m, m, { "train.method": m, seed: 0 }, [2.3, 2.1], [0.5]));
    const note = async (drawn: typeof runs) => {
      const svgs = new Map<string, string>();
      await plotLearningCurves(drawn, (name, svg) => svgs.set(name, svg));
      return svgs.get("loss.svg")!;
    };
    expect(await note(runs.slice(0, 2))).to.include("Sideways' loss is over the frames that reach the top block within the clip, BP's over every frame");
    expect(await note([runs[0], runs[2]])).to.include("within the clip, pipelined BP's over every frame");
    expect(await note(runs)).to.include("within the clip, BP's, pipelined BP's and GPipe's over every frame");
    // Without Sideways, every loss averages every frame: no note.
    expect(await note(runs.slice(1))).to.not.include("reach the top block");
  });

  it("a swept model path: each legend names its file's stem, as run ids do; the CSVs keep `config` as written and add `label`", async () => {
    // experiments/activations.yaml's sweep: model over three files, by paths relative to the experiment.
    const models = ["../models/quickstart-cnn.yaml", "../models/quickstart-cnn-gelu.yaml"];
    const runs = models.flatMap((model, m) =>
      ["bp", "sideways"].map((method) => {
        const r = fakeRun(root, `${m}${method}`, method, { model, "train.method": method, seed: 0 }, [2, 1], [0.5], `${m}-${method}`);
        writeFileSync(join(r.dir, "metrics.csv"), "step,train_loss,cos_b0\n1,2,0.9\n2,1,0.8\n");
        return r;
      }),
    );
    // The run ids these runs get (src/spec/run-id.ts) name the model by its file's stem: model-quickstart-cnn-gelu_method-bp_...
    const legend = ["model=quickstart-cnn, method=bp", "model=quickstart-cnn, method=sideways", "model=quickstart-cnn-gelu, method=bp", "model=quickstart-cnn-gelu, method=sideways"];
    const files = new Map<string, string>();
    await plotLearningCurves(runs, (name, text) => files.set(name, text));
    for (const name of ["loss.svg", "clip_accuracy.svg", "gradient_cosine.svg"]) {
      const labels = [...files.get(name)!.matchAll(/role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => m[1]);
      expect(labels, name).to.deep.equal(legend);
      expect(files.get(name), name).not.to.include("../models");
    }
    // The CSVs: `config` as before (the paths as written, what scripts read), `label` the legend's text, last.
    for (const name of ["loss.csv", "gradient_cosine.csv"]) {
      // Labels hold commas: read as a CSV reader reads them (quoted cells).
      writeFileSync(join(root, name), files.get(name)!);
      const { columns, rows } = readCsv(join(root, name));
      expect(columns[columns.length - 1], name).to.equal("label");
      const pairs = [...new Map(rows.map((r) => [r.config, r.label])).entries()];
      expect(pairs, name).to.deep.equal([
        ["model=../models/quickstart-cnn.yaml, method=bp", legend[0]],
        ["model=../models/quickstart-cnn.yaml, method=sideways", legend[1]],
        ["model=../models/quickstart-cnn-gelu.yaml, method=bp", legend[2]],
        ["model=../models/quickstart-cnn-gelu.yaml, method=sideways", legend[3]],
      ]);
    }
  });

  it("two swept models whose files share a stem (models/a/depth-3.yaml, models/b/depth-3.yaml) are named whole in the legend, and a path set apart from config.yaml by its stem", () => {
    const runs = ["models/a/depth-3.yaml", "models/b/depth-3.yaml", "models/depth-5.yaml"].map((model, i) => fakeRun(root, `m${i}`, "bp", { model, seed: 0 }, [1], [0.5], `m${i}`));
    expect([...configLabels(runs, "stem").values()]).to.deep.equal(["model=models/a/depth-3.yaml", "model=models/b/depth-3.yaml", "model=depth-5"]);
    expect([...configLabels(runs).values()]).to.deep.equal(["model=models/a/depth-3.yaml", "model=models/b/depth-3.yaml", "model=models/depth-5.yaml"]);
    // Two sweeps into one folder that differ in a model neither swept: the legend names each by its stem.
    const apart = ["../models/depth-3.yaml", "../models/depth-5.yaml"].map((model, i) => {
      const r = fakeRun(root, `s${i}`, "bp", { "train.method": "bp", seed: 0 }, [1], [0.5], `s${i}`);
      writeFileSync(join(r.dir, "config.yaml"), `model: ${model}\n`);
      return r;
    });
    expect([...configLabels(apart, "stem").values()]).to.deep.equal(["method=bp, model=depth-3", "method=bp, model=depth-5"]);
    expect([...configLabels(apart).values()]).to.deep.equal(["method=bp, model=../models/depth-3.yaml", "method=bp, model=../models/depth-5.yaml"]);
  });

  it("gradient cosine per block: mean over a run's diagnostic steps, then mean and std over its seeds", async () => {
    const withCos = (id: string, seed: number, rows: string[]) => {
      const r = fakeRun(root, id, "sideways", { "data.frame_stride": 2, seed }, [1], [0.5]);
      writeFileSync(join(r.dir, "metrics.csv"), "step,train_loss,cos_b0,cos_b1\n" + rows.join("\n") + "\n");
      return r;
    };
    // seed 0: block 0 cosines 0.8 and 0.6 (mean 0.7), the step without diagnostics and the nan one are skipped; seed 1: 0.9.
    // A nan/inf cosine (a zero gradient somewhere) is skipped like an empty one, not averaged in.
    const runs = [withCos("a", 0, ["1,2.0,0.8,1", "2,1.9,,", "3,1.8,0.6,1", "4,1.7,nan,inf"]), withCos("b", 1, ["1,2.0,0.9,0.98"])];
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
    // Its CSV keys each row by the configuration's id too (runs.csv's config_id), not its label alone.
    expect(csvRows(svgs.get("gradient_cosine.csv")!)[0]).to.include({ config: "frame_stride=2", config_id: "sideways", block: "0", n: "2" });
  });
  it("gradient cosine of a rules study: each rule against BP, not 'Sideways' for pipelined-bp", async () => {
    const withCos = (id: string, method: string, cos: number) => {
      const r = fakeRun(root, id, method, { "train.method": method, seed: 0 }, [1], [0.5], method);
      writeFileSync(join(r.dir, "metrics.csv"), `step,train_loss,cos_b0\n1,2.0,${cos}\n`);
      return r;
    };
    const draw = async (runs: RunRecord[]) => {
      const svgs = new Map<string, string>();
      await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
      return svgs.get("gradient_cosine.svg")!;
    };
    const mixed = await draw([withCos("bp", "bp", 0.3), withCos("pbp", "pipelined-bp", 0.99), withCos("sw", "sideways", 0.4)]);
    expect(mixed).to.include("Y-axis titled 'cosine(G_k of the rule, G_k BP)'").and.include("How close each rule's gradient is to BP's");
    expect(mixed).to.include("bp: BP's gradient against Sideways' on the same batch");
    expect(mixed).not.to.include("cosine(G_k Sideways, G_k BP)");
    // Sideways against BP alone keeps its titles.
    const sidewaysOnly = await draw([withCos("bp2", "bp", 0.3), withCos("sw2", "sideways", 0.4)]);
    expect(sidewaysOnly).to.include("Y-axis titled 'cosine(G_k Sideways, G_k BP)'").and.include("How close Sideways' gradient is to BP's");
    expect(sidewaysOnly).not.to.include("bp: BP's gradient against");
    // One rule other than Sideways against BP alone: the titles name it (the registry's diagnostic reference).
    const pipelinedOnly = await draw([withCos("pbp2", "pipelined-bp", 0.99)]);
    expect(pipelinedOnly).to.include("Y-axis titled 'cosine(G_k pipelined BP, G_k BP)'").and.include("How close pipelined BP's gradient is to BP's");
  });

  it("every rule's lines, dash and name come from the registry: a four-rule study draws four dashes, each named in the subtitle", async () => {
    const runs = ["sideways", "bp", "pipelined-bp", "gpipe"].map((m) => fakeRun(root, m, m, { "train.method": m, seed: 0 }, [2, 1], [0.5, 0.6], m));
    const svgs = new Map<string, string>();
    await plotLearningCurves(runs, (name, svg) => svgs.set(name, svg));
    const svg = svgs.get("loss.svg")!;
    const symbols = [...svg.matchAll(/role-legend-symbol"[^>]*><path [^>]*stroke-dasharray="([^"]*)"[^]*?role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => [m[2], m[1]]);
    expect(symbols).to.deep.equal([["method=sideways", "1,0"], ["method=bp", "6,3"], ["method=pipelined-bp", "2,2"], ["method=gpipe", "8,3,2,3"]]);
    expect(svg).to.include("solid: Sideways, dashed: BP, dotted: pipelined BP, dash-dot: GPipe");
    // GPipe's cosine against BP alone: its name in the titles.
    writeFileSync(join(runs[3].dir, "metrics.csv"), "step,train_loss,cos_b0\n1,2.0,1\n");
    const cos = new Map<string, string>();
    await plotLearningCurves([runs[3]], (name, text) => cos.set(name, text));
    expect(cos.get("gradient_cosine.svg")).to.include("How close GPipe's gradient is to BP's");
  });
  it("a run of a rule this version does not know is drawn dash-dot-dot, a dash no rule has, and the subtitle names it, alone or beside known rules", async () => {
    const sw = fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2, 1], [0.5]);
    const other = fakeRun(root, "x0", "interleaved-1f1b", { "train.method": "interleaved-1f1b", seed: 0 }, [2, 1], [0.6]);
    const legend = (svg: string) => [...svg.matchAll(/role-legend-symbol"[^>]*><path [^>]*stroke-dasharray="([^"]*)"[^]*?role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => [m[2], m[1]]);
    const both = new Map<string, string>();
    await plotLearningCurves([sw, other], (name, text) => both.set(name, text));
    const svg = both.get("loss.svg")!;
    expect(legend(svg)).to.deep.equal([["method=sideways", "1,0"], ["method=interleaved-1f1b", "8,2,2,2,2,2"]]);
    expect(svg).to.include("solid: Sideways, dash-dot-dot: interleaved-1f1b (not a rule of this version)");
    expect(METHOD_NAMES.map((m) => RULES[m].line.dash.join(","))).not.to.include(UNKNOWN_RULE_LINE.dash.join(","));
    // Alone, it is not taken for Sideways' solid line either.
    const alone = new Map<string, string>();
    await plotLearningCurves([other], (name, text) => alone.set(name, text));
    expect(alone.get("loss.svg")).to.include("dash-dot-dot: interleaved-1f1b (not a rule of this version)").and.include('stroke-dasharray="8,2,2,2,2,2"');
  });

  it("a run of a rule this version does not know (another branch's): its curves and cosines are drawn, and the cosine figure says its reference is not known", async () => {
    const runs = [
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2, 1], [0.5]),
      fakeRun(root, "x0", "interleaved-1f1b", { "train.method": "interleaved-1f1b", seed: 0 }, [2, 1], [0.6]),
    ];
    for (const r of runs) writeFileSync(join(r.dir, "metrics.csv"), "step,train_loss,cos_b0\n1,2.0,0.9\n2,1.0,0.8\n");
    const files = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, text) => files.set(name, text));
    expect(out.map((o) => o.file)).to.include("gradient_cosine.svg");
    const cos = files.get("gradient_cosine.svg")!;
    expect(cos).to.include("interleaved-1f1b: not a rule of this version (src/schedule/registry.ts), so what its cos_b columns compare with is not known here");
    expect(cos).to.include("cosine(G_k of the rule, G_k BP)");
    expect(csvRows(files.get("gradient_cosine.csv")!).map((r) => r.method)).to.deep.equal(["sideways", "interleaved-1f1b"]);
    // Alone, it is not taken for a rule compared with BP either.
    const alone = new Map<string, string>();
    await plotLearningCurves([runs[1]], (name, text) => alone.set(name, text));
    expect(alone.get("gradient_cosine.svg")).to.include("cosine(G_k of the rule, G_k BP)").and.include("not a rule of this version");
  });

  it("beside each figure, a CSV of the points it draws: mean, sample std and n per configuration and step (wall_s where that is the x axis)", async () => {
    const runs = [
      fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [1, 2], [0.5]),
      fakeRun(root, "bp1", "bp", { "train.method": "bp", seed: 1 }, [3, 2], [0.7]),
      fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [4, 4], [0.1]),
    ];
    writeFileSync(join(runs[0].dir, "eval.csv"), "step,eval_clip_top1,wall_s\n2,0.5,3\n");
    writeFileSync(join(runs[1].dir, "eval.csv"), "step,eval_clip_top1,wall_s\n2,0.7,5\n");
    const files = new Map<string, string>();
    await plotLearningCurves(runs, (name, text) => files.set(name, text));
    const loss = csvRows(files.get("loss.csv")!);
    // losses 1 and 3 at step 1: mean 2, sample std sqrt(2), n 2; one Sideways run: no std.
    expect(loss[0]).to.deep.equal({ config: "method=bp", config_id: "bp", method: "bp", step: "1", mean: "2", std: String(Math.SQRT2), n: "2", bin_steps: "1", label: "method=bp" });
    expect(loss.find((r) => r.config === "method=sideways" && r.step === "2")).to.deep.equal({ config: "method=sideways", config_id: "sideways", method: "sideways", step: "2", mean: "4", std: "", n: "1", bin_steps: "1", label: "method=sideways" });
    expect(loss).to.have.length(4);
    // The CSV has what curvePoints gives, so the figure and its CSV cannot disagree.
    const pts = curvePoints(runs, "metrics.csv", "train_loss");
    expect(loss.map((r) => Number(r.mean))).to.deep.equal(pts.map((p) => p.mean));
    const { std, ...vsTime } = csvRows(files.get("clip_accuracy_vs_time.csv")!)[0];
    // x: the mean of the runs' wall_s; accuracies 0.5 and 0.7: sample std 0.1414 (to rounding).
    expect(vsTime).to.deep.equal({ config: "method=bp", config_id: "bp", method: "bp", step: "2", wall_s: "4", mean: "0.6", n: "2", bin_steps: "1", label: "method=bp" });
    expect(Number(std)).to.be.closeTo(Math.sqrt(0.02), 1e-15);
  });

  it("--metric draws another logged column against step, from whichever of metrics.csv and eval.csv has it; an unknown one is an input error with a suggestion", async () => {
    const runs = [fakeRun(root, "bp0", "bp", { seed: 0 }, [1, 2], [0.5]), fakeRun(root, "bp1", "bp", { seed: 1 }, [3, 2], [0.7])];
    for (const [r, loss] of [[runs[0], 2.5], [runs[1], 1.5]] as const) writeFileSync(join(r.dir, "eval.csv"), `step,eval_clip_top1,eval_loss\n2,0.5,${loss}\n`);
    const files = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, text) => files.set(name, text), ["eval_loss"]);
    expect(out.map((o) => o.file)).to.deep.equal(["loss.svg", "clip_accuracy.svg", "eval_loss.svg"]);
    expect(csvRows(files.get("eval_loss.csv")!)).to.deep.equal([{ config: "bp", config_id: "bp", method: "bp", step: "2", mean: "2", std: String(Math.SQRT1_2), n: "2", bin_steps: "1", label: "bp" }]);
    expect(files.get("eval_loss.svg")).to.include("eval_loss (eval.csv)");
    // Against wall-clock time: x is the mean over runs of the same file's wall_s (1 and 3 here).
    for (const [r, wall] of [[runs[0], 1], [runs[1], 3]] as const) writeFileSync(join(r.dir, "eval.csv"), `step,eval_clip_top1,eval_loss,wall_s\n2,0.5,2,${wall}\n`);
    const timed = new Map<string, string>();
    const vsTime = await plotLearningCurves(runs, (name, text) => timed.set(name, text), ["eval_loss"], "wall_s");
    expect(vsTime.at(-1)).to.deep.equal({ file: "eval_loss_vs_time.svg", data: "eval_loss_vs_time.csv", lines: 1 });
    expect(csvRows(timed.get("eval_loss_vs_time.csv")!)).to.deep.equal([{ config: "bp", config_id: "bp", method: "bp", step: "2", wall_s: "2", mean: "2", std: "0", n: "2", bin_steps: "1", label: "bp" }]);
    expect(timed.get("eval_loss_vs_time.svg")).to.include(`X-axis titled '${WALL_AXIS_TITLE}'`);
    // A figure asked for that would have no point (eval.csv without wall_s) is an error, not left out.
    for (const r of runs) writeFileSync(join(r.dir, "eval.csv"), "step,eval_clip_top1,eval_loss\n2,0.5,2\n");
    const empty = await plotLearningCurves(runs, () => expect.fail("nothing may be written"), ["eval_loss"], "wall_s").then(() => null, (e: unknown) => e);
    expect(empty).to.be.instanceOf(InputError);
    expect((empty as Error).message).to.equal("plot --metric eval_loss --x-axis wall_s: no run's eval.csv has a row with both it and wall_s; nothing was written");
    let err: unknown;
    await plotLearningCurves(runs, () => expect.fail("nothing may be written"), ["eval_los"]).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.equal("plot --metric eval_los: no run's metrics.csv or eval.csv has that column (did you mean 'eval_loss'?); columns: train_loss, eval_clip_top1, eval_loss");
  });

  it("--metric eval_clip_top5 on runs without top-5: an input error saying why (5 classes or fewer, an older version), nothing written; a configuration without it has no line, and the figure names it", async () => {
    const runs = [fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [1, 2], [0.5]), fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [3, 2], [0.7])];
    const why = "(top-5 is measured only with more than 5 classes (with 5 or fewer it would be 1), by sideways versions after 0.1.0)";
    // 5 classes or fewer: the column is there, every cell empty.
    for (const r of runs) writeFileSync(join(r.dir, "eval.csv"), "step,eval_clip_top1,eval_clip_top5\n2,0.5,\n");
    const empty = await plotLearningCurves(runs, () => expect.fail("nothing may be written"), ["eval_clip_top5"]).then(() => null, (e: unknown) => e);
    expect(empty).to.be.instanceOf(InputError);
    expect((empty as Error).message).to.equal(`plot --metric eval_clip_top5: no run's eval.csv has a row with a value of it ${why}; nothing was written`);
    // An older version's eval.csv: no such column.
    for (const r of runs) writeFileSync(join(r.dir, "eval.csv"), "step,eval_clip_top1\n2,0.5\n");
    const old = await plotLearningCurves(runs, () => expect.fail("nothing may be written"), ["eval_clip_top5"]).then(() => null, (e: unknown) => e);
    expect(old).to.be.instanceOf(InputError);
    expect((old as Error).message).to.include(`plot --metric eval_clip_top5: no run's metrics.csv or eval.csv has that column`).and.include(`${why}; columns: train_loss, eval_clip_top1`);
    // BP's run has top-5, Sideways' (an older version's) not: one line, and the figure says whose is missing.
    writeFileSync(join(runs[0].dir, "eval.csv"), "step,eval_clip_top1,eval_clip_top5\n2,0.5,0.75\n");
    const files = new Map<string, string>();
    const out = await plotLearningCurves(runs, (name, text) => files.set(name, text), ["eval_clip_top5"]);
    const top5 = out.find((o) => o.file === "eval_clip_top5.svg")!;
    const note = `no line for method=sideways: no value of eval_clip_top5 in its runs' eval.csv ${why}`;
    expect(top5).to.deep.include({ lines: 1, noLine: note });
    expect(csvRows(files.get("eval_clip_top5.csv")!).map((r) => r.config)).to.deep.equal(["method=bp"]);
    expect(files.get("eval_clip_top5.svg")).to.include("no line for method=sideways: no value of eval_clip_top5 in its runs");
    // Figures with every configuration's line say nothing of it.
    expect(out.filter((o) => o.noLine !== undefined).map((o) => o.file)).to.deep.equal(["eval_clip_top5.svg"]);
    // Against wall-clock time, Sideways' eval.csv without wall_s (an older version's): no line there, said so.
    writeFileSync(join(runs[0].dir, "eval.csv"), "step,eval_clip_top1,eval_clip_top5,wall_s\n2,0.5,0.75,1.5\n");
    writeFileSync(join(runs[1].dir, "eval.csv"), "step,eval_clip_top1\n2,0.5\n");
    const timed = await plotLearningCurves(runs, () => undefined, ["eval_clip_top5"], "wall_s");
    expect(timed.find((o) => o.file === "clip_accuracy_vs_time.svg")!.noLine).to.equal("no line for method=sideways: no row with both eval_clip_top1 and wall_s in its runs' eval.csv");
  });

  it("a run's CSV with text where a number belongs is an input error naming the file, line and column, and no figure is written", async () => {
    const runs = [fakeRun(root, "bp0", "bp", { seed: 0 }, [1, 2], [0.5]), fakeRun(root, "bp1", "bp", { seed: 1 }, [3, 2], [0.7])];
    // metrics.csv is fine (loss.svg would be drawn first); eval.csv is not.
    writeFileSync(join(runs[1].dir, "eval.csv"), "step,eval_clip_top1\n2,0.7\n4,abc\n");
    let err: unknown;
    await plotLearningCurves(runs, () => expect.fail("nothing may be written"), []).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.equal(`${join(runs[1].dir, "eval.csv")}: line 3, column 'eval_clip_top1': expected a number, found 'abc'`);
  });
});

/** The pixel -> data map of a vega axis ("X" or "Y"), from its tick marks and their labels. */
function axisScale(svg: string, axis: "X" | "Y"): { value: (px: number) => number; perPixel: number } {
  const at = svg.indexOf(`aria-label="${axis}-axis`);
  const block = (role: string) => {
    const from = svg.indexOf(`role-axis-${role}"`, at);
    return svg.slice(from, svg.indexOf("</g>", from));
  };
  const ticks = [...block("tick").matchAll(/<line transform="translate\(([-\d.]+),([-\d.]+)\)"/g)].map((m) => Number(m[axis === "X" ? 1 : 2]));
  const labels = [...block("label").matchAll(/>([-\d.]+)<\/text>/g)].map((m) => Number(m[1]));
  expect(ticks.length, `${axis} ticks`).to.equal(labels.length).and.to.be.above(1);
  const slope = (labels[labels.length - 1] - labels[0]) / (ticks[ticks.length - 1] - ticks[0]);
  return { value: (px) => labels[0] + (px - ticks[0]) * slope, perPixel: Math.abs(slope) };
}

/** Each line mark's points in pixels (inside the plot's frame), by the configuration its label names. */
function linesIn(svg: string): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const m of svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)"/g)) {
    const config = /configuration: ([^;]*)/.exec(m[1])![1];
    out[config] = [...m[2].matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map((p) => [Number(p[1]), Number(p[2])]);
  }
  return out;
}

/** A CSV's rows as text cells by column (the figures' CSVs hold no quoted cells). */
function csvRows(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split("\n").map((line) => line.split(","));
  return rows.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

describe("plot: a figure converted for a paper", function () {
  this.timeout(60_000);
  let root: string;
  freshFolderEachTest("sideways-plot-pdf-", (d) => (root = d));

  it("docs/RESULT-FILES.md's rsvg-convert command makes a one-page PDF of a curve at the SVG's size (96 px an inch)", async function () {
    if (spawnSync("rsvg-convert", ["--version"]).status !== 0) {
      console.log("    (skipped: no rsvg-convert on PATH; Debian: apt-get install librsvg2-bin)");
      this.skip();
    }
    const doc = readFileSync("docs/RESULT-FILES.md", "utf8");
    expect(doc).to.include("rsvg-convert -f pdf -o loss.pdf results/bp-vs-sideways/loss.svg");
    const runs = [fakeRun(root, "bp0", "bp", { "train.method": "bp", seed: 0 }, [2, 1.5, 1], [0.5]), fakeRun(root, "sw0", "sideways", { "train.method": "sideways", seed: 0 }, [2, 1.7, 1.2], [0.4])];
    const files = new Map<string, string>();
    await plotLearningCurves(runs, (name, text) => files.set(name, text));
    writeFileSync(join(root, "loss.svg"), files.get("loss.svg")!);
    const r = spawnSync("rsvg-convert", ["-f", "pdf", "-o", "loss.pdf", "loss.svg"], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).to.equal(0);
    const pdf = readFileSync(join(root, "loss.pdf")).toString("latin1");
    expect(pdf.startsWith("%PDF-")).to.equal(true);
    // The page is the SVG's width and height in points (px x 72/96): what the docs' sizes at a column's width follow from.
    const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(files.get("loss.svg")!)!;
    const box = /\/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(pdf);
    expect(box, "the PDF's page size").to.not.equal(null);
    expect(Number(box![1])).to.be.closeTo((Number(w) * 72) / 96, 1);
    expect(Number(box![2])).to.be.closeTo((Number(h) * 72) / 96, 1);
  });
});
