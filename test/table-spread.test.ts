/** The paper table's ± other than the std (`results table --spread`): standard error and a 95% confidence interval. */
import { expect } from "chai";
import { SPREADS, paperTable, spreadNote, spreadOf, tableCsv, tableLatex, tableMarkdown, type Spread } from "../src/results/paper-table.js";
import type { CsvRow } from "../src/results/csv-read.js";

const COLUMNS = ["run_id", "config_id", "seed", "method", "status", "final_eval_clip_top1"];
const runs = (values: number[], config = "a"): CsvRow[] => values.map((v, seed) => ({ run_id: `${config}${seed}`, config_id: config, seed, method: "bp", status: "completed", final_eval_clip_top1: v }));

describe("paper table: --spread", () => {
  it("ci95's half-width uses Student's t(0.975, n - 1), as published tables give it", () => {
    // t(0.975, df) from a printed table (3 decimals, so within 5e-4): the independent reference.
    const published: [number, number][] = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [9, 2.262], [29, 2.045]];
    for (const [df, t] of published) {
      const n = df + 1;
      // std 1: the half-width is t / sqrt(n), the sem 1 / sqrt(n).
      const stats = { mean: 0, std: 1, n };
      expect(spreadOf(stats, "ci95")! * Math.sqrt(n), `df ${df}`).to.be.closeTo(t, 5e-4);
      expect(spreadOf(stats, "sem")!, `n ${n}`).to.equal(1 / Math.sqrt(n));
      expect(spreadOf(stats, "std")).to.equal(1);
    }
    // One run: no spread of any kind, as the std is blank.
    for (const spread of SPREADS) expect(spreadOf({ mean: 0.5, std: null, n: 1 }, spread)).to.equal(null);
  });

  it("the cells, CSV and notes of each spread: three seeds 0.5, 0.6, 0.7 (std 0.1)", () => {
    const expected: Record<Spread, string> = { std: "0.600 ± 0.100 (n=3)", sem: "0.600 ± 0.058 (n=3)", ci95: "0.600 ± 0.248 (n=3)" };
    for (const spread of SPREADS) {
      const table = paperTable(COLUMNS, [...runs([0.5, 0.6, 0.7]), ...runs([0.4], "b")], ["final_eval_clip_top1"], spread);
      const md = tableMarkdown(table);
      // 0.1 / sqrt(3) = 0.0577; 4.303 x 0.0577 = 0.2484.
      expect(md, spread).to.include(`| ${expected[spread]} |`).and.include("| 0.400 (n=1) |");
      expect(md).to.include(`\n${spreadNote(spread)}\n`);
      const tex = tableLatex(table);
      expect(tex).to.include(`$${expected[spread].replace(" ± ", " \\pm ").replace(" (n=3)", "$ (3)")}`);
      expect(tex).to.include(`% ${spreadNote(spread, "$\\pm$", "in parentheses n, the completed runs with the metric")}\n`);
      const [header, first] = tableCsv(table).split("\n");
      // The CSV keeps mean, std and n, and adds the ± where it is not the std.
      const extra = spread === "std" ? [] : [`final_eval_clip_top1_${spread}`];
      expect(header.split(",")).to.deep.equal(["config_id", "final_eval_clip_top1_mean", "final_eval_clip_top1_std", ...extra, "final_eval_clip_top1_n"]);
      if (spread !== "std") expect(Number(first.split(",")[3])).to.be.closeTo(Number(expected[spread].split(" ± ")[1].split(" ")[0]), 5e-4);
    }
    // Each note says what it is, and no two say the same.
    expect(new Set(SPREADS.map((s) => spreadNote(s))).size).to.equal(3);
    expect(spreadNote("ci95")).to.include("95% confidence interval").and.include("Student's t");
    expect(spreadNote("sem")).to.include("standard error of the mean");
  });

  it("a cell turns scientific by its mean or its ±, so both read alike", () => {
    // A mean of 1e8 with a ci95 past 1e9 (12.706 x (2e8 - 1) / 2 = 1.2706e9): the whole cell in e-notation.
    const table = paperTable(COLUMNS, runs([1, 2e8]), ["final_eval_clip_top1"], "ci95");
    expect(tableMarkdown(table)).to.include("| 1.000e8 ± 1.271e9 (n=2) |");
    // The same runs with the std ((2e8 - 1) / sqrt(2) = 1.414e8, under 1e9): fixed notation.
    expect(tableMarkdown(paperTable(COLUMNS, runs([1, 2e8]), ["final_eval_clip_top1"], "std"))).to.include("| 100000000.500 ± 141421355.530 (n=2) |");
    // The switch is at 1e9 itself: a mean of exactly 1e9 is in e-notation, one just below it is not.
    expect(tableMarkdown(paperTable(COLUMNS, runs([1e9]), ["final_eval_clip_top1"]))).to.include("| 1.000e9 (n=1) |");
    expect(tableMarkdown(paperTable(COLUMNS, runs([999999999.5]), ["final_eval_clip_top1"]))).to.include("| 999999999.500 (n=1) |");
  });
});
