/**
 * The class names a run's data has are recorded with what it writes: summary.json's `classes` in
 * a run folder, classes.txt beside labels.npy in a `sideways data` sample, so a per-class analysis
 * later reads the label order instead of working it out again.
 */
import { expect } from "chai";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { encodeNpy } from "../src/data/npy.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

// shapes data, models/tiny.yaml (3 classes), 3 steps.
const GOOD = resolve("test/fixtures/specs/good.yaml");
// 10 classes at 32x32, for moving-mnist's digits.
const QUICKSTART_MODEL = resolve("models/quickstart-cnn.yaml");

describe("class names recorded with runs and data samples", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-class-names-", (d) => (dir = d));

  /** The 8x8 npy data tiny.yaml takes: 4 clips of 4 frames, labels 0 to 2, which name no class. */
  const npyOverride = () => {
    writeFileSync(join(dir, "clips.npy"), encodeNpy(Float32Array.from({ length: 4 * 4 * 64 }, (_, i) => (i % 5) / 5), [4, 4, 1, 8, 8]));
    writeFileSync(join(dir, "labels.npy"), encodeNpy(BigInt64Array.from([0n, 1n, 2n, 0n]), [4]));
    return `data={kind: npy, clips: ${join(dir, "clips.npy")}, labels: ${join(dir, "labels.npy")}, eval_on_train: true, clip_length: 4}`;
  };
  const summaryOf = async (...overrides: string[]) => {
    const io = captureIo();
    expect(await main(["run", GOOD, ...overrides], io), io.stderr).to.equal(0);
    const runDir = /results: (\S+)/.exec(io.stderr)![1];
    return JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as Record<string, unknown>;
  };

  it("summary.json names each class by label where the data names them (shapes, moving-mnist digits), and has no classes where it does not (npy)", async () => {
    expect((await summaryOf("output.dir=shapes")).classes).to.deep.equal(["square", "circle", "triangle"]);
    const digits = await summaryOf("output.dir=mnist", "data={kind: moving-mnist, clip_length: 4}", `model=${QUICKSTART_MODEL}`, "train.method=bp", "train.steps=1");
    expect(digits.classes).to.deep.equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(await summaryOf("output.dir=npy", npyOverride())).to.not.have.property("classes");
  });

  it("`sideways data --out` writes classes.txt beside labels.npy where the data names its classes; never replaces one without --force; --force to data without names removes the earlier one", async () => {
    const data = async (out: string, ...args: string[]) => {
      const io = captureIo();
      const code = await main(["data", GOOD, "--out", out, "--clips", "2", ...args], io);
      return { code, stderr: io.stderr };
    };
    const first = await data("sample");
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stderr).to.include(join(dir, "sample", "classes.txt"));
    expect(readFileSync(join(dir, "sample", "classes.txt"), "utf8")).to.equal("square\ncircle\ntriangle\n");
    // An earlier sample's classes.txt alone in --out: refused, nothing written.
    mkdirSync(join(dir, "only"));
    writeFileSync(join(dir, "only", "classes.txt"), "mine\n");
    const refused = await data("only");
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include("--out only: classes.txt already exists there; nothing was written");
    expect(readdirSync(join(dir, "only"))).to.deep.equal(["classes.txt"]);
    expect(readFileSync(join(dir, "only", "classes.txt"), "utf8")).to.equal("mine\n");
    // --force over the shapes sample with npy data (no names): its classes.txt would pass for the new labels' names.
    const forced = await data("sample", npyOverride(), "--force");
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stderr).to.not.include("classes.txt");
    expect(readdirSync(join(dir, "sample")).sort()).to.deep.equal(["clips.npy", "contact-sheet.png", "labels.npy"]);
  });

  it("npy data.class_names reach summary.json, evaluate --per-class's class_name and `sideways data`'s classes.txt; the run id leaves them out, and a completed run found without them says so", async () => {
    const npy = npyOverride();
    // In a file, relative to the experiment file (here: the override's, to the current directory).
    writeFileSync(join(dir, "names.txt"), "walk\nrun\njump\n");
    const named = await summaryOf("output.dir=npy", npy, "data.class_names=names.txt");
    expect(named.classes).to.deep.equal(["walk", "run", "jump"]);
    const runDirs = readdirSync(join(dir, "npy"));
    expect(runDirs).to.have.length(1);
    const runDir = join(dir, "npy", runDirs[0]!);
    expect(readFileSync(join(runDir, "config.yaml"), "utf8")).to.include(`class_names: ${join(dir, "names.txt")}`);

    const evaluate = captureIo();
    expect(await main(["evaluate", runDir, "--per-class", "pc.csv"], evaluate), evaluate.stderr).to.equal(0);
    const rows = readFileSync(join(dir, "pc.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(",").slice(0, 2));
    expect(rows).to.deep.equal([["0", "walk"], ["1", "run"], ["2", "jump"]]);

    const sample = captureIo();
    expect(await main(["data", GOOD, npy, "data.class_names=[walk, run, jump]", "--out", "sample", "--clips", "2"], sample), sample.stderr).to.equal(0);
    expect(readFileSync(join(dir, "sample", "classes.txt"), "utf8")).to.equal("walk\nrun\njump\n");
    // That classes.txt read back as the names, --out at its folder: refused as the experiment's own file.
    const own = captureIo();
    expect(await main(["data", GOOD, npy, "data.class_names=sample/classes.txt", "--out", "sample", "--clips", "2"], own)).to.equal(2);
    expect(own.stderr).to.include("classes.txt (this experiment's data.class_names) already exist");

    // The same config without names, or with others, is the same run: found completed, not trained again, and said.
    const io = captureIo();
    expect(await main(["run", GOOD, "output.dir=npy", npy, "data.class_names=[a, b, c]"], io), io.stderr).to.equal(0);
    expect(readdirSync(join(dir, "npy"))).to.deep.equal(runDirs);
    expect(io.stderr).to.include(`note: ${runDir} was completed with other class names in its summary.json; data.class_names is no part of a run's id`);
    const same = captureIo();
    expect(await main(["run", GOOD, "output.dir=npy", npy, "data.class_names=names.txt"], same), same.stderr).to.equal(0);
    expect(same.stderr).to.not.include("class names");
    expect(readdirSync(join(dir, "npy"))).to.deep.equal(runDirs);
  });

  it("npy data.class_names with a name short: validate and run exit 2 naming the experiment file, the key, expected and found", async () => {
    const npy = npyOverride();
    for (const command of ["validate", "run"]) {
      const io = captureIo();
      expect(await main([command, GOOD, npy, "data.class_names=[walk, run]"], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include("data.class_names: 2 class names, expected 3 (the model has 3 classes");
      expect(io.stderr).to.include("good.yaml");
    }
  });

  it("npy data.class_names with a name short for a run already completed: exit 2 naming the experiment file, as for a run to train", async () => {
    const npy = npyOverride();
    expect(await main(["run", GOOD, npy, "--quiet"], captureIo())).to.equal(0);
    const io = captureIo();
    expect(await main(["run", GOOD, npy, "data.class_names=[walk, run]"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.match(/^error: \S*good\.yaml with override .*override 'data\.class_names=\[walk, run\]': data\.class_names: 2 class names, expected 3/);
  });
});
