/**
 * docs/RESULT-FILES.md names every column runs.csv and the paper table's table.csv have, so a
 * reader can look each up.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { NOT_COMPLETED, WARNINGS, tableCsv, type PaperTable } from "../src/results/paper-table.js";
import { ID_COLUMNS, RESULT_COLUMNS } from "../src/results/runs-table.js";

/** The paragraphs of docs/RESULT-FILES.md from the one beginning with `start` to the next heading. */
function section(start: string): string {
  const doc = readFileSync("docs/RESULT-FILES.md", "utf8");
  const at = doc.indexOf(start);
  expect(at, `docs/RESULT-FILES.md: "${start}"`).to.be.above(-1);
  const end = doc.indexOf("\n#", at);
  return doc.slice(at, end === -1 ? undefined : end);
}

/** The names a text's code spans give; a span may list several (`wall_s, frames_per_s`). */
const codeNames = (text: string) => new Set([...text.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1].split(/,\s*/)));

describe("docs: runs.csv's columns", () => {
  it("docs/RESULT-FILES.md's runs.csv paragraph names each of runs.csv's fixed columns in code spans", () => {
    const doc = readFileSync("docs/RESULT-FILES.md", "utf8");
    const start = doc.indexOf("A sweep adds `results/<experiment>/runs.csv`");
    expect(start, "docs/RESULT-FILES.md's runs.csv paragraph").to.be.above(-1);
    const named = codeNames(doc.slice(start, doc.indexOf("\n\n", start)));
    for (const column of [...ID_COLUMNS, ...RESULT_COLUMNS]) expect(named.has(column), column).to.equal(true);
  });

  it("docs/RESULT-FILES.md's section on tables in a paper names each kind of table.csv column, a metric's as <metric>_...", () => {
    const named = codeNames(section("## Tables and figures in a paper"));
    // Every column a table.csv can have: a completed run that warned, another spread, --against, runs not completed.
    const table: PaperTable = {
      paramColumns: ["train.method", WARNINGS],
      metrics: ["final_eval_clip_top1"],
      rows: [],
      showNotCompleted: true,
      spread: "ci95",
      absentNotes: [],
      paired: { against: { key: "train.method", value: "bp" }, cells: new Map(), note: "" },
    };
    const columns = tableCsv(table).trim().split(",");
    expect(columns).to.include.members([WARNINGS, NOT_COMPLETED, "final_eval_clip_top1_ci95", "final_eval_clip_top1_delta_n"]);
    for (const column of columns.filter((c) => c !== "train.method")) {
      const asDocumented = column.replace(/^final_eval_clip_top1_/, "<metric>_");
      expect(named.has(asDocumented), asDocumented).to.equal(true);
    }
    // --spread sem's column, which the table above (ci95) does not have.
    expect(named.has("<metric>_sem")).to.equal(true);
  });
});
