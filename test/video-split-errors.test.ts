/**
 * Split files that are not there: the error names the setting that is wrong (data.split.index, or
 * data.split.dir where the folder is the problem), the experiment file or the override that set
 * it, and the files a split needs; exit 2. Class folders hold empty files: the split is read
 * before any video is.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { FIXTURES } from "./helpers/spec-fixtures.js";

describe("video-folder split files that are missing", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-split-", (d) => (dir = d));

  /** exp.yaml on UCF/{A,B} with a ucf101 split 1 in splits/ (or `split` as given). */
  const layout = (split = "{ format: ucf101, dir: splits, index: 1 }"): string => {
    for (const c of ["A", "B"]) {
      mkdirSync(join(dir, "UCF", c), { recursive: true });
      for (const v of ["1", "2"]) writeFileSync(join(dir, "UCF", c, `${c}${v}.avi`), "");
    }
    mkdirSync(join(dir, "splits"));
    writeFileSync(join(dir, "splits", "classInd.txt"), "1 A\n2 B\n");
    writeFileSync(join(dir, "splits", "trainlist01.txt"), "A/A1.avi 1\nB/B1.avi 2\n");
    writeFileSync(join(dir, "splits", "testlist01.txt"), "A/A2.avi\nB/B2.avi\n");
    const file = join(dir, "exp.yaml");
    writeFileSync(
      file,
      `name: split\nmodel: ${join(FIXTURES, "models", "tiny.yaml")}\n` +
        `data: { kind: video-folder, root: UCF, split: ${split}, clip_length: 2 }\n` +
        "train: { method: bp, batch_size: 2, steps: 1 }\neval: { every: 0, clips: 2 }\n",
    );
    return file;
  };
  const validate = async (args: string[]) => {
    const io = captureIo();
    const status = await main(["validate", ...args], io);
    return { status, stderr: io.stderr };
  };

  it("data.split.index whose lists are not in the folder: names data.split.index and the override that set it, the splits there and the files split N needs", async () => {
    const file = layout();
    const { status, stderr } = await validate([file, "data.split.index=2"]);
    expect(status, stderr).to.equal(2);
    expect(stderr).to.include(
      `error: ${file} with override 'data.split.index=2': data.split.index: 2, but ${join(dir, "splits")} (data.split.dir) lacks trainlist02.txt and testlist02.txt: ` +
        "it holds ucf101 files of split 1 only; expected data.split.index 1, or split 2's files there (split 2 needs trainlist02.txt and testlist02.txt, with classInd.txt for UCF101's class numbering)",
    );
    expect(stderr).to.not.include("ENOENT");
  });

  it("set in the experiment file: the error names the file alone", async () => {
    const file = layout("{ format: ucf101, dir: splits, index: 3 }");
    const { status, stderr } = await validate([file]);
    expect(status, stderr).to.equal(2);
    expect(stderr).to.include(`error: ${file}: data.split.index: 3, but ${join(dir, "splits")} (data.split.dir) lacks trainlist03.txt and testlist03.txt`);
  });

  it("a split folder that is missing, holds no split files, or lacks one list of the split: names data.split.dir", async () => {
    const file = layout();
    const missing = await validate([file, "data.split.dir=nowhere"]);
    expect(missing.status, missing.stderr).to.equal(2);
    expect(missing.stderr).to.include(
      `error: ${file} with override 'data.split.dir=nowhere': data.split.dir: ${join(dir, "nowhere")}: no such folder; expected the folder of the ucf101 split files (split 1 needs trainlist01.txt and testlist01.txt`,
    );
    const wrong = await validate([file, "data.split.dir=UCF"]);
    expect(wrong.status, wrong.stderr).to.equal(2);
    expect(wrong.stderr).to.include(`data.split.dir: ${join(dir, "UCF")} holds no ucf101 split files; expected the folder of them (split 1 needs`);
    writeFileSync(join(dir, "splits", "trainlist02.txt"), "A/A1.avi 1\n");
    const half = await validate([file, "data.split.index=2"]);
    expect(half.status, half.stderr).to.equal(2);
    expect(half.stderr).to.include(`data.split.dir: ${join(dir, "splits")} lacks testlist02.txt; expected all of split 2 (data.split.index) there`);
  });

  it("HMDB51: a missing folder is an exit-2 error naming data.split.dir (it was an internal error), and a split that is not there names data.split.index", async () => {
    const file = layout("{ format: hmdb51, dir: splits, index: 1 }");
    const missing = await validate([file, "data.split.dir=nowhere"]);
    expect(missing.status, missing.stderr).to.equal(2);
    expect(missing.stderr).to.include(`data.split.dir: ${join(dir, "nowhere")}: no such folder; expected the folder of the hmdb51 split files (split 1 needs one <class>_test_split1.txt per class)`);
    expect(missing.stderr).to.not.include("BUG");
    for (const c of ["A", "B"]) writeFileSync(join(dir, "splits", `${c}_test_split1.txt`), `${c}1.avi 1\n${c}2.avi 2\n`);
    const other = await validate([file, "data.split.index=2"]);
    expect(other.status, other.stderr).to.equal(2);
    expect(other.stderr).to.include(`data.split.index: 2, but ${join(dir, "splits")} (data.split.dir) lacks *_test_split2.txt: it holds hmdb51 files of split 1 only`);
  });
});
