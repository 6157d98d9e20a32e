/**
 * A sweep's own report draws, for each setting it varies, the figure `plot --against-setting KEY`
 * draws with its defaults: checked against that command run on the same folder (the same files,
 * byte for byte) and against means and spreads worked out here from the runs' numbers.
 */
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { readCsv } from "../src/results/csv-read.js";
import { writeRunsCsv } from "../src/results/runs-table.js";
import { writeSweepReport } from "../src/results/sweep-report.js";
import { captureIo } from "./helpers/capture-io.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";
import { SWEEP } from "./helpers/spec-fixtures.js";
import { summary, writeRun } from "./helpers/run-records.js";

/** Completed runs of a sweep, one per (swept values, seed), each with a short metrics.csv for the curves. */
function sweepFolder(root: string, runs: readonly { params: Record<string, unknown>; top1: number | null; status?: "completed" | "nan_loss" }[]): void {
  runs.forEach((r, index) => {
    const id = `r${index}`;
    writeRun(root, id, r.params, summary(r.status ?? "completed", r.top1), index);
    writeFileSync(join(root, id, "metrics.csv"), "step,train_loss\n1,2\n2,1.5\n");
  });
}

const LR = "train.optimizer.lr";
/** A swept learning rate (two values), a setting the sweep sets to one value, and two seeds. */
const LR_SWEEP = [
  { params: { [LR]: 0.01, "data.clip_length": 16, seed: 0 }, top1: 0.5 },
  { params: { [LR]: 0.01, "data.clip_length": 16, seed: 1 }, top1: 0.7 },
  { params: { [LR]: 0.1, "data.clip_length": 16, seed: 0 }, top1: 0.25 },
  { params: { [LR]: 0.1, "data.clip_length": 16, seed: 1 }, top1: 0.75 },
];

/**
 * experiments/depth-long-clips.yaml's sweep, in its order (grid train.method, then the zip of model
 * with data.clip_length), two seeds: each (rule, model) configuration's final clip top-1 per seed.
 */
const ZIPPED: { method: string; model: string; clip: number; top1: [number, number] }[] = [
  { method: "bp", model: "../models/depth-3.yaml", clip: 12, top1: [0.9, 0.86] },
  { method: "bp", model: "../models/depth-5.yaml", clip: 20, top1: [0.84, 0.8] },
  { method: "bp", model: "../models/depth-8.yaml", clip: 32, top1: [0.78, 0.7] },
  { method: "sideways", model: "../models/depth-3.yaml", clip: 12, top1: [0.88, 0.84] },
  { method: "sideways", model: "../models/depth-5.yaml", clip: 20, top1: [0.76, 0.7] },
  { method: "sideways", model: "../models/depth-8.yaml", clip: 32, top1: [0.6, 0.52] },
];
const zippedRuns = ZIPPED.flatMap((c) => c.top1.map((top1, seed) => ({ params: { "train.method": c.method, model: c.model, "data.clip_length": c.clip, seed }, top1 })));

const settingFigures = (dir: string) => readdirSync(dir).filter((f) => f.includes("-vs-")).sort();

describe("a sweep's report: figures against the settings it varies", function () {
  this.timeout(120_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("a swept learning rate with two seeds gets plot --against-setting's figure and CSV, the same files that command writes", async () => {
    const root = tempFolder("sideways-report-lr-");
    sweepFolder(root, LR_SWEEP);
    await writeRunsCsv(root);
    const notes: string[] = [];
    const files = await writeSweepReport(root, (line) => notes.push(line));
    expect(files).to.include.members(["table.csv", "loss.svg", "final_eval_clip_top1-vs-lr.svg", "final_eval_clip_top1-vs-lr.csv"]);
    expect(notes).to.deep.equal([]);
    // Not against the seed, nor against data.clip_length, which the sweep set to one value.
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg"]);

    // Each point: the mean and sample std of its two seeds, worked out here.
    const { rows } = readCsv(join(root, "final_eval_clip_top1-vs-lr.csv"));
    const expected = [{ lr: 0.01, xs: [0.5, 0.7] }, { lr: 0.1, xs: [0.25, 0.75] }];
    expect(rows.map((r) => r[LR])).to.deep.equal(expected.map((e) => e.lr));
    rows.forEach((r, i) => {
      const [a, b] = expected[i].xs;
      expect(r.mean as number).to.be.closeTo((a + b) / 2, 1e-12);
      expect(r.std as number).to.be.closeTo(Math.abs(a - b) / Math.SQRT2, 1e-12);
      expect(r.n).to.equal(2);
      expect(r.seeds).to.equal("0 1");
    });

    // The command on its own, with its defaults, on the same folder: the same files, byte for byte.
    const out = tempFolder("sideways-report-lr-plot-");
    const io = captureIo();
    expect(await main(["plot", root, "--against-setting", LR, "--out", out], io), io.stderr).to.equal(0);
    expect(readdirSync(out).sort()).to.deep.equal(settingFigures(root));
    for (const f of readdirSync(out)) expect(readFileSync(join(root, f), "utf8"), f).to.equal(readFileSync(join(out, f), "utf8"));
  });

  it("a sweep of one value, or a setting with one value among the completed runs, gets no figure", async () => {
    const single = tempFolder("sideways-report-one-");
    sweepFolder(single, [0, 1].map((seed) => ({ params: { [LR]: 0.1, seed }, top1: 0.5 + seed / 10 })));
    await writeRunsCsv(single);
    const files = await writeSweepReport(single);
    expect(files).to.include("table.csv");
    expect(files.filter((f) => f.includes("-vs-"))).to.deep.equal([]);
    expect(settingFigures(single)).to.deep.equal([]);

    // The second rate's only run diverged: among the completed runs the rate has one value.
    const diverged = tempFolder("sideways-report-diverged-");
    sweepFolder(diverged, [...[0, 1].map((seed) => ({ params: { [LR]: 0.1, seed }, top1: 0.5 })), { params: { [LR]: 10, seed: 0 }, top1: null, status: "nan_loss" as const }]);
    await writeRunsCsv(diverged);
    await writeSweepReport(diverged);
    expect(settingFigures(diverged)).to.deep.equal([]);
  });

  it("a setting whose figure cannot be drawn is skipped with a note naming it; the table, the curves and the other figures are written", async () => {
    const root = tempFolder("sideways-report-skip-");
    // Two sweeps gathered in one folder: one over the learning rate, one over data.root whose runs
    // have no clip top-1 (a blank cell), so no configuration with a data.root has a point.
    sweepFolder(root, [
      ...LR_SWEEP.map((r) => ({ params: { [LR]: r.params[LR], seed: r.params.seed }, top1: r.top1 })),
      ...["a", "b"].flatMap((dataRoot) => [0, 1].map((seed) => ({ params: { "data.root": dataRoot, seed }, top1: null }))),
    ]);
    await writeRunsCsv(root);
    const io = captureIo();
    expect(await main(["results", "collect", root], io), io.stderr).to.equal(0);
    const notes = io.stderr.split("\n").filter((l) => l.includes("no figure against"));
    expect(notes).to.have.length(1);
    expect(notes[0]).to.match(/^note: no figure against data\.root in the sweep's report \(the rest of the report is written\): .*no configuration .* has a completed run with a value of it/);
    expect(io.stderr).to.match(/wrote table\.csv, table\.md, table\.tex, loss\.svg, .*final_eval_clip_top1-vs-lr\.svg, final_eval_clip_top1-vs-lr\.csv to /);
    for (const f of ["table.csv", "table.md", "table.tex", "loss.svg", "loss.csv"]) expect(existsSync(join(root, f)), f).to.equal(true);
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg"]);
  });

  it("a zip of model with data.clip_length: one figure, against model, a line per rule through its three models, the clip length said", async () => {
    const root = tempFolder("sideways-report-zip-");
    sweepFolder(root, zippedRuns);
    await writeRunsCsv(root);
    await writeSweepReport(root);
    // Against the rule and the model; not against data.clip_length, which the zip pairs with the
    // model: its figure would be the same points.
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-method.csv", "final_eval_clip_top1-vs-method.svg", "final_eval_clip_top1-vs-model.csv", "final_eval_clip_top1-vs-model.svg"]);

    const { rows } = readCsv(join(root, "final_eval_clip_top1-vs-model.csv"));
    // A line per rule (not per rule and clip length, each a single point), through the three models.
    for (const method of ["bp", "sideways"]) {
      const line = rows.filter((r) => r.config === `method=${method}`);
      const configs = ZIPPED.filter((c) => c.method === method);
      expect(line.map((r) => [r.x, r["data.clip_length"]]), method).to.deep.equal(configs.map((c) => [c.model.replace(/^.*\/|\.yaml$/g, ""), c.clip]));
      line.forEach((r, i) => {
        const [a, b] = configs[i].top1;
        expect(r.mean as number).to.be.closeTo((a + b) / 2, 1e-12);
        expect(r.std as number).to.be.closeTo(Math.abs(a - b) / Math.SQRT2, 1e-12);
        expect(r.n).to.equal(2);
        expect(r.values).to.equal(`${a} ${b}`);
      });
    }
    expect(rows).to.have.length(6);
    // The figure says what goes with each model, and its legend has the two rules only.
    const svg = readFileSync(join(root, "final_eval_clip_top1-vs-model.svg"), "utf8");
    expect(svg).to.include("data.clip_length goes with model: 12 at depth-3, 20 at depth-5, 32 at depth-8");
    const legend = [...svg.matchAll(/class="mark-text role-legend-label"[^>]*><text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(legend).to.deep.equal(["method=bp", "method=sideways"]);
  });

  it("a grid of learning rate and rule: a figure against each, a line per rule through both rates (as before zip partners)", async () => {
    const root = tempFolder("sideways-report-grid-");
    const top1 = { bp: { 0.01: [0.5, 0.7], 0.1: [0.25, 0.75] }, sideways: { 0.01: [0.4, 0.6], 0.1: [0.3, 0.5] } } as const;
    sweepFolder(root, (["bp", "sideways"] as const).flatMap((method) => ([0.01, 0.1] as const).flatMap((lr) => top1[method][lr].map((t, seed) => ({ params: { "train.method": method, [LR]: lr, seed }, top1: t })))));
    await writeRunsCsv(root);
    await writeSweepReport(root);
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg", "final_eval_clip_top1-vs-method.csv", "final_eval_clip_top1-vs-method.svg"]);
    const { rows } = readCsv(join(root, "final_eval_clip_top1-vs-lr.csv"));
    expect(rows.map((r) => [r.config, r.x])).to.deep.equal([["method=bp", 0.01], ["method=bp", 0.1], ["method=sideways", 0.01], ["method=sideways", 0.1]]);
    for (const r of rows) {
      const [a, b] = top1[r.method as "bp" | "sideways"][r.x as 0.01 | 0.1];
      expect(r.mean as number).to.be.closeTo((a + b) / 2, 1e-12);
    }
    expect(readFileSync(join(root, "final_eval_clip_top1-vs-lr.svg"), "utf8")).not.to.include("goes with");
  });

  it("a setting fixed by another one way only is still drawn: two models share a clip length", async () => {
    // The model fixes the clip length (12, 12, 32), but 12 frames go with two models.
    const root = tempFolder("sideways-report-oneway-");
    const pairs: [string, number][] = [["../models/depth-3.yaml", 12], ["../models/depth-5.yaml", 12], ["../models/depth-8.yaml", 32]];
    sweepFolder(root, pairs.flatMap(([model, clip], i) => [0, 1].map((seed) => ({ params: { model, "data.clip_length": clip, seed }, top1: 0.5 + i / 10 + seed / 100 }))));
    await writeRunsCsv(root);
    await writeSweepReport(root);
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-clip_length.csv", "final_eval_clip_top1-vs-clip_length.svg", "final_eval_clip_top1-vs-model.csv", "final_eval_clip_top1-vs-model.svg"]);
    // Against the model: one line, the clip length said; against the clip length: a line per model.
    expect(readFileSync(join(root, "final_eval_clip_top1-vs-model.svg"), "utf8")).to.include("data.clip_length goes with model: 12 at depth-3, 12 at depth-5, 32 at depth-8");
    const byClip = readCsv(join(root, "final_eval_clip_top1-vs-clip_length.csv")).rows;
    expect(byClip.map((r) => [r.config, r.x])).to.deep.equal([["model=../models/depth-3.yaml", 12], ["model=../models/depth-5.yaml", 12], ["model=../models/depth-8.yaml", 32]]);
  });

  it("a random search of two settings: a figure against each, though each draw fixes both", async () => {
    // sweep.random { n: 4, params: { lr: log_uniform, weight_decay: log_uniform } }, two seeds: each
    // draw is one configuration, so each key fixes the other, as a zip's would; but the weight
    // decays are not in the learning rates' order, so the figure against them is another figure.
    const WD = "train.optimizer.weight_decay";
    const draws = [
      { lr: 0.0031, wd: 1.2e-5, top1: [0.52, 0.5] },
      { lr: 0.00042, wd: 3.3e-4, top1: [0.4, 0.44] },
      { lr: 0.047, wd: 7.1e-6, top1: [0.3, 0.2] },
      { lr: 0.012, wd: 9.9e-5, top1: [0.62, 0.66] },
    ];
    const root = tempFolder("sideways-report-random-");
    sweepFolder(root, draws.flatMap((d) => d.top1.map((top1, seed) => ({ params: { [LR]: d.lr, [WD]: d.wd, seed }, top1 }))));
    await writeRunsCsv(root);
    const files = await writeSweepReport(root);
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg", "final_eval_clip_top1-vs-weight_decay.csv", "final_eval_clip_top1-vs-weight_decay.svg"]);
    expect(files).to.include.members(["final_eval_clip_top1-vs-weight_decay.svg", "final_eval_clip_top1-vs-weight_decay.csv"]);
    // Against the weight decay: a point per draw, at its decay, the mean of its two seeds.
    const { rows } = readCsv(join(root, "final_eval_clip_top1-vs-weight_decay.csv"));
    const byDecay = [...draws].sort((a, b) => a.wd - b.wd);
    expect(rows.map((r) => r.x).sort((a, b) => (a as number) - (b as number))).to.deep.equal(byDecay.map((d) => d.wd));
    for (const d of draws) {
      const row = rows.find((r) => r.x === d.wd)!;
      expect(row[LR]).to.equal(d.lr);
      expect(row.mean as number).to.be.closeTo((d.top1[0] + d.top1[1]) / 2, 1e-12);
    }
  });

  it("a random search whose two drawn numbers happen to be in one order: a figure against each where sweep-plan.json records the search, one where it does not", async () => {
    // Three draws whose weight decays rise with their learning rates (one chance in six): runs.csv
    // alone cannot tell them from a zip's pair, and an older plan (no structure) keeps that inference.
    const WD = "train.optimizer.weight_decay";
    const draws = [{ lr: 0.00042, wd: 7.1e-6 }, { lr: 0.0031, wd: 3.3e-5 }, { lr: 0.047, wd: 9.9e-4 }];
    const structure = { grid: [], zip: [], random: { [LR]: "log_uniform", [WD]: "log_uniform" } };
    const folder = (prefix: string, plan: Record<string, unknown>) => {
      const root = tempFolder(prefix);
      sweepFolder(root, draws.flatMap((d, i) => [0, 1].map((seed) => ({ params: { [LR]: d.lr, [WD]: d.wd, seed }, top1: 0.4 + i / 10 + seed / 100 }))));
      // The plan's runs are the folders already; what matters here is whether it records the structure.
      writeFileSync(join(root, "sweep-plan.json"), JSON.stringify({ experiment: "t", runs: [], given: [], ...plan }));
      return root;
    };
    const recorded = folder("sideways-report-drawn-", { structure });
    await writeRunsCsv(recorded);
    await writeSweepReport(recorded);
    expect(settingFigures(recorded)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg", "final_eval_clip_top1-vs-weight_decay.csv", "final_eval_clip_top1-vs-weight_decay.svg"]);
    const older = folder("sideways-report-drawn-old-", {});
    await writeRunsCsv(older);
    await writeSweepReport(older);
    expect(settingFigures(older)).to.deep.equal(["final_eval_clip_top1-vs-lr.csv", "final_eval_clip_top1-vs-lr.svg"]);
  });

  it("a zip recorded in sweep-plan.json still shares one figure, against its first key", async () => {
    const root = tempFolder("sideways-report-zip-plan-");
    sweepFolder(root, zippedRuns);
    writeFileSync(join(root, "sweep-plan.json"), JSON.stringify({ experiment: "t", runs: [], given: [], structure: { grid: ["train.method"], zip: ["model", "data.clip_length"], random: {} } }));
    await writeRunsCsv(root);
    await writeSweepReport(root);
    expect(settingFigures(root)).to.deep.equal(["final_eval_clip_top1-vs-method.csv", "final_eval_clip_top1-vs-method.svg", "final_eval_clip_top1-vs-model.csv", "final_eval_clip_top1-vs-model.svg"]);
    expect(readFileSync(join(root, "final_eval_clip_top1-vs-model.svg"), "utf8")).to.include("data.clip_length goes with model: 12 at depth-3, 20 at depth-5, 32 at depth-8");
  });

  it("sideways sweep lists the figure against its swept rule among the report's files", async () => {
    // test/fixtures/specs/sweep-good.yaml: train.method swept over bp and sideways, two seeds.
    const out = tempFolder("sideways-report-sweep-");
    const io = captureIo();
    expect(await main(["sweep", SWEEP, `output.dir=${out}`], io), io.stderr).to.equal(0);
    const listed = /^results: (.*)$/m.exec(io.stderr)![1].split(", ");
    expect(listed).to.include.members([join(out, "final_eval_clip_top1-vs-method.svg"), join(out, "final_eval_clip_top1-vs-method.csv")]);
    expect(settingFigures(out)).to.deep.equal(["final_eval_clip_top1-vs-method.csv", "final_eval_clip_top1-vs-method.svg"]);
    expect(readCsv(join(out, "final_eval_clip_top1-vs-method.csv")).rows.map((r) => [r["train.method"], r.n])).to.deep.equal([["bp", 2], ["sideways", 2]]);
    // The plan records how the sweep made its runs: the rule gridded, nothing zipped or drawn.
    expect(JSON.parse(readFileSync(join(out, "sweep-plan.json"), "utf8")).structure).to.deep.equal({ grid: ["train.method"], zip: [], random: {} });
  });
});
