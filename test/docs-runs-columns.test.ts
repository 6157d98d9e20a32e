/** docs/RESULT-FILES.md's paragraph on runs.csv names every column runs.csv has, so a reader can look each up. */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ID_COLUMNS, RESULT_COLUMNS } from "../src/results/runs-table.js";

describe("docs: runs.csv's columns", () => {
  it("docs/RESULT-FILES.md's runs.csv paragraph names each of runs.csv's fixed columns in code spans", () => {
    const doc = readFileSync("docs/RESULT-FILES.md", "utf8");
    const start = doc.indexOf("A sweep adds `results/<experiment>/runs.csv`");
    expect(start, "docs/RESULT-FILES.md's runs.csv paragraph").to.be.above(-1);
    const paragraph = doc.slice(start, doc.indexOf("\n\n", start));
    // Code spans may list several names (`wall_s, frames_per_s`).
    const named = new Set([...paragraph.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1].split(/,\s*/)));
    for (const column of [...ID_COLUMNS, ...RESULT_COLUMNS]) expect(named.has(column), column).to.equal(true);
  });
});
