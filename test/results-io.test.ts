/** The results writers and readers built on write-file-atomic and csv-parse (src/results/). */
import { expect } from "chai";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../src/results/atomic-write.js";
import { numericColumn, readCsv, readCsvColumns } from "../src/results/csv-read.js";
import { InputError } from "../src/errors.js";
import { csvText } from "../src/results/csv-text.js";
import { CsvAppender } from "../src/results/csv-append.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

describe("results: atomic writes and CSV reading", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  it("replaces a file whole, creating its directory, and leaves no temp file", () => {
    const dir = tempFolder("sideways-atomic-");
    const path = join(dir, "a", "b", "x.json");
    writeJsonAtomic(path, { v: 1 });
    writeFileAtomic(path, new Uint8Array([123, 125, 10]).subarray(0, 2)); // a view: only "{}"
    expect(readFileSync(path, "utf8")).to.equal("{}");
    expect(readdirSync(join(dir, "a", "b"))).to.deep.equal(["x.json"]);
  });

  it("a failed write (the target is a directory) leaves the target and no temp file behind", () => {
    const dir = tempFolder("sideways-atomic-");
    mkdirSync(join(dir, "target"));
    writeFileSync(join(dir, "target", "keep"), "kept");
    expect(() => writeFileAtomic(join(dir, "target"), "data")).to.throw();
    expect(readdirSync(dir)).to.deep.equal(["target"]);
    expect(readFileSync(join(dir, "target", "keep"), "utf8")).to.equal("kept");
  });

  it("parses quoted cells with commas, doubled quotes and newlines, and CRLF line ends; each row's line is the one it ends on", () => {
    const dir = tempFolder("sideways-csv-");
    const path = join(dir, "t.csv");
    writeFileSync(path, 'a,b\r\n"x,y","say ""hi"""\r\n"l1\nl2",\r\n');
    expect(readCsv(path)).to.deep.equal({ columns: ["a", "b"], rows: [{ a: "x,y", b: 'say "hi"' }, { a: "l1\nl2", b: null }], lines: [2, 4] });
  });

  it("a CSV of no rows is its header alone, and reads back as no rows (an empty runs.csv was unreadable: 'line 2 has 1 cells')", () => {
    const dir = tempFolder("sideways-csv-");
    const path = join(dir, "empty.csv");
    expect(csvText(["run_id", "status"], [])).to.equal("run_id,status\n");
    writeFileSync(path, csvText(["run_id", "status"], []));
    expect(readCsv(path)).to.deep.equal({ columns: ["run_id", "status"], rows: [], lines: [] });
  });

  it("a malformed file is an input error (exit 2) naming it and the line, not silently merged cells", () => {
    const dir = tempFolder("sideways-csv-");
    const path = join(dir, "runs.csv");
    writeFileSync(path, 'run_id,status\n"unclosed,completed\nb,failed\n');
    expect(() => readCsv(path)).to.throw(InputError, new RegExp(`^${path}: Quote Not Closed`));
    writeFileSync(path, "run_id,status\na,completed\nb,completed,extra\n");
    expect(() => readCsv(path)).to.throw(InputError, `${path}: line 3 has 3 cells, the header has 2`);
    // A truncated last row (a copy cut short).
    writeFileSync(path, "run_id,status\na,completed\nb");
    expect(() => readCsv(path)).to.throw(InputError, `${path}: line 3 has 1 cells, the header has 2`);
    writeFileSync(path, "run_id,loss\na,0.5\nb,\n");
    expect(readCsv(path).rows).to.deep.equal([{ run_id: "a", loss: 0.5 }, { run_id: "b", loss: null }]);
  });

  it("a numeric column: numbers, null for empty cells, NaN as written; text is an input error naming the file, line and column", () => {
    const dir = tempFolder("sideways-csv-");
    const path = join(dir, "metrics.csv");
    writeFileSync(path, "step,train_loss\n1,2.5\n2,\n3,nan\n4,abc\n");
    const csv = readCsv(path);
    expect(numericColumn(path, csv, "step")).to.deep.equal([1, 2, 3, 4]);
    expect(() => numericColumn(path, csv, "train_loss")).to.throw(InputError, `${path}: line 5, column 'train_loss': expected a number, found 'abc'`);
    writeFileSync(path, "step,train_loss\n1,2.5\n2,\n3,nan\n");
    const values = numericColumn(path, readCsv(path), "train_loss");
    expect(values.slice(0, 2)).to.deep.equal([2.5, null]);
    expect(values[2]).to.be.NaN;
    // The header alone, without parsing the rows.
    expect(readCsvColumns(path)).to.deep.equal(["step", "train_loss"]);
    // A column the file lacks is all empty.
    expect(numericColumn(path, readCsv(path), "wall_s")).to.deep.equal([null, null, null]);
  });

  it("CsvAppender writes the header once, and appends to an existing file in that file's own header (a run resumed by a version that logs other columns, not just more at the end)", () => {
    const dir = tempFolder("sideways-csv-append-");
    const path = join(dir, "eval.csv");
    const first = new CsvAppender(path, ["step", "eval_loss", "wall_s"]);
    first.append({ step: 1, eval_loss: 2.5, wall_s: 0.5 });
    // The resuming version logs one column more and wants another order: its rows follow the file.
    const resumed = new CsvAppender(path, ["step", "eval_loss", "eval_video_top1", "wall_s"]);
    expect(resumed.columns).to.deep.equal(["step", "eval_loss", "wall_s"]);
    resumed.append({ step: 2, eval_video_top1: 0.75, wall_s: 1.5, eval_loss: 2 });
    expect(readFileSync(path, "utf8")).to.equal("step,eval_loss,wall_s\n1,2.5,0.5\n2,2,1.5\n");
    // Fewer columns asked for than the file has: those cells stay empty, the file stays one table.
    new CsvAppender(path, ["step", "wall_s"]).append({ step: 3, wall_s: 2.5 });
    expect(readCsv(path).rows.at(-1)).to.deep.equal({ step: 3, eval_loss: null, wall_s: 2.5 });
    // An empty file (cut short before its header) gets the header.
    writeFileSync(join(dir, "empty.csv"), "");
    new CsvAppender(join(dir, "empty.csv"), ["a", "b"]).append({ a: 1, b: 2 });
    expect(readFileSync(join(dir, "empty.csv"), "utf8")).to.equal("a,b\n1,2\n");
  });

  it("CsvAppender widens a header that is the first of the columns asked for (an older version's file): rows kept, padded with empty cells; a later version's file keeps its header", () => {
    const dir = tempFolder("sideways-csv-widen-");
    const path = join(dir, "eval.csv");
    writeFileSync(path, "step,eval_loss,wall_s\n1,2.5,0.5\n2,nan,1.5\n");
    const resumed = new CsvAppender(path, ["step", "eval_loss", "wall_s", "eval_on_train", "eval_clip_top5"]);
    expect(resumed.columns).to.deep.equal(["step", "eval_loss", "wall_s", "eval_on_train", "eval_clip_top5"]);
    resumed.append({ step: 3, eval_loss: 2, wall_s: 2.5, eval_on_train: false, eval_clip_top5: 0.75 });
    expect(readFileSync(path, "utf8")).to.equal("step,eval_loss,wall_s,eval_on_train,eval_clip_top5\n1,2.5,0.5,,\n2,nan,1.5,,\n3,2,2.5,false,0.75\n");
    // The same columns again: nothing rewritten, rows appended.
    new CsvAppender(path, ["step", "eval_loss", "wall_s", "eval_on_train", "eval_clip_top5"]).append({ step: 4, eval_loss: 1, wall_s: 3, eval_on_train: false, eval_clip_top5: 1 });
    expect(readFileSync(path, "utf8")).to.equal("step,eval_loss,wall_s,eval_on_train,eval_clip_top5\n1,2.5,0.5,,\n2,nan,1.5,,\n3,2,2.5,false,0.75\n4,1,3,false,1\n");
    // A later version's file (more columns than asked for, those first): its header is kept, the
    // columns this version lacks are left empty.
    const later = new CsvAppender(path, ["step", "eval_loss", "wall_s"]);
    expect(later.columns).to.deep.equal(["step", "eval_loss", "wall_s", "eval_on_train", "eval_clip_top5"]);
    later.append({ step: 5, eval_loss: 0.5, wall_s: 4 });
    expect(readFileSync(path, "utf8").split("\n").at(-2)).to.equal("5,0.5,4,,");
  });
});
