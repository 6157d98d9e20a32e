/**
 * `sideways plot DIR --against-setting KEY`: a final metric of runs.csv against one swept setting,
 * a line per value of the other settings. The runs.csv files are written here; the expected means
 * and spreads are worked out here from the same numbers, not taken from the code.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { readCsv } from "../src/results/csv-read.js";
import { numericScale, settingFigure, settingFigureName, settingSpec, type SettingFigure } from "../src/results/plot-vs-setting.js";
import { configLabel } from "../src/results/plot.js";
import { RULES } from "../src/schedule/registry.js";
import { captureIo } from "./helpers/capture-io.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
import { summary, writeRun } from "./helpers/run-records.js";

type Row = Record<string, string | number>;

/** A runs.csv with the columns a sweep writes around its swept keys (a subset of the result columns). */
function writeRunsCsv(dir: string, keys: readonly string[], rows: readonly Row[]): void {
  mkdirSync(dir, { recursive: true });
  const columns = ["run_id", "config_id", ...keys, "seed", "method", "status", "final_eval_clip_top1", "final_eval_loss", "final_eval_video_top1"];
  const cell = (v: string | number | undefined) => (v === undefined ? "" : String(v));
  writeFileSync(join(dir, "runs.csv"), [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n");
}

/** Rows of one configuration: a run per seed, with `acc[i]` its final clip top-1 ("" for a blank cell). */
function config(id: string, settings: Row, method: string, acc: (number | "")[], statuses: string[] = []): Row[] {
  return acc.map((a, seed) => ({ run_id: `${id}-s${seed}`, config_id: id, ...settings, seed, method, status: statuses[seed] ?? "completed", final_eval_clip_top1: a, final_eval_loss: 1 + seed }));
}

/** Sample mean and std (n - 1), written out here independently of paper-table.ts. */
function sample(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

/** Student's t, 0.975 quantile, from a printed table: 2 and 1 degrees of freedom. */
const T975 = { 2: 4.302652729911275, 1: 12.706204736174707 } as const;

const DEPTH_KEYS = ["model", "train.method"];
/** experiments/depth.yaml's grid, in its sweep order, with the last configuration missing a seed (diverged). */
const depthRows = (): Row[] => [
  ...config("c3bp", { model: "../models/depth-3.yaml", "train.method": "bp" }, "bp", [0.9, 0.8, 0.85]),
  ...config("c3sw", { model: "../models/depth-3.yaml", "train.method": "sideways" }, "sideways", [0.88, 0.82, 0.86]),
  ...config("c8bp", { model: "../models/depth-8.yaml", "train.method": "bp" }, "bp", [0.7, 0.75, 0.6]),
  ...config("c8sw", { model: "../models/depth-8.yaml", "train.method": "sideways" }, "sideways", [0.5, 0.45, ""], ["completed", "completed", "nan_loss"]),
];

/** The texts an SVG shows: vega writes a label it hides for overlapping another with opacity 0. */
const shownTexts = (svg: string) => [...svg.matchAll(/<text [^>]*opacity="1"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&quot;/g, '"'));

/**
 * The x axis's tick labels as an SVG draws them, each as its lines (vega writes a label of several
 * lines as a <text> of <tspan>s), those it hides for overlapping another (opacity 0) left out.
 */
function xTickLabels(svg: string): string[][] {
  const axis = svg.slice(svg.indexOf('aria-label="X-axis'));
  const labels = axis.slice(axis.indexOf('role-axis-label"'), axis.indexOf('role-axis-domain"'));
  const unescape = (t: string) => t.replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  return [...labels.matchAll(/<text [^>]*opacity="1"[^>]*>(.*?)<\/text>/g)].map((m) =>
    m[1].startsWith("<tspan") ? [...m[1].matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((t) => unescape(t[1])) : [unescape(m[1])],
  );
}

/** The spec's x axis and the points' positions on it (each configuration's point beside the value's). */
function xAxisOf(fig: SettingFigure) {
  const spec = settingSpec(fig) as unknown as { encoding: { x: { scale: { domain?: [number, number] } } }; layer: { data: { values: { config: string; pos: number }[] } }[] };
  return { domain: spec.encoding.x.scale.domain, pos: spec.layer[2].data.values.map((p) => p.pos) };
}

const RUN_COLUMNS = ["run_id", "config_id", "seed", "method", "status", "final_eval_clip_top1"];

describe("plot --against-setting: a final metric against a swept setting", function () {
  this.timeout(60_000);
  let root: string;
  freshFolderEachTest("sideways-plot-setting-", (d) => (root = d));

  it("each point is the mean over seeds with the chosen spread, as worked out here, and as results table's cell", async () => {
    const dir = join(root, "depth");
    writeRunsCsv(dir, DEPTH_KEYS, depthRows());
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "model", "--metric", "eval_clip_top1", "--spread", "ci95"], io), io.stderr).to.equal(0);
    const { rows } = readCsv(join(dir, "final_eval_clip_top1-vs-model-ci95.csv"));
    expect(rows.map((r) => [r.config, r.x, r.n])).to.deep.equal([["method=bp", "depth-3", 3], ["method=sideways", "depth-3", 3], ["method=bp", "depth-8", 3], ["method=sideways", "depth-8", 2]]);
    const expected: Record<string, number[]> = { c3bp: [0.9, 0.8, 0.85], c3sw: [0.88, 0.82, 0.86], c8bp: [0.7, 0.75, 0.6], c8sw: [0.5, 0.45] };
    for (const r of rows) {
      const xs = expected[String(r.config_id)];
      const { mean, std } = sample(xs);
      const ci = T975[(xs.length - 1) as 1 | 2] * (std / Math.sqrt(xs.length));
      expect(r.mean as number, String(r.config_id)).to.be.closeTo(mean, 1e-12);
      expect(r.std as number).to.be.closeTo(std, 1e-12);
      expect(r.ci95 as number).to.be.closeTo(ci, 1e-9);
      expect(r.lo as number).to.be.closeTo(mean - ci, 1e-9);
      expect(r.hi as number).to.be.closeTo(mean + ci, 1e-9);
      // Each seed's value, the dots, in runs.csv's order; the model's path as runs.csv has it.
      expect(String(r.values)).to.equal(xs.join(" "));
      expect(String(r.seeds)).to.equal(xs.map((_, i) => i).join(" "));
      expect(r.model).to.match(/^\.\.\/models\/depth-\d\.yaml$/);
    }
    // The missing seed: its n above, and why it is missing.
    expect(rows.map((r) => r.not_completed)).to.deep.equal([null, null, null, "1 nan_loss"]);
    expect(io.stderr).to.include("not counted: 1 run that did not complete (1 nan_loss");
    // The same numbers as the paper table's, to the last digit.
    const table = captureIo();
    expect(await main(["results", "table", dir, "--metric", "final_eval_clip_top1", "--spread", "ci95"], table), table.stderr).to.equal(0);
    const cells = readCsv(join(dir, "table-final_eval_clip_top1-ci95.csv")).rows;
    expect(cells.map((c) => [c.final_eval_clip_top1_mean, c.final_eval_clip_top1_ci95, c.final_eval_clip_top1_n])).to.deep.equal(rows.map((r) => [r.mean, r.ci95, r.n]));
  });

  it("the figure: a line per rule labelled as the curves label it, BP dashed and Sideways solid, the files named apart from the curves'", async () => {
    const dir = join(root, "depth");
    writeRunsCsv(dir, DEPTH_KEYS, depthRows());
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "model"], io), io.stderr).to.equal(0);
    // Default metric: the table's first (final_eval_clip_top1); nothing but the figure and its CSV.
    expect(readdirSync(dir).sort()).to.deep.equal(["final_eval_clip_top1-vs-model.csv", "final_eval_clip_top1-vs-model.svg", "runs.csv"]);
    const svg = readFileSync(join(dir, "final_eval_clip_top1-vs-model.svg"), "utf8");
    for (const text of ["depth-3", "depth-8", "method=bp", "method=sideways", "dashed: BP", "solid: Sideways", "dot: each seed", "model, each file by its name"]) expect(svg, text).to.include(text);
    expect(svg).not.to.include("../models");
    // Each line's label is the curves' legend label of a run of its configuration without the
    // setting on the x axis: the run's swept values from runs.csv, less the model.
    const run = (params: Record<string, unknown>, method: string) => ({ dir: "", meta: { run_id: "", config_id: "", config_hash: "", experiment: "", index: 0, params, seed: 0, method }, summary: null, status: "completed", stepsDone: null });
    expect(configLabel(run({ "train.method": "bp", seed: 0 }, "bp"))).to.equal("method=bp");
    const byId = new Map(readCsv(join(dir, "runs.csv")).rows.map((r) => [String(r.config_id), r]));
    const drawn = readCsv(join(dir, "final_eval_clip_top1-vs-model.csv")).rows;
    expect(drawn.length).to.equal(4);
    for (const p of drawn) {
      const r = byId.get(String(p.config_id))!;
      expect(p.config, String(p.config_id)).to.equal(configLabel(run({ "train.method": r["train.method"], seed: r.seed }, String(r.method))));
    }
    // The dashes are the registry's.
    const { columns, rows } = readCsv(join(dir, "runs.csv"));
    const spec = settingSpec(settingFigure(columns, rows, "model", "final_eval_clip_top1")) as unknown as { layer: { encoding: { strokeDash?: { scale: { domain: string[]; range: number[][] } } } }[] };
    const dash = spec.layer.find((l) => l.encoding.strokeDash)!.encoding.strokeDash!.scale;
    const ruleDash = (name: "bp" | "sideways") => [...RULES[name].line.dash];
    expect(dash.range[dash.domain.indexOf("method=bp")]).to.deep.equal(ruleDash("bp"));
    expect(dash.range[dash.domain.indexOf("method=sideways")]).to.deep.equal(ruleDash("sideways"));
    expect(ruleDash("bp")).not.to.deep.equal(ruleDash("sideways"));
  });

  it("a line of a swept model path is named by its file's stem, as run ids and the curves' legends name it; the CSV keeps `config` as written and adds `label`", async () => {
    const dir = join(root, "depth");
    // depth-8 with Sideways has one seed with a value only at BP: a note names that line too.
    writeRunsCsv(dir, DEPTH_KEYS, [...depthRows().slice(0, 9), ...config("c8sw", { model: "../models/depth-8.yaml", "train.method": "sideways" }, "sideways", [0.5, "", ""], ["completed", "nan_loss", "nan_loss"])]);
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "train.method"], io), io.stderr).to.equal(0);
    const svg = readFileSync(join(dir, "final_eval_clip_top1-vs-method.svg"), "utf8");
    const legend = [...svg.matchAll(/role-legend-label"[^>]*><text[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(legend).to.deep.equal(["model=depth-3", "model=depth-8"]);
    expect(svg).to.include("no bar: 1 point of one run (model=depth-8 at sideways)");
    expect(svg).not.to.include("../models");
    const { columns, rows } = readCsv(join(dir, "final_eval_clip_top1-vs-method.csv"));
    expect(columns[columns.length - 1]).to.equal("label");
    expect(rows.map((r) => [r.config, r.label])).to.deep.equal([
      ["model=../models/depth-3.yaml", "model=depth-3"],
      ["model=../models/depth-3.yaml", "model=depth-3"],
      ["model=../models/depth-8.yaml", "model=depth-8"],
      ["model=../models/depth-8.yaml", "model=depth-8"],
    ]);
  });

  it("a setting a zip pairs with the one on the x axis does not split lines: a line per rule, the partner said and in the CSV", async () => {
    // experiments/depth-long-clips.yaml: the rule gridded, the model zipped with the clip length,
    // and a constant setting (one batch size throughout) that is no partner.
    const zip: [string, number, Record<string, number[]>][] = [
      ["../models/depth-3.yaml", 12, { bp: [0.9, 0.8], sideways: [0.88, 0.84] }],
      ["../models/depth-5.yaml", 20, { bp: [0.8, 0.76], sideways: [0.7, 0.66] }],
      ["../models/depth-8.yaml", 32, { bp: [0.7, 0.6], sideways: [0.5, 0.42] }],
    ];
    const rows = ["bp", "sideways"].flatMap((m) => zip.flatMap(([model, clip, acc], i) => config(`${m}${i}`, { "train.method": m, model, "data.clip_length": clip, "train.batch_size": 16 }, m, acc[m])));
    const dir = join(root, "zip");
    writeRunsCsv(dir, ["train.method", "model", "data.clip_length", "train.batch_size"], rows);
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "data.clip_length"], io), io.stderr).to.equal(0);
    const note = "model goes with data.clip_length: depth-3 at 12, depth-5 at 20, depth-8 at 32";
    expect(io.stderr).to.include(note);
    expect(readFileSync(join(dir, "final_eval_clip_top1-vs-clip_length.svg"), "utf8")).to.include(note);
    const points = readCsv(join(dir, "final_eval_clip_top1-vs-clip_length.csv"));
    // The partner's column beside the setting's, as runs.csv has it.
    expect(points.columns.slice(0, 6)).to.deep.equal(["config", "config_id", "method", "data.clip_length", "model", "x"]);
    const expected = ["bp", "sideways"].flatMap((m) => zip.map(([model, clip, acc]) => ({ config: `batch_size=16, method=${m}`, x: clip, model, ...sample(acc[m]) })));
    expect(points.rows.map((r) => [r.config, r.x, r.model])).to.deep.equal(expected.map((e) => [e.config, e.x, e.model]));
    points.rows.forEach((r, i) => {
      expect(r.mean as number).to.be.closeTo(expected[i].mean, 1e-12);
      expect(r.std as number).to.be.closeTo(expected[i].std, 1e-12);
    });
    // Against the model, the same: the clip length said, a line per rule of three points.
    const { columns, rows: csvRows } = readCsv(join(dir, "runs.csv"));
    const fig = settingFigure(columns, csvRows, "model", "final_eval_clip_top1");
    expect(fig.partners).to.deep.equal(["data.clip_length"]);
    expect(fig.notes).to.include("data.clip_length goes with model: 12 at depth-3, 20 at depth-5, 32 at depth-8 (a line is not split by it)");
    expect(fig.points.map((p) => [p.config, p.x])).to.deep.equal(["bp", "sideways"].flatMap((m) => ["depth-3", "depth-5", "depth-8"].map((x) => [`batch_size=16, method=${m}`, x])));
    // A sweep in progress: the planned runs' values still pair the two, so the lines are the same.
    const running = rows.map((r) => (r.config_id === "sideways2" ? { ...r, status: "not_started", final_eval_clip_top1: "" } : r));
    const partial = settingFigure(columns, running as never, "model", "final_eval_clip_top1");
    expect(partial.partners).to.deep.equal(["data.clip_length"]);
    expect(partial.notes.join("\n")).to.include("no point for batch_size=16, method=sideways at depth-8 (2 not_started)");
  });

  it("a zip partner's value is drawn under each tick's label, on a category axis and a numeric one; an unzipped key's ticks are plain", async () => {
    // experiments/depth-long-clips.yaml's zip: model with data.clip_length, the rule gridded.
    const zip: [string, number][] = [["depth-3", 12], ["depth-5", 20], ["depth-8", 32]];
    const rows = ["bp", "sideways"].flatMap((m) => zip.flatMap(([model, clip], i) => config(`${m}${i}`, { "train.method": m, model: `../models/${model}.yaml`, "data.clip_length": clip }, m, [0.5 + i / 10, 0.6 + i / 10])));
    const dir = join(root, "zip-ticks");
    writeRunsCsv(dir, ["train.method", "model", "data.clip_length"], rows);
    expect(await main(["plot", dir, "--against-setting", "model"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(dir, "final_eval_clip_top1-vs-model.svg"), "utf8"))).to.deep.equal(zip.map(([model, clip]) => [model, `clip_length=${clip}`]));
    expect(await main(["plot", dir, "--against-setting", "data.clip_length"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(dir, "final_eval_clip_top1-vs-clip_length.svg"), "utf8"))).to.deep.equal(zip.map(([model, clip]) => [String(clip), `model=${model}`]));
    // experiments/depth.yaml: the model and the rule gridded, nothing zipped: one line a tick.
    const plain = join(root, "grid-ticks");
    writeRunsCsv(plain, DEPTH_KEYS, depthRows());
    expect(await main(["plot", plain, "--against-setting", "model"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(plain, "final_eval_clip_top1-vs-model.svg"), "utf8"))).to.deep.equal([["depth-3"], ["depth-8"]]);
  });

  it("on a numeric axis a partner's value is drawn under each number only where the labels fit side by side, and then whole", async () => {
    // Clip lengths 8, 10, 12 and 64, each with its model: "model=depth-5" under 10 would overlap
    // its neighbours' labels, and vega hid the labels 10 and 12 whole. The numbers alone fit.
    const close: [number, string][] = [[8, "depth-3"], [10, "depth-5"], [12, "depth-8"], [64, "depth-16"]];
    const crowded = join(root, "crowded-ticks");
    writeRunsCsv(crowded, ["data.clip_length", "model"], close.flatMap(([clip, model], i) => config(`c${i}`, { "data.clip_length": clip, model: `../models/${model}.yaml` }, "bp", [0.5, 0.6])));
    const io = captureIo();
    expect(await main(["plot", crowded, "--against-setting", "data.clip_length"], io)).to.equal(0);
    expect(xTickLabels(readFileSync(join(crowded, "final_eval_clip_top1-vs-clip_length.svg"), "utf8"))).to.deep.equal(close.map(([clip]) => [String(clip)]));
    // The note still says which model goes with each length.
    expect(io.stderr).to.include("model goes with data.clip_length: depth-3 at 8, depth-5 at 10, depth-8 at 12, depth-16 at 64");
    // Two lengths far apart with a long model name (39 characters): room for it, not cut at 180 pixels.
    const long = "a-very-long-model-name-for-this-example";
    const spaced = join(root, "spaced-ticks");
    writeRunsCsv(spaced, ["data.clip_length", "model"], [[12, long], [40, "depth-8"]].flatMap(([clip, model], i) => config(`s${i}`, { "data.clip_length": clip, model: `../models/${model}.yaml` }, "bp", [0.5, 0.6])));
    expect(await main(["plot", spaced, "--against-setting", "data.clip_length"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(spaced, "final_eval_clip_top1-vs-clip_length.svg"), "utf8"))).to.deep.equal([["12", `model=${long}`], ["40", "model=depth-8"]]);
  });

  it("partners are read from every planned configuration, not the completed ones alone", () => {
    // A grid lr x batch in progress: the runs done so far have one batch size per lr (0.01 with 8,
    // 0.1 with 16), which alone would make the batch size a partner; the planned runs say it is not.
    const rows = [
      ...config("a", { "train.optimizer.lr": 0.01, "train.batch_size": 8 }, "bp", [0.5, 0.6]),
      ...config("b", { "train.optimizer.lr": 0.1, "train.batch_size": 16 }, "bp", [0.7, 0.8]),
      ...config("c", { "train.optimizer.lr": 0.01, "train.batch_size": 16 }, "bp", ["", ""], ["not_started", "not_started"]),
      ...config("d", { "train.optimizer.lr": 0.1, "train.batch_size": 8 }, "bp", ["", ""], ["not_started", "not_started"]),
    ];
    const columns = ["run_id", "config_id", "train.optimizer.lr", "train.batch_size", "seed", "method", "status", "final_eval_clip_top1"];
    const fig = settingFigure(columns, rows as never, "train.optimizer.lr", "final_eval_clip_top1");
    expect(fig.partners).to.deep.equal([]);
    expect(fig.points.map((p) => [p.config, p.x])).to.deep.equal([["batch_size=8", 0.01], ["batch_size=16", 0.1]]);
    // The same completed runs alone: the batch size goes with the lr.
    const done = settingFigure(columns, rows.filter((r) => r.status === "completed") as never, "train.optimizer.lr", "final_eval_clip_top1");
    expect(done.partners).to.deep.equal(["train.batch_size"]);
  });

  it("a partner of many values (a random search's draws) is said in one short note, the values left to the .csv", () => {
    const wds = [0.0009, 0.0008, 0.0007, 0.0006, 0.0005, 0.0004, 0.0003, 0.0002, 0.0001];
    const draws = wds.map((wd, i) => ({ lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009][i], wd }));
    const rows = draws.flatMap((d, i) => config(`r${i}`, { "train.optimizer.lr": d.lr, "train.optimizer.weight_decay": d.wd }, "bp", [0.5 + i / 100]));
    const columns = ["run_id", "config_id", "train.optimizer.lr", "train.optimizer.weight_decay", "seed", "method", "status", "final_eval_clip_top1"];
    const fig = settingFigure(columns, rows as never, "train.optimizer.lr", "final_eval_clip_top1");
    expect(fig.partners).to.deep.equal(["train.optimizer.weight_decay"]);
    expect(fig.notes).to.include("train.optimizer.weight_decay goes with train.optimizer.lr: a value of it at each of the 9 values (the .csv has them; a line is not split by it)");
    // Nor are they drawn under the ticks: nine labels of two lines would crowd the axis.
    expect(fig.tickPartners).to.deep.equal(wds.map(() => []));
    // Eight values are still listed one by one, in the note and under the ticks.
    const eight = settingFigure(columns, rows.slice(0, 8) as never, "train.optimizer.lr", "final_eval_clip_top1");
    expect(eight.notes[0]).to.match(/^train\.optimizer\.weight_decay goes with train\.optimizer\.lr: 0\.0009 at 0\.001, /);
    expect(eight.tickPartners).to.deep.equal(wds.slice(0, 8).map((wd) => [`weight_decay=${wd}`]));
  });

  it("a partner under a tick, and the figure's file, by the short name unless another shown beside it reads the same", () => {
    // Two partners ending in clip_length and one in steps: the two whole, steps short.
    const rows = [
      ...config("a", { model: "../models/depth-3.yaml", "data.clip_length": 12, "eval.clip_length": 24, "train.steps": 100 }, "bp", [0.5]),
      ...config("b", { model: "../models/depth-5.yaml", "data.clip_length": 20, "eval.clip_length": 40, "train.steps": 200 }, "bp", [0.6]),
    ];
    const keys = ["model", "data.clip_length", "eval.clip_length", "train.steps"];
    const columns = ["run_id", "config_id", ...keys, "seed", "method", "status", "final_eval_clip_top1"];
    const fig = settingFigure(columns, rows as never, "model", "final_eval_clip_top1");
    expect(fig.partners).to.deep.equal(["data.clip_length", "eval.clip_length", "train.steps"]);
    expect(fig.tickPartners).to.deep.equal([
      ["data.clip_length=12", "eval.clip_length=24", "steps=100"],
      ["data.clip_length=20", "eval.clip_length=40", "steps=200"],
    ]);
    // A file name among every setting column of runs.csv: clip_length is two columns', steps one's.
    expect(settingFigureName("final_eval_clip_top1", "data.clip_length", columns, "std")).to.equal("final_eval_clip_top1-vs-data.clip_length.svg");
    expect(settingFigureName("final_eval_clip_top1", "train.steps", columns, "ci95")).to.equal("final_eval_clip_top1-vs-steps-ci95.svg");
    expect(settingFigureName("final_eval_clip_top1", "data.clip_length", columns.filter((c) => c !== "eval.clip_length"), "std")).to.equal("final_eval_clip_top1-vs-clip_length.svg");
  });

  it("a zip of the rule with the setting on the x axis keeps a line per rule: the rule is no partner", () => {
    // sweep.zip { train.method: [bp, sideways], train.optimizer.lr: [0.05, 0.0125] }: each lr has
    // one rule, but lines are drawn per rule (its dash), so the note must not say the rule joins them.
    const rows = [
      ...config("b", { "train.method": "bp", "train.optimizer.lr": 0.05 }, "bp", [0.9, 0.8]),
      ...config("s", { "train.method": "sideways", "train.optimizer.lr": 0.0125 }, "sideways", [0.7, 0.6]),
    ];
    const dir = join(root, "zip-rule");
    writeRunsCsv(dir, ["train.method", "train.optimizer.lr"], rows);
    const { columns, rows: csvRows } = readCsv(join(dir, "runs.csv"));
    const fig = settingFigure(columns, csvRows, "train.optimizer.lr", "final_eval_clip_top1");
    expect(fig.partners).to.deep.equal([]);
    expect(fig.notes.join("\n")).not.to.include("goes with");
    expect(fig.points.map((p) => [p.config, p.x])).to.deep.equal([["method=bp", 0.05], ["method=sideways", 0.0125]]);
  });

  it("categories keep the sweep's order, not the alphabet's, and a path shows as its file's stem", () => {
    const rows = [
      ...config("a", { model: "../models/depth-8.yaml" }, "sideways", [0.5, 0.6]),
      ...config("b", { model: "models/depth-3.yaml" }, "sideways", [0.7, 0.8]),
      ...config("c", { model: "/abs/depth-5.yaml" }, "sideways", [0.6, 0.7]),
    ];
    const columns = ["run_id", "config_id", "model", "seed", "method", "status", "final_eval_clip_top1"];
    const fig = settingFigure(columns, rows as never, "model", "final_eval_clip_top1");
    expect(fig.scale).to.equal("categories");
    expect(fig.ticks).to.deep.equal(["depth-8", "depth-3", "depth-5"]);
    // One configuration per category and no other swept setting: a line named by its rule, as the curves name a configuration without swept values.
    expect(fig.points.map((p) => p.config)).to.deep.equal(["sideways", "sideways", "sideways"]);
  });

  it("two model files of one name in different folders are two categories, each path whole, not one", () => {
    const rows = [
      ...config("a", { model: "../models/small/resnet.yaml" }, "bp", [0.5, 0.6]),
      ...config("b", { model: "../models/large/resnet.yaml" }, "bp", [0.8, 0.9]),
      ...config("c", { model: "../models/depth-3.yaml" }, "bp", [0.7, 0.7]),
    ];
    const fig = settingFigure(["run_id", "config_id", "model", "seed", "method", "status", "final_eval_clip_top1"], rows as never, "model", "final_eval_clip_top1");
    expect(fig.ticks).to.deep.equal(["../models/small/resnet.yaml", "../models/large/resnet.yaml", "depth-3"]);
    expect(fig.points.map((p) => p.x)).to.deep.equal(fig.ticks);
    // Each at its own place on the axis.
    expect(new Set(xAxisOf(fig).pos).size).to.equal(3);
  });

  it("a log axis for learning rates (all positive, spanning a factor of 8 or more), a linear one for [1, 2, 4], said in the axis title", async () => {
    expect(numericScale([0.0003, 0.001, 0.003])).to.equal("log");
    expect(numericScale([0.0125, 0.025, 0.05, 0.1])).to.equal("log");
    expect(numericScale([1, 2, 4])).to.equal("linear");
    expect(numericScale([0, 0.1, 1])).to.equal("linear");
    expect(numericScale([-1, 10])).to.equal("linear");
    const lrs = join(root, "lr");
    writeRunsCsv(lrs, ["train.optimizer.lr", "train.method", "train.update_every"], [
      ...config("l1c", { "train.optimizer.lr": 0.0003, "train.method": "sideways", "train.update_every": "clip" }, "sideways", [0.4, 0.5]),
      ...config("l18", { "train.optimizer.lr": 0.0003, "train.method": "sideways", "train.update_every": 8 }, "sideways", [0.3, 0.5]),
      ...config("l3c", { "train.optimizer.lr": 0.003, "train.method": "sideways", "train.update_every": "clip" }, "sideways", [0.6, 0.7]),
      ...config("l38", { "train.optimizer.lr": 0.003, "train.method": "sideways", "train.update_every": 8 }, "sideways", [0.2, 0.1]),
    ]);
    const io = captureIo();
    expect(await main(["plot", lrs, "--against-setting", "train.optimizer.lr"], io), io.stderr).to.equal(0);
    const svg = readFileSync(join(lrs, "final_eval_clip_top1-vs-lr.svg"), "utf8");
    expect(svg).to.include("lr (train.optimizer.lr), log scale");
    const rows = readCsv(join(lrs, "final_eval_clip_top1-vs-lr.csv")).rows;
    // Numbers stay numbers; a line per value of the other settings, labelled as the curves' legend.
    expect(rows.map((r) => [r.x, r.config])).to.deep.equal([[0.0003, "method=sideways, update_every=clip"], [0.0003, "method=sideways, update_every=8"], [0.003, "method=sideways, update_every=clip"], [0.003, "method=sideways, update_every=8"]]);
    const workers = join(root, "workers");
    writeRunsCsv(workers, ["runtime.workers"], [1, 2, 4].flatMap((w) => config(`w${w}`, { "runtime.workers": w }, "sideways", [0.5, 0.6])));
    expect(await main(["plot", workers, "--against-setting", "runtime.workers"], captureIo())).to.equal(0);
    const linear = readFileSync(join(workers, "final_eval_clip_top1-vs-workers.svg"), "utf8");
    expect(linear).to.include("workers (runtime.workers)");
    expect(linear).not.to.include("log scale");
  });

  it("a number on the axis is written in full: batch sizes 8, 16, 32 (vega's own format read 8, 2e+1, 3e+1), learning rates", async () => {
    const dir = join(root, "batch");
    writeRunsCsv(dir, ["train.batch_size"], [8, 16, 32].flatMap((b, i) => config(`b${i}`, { "train.batch_size": b }, "bp", [0.5, 0.6])));
    expect(await main(["plot", dir, "--against-setting", "train.batch_size"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(dir, "final_eval_clip_top1-vs-batch_size.svg"), "utf8"))).to.deep.equal([["8"], ["16"], ["32"]]);
    const lrs = join(root, "lrs");
    writeRunsCsv(lrs, ["train.optimizer.lr"], [0.00625, 0.0125, 0.025, 0.05, 0.1].flatMap((lr, i) => config(`l${i}`, { "train.optimizer.lr": lr }, "bp", [0.5, 0.6])));
    expect(await main(["plot", lrs, "--against-setting", "train.optimizer.lr"], captureIo())).to.equal(0);
    expect(xTickLabels(readFileSync(join(lrs, "final_eval_clip_top1-vs-lr.svg"), "utf8"))).to.deep.equal([["0.00625"], ["0.0125"], ["0.025"], ["0.05"], ["0.1"]]);
  });

  it("the numeric axis ends just past the swept values (not at vega's powers of ten), with every value of runs.csv on it while the sweep runs", () => {
    const lrs = [0.0003, 0.001, 0.003];
    const rows = lrs.flatMap((lr, i) => [...config(`s${i}`, { lr, "train.method": "sideways" }, "sideways", [0.5, 0.6]), ...config(`b${i}`, { lr, "train.method": "bp" }, "bp", [0.6, 0.7])]);
    const fig = settingFigure([...RUN_COLUMNS, "lr", "train.method"], rows as never, "lr", "final_eval_clip_top1");
    expect(fig.scale).to.equal("log");
    const { domain, pos } = xAxisOf(fig);
    // Beyond every point (drawn a little beside its value), within a factor of 1.5 of the end values:
    // vega's rounded ends were 0.0001 and 0.01, leaving the left and right quarters empty.
    expect(domain, "an explicit domain").not.to.equal(undefined);
    expect(domain![0]).to.be.below(Math.min(...pos)).and.above(0.0003 / 1.5);
    expect(domain![1]).to.be.above(Math.max(...pos)).and.below(0.003 * 1.5);
    // Linear: the end values' points are not on the frame.
    const scales = [-2, 0, 2];
    const linear = settingFigure([...RUN_COLUMNS, "scale", "train.method"], scales.flatMap((v, i) => [...config(`s${i}`, { scale: v, "train.method": "sideways" }, "sideways", [0.5, 0.6]), ...config(`b${i}`, { scale: v, "train.method": "bp" }, "bp", [0.6, 0.7])]) as never, "scale", "final_eval_clip_top1");
    const flat = xAxisOf(linear);
    expect(linear.scale).to.equal("linear");
    expect(flat.domain![0]).to.be.below(Math.min(...flat.pos)).and.above(-2.5);
    expect(flat.domain![1]).to.be.above(Math.max(...flat.pos)).and.below(2.5);
    // A sweep in progress (experiments/depth-lr.yaml: 0.0125 and 0.025 done, 0.05 and 0.1 to run):
    // the axis is the sweep's, as its log scale is, and the "no point for" note says what is missing.
    const running = [0.0125, 0.025, 0.05, 0.1].flatMap((lr, i) => config(`r${i}`, { lr }, "sideways", i < 2 ? [0.8, 0.9] : ["", ""], i < 2 ? [] : ["not_started", "not_started"]));
    const partial = settingFigure([...RUN_COLUMNS, "lr"], running as never, "lr", "final_eval_clip_top1");
    expect(partial.points.map((p) => p.x)).to.deep.equal([0.0125, 0.025]);
    expect(partial.scale).to.equal("log");
    expect(partial.ticks).to.deep.equal([0.0125, 0.025, 0.05, 0.1]);
    expect(xAxisOf(partial).domain![1]).to.be.above(0.1);
    expect(partial.notes.join("\n")).to.include("no point for sideways at 0.05 (2 not_started), sideways at 0.1 (2 not_started)");
  });

  it("the subtitle says the lines' points are drawn apart only where two lines share a value", () => {
    const subtitle = (fig: SettingFigure) => (settingSpec(fig) as unknown as { title: { subtitle: string[] } }).title.subtitle.join("\n");
    const { columns, rows } = { columns: [...RUN_COLUMNS, "model", "train.method"], rows: depthRows() };
    expect(subtitle(settingFigure(columns, rows as never, "model", "final_eval_clip_top1"))).to.include("drawn slightly apart");
    // The rule alone swept: a line per rule, each a point at its own value.
    const rules = [...config("b", { "train.method": "bp" }, "bp", [0.5, 0.6]), ...config("s", { "train.method": "sideways" }, "sideways", [0.4, 0.5])];
    expect(subtitle(settingFigure([...RUN_COLUMNS, "train.method"], rules as never, "train.method", "final_eval_clip_top1"))).not.to.include("apart");
  });

  it("a setting with one value: the lines' points drawn apart there, as at any value", () => {
    const rows = [...config("a", { "train.batch_size": 16, "train.method": "bp" }, "bp", [0.5, 0.6]), ...config("b", { "train.batch_size": 16, "train.method": "sideways" }, "sideways", [0.4, 0.5])];
    const fig = settingFigure([...RUN_COLUMNS, "train.batch_size", "train.method"], rows as never, "train.batch_size", "final_eval_clip_top1");
    expect(fig.ticks.map(String)).to.deep.equal(["16"]);
    const { pos } = xAxisOf(fig);
    expect(pos[0]).not.to.equal(pos[1]);
  });

  it("every category's label is on the axis, whole: eight models, an optimizer's mapping", async () => {
    const models = ["depth-3", "depth-5", "depth-8", "resnet-mnist", "vgg-bn-mnist", "vgg-gn-mnist", "quickstart-wide", "bench-8block"];
    const dir = join(root, "models");
    writeRunsCsv(dir, ["model"], models.flatMap((m, i) => config(`m${i}`, { model: `../models/${m}.yaml` }, "sideways", [0.5, 0.6])));
    expect(await main(["plot", dir, "--against-setting", "model"], captureIo())).to.equal(0);
    const shown = shownTexts(readFileSync(join(dir, "final_eval_clip_top1-vs-model.svg"), "utf8"));
    for (const m of models) expect(shown, m).to.include(m);
    const optimizers = [{ kind: "sgd", lr: 0.01, momentum: 0.9 }, { kind: "adam", lr: 0.001 }];
    const opt = join(root, "optimizer");
    writeRunsCsv(opt, ["train.optimizer"], optimizers.flatMap((o, i) => config(`o${i}`, { "train.optimizer": `"${JSON.stringify(o).replace(/"/g, '""')}"` }, "sideways", [0.5, 0.6])));
    expect(await main(["plot", opt, "--against-setting", "train.optimizer"], captureIo())).to.equal(0);
    const labels = shownTexts(readFileSync(join(opt, "final_eval_clip_top1-vs-optimizer.svg"), "utf8"));
    for (const o of optimizers) expect(labels).to.include(JSON.stringify(o));
  });

  it("a long note (a sweep's configurations without a point yet) is wrapped, not one line wider than the figure", () => {
    const rows = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032].flatMap((lr, i) =>
      ["bp", "sideways"].flatMap((m) => config(`${m}${i}`, { lr, "train.method": m }, m, i === 0 ? [0.5, 0.6, 0.7] : ["", "", ""], i === 0 ? [] : ["not_started", "not_started", "not_started"])),
    );
    const fig = settingFigure([...RUN_COLUMNS, "lr", "train.method"], rows as never, "lr", "final_eval_clip_top1");
    const note = fig.notes.find((n) => n.startsWith("no point for"))!;
    expect(note.length).to.be.above(200);
    const subtitle = (settingSpec(fig) as unknown as { title: { subtitle: string[] } }).title.subtitle;
    for (const line of subtitle) expect(line.length, line).to.be.at.most(130);
    // Nothing lost: the note's words, in order, over its lines.
    expect(subtitle.join(" ")).to.include(note);
    // The longest fixed line, the 95% interval's, stays one line.
    const ci95 = (settingSpec(settingFigure([...RUN_COLUMNS, "lr", "train.method"], rows as never, "lr", "final_eval_clip_top1", "ci95")) as unknown as { title: { subtitle: string[] } }).title.subtitle;
    expect(ci95[0]).to.match(/^point: mean over seeds, bar: 95% .*, dot: each seed$/);
  });

  it("runs whose metric is blank are left out and said; --out writes elsewhere", async () => {
    const dir = join(root, "depth");
    writeRunsCsv(dir, DEPTH_KEYS, [...config("c3bp", { model: "../models/depth-3.yaml", "train.method": "bp" }, "bp", [0.9, "", 0.8]), ...config("c3sw", { model: "../models/depth-3.yaml", "train.method": "sideways" }, "sideways", [0.5, 0.6])]);
    const out = join(root, "figures");
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "train.method", "--out", out], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("left out: 1 completed run without a value of final_eval_clip_top1");
    expect(readFileSync(join(out, "final_eval_clip_top1-vs-method.svg"), "utf8")).to.include("left out: 1 completed run without a value of final_eval_clip_top1");
    const rows = readCsv(join(out, "final_eval_clip_top1-vs-method.csv")).rows;
    expect(rows.map((r) => [r.x, r.n, r.mean])).to.deep.equal([["bp", 2, (0.9 + 0.8) / 2], ["sideways", 2, (0.5 + 0.6) / 2]]);
    expect(existsSync(join(dir, "final_eval_clip_top1-vs-method.svg"))).to.equal(false);
  });

  it("configurations that read the same at one value (no config.yaml to set them apart) are each a point by its config id along their whole line, one legend entry each", () => {
    // BP's line has two configurations at 0.01 that runs.csv cannot tell apart, and one at 0.1:
    // which of the two goes on to 0.1 is unknown, so none is joined and none keeps the plain label.
    const rows = [
      ...config("bp-one", { lr: 0.01, "train.method": "bp" }, "bp", [0.5, 0.6]),
      ...config("bp-two", { lr: 0.01, "train.method": "bp" }, "bp", [0.7, 0.8]),
      ...config("bp-three", { lr: 0.1, "train.method": "bp" }, "bp", [0.4, 0.5]),
      ...config("sw-one", { lr: 0.01, "train.method": "sideways" }, "sideways", [0.3, 0.4]),
      ...config("sw-two", { lr: 0.1, "train.method": "sideways" }, "sideways", [0.2, 0.3]),
    ];
    const fig = settingFigure([...RUN_COLUMNS, "lr", "train.method"], rows as never, "lr", "final_eval_clip_top1");
    const expected = (id: string) => (id.startsWith("bp") ? `method=bp [${id.slice(0, 8)}]` : "method=sideways");
    expect(fig.points.map((p) => [p.config_id, p.config])).to.deep.equal(fig.points.map((p) => [p.config_id, expected(p.config_id)]));
    // The legend: Sideways' line once, each BP configuration once, no plain "method=bp" for part of its line.
    const spec = settingSpec(fig) as unknown as { layer: { encoding: { color: { scale: { domain: string[] } } } }[] };
    expect([...spec.layer[2].encoding.color.scale.domain].sort()).to.deep.equal(["method=bp [bp-one]", "method=bp [bp-three]", "method=bp [bp-two]", "method=sideways"]);
    expect(fig.notes).to.include("not joined into a line: method=bp (configurations that read the same at one value of lr, runs without a config.yaml to say how they differ): a point per configuration, by its config id");
    // Without the collision, BP's configurations are one line again, and nothing is said.
    const apart = settingFigure([...RUN_COLUMNS, "lr", "train.method"], rows.filter((r) => r.config_id !== "bp-two") as never, "lr", "final_eval_clip_top1");
    expect(new Set(apart.points.map((p) => p.config))).to.deep.equal(new Set(["method=bp", "method=sideways"]));
    expect(apart.notes.join("\n")).not.to.include("not joined");
  });

  it("a configuration without a value of the setting: no point, said by its line's label, and its line stays one", () => {
    const columns = [...RUN_COLUMNS, "lr", "train.method"];
    const rows = [
      ...config("a", { lr: 0.01, "train.method": "bp" }, "bp", [0.5, 0.6]),
      ...config("b", { lr: 0.1, "train.method": "bp" }, "bp", [0.7, 0.8]),
      // Two configurations of BP's line whose lr cell is blank (not a collision at a value: neither has a place on the line).
      ...config("c", { "train.method": "bp" }, "bp", [0.9, 0.9]),
      ...config("d", { "train.method": "bp" }, "bp", [0.1, 0.2]),
    ];
    const fig = settingFigure(columns, rows as never, "lr", "final_eval_clip_top1");
    expect(fig.points.map((p) => [p.config_id, p.config, p.x])).to.deep.equal([["a", "method=bp", 0.01], ["b", "method=bp", 0.1]]);
    expect(fig.notes).to.include("no point for method=bp: no value of lr in runs.csv");
    // A run that did not complete is no point either, but not for want of a value: not in that note.
    const started = settingFigure(columns, [...rows.slice(0, 4), ...config("e", { "train.method": "sideways" }, "sideways", [""], ["not_started"])] as never, "lr", "final_eval_clip_top1");
    expect(started.notes.join("\n")).not.to.include("no value of lr");
  });

  it("--spread sem: the bar is std / sqrt(n), as worked out here, in the file and the CSV named -sem", async () => {
    const dir = join(root, "depth");
    writeRunsCsv(dir, DEPTH_KEYS, depthRows());
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "model", "--spread", "sem"], io), io.stderr).to.equal(0);
    expect(readFileSync(join(dir, "final_eval_clip_top1-vs-model-sem.svg"), "utf8")).to.include("standard error of the mean (std / sqrt(n))");
    const { rows } = readCsv(join(dir, "final_eval_clip_top1-vs-model-sem.csv"));
    const expected: Record<string, number[]> = { c3bp: [0.9, 0.8, 0.85], c3sw: [0.88, 0.82, 0.86], c8bp: [0.7, 0.75, 0.6], c8sw: [0.5, 0.45] };
    expect(rows.map((r) => r.config_id)).to.deep.equal(Object.keys(expected));
    for (const r of rows) {
      const xs = expected[String(r.config_id)];
      const { mean, std } = sample(xs);
      const sem = std / Math.sqrt(xs.length);
      expect(r.n, String(r.config_id)).to.equal(xs.length);
      expect(r.std as number, String(r.config_id)).to.be.closeTo(std, 1e-12);
      expect(r.sem as number, String(r.config_id)).to.be.closeTo(sem, 1e-12);
      expect(r.lo as number).to.be.closeTo(mean - sem, 1e-12);
      expect(r.hi as number).to.be.closeTo(mean + sem, 1e-12);
    }
  });

  it("a point of one run has no bar, and the figure says so (not a spread of 0)", () => {
    const columns = [...RUN_COLUMNS, "lr"];
    const rows = [...config("a", { lr: 0.01 }, "bp", [0.5, 0.6]), ...config("b", { lr: 0.1 }, "bp", [0.7])];
    const fig = settingFigure(columns, rows as never, "lr", "final_eval_clip_top1");
    expect(fig.points.map((p) => [p.x, p.n, p.lo === p.hi])).to.deep.equal([[0.01, 2, false], [0.1, 1, true]]);
    expect(fig.notes).to.include(`no bar: 1 point of one run (${fig.points[1].config} at 0.1)`);
    expect(settingFigure(columns, rows.slice(0, 2) as never, "lr", "final_eval_clip_top1").notes.join("\n")).not.to.include("no bar");
  });

  it("says what the paper table flags of the drawn runs: evaluation on training clips, warnings, figures evaluated again", async () => {
    const columns = [...RUN_COLUMNS, "lr", "final_eval_loss", "eval_on_train", "warnings"];
    const rows = [
      ...config("a", { lr: 0.01 }, "bp", [0.5, 0.6]).map((r, i) => ({ ...r, eval_on_train: i === 0 ? 1 : 0 })),
      ...config("b", { lr: 0.1 }, "bp", [0.7, 0.8]).map((r, i) => ({ ...r, eval_on_train: 0, warnings: i === 1 ? "the run diverged" : "" })),
      // Not drawn (it did not complete): not counted in either note.
      { ...config("b", { lr: 0.1 }, "bp", [""])[0], run_id: "b-s2", seed: 2, status: "nan_loss", eval_on_train: 1, warnings: "the run diverged" },
    ];
    const notes = settingFigure(columns, rows as never, "lr", "final_eval_clip_top1").notes;
    expect(notes).to.include("evaluated on the training clips, not held-out ones: 1 drawn run (runs.csv's eval_on_train = 1)");
    expect(notes.some((n) => n.startsWith("1 drawn run warned (runs.csv's warnings column says what"))).to.equal(true);
    // The evaluation loss is measured on the same clips; the wall-clock time is no evaluation: no word of them.
    expect(settingFigure(columns, rows as never, "lr", "final_eval_loss").notes.join("\n")).to.include("evaluated on the training clips");
    expect(settingFigure([...columns, "wall_s"], rows.map((r) => ({ ...r, wall_s: 10 })) as never, "lr", "wall_s").notes.join("\n")).not.to.include("training clips");
    // sideways evaluate's runs.csv: the figure says its final_eval_* are evaluated again, with which overrides, as the table does.
    const dir = join(root, "evaluated");
    mkdirSync(dir);
    const header = ["run_id", "config_id", "lr", "seed", "method", "status", "final_eval_clip_top1", "eval_overrides"];
    writeFileSync(join(dir, "runs.csv"), [header.join(","), "a0,a,0.01,0,bp,completed,0.5,data.eval_crops=3", "a1,a,0.01,1,bp,completed,0.6,data.eval_crops=3", "b0,b,0.1,0,bp,completed,0.7,data.eval_crops=3"].join("\n") + "\n");
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "lr"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("evaluated again by sideways evaluate with its config.yaml and overrides: data.eval_crops=3");
  });

  it("reads runs.csv written anew from the run folders, as results table does (a run finished since the sweep last wrote it counts)", async () => {
    const dir = join(root, "lr");
    const runs: [string, number, number, number][] = [["a0", 0.01, 0, 0.5], ["a1", 0.01, 1, 0.7], ["b0", 0.1, 0, 0.2], ["b1", 0.1, 1, 0.4]];
    runs.forEach(([id, lr, seed, top1], i) => writeRun(dir, id, { "train.optimizer.lr": lr, seed }, summary("completed", top1), i, `lr${lr}`));
    // The sweep's last runs.csv, from before b1 finished (its row still not_started).
    writeRunsCsv(dir, ["train.optimizer.lr"], [
      ...runs.slice(0, 3).map(([id, lr, seed, top1]) => ({ run_id: id, config_id: `lr${lr}`, "train.optimizer.lr": lr, seed, method: "bp", status: "completed", final_eval_clip_top1: top1 })),
      { run_id: "b1", config_id: "lr0.1", "train.optimizer.lr": 0.1, seed: 1, method: "bp", status: "not_started" },
    ]);
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "train.optimizer.lr"], io), io.stderr).to.equal(0);
    const rows = readCsv(join(dir, "final_eval_clip_top1-vs-lr.csv")).rows;
    expect(rows.map((r) => [r.x, r.n, r.mean])).to.deep.equal([[0.01, 2, (0.5 + 0.7) / 2], [0.1, 2, (0.2 + 0.4) / 2]]);
    expect(readCsv(join(dir, "runs.csv")).rows.find((r) => r.run_id === "b1")?.status).to.equal("completed");
  });

  it("a setting or metric the run folders' runs.csv would not have is refused before runs.csv is written anew", async () => {
    const dir = join(root, "lr");
    writeRun(dir, "a0", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.5), 0, "lr0.01");
    writeRun(dir, "b0", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.2), 1, "lr0.1");
    writeRunsCsv(dir, ["train.optimizer.lr"], [{ run_id: "a0", config_id: "lr0.01", "train.optimizer.lr": 0.01, seed: 0, method: "bp", status: "not_started" }]);
    const before = readFileSync(join(dir, "runs.csv"), "utf8");
    for (const args of [["--against-setting", "train.batch_size"], ["--against-setting", "train.optimizer.lr", "--metric", "final_eval_clip_top9"]]) {
      const io = captureIo();
      expect(await main(["plot", dir, ...args], io), io.stderr).to.equal(2);
      expect(readFileSync(join(dir, "runs.csv"), "utf8")).to.equal(before);
    }
  });

  describe("bad input: exit 2, naming the option and what was expected", () => {
    const refused = async (args: string[]) => {
      const io = captureIo();
      expect(await main(["plot", ...args], io), io.stderr).to.equal(2);
      return io.stderr;
    };

    it("a setting not swept (the swept keys listed, the one meant suggested), the seed", async () => {
      const dir = join(root, "depth");
      writeRunsCsv(dir, DEPTH_KEYS, depthRows());
      const err = await refused([dir, "--against-setting", "train.optimizer.lr"]);
      expect(err).to.include("--against-setting train.optimizer.lr: not a setting swept in");
      expect(err).to.include("expected one of its swept keys: model, train.method");
      expect(await refused([dir, "--against-setting", "method"])).to.include("(did you mean 'train.method'?)");
      expect(await refused([dir, "--against-setting", "modle"])).to.include("(did you mean 'model'?)");
      expect(await refused([dir, "--against-setting", "seed"])).to.include("--against-setting seed: the points are the mean over seeds");
      expect(readdirSync(dir)).to.deep.equal(["runs.csv"]);
    });

    it("a column runs.csv does not have, or one that is no metric", async () => {
      const dir = join(root, "depth");
      writeRunsCsv(dir, DEPTH_KEYS, depthRows());
      const err = await refused([dir, "--against-setting", "model", "--metric", "eval_clip_top3"]);
      expect(err).to.include("--metric eval_clip_top3: no such column in runs.csv");
      expect(await refused([dir, "--against-setting", "model", "--metric", "status"])).to.include("is not a metric");
      // A metric no completed run has a value of: nothing to draw.
      expect(await refused([dir, "--against-setting", "model", "--metric", "final_eval_video_top1"])).to.include("video-level accuracy is measured on video-folder data only");
      expect(readdirSync(dir)).to.deep.equal(["runs.csv"]);
    });

    it("a folder without runs.csv, one run's folder, a missing folder; --x-axis beside it", async () => {
      const empty = join(root, "empty");
      mkdirSync(empty);
      expect(await refused([empty, "--against-setting", "model"])).to.include(`--against-setting: ${join(empty, "runs.csv")} does not exist`);
      const run = join(root, "exp", "run-1");
      mkdirSync(run, { recursive: true });
      writeFileSync(join(run, "run-meta.json"), "{}");
      expect(await refused([run, "--against-setting", "model"])).to.include("is one run's folder: give its experiment's folder");
      expect(await refused([join(root, "nowhere"), "--against-setting", "model"])).to.include("does not exist (expected an experiment's results folder holding runs.csv");
      const dir = join(root, "depth");
      writeRunsCsv(dir, DEPTH_KEYS, depthRows());
      expect(await refused([dir, "--against-setting", "model", "--x-axis", "wall_s"])).to.include("--x-axis wall_s sets the learning curves' x axis");
    });
  });
});

/** sweep-plan.json as a sweep writes it, with the sweep's structure, or without (as versions before it wrote it). */
function writePlan(dir: string, structure?: { grid: string[]; zip: string[]; random: Record<string, string> }): void {
  // The runs it plans are runs.csv's rows already (no planned run without a folder here).
  writeFileSync(join(dir, "sweep-plan.json"), JSON.stringify({ experiment: "t", runs: [], given: [], ...(structure === undefined ? {} : { structure }) }));
}

describe("plot --against-setting: partners from the sweep's structure in sweep-plan.json", function () {
  this.timeout(60_000);
  let root: string;
  freshFolderEachTest("sideways-plot-structure-", (d) => (root = d));

  const LR = "train.optimizer.lr";
  const WD = "train.optimizer.weight_decay";
  const KIND = "train.optimizer.kind";
  /** sweep.random { n: 6, params: { lr: log_uniform, weight_decay: log_uniform, kind: choice [sgd, adam] } }, two seeds. */
  const DRAWS = [
    { lr: 0.0031, wd: 1.2e-5, kind: "sgd", acc: [0.52, 0.5] },
    { lr: 0.00042, wd: 3.3e-4, kind: "adam", acc: [0.4, 0.44] },
    { lr: 0.047, wd: 7.1e-6, kind: "sgd", acc: [0.3, 0.2] },
    { lr: 0.012, wd: 9.9e-5, kind: "adam", acc: [0.62, 0.66] },
    { lr: 0.0009, wd: 2.0e-5, kind: "sgd", acc: [0.45, 0.47] },
    { lr: 0.02, wd: 5.0e-4, kind: "adam", acc: [0.58, 0.5] },
  ];
  const RANDOM = { grid: [], zip: [], random: { [LR]: "log_uniform", [WD]: "log_uniform", [KIND]: "choice" } };
  const randomSearch = (dir: string) => writeRunsCsv(dir, [LR, WD, KIND], DRAWS.flatMap((d, i) => config(`d${i}`, { [LR]: d.lr, [WD]: d.wd, [KIND]: d.kind }, "bp", d.acc)));

  it("a random search with a choice key: a line per choice through its draws, the other drawn number said with each point", async () => {
    const dir = join(root, "random");
    randomSearch(dir);
    writePlan(dir, RANDOM);
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", LR], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("(2 lines, 6 points;");
    const points = readCsv(join(dir, "final_eval_clip_top1-vs-lr.csv"));
    // The weight decay drawn with each rate is beside it in the CSV; the optimizer names the lines.
    expect(points.columns.slice(0, 6)).to.deep.equal(["config", "config_id", "method", LR, WD, "x"]);
    for (const kind of ["sgd", "adam"]) {
      const line = points.rows.filter((r) => r.config === `kind=${kind}`).sort((a, b) => (a.x as number) - (b.x as number));
      const draws = DRAWS.filter((d) => d.kind === kind).sort((a, b) => a.lr - b.lr);
      expect(line.map((r) => [r.x, r[WD]]), kind).to.deep.equal(draws.map((d) => [d.lr, d.wd]));
      line.forEach((r, i) => expect(r.mean as number).to.be.closeTo(sample(draws[i].acc).mean, 1e-12));
    }
    expect(readFileSync(join(dir, "final_eval_clip_top1-vs-lr.svg"), "utf8")).to.include(`${WD} goes with ${LR}:`);
    // Against the choice itself: nothing goes with it; each draw is its own configuration.
    const { columns, rows } = readCsv(join(dir, "runs.csv"));
    expect(settingFigure(columns, rows, KIND, "final_eval_clip_top1", "std", RANDOM as never).partners).to.deep.equal([]);
  });

  it("an old plan without the structure, or none, keeps runs.csv's inference: every drawn key goes with the rate, one line", async () => {
    const dir = join(root, "old");
    randomSearch(dir);
    writePlan(dir);
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", LR], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("(1 line, 6 points;");
    expect(readCsv(join(dir, "final_eval_clip_top1-vs-lr.csv")).columns.slice(0, 7)).to.deep.equal(["config", "config_id", "method", LR, WD, KIND, "x"]);
    const { columns, rows } = readCsv(join(dir, "runs.csv"));
    expect(settingFigure(columns, rows, LR, "final_eval_clip_top1").partners).to.deep.equal([WD, KIND]);
  });

  it("a small grid where one key happens to fix another among its runs: no partner, a line per value", () => {
    // sweep.grid { lr: [0.01, 0.1], batch_size: [8, 16] }, of whose runs the folder holds two that
    // pair each rate with one batch size: runs.csv alone would call the batch size the rate's partner.
    const rows = [
      ...config("a", { [LR]: 0.01, "train.batch_size": 8 }, "bp", [0.5, 0.6]),
      ...config("b", { [LR]: 0.1, "train.batch_size": 16 }, "bp", [0.7, 0.8]),
    ];
    const columns = ["run_id", "config_id", LR, "train.batch_size", "seed", "method", "status", "final_eval_clip_top1"];
    const grid = { grid: [LR, "train.batch_size"], zip: [], random: {} };
    const fig = settingFigure(columns, rows as never, LR, "final_eval_clip_top1", "std", grid);
    expect(fig.partners).to.deep.equal([]);
    expect(fig.notes.join("\n")).not.to.include("goes with");
    expect(fig.points.map((p) => [p.config, p.x])).to.deep.equal([["batch_size=8", 0.01], ["batch_size=16", 0.1]]);
    expect(settingFigure(columns, rows as never, LR, "final_eval_clip_top1").partners).to.deep.equal(["train.batch_size"]);
  });

  it("a zip's keys are each other's partners by the structure too; a setting the sweep did not set is still inferred", () => {
    // depth-long-clips.yaml's zip (model with data.clip_length), gridded over the rule; and
    // train.steps, which sets two sweeps gathered in the folder apart, paired with the model here.
    const pairs: [string, number, number][] = [["../models/depth-3.yaml", 12, 60], ["../models/depth-8.yaml", 32, 200]];
    const rows = ["bp", "sideways"].flatMap((m) => pairs.flatMap(([model, clip, steps], i) => config(`${m}${i}`, { "train.method": m, model, "data.clip_length": clip, "train.steps": steps }, m, [0.5 + i / 10, 0.6])));
    const columns = ["run_id", "config_id", "train.method", "model", "data.clip_length", "train.steps", "seed", "method", "status", "final_eval_clip_top1"];
    const zip = { grid: ["train.method"], zip: ["model", "data.clip_length"], random: {} };
    expect(settingFigure(columns, rows as never, "model", "final_eval_clip_top1", "std", zip).partners).to.deep.equal(["data.clip_length", "train.steps"]);
    expect(settingFigure(columns, rows as never, "train.method", "final_eval_clip_top1", "std", zip).partners).to.deep.equal([]);
  });
});
