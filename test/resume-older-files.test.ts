/**
 * A run started by an older version and resumed by this one: its eval.csv and metrics.csv lack the
 * columns added since at their end (eval.csv's eval_clip_top5). The resumed attempt widens them
 * (src/results/csv-append.ts), so its rows keep those columns, the earlier rows stay as they were
 * with empty cells there, and summary.json, the table and the plots read them.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readCsv } from "../src/results/csv-read.js";
import { placeSingleRun, runOne } from "../src/cli/run-one.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { requestStop } from "../src/train/stop-signals.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
import { fourBlockSpec } from "./helpers/tiny-models.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));

/** The file without its last `n` columns, as a version that did not log them wrote it. */
function dropLastColumns(path: string, n: number): string {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0);
  const text = lines.map((l) => l.split(",").slice(0, -n).join(",") + "\n").join("");
  writeFileSync(path, text);
  return text;
}

describe("a run resumed from an older version's files", function () {
  this.timeout(120_000);
  let dir = "";
  freshFolderEachTest("sideways-older-files-", (d) => (dir = d));
  const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };
  /** A reporter that asks for a stop once `step` is done: the run ends interrupted after it, with a resume checkpoint. */
  const stoppingAt = (step: number): ProgressReporter => ({ ...silent, stepDone: (row: StepMetrics) => (row.step === step ? requestStop("sweep-gone") : undefined) });

  it("eval.csv and metrics.csv lacking their last columns are widened: new rows carry them, old rows kept with empty cells; summary.json, results table and plot read them", async () => {
    // Six classes, so that top-5 is measured.
    const layers = fourBlockSpec.layers.map((l, i) => (i === fourBlockSpec.layers.length - 1 ? { ...l, out_features: 6 } : l));
    const file = join(dir, "older.yaml");
    writeFileSync(
      file,
      stringify({
        name: "older",
        model: { ...fourBlockSpec, classes: 6, layers },
        data: { kind: "shapes", clip_length: 2 },
        train: { method: "bp", batch_size: 4, steps: 8, optimizer: { kind: "sgd", lr: 0.1 } },
        eval: { every: 2, clips: 16 },
        output: { dir: join(dir, "older") },
      }),
    );
    // As `sideways run` runs it (run-meta.json, resumed from the checkpoint an interrupted attempt left).
    const exp = loadExperiment(file, []);
    const place = placeSingleRun(exp);
    const runDir = place.runDir;
    const attempt = async (progress: ProgressReporter) => {
      const outcome = await runOne(exp, place, progress, false);
      expect(outcome.skipped).to.equal(false);
      return outcome.summary!;
    };
    // The older version's attempt: steps 1-4, evaluated at 2 and 4, written without the columns added since.
    expect((await attempt(stoppingAt(4))).status).to.equal("interrupted");
    const evalPath = join(runDir, "eval.csv");
    const metricsPath = join(runDir, "metrics.csv");
    expect(readCsv(evalPath).columns.at(-1)).to.equal("eval_clip_top5");
    const oldEval = dropLastColumns(evalPath, 1);
    const oldMetrics = dropLastColumns(metricsPath, 1);
    const metricColumns = readCsv(metricsPath).columns;

    // This version's attempt: steps 5 and 6, evaluated at 6.
    expect((await attempt(stoppingAt(6))).steps_done).to.equal(6);
    const evalCsv = readCsv(evalPath);
    expect(evalCsv.columns.at(-1)).to.equal("eval_clip_top5");
    expect(evalCsv.rows.map((r) => [r.step, r.eval_clip_top5 === null])).to.deep.equal([[2, true], [4, true], [6, false]]);
    expect(evalCsv.rows[2]!.eval_clip_top5).to.be.a("number").within(evalCsv.rows[2]!.eval_clip_top1 as number, 1);
    // The old rows as they were, with an empty cell added.
    const evalLines = readFileSync(evalPath, "utf8").split("\n");
    expect(evalLines.slice(1, 3).map((l) => l + "\n").join("")).to.equal(oldEval.split("\n").slice(1, 3).map((l) => l + ",\n").join(""));
    const metricsCsv = readCsv(metricsPath);
    expect(metricsCsv.columns.length).to.equal(metricColumns.length + 1);
    const lastMetric = metricsCsv.columns.at(-1)!;
    expect(metricsCsv.rows.map((r) => [r.step, typeof r[lastMetric]])).to.deep.equal([[1, "object"], [2, "object"], [3, "object"], [4, "object"], [5, "number"], [6, "number"]]);
    expect(readFileSync(metricsPath, "utf8").split("\n").slice(1, 5).join("\n")).to.equal(oldMetrics.split("\n").slice(1, 5).map((l) => l + ",").join("\n"));

    // A third attempt that logs no evaluation of its own replays eval.csv: the top-5 of step 6 stays in summary.json.
    expect((await attempt(stoppingAt(7))).steps_done).to.equal(7);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect(summary.final_eval_clip_top5).to.equal(evalCsv.rows[2]!.eval_clip_top5);

    // The last attempt completes the run; the table and the plot read the widened files.
    expect((await attempt(silent)).status).to.equal("completed");
    const final = readCsv(evalPath);
    expect(final.rows.map((r) => r.step)).to.deep.equal([2, 4, 6, 8]);
    const collect = spawnSync(process.execPath, [cli, "results", "collect", join(dir, "older")], { encoding: "utf8", timeout: 60_000 });
    expect(collect.status, collect.stderr).to.equal(0);
    const table = spawnSync(process.execPath, [cli, "results", "table", join(dir, "older"), "--metric", "eval_clip_top5"], { encoding: "utf8", timeout: 60_000 });
    expect(table.status, table.stderr).to.equal(0);
    const tableRows = readCsv(join(dir, "older", "table-eval_clip_top5.csv")).rows;
    expect(tableRows.map((r) => [r.final_eval_clip_top5_mean, r.final_eval_clip_top5_n])).to.deep.equal([[final.rows[3]!.eval_clip_top5, 1]]);
    const plot = spawnSync(process.execPath, [cli, "plot", join(dir, "older"), "--metric", "eval_clip_top5", "--metric", lastMetric], { encoding: "utf8", timeout: 60_000 });
    expect(plot.status, plot.stderr).to.equal(0);
    const points = readCsv(join(dir, "older", "eval_clip_top5.csv")).rows;
    // The steps evaluated by this version only: the older rows' empty cells are no points.
    expect(points.map((p) => [p.step, p.mean])).to.deep.equal([[6, final.rows[2]!.eval_clip_top5], [8, final.rows[3]!.eval_clip_top5]]);
  });
});
