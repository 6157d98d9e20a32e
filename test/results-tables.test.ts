/** runs.csv and the paper table: CSV round trips, mean/std against a hand-computed example. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../src/errors.js";
import { writeJsonAtomic } from "../src/results/atomic-write.js";
import { readCsv } from "../src/results/csv-read.js";
import { csvText } from "../src/results/csv-text.js";
import { EVAL_ON_TRAIN_NOTE, NOT_COMPLETED_NOTE, STD_NOTE, WARNINGS, WARNINGS_NOTE, paperTable, tableCsv, tableLatex, tableMarkdown } from "../src/results/paper-table.js";
import { readSettings } from "../src/results/run-settings.js";
import { ID_COLUMNS, METRIC_COLUMNS, RESULT_COLUMNS, writeRunsCsv } from "../src/results/runs-table.js";
import { defaultTableMetrics, writePaperTables, writeSweepReport } from "../src/results/sweep-report.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
import { summary, writeRun } from "./helpers/run-records.js";

describe("results: CSV and paper table", () => {
  let root: string;
  freshFolderEachTest("sideways-results-", (d) => (root = d));

  it("CSV text parses back to the same values (quotes, commas, newlines, floats, empties)", () => {
    const rows = [
      { a: "plain", b: 0.1 + 0.2, c: null },
      { a: 'with "quotes", and commas', b: -1.5e-12, c: "line\nbreak" },
      { a: "x", b: 123456789.125, c: "" },
    ];
    const back = readCsvFromText(csvText(["a", "b", "c"], rows));
    expect(back).to.deep.equal([
      { a: "plain", b: 0.1 + 0.2, c: null },
      { a: 'with "quotes", and commas', b: -1.5e-12, c: "line\nbreak" },
      { a: "x", b: 123456789.125, c: null },
    ]);
  });

  it("runs.csv: one row per run dir, params as columns, interrupted runs marked", async () => {
    writeRun(root, "r0", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5), 0);
    writeRun(root, "r1", { "train.optimizer.lr": 0.1, seed: 1 }, summary("failed", null, { message: "boom, badly" }), 1);
    writeRun(root, "r2", { "train.optimizer.lr": 0.01, seed: 0 }, null, 2);
    // A retry training now: its last attempt's summary says failed, its live lock (this process) says running.
    writeRun(root, "r3", { "train.optimizer.lr": 0.01, seed: 1 }, summary("failed", null), 3);
    writeFileSync(join(root, "r3.lock"), JSON.stringify({ pid: process.pid, host: hostname() }));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(columns.slice(0, 4)).to.deep.equal(["run_id", "config_id", "train.optimizer.lr", "seed"]);
    expect(rows.map((r) => [r.run_id, r["train.optimizer.lr"], r.seed, r.status])).to.deep.equal([
      ["r0", 0.1, 0, "completed"],
      ["r1", 0.1, 1, "failed"],
      ["r2", 0.01, 0, "interrupted"],
      ["r3", 0.01, 1, "running"],
    ]);
    expect(rows[0].final_eval_clip_top1).to.equal(0.5);
    expect(rows[1].message).to.equal("boom, badly");
    expect(rows[2].wall_s).to.equal(null);
  });

  it("mean, sample std and count per configuration match a hand-computed example", async () => {
    // Config A (lr 0.1): top-1 0.5, 0.7, 0.9 -> mean 0.7, std sqrt((0.04 + 0 + 0.04) / 2) = 0.2, n 3.
    // Config B (lr 0.01): 0.25 once -> mean 0.25, std blank, n 1; its failed run is left out of
    // the mean and said in the last column. Config C (lr 10): both runs diverged -> a row of dashes.
    [0.5, 0.7, 0.9].forEach((v, seed) => writeRun(root, `a${seed}`, { "train.optimizer.lr": 0.1, seed }, summary("completed", v), seed));
    writeRun(root, "b0", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.25), 3);
    writeRun(root, "b1", { "train.optimizer.lr": 0.01, seed: 1 }, summary("failed", 0.99), 4);
    [0, 1].forEach((seed) => writeRun(root, `c${seed}`, { "train.optimizer.lr": 10, seed }, summary("nan_loss", 0.5), 5 + seed));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.metrics).to.deep.equal(["final_eval_clip_top1"]);
    const [a, b, c] = table.rows;
    expect(table.rows.map((r) => r.notCompleted)).to.deep.equal(["", "1 failed", "2 nan_loss"]);
    expect(c.stats.final_eval_clip_top1).to.deep.equal({ mean: null, std: null, n: 0 });
    // Floating-point sums of three values: 1e-12 is far above rounding error (~1e-16) and far below any real difference.
    expect(a.params).to.deep.equal({ "train.optimizer.lr": 0.1 });
    expect(a.stats.final_eval_clip_top1.mean).to.be.closeTo(0.7, 1e-12);
    expect(a.stats.final_eval_clip_top1.std).to.be.closeTo(0.2, 1e-12);
    expect(a.stats.final_eval_clip_top1.n).to.equal(3);
    expect(b.stats.final_eval_clip_top1).to.deep.equal({ mean: 0.25, std: null, n: 1 });

    const csv = readCsvFromText(tableCsv(table));
    expect(csv[1]).to.deep.equal({ "train.optimizer.lr": 0.01, final_eval_clip_top1_mean: 0.25, final_eval_clip_top1_std: null, final_eval_clip_top1_n: 1, not_completed: "1 failed" });
    expect(csv[2]).to.deep.equal({ "train.optimizer.lr": 10, final_eval_clip_top1_mean: null, final_eval_clip_top1_std: null, final_eval_clip_top1_n: 0, not_completed: "2 nan_loss" });
    expect(csv[0].final_eval_clip_top1_std as number).to.be.closeTo(0.2, 1e-12);
    expect(csv[0].not_completed).to.equal(null);
    expect(tableMarkdown(table)).to.include("| 0.1 | 0.700 ± 0.200 (n=3) |  |").and.include("| 0.01 | 0.250 (n=1) | 1 failed |").and.include("| 10 | – | 2 nan_loss |");
    expect(tableLatex(table)).to.include("0.1 & $0.700 \\pm 0.200$ (3) &  \\\\").and.include("\nlr & clip top-1 & not completed \\\\\n").and.include("10 & -- & 2 nan\\_loss \\\\");
    // Which std it is, said with the table: sqrt(0.08 / 2) = 0.2 above is the sample std (the population std would be 0.163).
    expect(tableMarkdown(table)).to.include(`\n${STD_NOTE}\n`).and.include("sample standard deviation (n - 1");
    expect(tableMarkdown(table).trimEnd().split("\n").pop()).to.equal(NOT_COMPLETED_NOTE);
    expect(tableLatex(table)).to.match(/^% needs \\usepackage\{booktabs\}/).and.include("sample standard deviation (n - 1 in the denominator)");
  });

  it("a metric asked for twice, by its name and by its short name, is one column", async () => {
    // `results table --metric final_eval_clip_top1 --metric eval_clip_top1` (the help's alias) drew the same column twice.
    [0.5, 0.7].forEach((v, seed) => writeRun(root, `a${seed}`, { "train.optimizer.lr": 0.1, seed }, summary("completed", v), seed));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["final_eval_clip_top1", "eval_clip_top1", "wall_s", "wall_s"]);
    expect(table.metrics).to.deep.equal(["final_eval_clip_top1", "wall_s"]);
    expect(tableMarkdown(table).split("\n")[0]).to.equal("| train.optimizer.lr | final_eval_clip_top1 | wall_s |");
  });

  it("a completed run with a non-finite metric (an eval loss of inf, a nan) is left out of that metric's mean and n, and still counts for the others", async () => {
    // Config A: three completed runs, eval losses 0.6, inf and nan (runs.csv writes them as inf/nan,
    // and reads them back as numbers); top-1 0.5, 0.7, 0.9. Config B: one completed run, loss -inf.
    [0.5, 0.7, 0.9].forEach((v, seed) => writeRun(root, `a${seed}`, { "train.optimizer.lr": 0.1, seed }, summary("completed", v), seed));
    writeRun(root, "b0", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.25), 3);
    await writeRunsCsv(root);
    const runsCsv = readCsv(join(root, "runs.csv"));
    const loss = new Map([["a1", Infinity], ["a2", NaN], ["b0", -Infinity]]);
    const edited = runsCsv.rows.map((r) => (loss.has(String(r.run_id)) ? { ...r, final_eval_loss: loss.get(String(r.run_id))! } : r));
    const rows = readCsvFromText(csvText(runsCsv.columns, edited));
    expect(rows.map((r) => r.final_eval_loss)).to.deep.equal([0.6, Infinity, NaN, -Infinity]);
    const table = paperTable(runsCsv.columns, rows, ["eval_loss", "eval_clip_top1"]);
    const [a, b] = table.rows;
    // The finite loss alone: its value, no std, n 1 (not a mean of inf or nan over 3 runs).
    expect(a.stats.final_eval_loss).to.deep.equal({ mean: 0.6, std: null, n: 1 });
    expect(b.stats.final_eval_loss).to.deep.equal({ mean: null, std: null, n: 0 });
    // The same runs' top-1 is finite and counts: mean 0.7 over all three (1e-12: rounding of a three-term sum).
    expect(a.stats.final_eval_clip_top1.n).to.equal(3);
    expect(a.stats.final_eval_clip_top1.mean).to.be.closeTo(0.7, 1e-12);
    // Completed runs, not failures: nothing in the not-completed column, and the table shows a dash, not "NaN" or "Infinity".
    expect(table.rows.map((r) => r.notCompleted)).to.deep.equal(["", ""]);
    expect(tableMarkdown(table)).to.include("| 0.1 | 0.600 (n=1) | 0.700 ± 0.200 (n=3) |").and.include("| 0.01 | – | 0.250 (n=1) |");
    expect(tableMarkdown(table)).not.to.match(/NaN|Infinity/);
  });

  it("decimals per metric: seconds with one, rates and step counts whole, the rest with the digits asked for", async () => {
    // wall_s 1.25 and 1.75: mean 1.5, std 0.354; frames_per_s 1000 and 1004: mean 1002, std 2.83.
    writeRun(root, "r0", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5, { wall_s: 1.25, frames_per_s: 1000 }), 0);
    writeRun(root, "r1", { "train.optimizer.lr": 0.1, seed: 1 }, summary("completed", 0.7, { wall_s: 1.75, frames_per_s: 1004 }), 1);
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["wall_s", "frames_per_s", "steps_done", "eval_clip_top1"]);
    expect(tableMarkdown(table, 4)).to.include("| 0.1 | 1.5 ± 0.4 (n=2) | 1002 ± 3 (n=2) | 10 ± 0 (n=2) | 0.6000 ± 0.1414 (n=2) |");
    expect(tableLatex(table, 2)).to.include("0.1 & $1.5 \\pm 0.4$ (2) & $1002 \\pm 3$ (2) & $10 \\pm 0$ (2) & $0.60 \\pm 0.14$ (2)");
  });

  it("a huge value (a diverged loss) is in scientific notation with the digits asked for, in Markdown and LaTeX", async () => {
    // toFixed alone gives "1.043231143876293e+22" from 1e21 on, whatever the digits.
    writeRun(root, "h0", { "train.optimizer.lr": 1e6, seed: 0 }, summary("completed", 0.5, { final_train_loss: 1.0432e22 }), 0);
    writeRun(root, "h1", { "train.optimizer.lr": 1e6, seed: 1 }, summary("completed", 0.5, { final_train_loss: 1.0432e22 + 2e21 }), 1);
    writeRun(root, "s0", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5, { final_train_loss: 123456789.5 }), 2);
    // A mean past the switch with a std below it: the cell reads in one notation.
    writeRun(root, "m0", { "train.optimizer.lr": 10, seed: 0 }, summary("completed", 0.5, { final_train_loss: 1.6e9 }), 3);
    writeRun(root, "m1", { "train.optimizer.lr": 10, seed: 1 }, summary("completed", 0.5, { final_train_loss: 2.4e9 }), 4);
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["final_train_loss"]);
    // mean 1.1432e22, std sqrt(2 * 1e21^2) = 1.414e21; 1.2e8 is below the switch and stays fixed.
    expect(tableMarkdown(table, 2)).to.include("| 1000000 | 1.14e22 ± 1.41e21 (n=2) |").and.include("| 0.1 | 123456789.50 (n=1) |");
    expect(tableLatex(table, 3)).to.include("$1.143 \\times 10^{22} \\pm 1.414 \\times 10^{21}$ (2)");
    // mean 2e9, std sqrt(2 * 4e8^2) = 5.657e8; --digits 1 gives one decimal, as asked.
    expect(tableMarkdown(table, 1)).to.include("| 10 | 2.0e9 ± 5.7e8 (n=2) |");
    // The CSV keeps the full numbers.
    expect(readCsvFromText(tableCsv(table))[0]!.final_train_loss_mean as number).to.be.closeTo(1.1432e22, 1e7);
  });

  it("configurations with the same swept values (two sweeps into one folder) stay apart, told apart by config_id", async () => {
    // Both sweeps swept only the method; they differ in a setting neither swept (config ids c1, c2).
    // c1: top-1 0.2, 0.4 -> mean 0.3, std sqrt(2 * 0.1^2 / 1) = 0.141; c2: 0.8, 1.0 -> mean 0.9, std 0.141.
    // Each is its own row (rows group by config id), but both rows would read just "bp".
    [0.2, 0.4].forEach((v, seed) => writeRun(root, `c1-${seed}`, { "train.method": "bp", seed }, summary("completed", v), seed, "c1aaaaaa"));
    [0.8, 1.0].forEach((v, seed) => writeRun(root, `c2-${seed}`, { "train.method": "bp", seed }, summary("completed", v), seed + 2, "c2bbbbbb"));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["train.method", "config_id"]);
    const md = tableMarkdown(table);
    expect(md).to.include("| bp | c1aaaaaa | 0.300 ± 0.141 (n=2) |").and.include("| bp | c2bbbbbb | 0.900 ± 0.141 (n=2) |");
    // Distinct swept values need no config_id column.
    const other = mkdtempSync(join(tmpdir(), "sideways-results-"));
    try {
      writeRun(other, "a", { "train.method": "bp", seed: 0 }, summary("completed", 0.5), 0, "c1aaaaaa");
      writeRun(other, "b", { "train.method": "sideways", seed: 0 }, summary("completed", 0.5), 1, "c2bbbbbb");
      await writeRunsCsv(other);
      const csv = readCsv(join(other, "runs.csv"));
      expect(paperTable(csv.columns, csv.rows, ["eval_clip_top1"]).paramColumns).to.deep.equal(["train.method"]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("configurations with the same swept values get a column for each setting of their config.yaml that sets them apart, instead of config_id", async () => {
    // Two sweeps of one experiment into one folder, over the method, one of 60 steps and one of 200.
    const config = (steps: number, seed: number) => `# Run: its fully resolved config\nname: t\nseed: ${seed}\ntrain:\n  method: bp\n  steps: ${steps}\n  optimizer: { kind: sgd, lr: 0.1 }\noutput:\n  dir: /elsewhere/${steps}\n`;
    [0.2, 0.4].forEach((v, seed) => writeRun(root, `c1-${seed}`, { "train.method": "bp", seed }, summary("completed", v), seed, "c1aaaaaa"));
    [0.8, 1.0].forEach((v, seed) => writeRun(root, `c2-${seed}`, { "train.method": "bp", seed }, summary("completed", v), seed + 2, "c2bbbbbb"));
    // c1-1 has none (a run that failed before writing it): its configuration's c1-0 speaks for it.
    for (const [id, steps, seed] of [["c1-0", 60, 0], ["c2-0", 200, 0], ["c2-1", 200, 1]] as const) writeFileSync(join(root, id, "config.yaml"), config(steps, seed));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    // The seed and output.dir differ too, but set no configuration apart.
    expect(columns.slice(0, 4)).to.deep.equal(["run_id", "config_id", "train.method", "train.steps"]);
    expect(rows.map((r) => r["train.steps"])).to.deep.equal([60, 60, 200, 200]);
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["train.method", "train.steps"]);
    expect(tableMarkdown(table)).to.include("| bp | 60 | 0.300 ± 0.141 (n=2) |").and.include("| bp | 200 | 0.900 ± 0.141 (n=2) |");
  });

  it("runs.csv: a sweep grown by zip rows lists its runs in the new plan's order, not by the indexes each run had in the plan it ran under", async () => {
    // grid method [bp, sideways] x zip rows T [8, 16]; then rows T 32 and 64 are added: the plan is
    // bp 8, 16, 32, 64, then sideways 8, 16, 32, 64 (indexes 0-7), while the first runs kept
    // their first plan's indexes (sideways 8 and 16 were 2 and 3, as bp 32 and 64 are now).
    const run = (id: string, index: number) => {
      const [method, T] = id.split("-");
      writeRun(root, id, { "train.method": method, "data.clip_length": Number(T), seed: 0 }, summary("completed", 0.5), index);
    };
    const order = ["bp-8", "bp-16", "bp-32", "bp-64", "sideways-8", "sideways-16", "sideways-32", "sideways-64"];
    const firstPlan: Record<string, number> = { "bp-8": 0, "bp-16": 1, "sideways-8": 2, "sideways-16": 3 };
    order.forEach((id, i) => run(id, firstPlan[id] ?? i));
    const entry = (id: string, index: number) => {
      const [method, T] = id.split("-");
      return { run_id: id, config_id: id, config_hash: id, experiment: "t", index, params: { "train.method": method, "data.clip_length": Number(T), seed: 0 }, seed: 0, method };
    };
    writeJsonAtomic(join(root, "sweep-plan.json"), { experiment: "t", runs: order.map(entry), given: order });
    await writeRunsCsv(root);
    expect(readCsv(join(root, "runs.csv")).rows.map((r) => r.run_id)).to.deep.equal(order);
  });

  it("runs.csv: at most four settings that set configurations apart become columns, the first four in config.yaml's order", async () => {
    // Two sweeps over the method that differ in five settings neither swept.
    const config = (v: number, seed: number) => `name: t\nseed: ${seed}\ndata:\n  clip_length: ${4 * v}\n  frame_stride: ${v}\ntrain:\n  method: bp\n  steps: ${60 * v}\n  batch_size: ${2 * v}\n  optimizer: { kind: sgd, lr: ${0.1 * v} }\n`;
    writeRun(root, "c1", { "train.method": "bp", seed: 0 }, summary("completed", 0.2), 0, "c1aaaaaa");
    writeRun(root, "c2", { "train.method": "bp", seed: 0 }, summary("completed", 0.8), 0, "c2bbbbbb");
    writeFileSync(join(root, "c1", "config.yaml"), config(1, 0));
    writeFileSync(join(root, "c2", "config.yaml"), config(2, 0));
    await writeRunsCsv(root);
    const { columns } = readCsv(join(root, "runs.csv"));
    expect(columns.slice(0, columns.indexOf("seed"))).to.deep.equal(["run_id", "config_id", "train.method", "data.clip_length", "data.frame_stride", "train.steps", "train.batch_size"]);
  });

  it("runs.csv: a setting that is null in one configuration's config.yaml and absent from another's (an older version's) sets nothing apart", async () => {
    // The null also must not make the config.yaml unreadable (the columns would fall back to config_id).
    const config = (steps: number, extra: string) => `name: t\nseed: 0\ntrain:\n  method: bp\n  steps: ${steps}\n${extra}`;
    writeRun(root, "c1", { "train.method": "bp", seed: 0 }, summary("completed", 0.2), 0, "c1aaaaaa");
    writeRun(root, "c2", { "train.method": "bp", seed: 0 }, summary("completed", 0.8), 0, "c2bbbbbb");
    writeFileSync(join(root, "c1", "config.yaml"), config(60, "  init_checkpoint: null\n"));
    writeFileSync(join(root, "c2", "config.yaml"), config(200, ""));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(columns.slice(0, columns.indexOf("seed"))).to.deep.equal(["run_id", "config_id", "train.method", "train.steps"]);
    expect(rows.map((r) => r["train.steps"])).to.deep.equal([60, 200]);
  });

  it("runs.csv and the table: a run whose config.yaml lacks train.accumulate or train.label_smoothing has the value it trained with (1, 0), not a blank", async () => {
    // A run made without the keys beside runs that set them (a second sweep into the same folder).
    const config = (train: string, data = "{ kind: shapes, clip_length: 4 }") => `name: t\nseed: 0\ndata: ${data}\ntrain:\n  method: bp\n  steps: 60\n${train}`;
    writeRun(root, "plain", { "train.method": "bp", seed: 0 }, summary("completed", 0.2), 0, "c1aaaaaa");
    writeRun(root, "acc", { "train.method": "bp", seed: 0 }, summary("completed", 0.4), 1, "c2bbbbbb");
    writeRun(root, "ls", { "train.method": "bp", seed: 0 }, summary("completed", 0.6), 2, "c3cccccc");
    writeFileSync(join(root, "plain", "config.yaml"), config(""));
    writeFileSync(join(root, "acc", "config.yaml"), config("  accumulate: 2\n"));
    writeFileSync(join(root, "ls", "config.yaml"), config("  label_smoothing: 0.1\n"));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(columns.slice(0, columns.indexOf("seed"))).to.deep.equal(["run_id", "config_id", "train.method", "train.accumulate", "train.label_smoothing"]);
    expect(rows.map((r) => [r.run_id, r["train.accumulate"], r["train.label_smoothing"]])).to.deep.equal([["plain", 1, 0], ["acc", 2, 0], ["ls", 1, 0.1]]);
    expect(tableMarkdown(paperTable(columns, rows, ["eval_clip_top1"]))).to.include("| bp | 1 | 0 | 0.200 (n=1) |").and.include("| bp | 2 | 0 |");
    // Only where the absence is that value: data.eval_crops is 1 for video folders alone.
    expect(readSettings(join(root, "plain"))?.has("data.eval_crops")).to.equal(false);
    writeFileSync(join(root, "plain", "config.yaml"), config("", "{ kind: video-folder, root: /v, clip_length: 4 }"));
    expect(readSettings(join(root, "plain"))?.get("data.eval_crops")).to.equal(1);
  });

  it("runs.csv: a sweep over model files (config.yaml holds each model inline) has the model column, not columns of the models' layers", async () => {
    const config = (channels: number) => `name: t\nseed: 0\nmodel:\n  name: m\n  layers: [{ type: conv2d, out_channels: ${channels} }]\ntrain: { method: bp }\n`;
    writeRun(root, "a", { model: "models/a.yaml", seed: 0 }, summary("completed", 0.2), 0, "aaaaaaaa");
    writeRun(root, "b", { model: "models/b.yaml", seed: 0 }, summary("completed", 0.8), 1, "bbbbbbbb");
    writeFileSync(join(root, "a", "config.yaml"), config(4));
    writeFileSync(join(root, "b", "config.yaml"), config(8));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(columns.slice(0, columns.indexOf("seed"))).to.deep.equal(["run_id", "config_id", "model"]);
    expect(rows.map((r) => r.model)).to.deep.equal(["models/a.yaml", "models/b.yaml"]);
  });

  it("a run's config.yaml rewritten with the same size, or within the same modification time, is read again (its settings are cached by both)", () => {
    const dir = join(root, "r");
    mkdirSync(dir);
    const file = join(dir, "config.yaml");
    writeFileSync(file, "train: { steps: 60 }\n");
    utimesSync(file, 1_000_000, 1_000_000);
    expect(readSettings(dir)?.get("train.steps")).to.equal(60);
    writeFileSync(file, "train: { steps: 90 }\n");
    utimesSync(file, 2_000_000, 2_000_000);
    expect(readSettings(dir)?.get("train.steps")).to.equal(90);
    // And one rewritten within the same modification time (a file system that keeps whole seconds) with another size.
    writeFileSync(file, "train: { steps: 120 }\n");
    utimesSync(file, 2_000_000, 2_000_000);
    expect(readSettings(dir)?.get("train.steps")).to.equal(120);
  });

  it("two sweeps gathered in one folder: each configuration's rows side by side, in sweep order, not interleaved by index", async () => {
    // Sweep 1 (lr 0.003): bp, sideways x seeds 0, 1 (indexes 0-3). Sweep 2 (lr 0.001): bp, sideways
    // x seed 0 (indexes 0-1). By index alone: bp/.001, bp/.003, bp/.003, sideways/.001, sideways/.003, ...
    const config = (lr: number, method: string, seed: number) => `# Run\nname: t\nseed: ${seed}\ntrain:\n  method: ${method}\n  optimizer: { kind: sgd, lr: ${lr} }\n`;
    const runs = [
      ["s1-bp-0", "bp", 0, 0, 0.003, "c1bp"],
      ["s1-bp-1", "bp", 1, 1, 0.003, "c1bp"],
      ["s1-sw-0", "sideways", 0, 2, 0.003, "c1sw"],
      ["s1-sw-1", "sideways", 1, 3, 0.003, "c1sw"],
      ["s2-bp-0", "bp", 0, 0, 0.001, "c2bp"],
      ["s2-sw-0", "sideways", 0, 1, 0.001, "c2sw"],
    ] as const;
    for (const [id, method, seed, index, lr, configId] of runs) {
      writeRun(root, id, { "train.method": method, seed }, summary("completed", 0.5), index, configId);
      writeFileSync(join(root, id, "config.yaml"), config(lr, method, seed));
    }
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    // Within a method, each configuration whole; the one with the lower index first (sideways: 1
    // before 2), and where the indexes tie (bp: 0 and 0), the lower setting that sets them apart (lr).
    expect(rows.map((r) => r.run_id)).to.deep.equal(["s2-bp-0", "s1-bp-0", "s1-bp-1", "s2-sw-0", "s1-sw-0", "s1-sw-1"]);
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.rows.map((r) => [r.params["train.method"], r.params["train.optimizer.lr"]])).to.deep.equal([
      ["bp", 0.001],
      ["bp", 0.003],
      ["sideways", 0.001],
      ["sideways", 0.003],
    ]);
  });

  it("configurations whose sweep indexes tie go in the order of the settings that set them apart (steps 80, 300, 2000), not of their config ids", async () => {
    // Three sweeps of one bp run each into one folder, at train.steps 300, 80 and 2000: all index 0.
    // Their config ids sort as text a, b, c, which would read 300, 80, 2000.
    for (const [id, steps] of [["a", 300], ["b", 80], ["c", 2000]] as const) {
      writeRun(root, id, { "train.method": "bp", seed: 0 }, summary("completed", 0.5), 0, id);
      writeFileSync(join(root, id, "config.yaml"), `# Run\nname: t\nseed: 0\ntrain:\n  method: bp\n  steps: ${steps}\n`);
    }
    await writeRunsCsv(root);
    const rows = readCsv(join(root, "runs.csv")).rows;
    expect(rows.map((r) => [r.run_id, r["train.steps"]])).to.deep.equal([["b", 80], ["a", 300], ["c", 2000]]);
  });

  it("a run outside the sweep (no swept values) is named by its method and config id, not a blank row", async () => {
    // A sweep over lr (config ids s1, s2) and a `sideways run` with another setting into the same
    // folder (config id x1, params {}): before, its row read "|  | 0.900 (n=1) |".
    writeRun(root, "s1", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5), 0, "s1aaaaaa");
    writeRun(root, "s2", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.6), 1, "s2bbbbbb");
    writeRun(root, "x1", { seed: 0 }, summary("completed", 0.9), 0, "x1cccccc");
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["train.optimizer.lr", "method", "config_id"]);
    expect(tableMarkdown(table)).to.include("|  | bp | x1cccccc | 0.900 (n=1) |").and.include("| 0.1 | bp | s1aaaaaa | 0.500 (n=1) |");
    // A sweep of the method: the outside run's train.method cell is its method, not blank.
    writeRun(root, "s3", { "train.method": "sideways", "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.4), 2, "s3dddddd");
    await writeRunsCsv(root);
    const swept = readCsv(join(root, "runs.csv"));
    const withMethod = paperTable(swept.columns, swept.rows, ["eval_clip_top1"]);
    expect(withMethod.paramColumns).to.deep.equal(["train.optimizer.lr", "train.method", "config_id"]);
    expect(tableMarkdown(withMethod)).to.include("|  | bp | x1cccccc | 0.900 (n=1) |").and.include("| 0.1 | sideways | s3dddddd | 0.400 (n=1) |");
    // Runs of several methods, none sweeping train.method (a folder of single runs): the method is a column, and enough.
    const other = mkdtempSync(join(tmpdir(), "sideways-results-"));
    try {
      writeRun(other, "a", { seed: 0 }, summary("completed", 0.5), 0, "aaaaaaaa");
      writeRun(other, "b", { seed: 0 }, summary("completed", 0.7, { method: "sideways" }), 0, "bbbbbbbb");
      writeJsonAtomic(join(other, "b", "run-meta.json"), { ...JSON.parse(readFileSync(join(other, "b", "run-meta.json"), "utf8")), method: "sideways" });
      await writeRunsCsv(other);
      const csv = readCsv(join(other, "runs.csv"));
      const t = paperTable(csv.columns, csv.rows, ["eval_clip_top1"]);
      expect(t.paramColumns).to.deep.equal(["method"]);
      expect(tableMarkdown(t)).to.include("| bp | 0.500 (n=1) |").and.include("| sideways | 0.700 (n=1) |");
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("runs that warned (clips too short for Sideways): runs.csv's warnings, and the paper table counts them per configuration with a note", async () => {
    const short = "with 1-frame clips and 2 blocks, Sideways never sends a gradient to blocks 0, 1 (they stay at their initial weights)";
    writeRun(root, "a0", { "data.clip_length": 1, seed: 0 }, summary("completed", 0.3, { warnings: [short] }), 0, "aaaaaaaa");
    writeRun(root, "a1", { "data.clip_length": 1, seed: 1 }, summary("completed", 0.4, { warnings: [short, "the run diverged"] }), 1, "aaaaaaaa");
    writeRun(root, "b0", { "data.clip_length": 8, seed: 0 }, summary("completed", 0.9), 2, "bbbbbbbb");
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(rows.map((r) => r.warnings)).to.deep.equal([short, `${short}; the run diverged`, null]);
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["data.clip_length", WARNINGS]);
    expect(table.rows.map((r) => r.params[WARNINGS])).to.deep.equal([2, 0]);
    expect(tableMarkdown(table)).to.include("| 1 | 2 | 0.350 ± 0.071 (n=2) |").and.include(WARNINGS_NOTE);
    expect(tableLatex(table)).to.include(`% ${WARNINGS_NOTE}`);
    // None warned: no column.
    expect(paperTable(columns, rows.filter((r) => r.run_id === "b0"), ["eval_clip_top1"]).paramColumns).to.deep.equal(["data.clip_length"]);
  });

  it("warnings and evaluation on training clips of runs that did not complete add no column; one completed run that warned is enough for one", async () => {
    // Config A: one of its two completed runs warned. Config B: its diverged run warned and evaluated on its
    // training clips, its completed run neither: B's warnings cell is 0, and no row evaluated on training clips.
    writeRun(root, "a0", { "data.clip_length": 1, seed: 0 }, summary("completed", 0.3, { warnings: ["clips too short"] }), 0, "aaaaaaaa");
    writeRun(root, "a1", { "data.clip_length": 1, seed: 1 }, summary("completed", 0.4), 1, "aaaaaaaa");
    writeRun(root, "b0", { "data.clip_length": 8, seed: 0 }, summary("nan_loss", null, { warnings: ["the run diverged"], eval_on_train: true }), 2, "bbbbbbbb");
    writeRun(root, "b1", { "data.clip_length": 8, seed: 1 }, summary("completed", 0.9), 3, "bbbbbbbb");
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(rows.map((r) => [r.run_id, r.eval_on_train, r.warnings])).to.deep.equal([["a0", 0, "clips too short"], ["a1", 0, null], ["b0", 1, "the run diverged"], ["b1", 0, null]]);
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["data.clip_length", WARNINGS]);
    expect(table.rows.map((r) => r.params[WARNINGS])).to.deep.equal([1, 0]);
    // Without A's run that warned: nothing completed warned, so no warnings column (B's diverged run is in not_completed).
    expect(paperTable(columns, rows.filter((r) => r.run_id !== "a0"), ["eval_clip_top1"]).paramColumns).to.deep.equal(["data.clip_length"]);
  });

  it("a swept value that is empty for some configurations (a setting swept over null and a file) is no run outside the sweep", () => {
    // Outside the sweep means every swept cell empty; one empty cell of two is a swept null.
    const columns = ["run_id", "config_id", "train.init_checkpoint", "data.clip_length", "seed", "method", "status", "final_eval_clip_top1"];
    const row = (id: string, config: string, init: string | null, clip: number, v: number) => ({ run_id: id, config_id: config, "train.init_checkpoint": init, "data.clip_length": clip, seed: 0, method: "bp", status: "completed", final_eval_clip_top1: v });
    const rows = [row("a", "aaaaaaaa", null, 8, 0.5), row("b", "bbbbbbbb", "w.safetensors", 8, 0.7), row("c", "cccccccc", null, 16, 0.6)];
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["train.init_checkpoint", "data.clip_length"]);
    expect(tableMarkdown(table)).to.include("|  | 8 | 0.500 (n=1) |").and.include("| w.safetensors | 8 | 0.700 (n=1) |");
  });

  it("Markdown: a | in a value is escaped, and the not_completed column is left-aligned like the settings", () => {
    const columns = ["run_id", "config_id", "data.root", "seed", "method", "status", "final_eval_clip_top1"];
    const rows = [
      { run_id: "a0", config_id: "a", "data.root": "x|y", seed: 0, method: "bp", status: "completed", final_eval_clip_top1: 0.5 },
      { run_id: "a1", config_id: "a", "data.root": "x|y", seed: 1, method: "bp", status: "failed", final_eval_clip_top1: null },
    ];
    const lines = tableMarkdown(paperTable(columns, rows, ["eval_clip_top1"])).split("\n");
    expect(lines.slice(0, 3)).to.deep.equal(["| data.root | final_eval_clip_top1 | not_completed |", "| --- | ---: | --- |", "| x\\|y | 0.500 (n=1) | 1 failed |"]);
  });

  it("LaTeX: a backslash, ~ and ^ in a value are written as text commands, and the not_completed column has its own column type", () => {
    // \\ would end the row, \~ and \^ put accents on the next letter: each compiles, and each reads wrong.
    const columns = ["run_id", "config_id", "data.root", "seed", "method", "status", "final_eval_clip_top1"];
    const row = (id: string, config: string, root: string, status: string) => ({ run_id: id, config_id: config, "data.root": root, seed: 0, method: "bp", status, final_eval_clip_top1: 0.5 });
    const tex = tableLatex(paperTable(columns, [row("a", "a", "c\\d", "completed"), row("b", "b", "~t", "completed"), row("c", "c", "2^3", "failed")], ["eval_clip_top1"]));
    expect(tex).to.include("\\begin{tabular}{lrl}\n");
    expect(tex).to.include("c\\textbackslash{}d & $0.500$ (1) &  \\\\").and.include("\\textasciitilde{}t & $0.500$ (1) &  \\\\").and.include("2\\textasciicircum{}3 & -- & 1 failed \\\\");
  });

  it("runs.csv: a run outside the sweep gets its swept keys' cells from its config.yaml, not blanks", async () => {
    writeRun(root, "s1", { "train.method": "bp", "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5), 0, "s1aaaaaa");
    writeRun(root, "x1", { seed: 5 }, summary("completed", 0.9), 0, "x1cccccc");
    writeFileSync(join(root, "x1", "config.yaml"), "# Run x1\nseed: 5\ntrain: { method: sideways, optimizer: { kind: sgd, lr: 0.05 } }\n");
    await writeRunsCsv(root);
    const { rows } = readCsv(join(root, "runs.csv"));
    const x1 = rows.find((r) => r.run_id === "x1")!;
    expect([x1["train.method"], x1["train.optimizer.lr"], x1.seed]).to.deep.equal(["sideways", 0.05, 5]);
  });

  it("runs evaluated on their training clips say so in runs.csv and in the paper table", async () => {
    // Config A evaluates on held-out clips, config B (npy without eval_clips) on its training clips.
    writeRun(root, "a0", { "data.clips": "a.npy", seed: 0 }, summary("completed", 0.4), 0, "aaaaaaaa");
    writeRun(root, "b0", { "data.clips": "b.npy", seed: 0 }, summary("completed", 0.9, { eval_on_train: true }), 1, "bbbbbbbb");
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    // After every column older versions wrote (scripts cut by position), the video-level accuracy
    // (final, then best: each added after the columns before it), then top-5 (final, then best).
    expect(columns.slice(-9)).to.deep.equal(["eval_on_train", "warnings", "final_eval_video_top1", "best_eval_video_top1", "best_eval_step", "final_eval_clip_top5", "final_eval_video_top5", "best_eval_clip_top5", "best_eval_video_top5"]);
    expect(rows.map((r) => r.eval_on_train)).to.deep.equal([0, 1]);
    const table = paperTable(columns, rows, ["eval_clip_top1"]);
    expect(table.paramColumns).to.deep.equal(["data.clips", "eval_on_train"]);
    const md = tableMarkdown(table);
    expect(md).to.include("| a.npy | 0 | 0.400 (n=1) |").and.include("| b.npy | 1 | 0.900 (n=1) |").and.include(EVAL_ON_TRAIN_NOTE);
    expect(tableLatex(table)).to.include(`% ${EVAL_ON_TRAIN_NOTE}`);
    // Held-out evaluation everywhere: no such column, no note.
    rmSync(join(root, "b0"), { recursive: true });
    await writeRunsCsv(root);
    const held = readCsv(join(root, "runs.csv"));
    const plain = paperTable(held.columns, held.rows, ["eval_clip_top1"]);
    expect(plain.paramColumns).to.deep.equal(["data.clips"]);
    expect(tableMarkdown(plain)).not.to.include("eval_on_train");
  });

  it("results table's digits reach the table files, not only the table it prints", async () => {
    // top-1 0.5 and 0.7: mean 0.6, std 0.141 -> with one decimal 0.6 ± 0.1.
    [0.5, 0.7].forEach((v, seed) => writeRun(root, `a${seed}`, { "train.optimizer.lr": 0.1, seed }, summary("completed", v), seed));
    await writeRunsCsv(root);
    writePaperTables(root, ["eval_clip_top1"], root, 1);
    expect(readFileSync(join(root, "table.md"), "utf8")).to.include("| 0.1 | 0.6 ± 0.1 (n=2) |");
    expect(readFileSync(join(root, "table.tex"), "utf8")).to.include("0.1 & $0.6 \\pm 0.1$ (2)");
  });

  it("the default table's metrics are those of DEFAULT_TABLE_METRICS that runs.csv has (an older runs.csv may lack some)", () => {
    writeFileSync(join(root, "runs.csv"), "run_id,config_id,seed,method,status,final_train_loss,wall_s\nr0,c,0,bp,completed,0.5,1.5\n");
    expect(defaultTableMetrics(root)).to.deep.equal(["final_train_loss", "wall_s"]);
  });

  it("runs.csv's best_eval_video_top1 is the summary's where a run has one (video folders) and blank where it has none", async () => {
    writeRun(root, "a0", { seed: 0 }, summary("completed", 0.5, { final_eval_video_top1: 0.5, best_eval_video_top1: 0.75, best_eval_step: 40 }), 0);
    writeRun(root, "a1", { seed: 1 }, summary("completed", 0.5), 1);
    await writeRunsCsv(root);
    const { rows } = readCsv(join(root, "runs.csv"));
    expect(rows.map((r) => [r.final_eval_video_top1, r.best_eval_video_top1])).to.deep.equal([[0.5, 0.75], [null, null]]);
    // best_eval_step: the summary's, blank for a summary without it (an older version's); never averaged by a table.
    expect(rows.map((r) => r.best_eval_step)).to.deep.equal([40, null]);
    expect(METRIC_COLUMNS).to.not.include("best_eval_step");
  });

  it("runs.csv's top-5 columns are the summary's, blank where it has none (5 classes or fewer, an older version's); results table takes them as metrics", async () => {
    writeRun(root, "a0", { seed: 0 }, summary("completed", 0.5, { final_eval_clip_top5: 0.75, final_eval_video_top5: 1, best_eval_clip_top5: 0.875, best_eval_video_top5: 0.5 }), 0);
    writeRun(root, "a1", { seed: 1 }, summary("completed", 0.3, { final_eval_clip_top5: 0.25, best_eval_clip_top5: 0.375 }), 1);
    writeRun(root, "a2", { seed: 2 }, summary("completed", 0.4), 2);
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(rows.map((r) => [r.final_eval_clip_top5, r.final_eval_video_top5])).to.deep.equal([[0.75, 1], [0.25, null], [null, null]]);
    // The best evaluation's top-5, after them.
    expect(columns.slice(-2)).to.deep.equal(["best_eval_clip_top5", "best_eval_video_top5"]);
    expect(rows.map((r) => [r.best_eval_clip_top5, r.best_eval_video_top5])).to.deep.equal([[0.875, 0.5], [0.375, null], [null, null]]);
    expect(paperTable(columns, rows, ["best_eval_clip_top5"]).rows[0].stats.best_eval_clip_top5).to.deep.include({ mean: 0.625, n: 2 });
    // A blank cell is no run's value: the mean is over the runs that have one.
    const table = paperTable(columns, rows, ["eval_clip_top5", "final_eval_video_top5"]);
    expect(table.metrics).to.deep.equal(["final_eval_clip_top5", "final_eval_video_top5"]);
    expect(table.rows[0].stats.final_eval_clip_top5).to.deep.include({ mean: 0.5, n: 2 });
    expect(table.rows[0].stats.final_eval_video_top5).to.deep.include({ mean: 1, n: 1 });
  });

  it("a top-5 metric no completed run of a row has is a dash there, and the table says why under it (5 classes or fewer, an older version); none where every row has it", async () => {
    // Config A's runs have top-5; config B's (an older version's, or 5 classes) have none; config C's only run failed.
    writeRun(root, "a0", { "train.optimizer.lr": 0.1, seed: 0 }, summary("completed", 0.5, { final_eval_clip_top5: 0.75 }), 0);
    writeRun(root, "b0", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.5), 1);
    writeRun(root, "c0", { "train.optimizer.lr": 1, seed: 0 }, summary("failed", null), 2);
    await writeRunsCsv(root);
    const table = writePaperTables(root, ["eval_clip_top5", "eval_clip_top1"], root, 3, "table-top5");
    // Only B: C's dash is its not_completed column's; top-1 every completed row has.
    const note = "final_eval_clip_top5: – in 1 row with completed runs, as none of those runs has it (runs.csv's cells are blank): top-5 is measured only with more than 5 classes (with 5 or fewer it would be 1), by sideways versions after 0.1.0";
    expect(table.absentNotes).to.deep.equal([note]);
    expect(table.rows.map((r) => r.stats.final_eval_clip_top5.n)).to.deep.equal([1, 0, 0]);
    expect(readFileSync(join(root, "table-top5.md"), "utf8")).to.include(`\n\n${note}\n`);
    expect(readFileSync(join(root, "table-top5.tex"), "utf8")).to.include(`% ${note.replace("–", "--")}\n`);
    // Where no row has it: "every row"; a video metric says where video accuracy is measured.
    const none = writePaperTables(root, ["final_eval_video_top5"], root, 3, "table-video5");
    expect(none.absentNotes).to.have.length(1);
    expect(none.absentNotes[0]).to.match(/^final_eval_video_top5: – in every row with completed runs, as none of those runs has it \(runs\.csv's cells are blank\): video-level accuracy is measured on video-folder data only; top-5 is measured only with more than 5 classes/);
    // A metric every completed row has: no such note.
    expect(writePaperTables(root, ["final_eval_clip_top1"], root, 3, "table-top1").absentNotes).to.deep.equal([]);
    expect(readFileSync(join(root, "table-top1.md"), "utf8")).to.not.include("none of those runs has it");
  });

  it("an older runs.csv without the top-5 columns still makes the default table; asked for, top-5 is an input error naming the metrics there are", async () => {
    // runs.csv as the version before top-5 wrote it (its last column best_eval_step).
    const old = "run_id,config_id,seed,method,status,steps_done,final_train_loss,final_eval_loss,final_eval_clip_top1,final_eval_frame_top1,best_eval_clip_top1,wall_s,frames_per_s,data_wait_share,message,eval_on_train,warnings,final_eval_video_top1,best_eval_video_top1,best_eval_step\n";
    writeFileSync(join(root, "runs.csv"), old + "r0,c,0,bp,completed,4,0.5,0.6,0.75,0.5,0.75,1.5,100,0.1,,0,,,,4\nr1,c,1,bp,completed,4,0.7,0.8,0.25,0.5,0.5,1.5,100,0.1,,0,,,,2\n");
    const metrics = defaultTableMetrics(root);
    expect(metrics).to.deep.equal(["final_eval_clip_top1", "final_eval_frame_top1", "final_train_loss", "frames_per_s", "wall_s"]);
    const table = writePaperTables(root, metrics, root);
    expect(table.rows[0].stats.final_eval_clip_top1).to.deep.include({ mean: 0.5, n: 2 });
    expect(readFileSync(join(root, "table.md"), "utf8")).to.include("0.500 ± 0.354 (n=2)");
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(() => paperTable(columns, rows, ["final_eval_clip_top5"])).to.throw(InputError, /^--metric final_eval_clip_top5: no such column in runs\.csv .*; metrics: steps_done, final_train_loss, final_eval_loss, final_eval_clip_top1,/);
  });

  it("the default table shows video-level top-1 first where a run has one (video folders), and not where none has", async () => {
    writeRun(root, "a0", { seed: 0 }, summary("completed", 0.5, { final_eval_video_top1: 0.75 }), 0);
    writeRun(root, "a1", { seed: 1 }, summary("completed", 0.5), 1);
    await writeRunsCsv(root);
    expect(defaultTableMetrics(root)[0]).to.equal("final_eval_video_top1");
    rmSync(join(root, "a0"), { recursive: true });
    await writeRunsCsv(root);
    expect(defaultTableMetrics(root)).to.not.include("final_eval_video_top1");
  });

  it("a sweep's report: its curves name the runs that did not complete, and a run's broken metrics.csv leaves the earlier table and curves as they were", async () => {
    const metrics = (id: string, text: string) => writeFileSync(join(root, id, "metrics.csv"), text);
    [0.5, 0.7].forEach((v, seed) => writeRun(root, `a${seed}`, { "train.optimizer.lr": 0.1, seed }, summary("completed", v), seed));
    writeRun(root, "b0", { "train.optimizer.lr": 10, seed: 0 }, summary("nan_loss", null), 2);
    for (const id of ["a0", "a1", "b0"]) metrics(id, "step,train_loss\n1,2\n2,1.5\n");
    await writeRunsCsv(root);
    expect(await writeSweepReport(root)).to.include.members(["table.csv", "table.md", "table.tex", "loss.svg", "loss.csv"]);
    expect(readFileSync(join(root, "loss.svg"), "utf8")).to.include("not drawn: 1 run that did not complete (1 nan_loss");
    const files = ["table.csv", "table.md", "table.tex", "loss.svg", "loss.csv"];
    const before = files.map((f) => readFileSync(join(root, f), "utf8"));
    // A new configuration's completed run whose metrics.csv was cut short: its row would change the table.
    writeRun(root, "c0", { "train.optimizer.lr": 0.01, seed: 0 }, summary("completed", 0.9), 3);
    metrics("c0", "step,train_loss\n1,2\n2\n");
    await writeRunsCsv(root);
    let error: unknown;
    await writeSweepReport(root).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(InputError);
    expect(files.map((f) => readFileSync(join(root, f), "utf8"))).to.deep.equal(before);
  });

  it("table.tex compiles with pdflatex, booktabs and the characters LaTeX reserves in names and values", async function () {
    const pdflatex = spawnSync("pdflatex", ["--version"]);
    if (pdflatex.status !== 0) {
      console.log("    (skipped: no pdflatex on PATH; Debian: apt-get install texlive-latex-base texlive-latex-recommended)");
      this.skip();
    }
    // Values a sweep can hold: underscores, %, &, #, $, ~, ^, braces, a backslash; a metric column with underscores.
    const values = ["a_b", "50%", "x&y", "#1", "$5", "~t", "2^3", "{z}", "c\\d"];
    values.forEach((v, seed) => writeRun(root, `v${seed}`, { "data.root": v, seed: 0 }, summary("completed", 0.5 + seed / 100), seed, `cfg${seed}`));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    writeFileSync(join(root, "table.tex"), tableLatex(paperTable(columns, rows, ["eval_clip_top1", "wall_s"])));
    writeFileSync(join(root, "doc.tex"), "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table.tex}\n\\end{document}\n");
    const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", "doc.tex"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stdout.slice(-2000)).to.equal(0);
    expect(existsSync(join(root, "doc.pdf"))).to.equal(true);
  });

  it("an unknown metric is an input error with a suggestion", async () => {
    writeRun(root, "a0", { seed: 0 }, summary("completed", 0.5));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(() => paperTable(columns, rows, ["eval_clip_top"])).to.throw(/no such column.*did you mean 'final_eval_clip_top1'/);
    // Every word of the name in a metric's: each such metric is suggested.
    expect(() => paperTable(columns, rows, ["eval_top1"])).to.throw(InputError, /did you mean 'final_eval_clip_top1' or 'final_eval_frame_top1' or 'best_eval_clip_top1' or 'final_eval_video_top1' or 'best_eval_video_top1'\?/);
  });

  it("an unknown metric's hint: each metric with every word of the name, even one alone; a name of no words suggests nothing", () => {
    const columns = [...ID_COLUMNS, ...RESULT_COLUMNS];
    const hint = (name: string) => {
      try {
        paperTable(columns, [], [name]);
      } catch (e) {
        return (e as Error).message.split("; metrics:")[0];
      }
      throw new Error(`${name} was taken`);
    };
    expect(hint("per_s")).to.equal("--metric per_s: no such column in runs.csv (did you mean 'frames_per_s'?)");
    // A stray underscore is no word of its own.
    expect(hint("eval_top1_")).to.equal("--metric eval_top1_: no such column in runs.csv (did you mean 'final_eval_clip_top1' or 'final_eval_frame_top1' or 'best_eval_clip_top1' or 'final_eval_video_top1' or 'best_eval_video_top1'?)");
    expect(hint("_")).to.equal("--metric _: no such column in runs.csv");
  });

  it("a runs.csv column that is no metric (the method, the seed, a swept setting, the status) is an input error listing the metrics", async () => {
    writeRun(root, "a0", { seed: 0, "train.optimizer.lr": 0.1 }, summary("completed", 0.5));
    await writeRunsCsv(root);
    const { columns, rows } = readCsv(join(root, "runs.csv"));
    expect(columns).to.include("train.optimizer.lr");
    for (const column of ["method", "seed", "status", "message", "eval_on_train", "train.optimizer.lr", "run_id"]) {
      expect(() => paperTable(columns, rows, [column]), column).to.throw(InputError, new RegExp(`^--metric ${column.replace(/\./g, "\\.")}: that runs.csv column is not a metric .*; metrics: steps_done, final_train_loss`));
    }
  });
});

/** The rows of a CSV text, read back as the results commands read their files. */
function readCsvFromText(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "sideways-csv-text-"));
  try {
    writeFileSync(join(dir, "t.csv"), text);
    return readCsv(join(dir, "t.csv")).rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
