/** The results writers and readers built on write-file-atomic and csv-parse (src/results/). */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../src/results/atomic-write.js";
import { parseCsvText, readCsv } from "../src/results/csv-read.js";

describe("results: atomic writes and CSV reading", () => {
  it("replaces a file whole, creating its directory, and leaves no temp file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-atomic-"));
    const path = join(dir, "a", "b", "x.json");
    writeJsonAtomic(path, { v: 1 });
    writeFileAtomic(path, new Uint8Array([123, 125, 10]).subarray(0, 2)); // a view: only "{}"
    expect(readFileSync(path, "utf8")).to.equal("{}");
    expect(readdirSync(join(dir, "a", "b"))).to.deep.equal(["x.json"]);
  });

  it("a failed write (the target is a directory) leaves the target and no temp file behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-atomic-"));
    mkdirSync(join(dir, "target"));
    writeFileSync(join(dir, "target", "keep"), "kept");
    expect(() => writeFileAtomic(join(dir, "target"), "data")).to.throw();
    expect(readdirSync(dir)).to.deep.equal(["target"]);
    expect(readFileSync(join(dir, "target", "keep"), "utf8")).to.equal("kept");
  });

  it("parses quoted cells with commas, doubled quotes and newlines, and CRLF line ends", () => {
    expect(parseCsvText('a,b\r\n"x,y","say ""hi"""\r\n"l1\nl2",\r\n')).to.deep.equal([["a", "b"], ["x,y", 'say "hi"'], ["l1\nl2", ""]]);
  });

  it("a malformed file is an error naming it, not silently merged cells", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-csv-"));
    const path = join(dir, "runs.csv");
    writeFileSync(path, 'run_id,status\n"unclosed,completed\nb,failed\n');
    expect(() => readCsv(path)).to.throw(new RegExp(`^${path}: Quote Not Closed`));
    writeFileSync(path, "run_id,status\na,completed,extra\n");
    expect(() => readCsv(path)).to.throw(`${path}: a row has 3 cells, the header has 2`);
    writeFileSync(path, "run_id,loss\na,0.5\nb,\n");
    expect(readCsv(path).rows).to.deep.equal([{ run_id: "a", loss: 0.5 }, { run_id: "b", loss: null }]);
  });
});
