/**
 * The paper table for pasting into a paper: the LaTeX headers in words (runs.csv's names in a
 * comment), `results table --percent` and `--bold-best`; without those options the table is the
 * one test/fixtures/tables/ holds, written before they existed.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { readCsv, type CsvRow } from "../src/results/csv-read.js";
import { metricLabel } from "../src/results/metric-label.js";
import { BOLD_BEST_NOTE, PERCENT_NOTE, paperTable, tableLatex, tableMarkdown } from "../src/results/paper-table.js";
import { METRIC_COLUMNS } from "../src/results/runs-table.js";
import { settingHeaders } from "../src/results/table-headers.js";
import { captureIo } from "./helpers/capture-io.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

const FIXTURE = resolve("test/fixtures/tables");
const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

/** `results table DIR ...args` with the fixture's runs.csv in DIR; its exit status. */
async function table(dir: string, ...args: string[]): Promise<number> {
  const io = captureIo();
  const status = await main(["results", "table", dir, ...args], io);
  expect(status, io.stderr).to.equal(0);
  return status;
}

/** A Markdown table's body rows as cells (the header row and the |---| row left out). */
const mdRows = (md: string) =>
  md
    .split("\n")
    .filter((l) => l.startsWith("| ") && !/^\|[-: |]+\|$/.test(l))
    .slice(1)
    .map((l) => l.slice(2, -2).split(" | "));

/** Each configuration's mean of `metric` over its completed runs, straight from runs.csv (not the table code's meanStd). */
function meansByConfig(rows: readonly CsvRow[], metric: string): Map<string, number> {
  const sums = new Map<string, [number, number]>();
  for (const r of rows) {
    if (r.status !== "completed" || typeof r[metric] !== "number") continue;
    const [s, n] = sums.get(String(r.config_id)) ?? [0, 0];
    sums.set(String(r.config_id), [s + (r[metric] as number), n + 1]);
  }
  return new Map([...sums].map(([id, [s, n]]) => [id, s / n]));
}

describe("paper table: readable LaTeX headers, --percent, --bold-best", () => {
  let dir: string;
  freshFolderEachTest("sideways-paper-style-", (d) => {
    dir = d;
    copyFileSync(join(FIXTURE, "runs.csv"), join(dir, "runs.csv"));
  });

  it("without the new options, table.md and table.csv are the fixture's byte for byte, and table.tex differs only in its header row and the line naming the columns", async () => {
    await table(dir);
    await table(dir, "--metric", "eval_clip_top1", "--metric", "eval_loss", "--against", "train.method=bp");
    for (const f of ["table.md", "table.csv"]) expect(read(dir, f), f).to.equal(read(FIXTURE, f));
    expect(read(dir, "table-eval_clip_top1-eval_loss-vs-train.method_bp.md")).to.equal(read(FIXTURE, "table-vs-bp.md"));
    // The .tex's lines but its header row (the one after \toprule) and the comment naming the columns.
    const texBody = (text: string) => text.split("\n").filter((l, i, all) => all[i - 1] !== "\\toprule" && !l.startsWith("% columns as runs.csv names them:"));
    expect(texBody(read(dir, "table.tex"))).to.deep.equal(texBody(read(FIXTURE, "table.tex")));
    expect(texBody(read(dir, "table-eval_clip_top1-eval_loss-vs-train.method_bp.tex"))).to.deep.equal(texBody(read(FIXTURE, "table-vs-bp.tex")));
  });

  it("LaTeX headers: a setting by its key's last part, a metric as the figures say it; runs.csv's names in a comment", async () => {
    await table(dir);
    const tex = read(dir, "table.tex");
    expect(tex).to.include("\n\\toprule\nmethod & lr & clip top-1 & frame top-1 & train loss & frames/s & wall time (s) & not completed \\\\\n\\midrule\n");
    expect(tex).to.include(
      "\n% columns as runs.csv names them: method = train.method; lr = train.optimizer.lr; clip top-1 = final_eval_clip_top1; frame top-1 = final_eval_frame_top1; train loss = final_train_loss; frames/s = frames_per_s; wall time (s) = wall_s; not completed = not_completed\n",
    );
    // The Markdown table keeps runs.csv's names (docs/figures/*-table.md are copies of it).
    expect(read(dir, "table.md").split("\n")[0]).to.equal("| train.method | train.optimizer.lr | final_eval_clip_top1 | final_eval_frame_top1 | final_train_loss | frames_per_s | wall_s | not_completed |");
  });

  it("every metric has words of its own, none the same as another's; two settings with the same last part keep their whole keys", () => {
    const labels = METRIC_COLUMNS.map(metricLabel);
    expect(labels.filter((l, i) => METRIC_COLUMNS[i] === l)).to.deep.equal([]);
    expect(new Set(labels).size).to.equal(labels.length);
    expect(metricLabel("best_eval_video_top5")).to.equal("best video top-5");
    expect(metricLabel("final_eval_loss")).to.equal("eval loss");
    expect(settingHeaders(["model.x.lr", "train.optimizer.lr", "data.clip_length", "model.layers.3.out_channels", "config_id"])).to.deep.equal([
      "model.x.lr",
      "train.optimizer.lr",
      "clip length",
      "layers.3.out channels",
      "config",
    ]);
  });

  it("LaTeX headers that would read alike (a swept train.steps and the metric steps_done, both 'steps') are runs.csv's names", () => {
    const columns = ["run_id", "config_id", "train.steps", "seed", "method", "status", "steps_done", "final_eval_clip_top1"];
    const run = (config: string, steps: number): CsvRow => ({ run_id: config, config_id: config, "train.steps": steps, seed: 0, method: "bp", status: "completed", steps_done: steps, final_eval_clip_top1: 0.5 });
    const tex = tableLatex(paperTable(columns, [run("a", 100), run("b", 200)], ["steps_done", "final_eval_clip_top1"]), 3);
    const header = tex.split("\n")[tex.split("\n").indexOf("\\toprule") + 1];
    expect(header).to.equal("train.steps & steps\\_done & clip top-1 \\\\");
    expect(tex).to.include("% columns as runs.csv names them: clip top-1 = final_eval_clip_top1\n");
  });

  it("--percent: each accuracy cell is 100 x the table.csv's mean and std with two decimals fewer (the same precision); losses, the CSV and the sweep's table stay as they are", async () => {
    await table(dir);
    await table(dir, "--metric", "eval_clip_top1", "--metric", "eval_loss");
    await table(dir, "--metric", "eval_clip_top1", "--metric", "eval_loss", "--percent");
    await table(dir, "--percent");
    const base = "table-eval_clip_top1-eval_loss";
    expect(readdirSync(dir).filter((f) => f.startsWith(`${base}-percent`)).sort()).to.deep.equal(["csv", "md", "tex"].map((x) => `${base}-percent.${x}`));
    expect(read(dir, `${base}-percent.csv`)).to.equal(read(dir, `${base}.csv`));
    expect(read(dir, "table.md")).to.equal(read(FIXTURE, "table.md"));
    const plain = mdRows(read(dir, `${base}.md`));
    const percent = mdRows(read(dir, `${base}-percent.md`));
    // The expected cells from table.csv's unrounded mean and std (meanStd's, over the same runs.csv).
    const stats = readCsv(join(dir, `${base}.csv`)).rows;
    expect(percent).to.have.length(stats.length);
    stats.forEach((s, i) => {
      const [mean, std, n] = [s.final_eval_clip_top1_mean, s.final_eval_clip_top1_std, s.final_eval_clip_top1_n] as number[];
      expect(percent[i][2]).to.equal(`${(mean * 100).toFixed(1)} ± ${(std * 100).toFixed(1)} (n=${n})`);
      // And the plain cell's rounded mean, x 100, is within the two roundings (0.0005 x 100 and 0.05) of it.
      expect(Number(percent[i][2].split(" ")[0])).to.be.closeTo(Number(plain[i][2].split(" ")[0]) * 100, 0.1 + 1e-9);
      expect(percent[i][3], "eval loss").to.equal(plain[i][3]);
    });
    const md = read(dir, `${base}-percent.md`);
    expect(md.split("\n")[0]).to.include("| final_eval_clip_top1 (%) | final_eval_loss |");
    expect(md).to.include(`\n${PERCENT_NOTE}\n`);
    const tex = read(dir, `${base}-percent.tex`);
    expect(tex).to.include("method & lr & clip top-1 (\\%) & eval loss & not completed \\\\");
    expect(tex).to.include(`$${percent[0][2].replace(" ± ", " \\pm ").replace(/ \(n=(\d+)\)$/, "$ ($1)")}`);
    // --digits 4: two decimals of a percent, 77.10; --digits 2: whole percents, 77.
    await table(dir, "--metric", "eval_clip_top1", "--percent", "--digits", "4");
    expect(mdRows(read(dir, "table-eval_clip_top1-percent.md"))[0][2]).to.match(/^\d+\.\d\d ± \d+\.\d\d \(n=3\)$/);
    await table(dir, "--metric", "eval_clip_top1", "--percent", "--digits", "2");
    expect(mdRows(read(dir, "table-eval_clip_top1-percent.md"))[0][2]).to.match(/^\d+ ± \d+ \(n=3\)$/);
  });

  it("--bold-best: the highest accuracy's row and the lowest loss's, found from runs.csv; no bold where a metric has no better direction", async () => {
    await table(dir, "--metric", "eval_clip_top1", "--metric", "eval_loss", "--metric", "wall_s", "--bold-best");
    const runs = readCsv(join(dir, "runs.csv")).rows;
    const pick = (metric: string, better: (a: number, b: number) => boolean) => [...meansByConfig(runs, metric)].reduce((a, b) => (better(b[1], a[1]) ? b : a))[0];
    const top1 = pick("final_eval_clip_top1", (a, b) => a > b);
    const loss = pick("final_eval_loss", (a, b) => a < b);
    // The fixture's best accuracy and best loss are in different rows: both directions are tested.
    expect(top1).to.not.equal(loss);
    const order = [...new Set(runs.map((r) => String(r.config_id)))];
    const base = "table-eval_clip_top1-eval_loss-wall_s-bold";
    const md = mdRows(read(dir, `${base}.md`));
    const boldMd = (col: number) => order.filter((_, i) => md[i][col].startsWith("**"));
    expect(boldMd(2), "clip top-1").to.deep.equal([top1]);
    expect(boldMd(3), "eval loss").to.deep.equal([loss]);
    expect(boldMd(4), "wall_s").to.deep.equal([]);
    expect(md[order.indexOf(top1)][2]).to.match(/^\*\*0\.\d{3} ± 0\.\d{3}\*\* \(n=3\)$/);
    const texRows = read(dir, `${base}.tex`).split("\n").filter((l) => l.endsWith(" \\\\") && /^(bp|sideways) /.test(l));
    const boldTex = (col: number) => order.filter((_, i) => texRows[i].split(" & ")[col].startsWith("{\\boldmath$"));
    expect(boldTex(2)).to.deep.equal([top1]);
    expect(boldTex(3)).to.deep.equal([loss]);
    expect(read(dir, `${base}.tex`)).to.include(`% ${BOLD_BEST_NOTE}\n`);
    expect(read(dir, `${base}.md`)).to.include(`\n${BOLD_BEST_NOTE}\n`);
  });

  it("--bold-best: means that round alike are all bold; one row with a mean is best of nothing", () => {
    const columns = ["run_id", "config_id", "seed", "method", "status", "final_eval_clip_top1"];
    const run = (config: string, v: number): CsvRow => ({ run_id: config, config_id: config, seed: 0, method: "bp", status: "completed", final_eval_clip_top1: v });
    // 0.7004 and 0.6996 both show as 0.700; 0.5 is below.
    const tied = tableMarkdown(paperTable(columns, [run("a", 0.7004), run("b", 0.6996), run("c", 0.5)], ["final_eval_clip_top1"]), 3, { boldBest: true });
    expect(mdRows(tied).map((r) => r[1])).to.deep.equal(["**0.700** (n=1)", "**0.700** (n=1)", "0.500 (n=1)"]);
    const alone = tableLatex(paperTable(columns, [run("a", 0.7)], ["final_eval_clip_top1"]), 3, { boldBest: true });
    expect(alone).to.not.include("\\boldmath");
    // Nothing bold: no note saying what bold means.
    expect(alone).to.not.include(BOLD_BEST_NOTE);
    expect(tied).to.include(BOLD_BEST_NOTE);
  });

  it("the LaTeX table with --percent, --bold-best and --against compiles with pdflatex and booktabs alone", async function () {
    if (spawnSync("pdflatex", ["--version"]).status !== 0) {
      console.log("    (skipped: no pdflatex on PATH; Debian: apt-get install texlive-latex-base texlive-latex-recommended)");
      this.skip();
    }
    await table(dir, "--metric", "eval_clip_top1", "--metric", "eval_loss", "--percent", "--bold-best", "--against", "train.method=bp");
    const name = "table-eval_clip_top1-eval_loss-vs-train.method_bp-percent-bold.tex";
    // A difference of percentages is in percentage points; the note under the table says so.
    expect(read(dir, name)).to.include("clip top-1 (\\%) & eval loss & $\\Delta$ clip top-1 (pp) &").and.include("{\\boldmath$");
    expect(read(dir, name)).to.include(`% ${PERCENT_NOTE}; their Δ in percentage points (pp)\n`);
    writeFileSync(join(dir, "doc.tex"), `\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{${name}}\n\\end{document}\n`);
    const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", "doc.tex"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stdout.slice(-2000)).to.equal(0);
  });
});
