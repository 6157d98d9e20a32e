import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { createDataSource } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import { contactSheet, exportDataSample, SHEET_GAP, SHEET_LABEL_HEIGHT, SHEET_LABEL_SCALE, SHEET_MAX_CLIPS, SHEET_MAX_FRAMES } from "../src/data/export-sample.js";
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphPixel } from "../src/data/pixel-font.js";
import { encodeNpy, readNpy } from "../src/data/npy.js";
import type { ClipBatch } from "../src/data/source.js";
import { captureIo } from "./helpers/capture-io.js";

describe("data: exportDataSample", function () {
  this.timeout(20_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "sideways-export-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the first training clips as .npy and a contact sheet PNG of the expected size", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 5, digit_size: 10 });
    const ctx = { input: { channels: 1, height: 20, width: 24 }, classes: 10, seed: 4, baseDir: dir, cacheDir: "cache" };
    const { files } = await exportDataSample(spec, ctx, join(dir, "out"), 3);
    expect(files.map((f) => f.slice(dir.length))).to.deep.equal(["/out/clips.npy", "/out/labels.npy", "/out/contact-sheet.png", "/out/classes.txt"]);
    // moving-mnist's digits name their classes: line k is label k's.
    expect(readFileSync(files[3]!, "utf8")).to.equal("0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");

    const clips = await readNpy(files[0]!);
    const labels = await readNpy(files[1]!);
    expect(clips.dtype).to.equal("f4");
    expect(clips.shape).to.deep.equal([3, 5, 1, 20, 24]);
    expect(labels.dtype).to.equal("i8");
    // The same clips a training run with this seed starts with.
    const train = (await (await createDataSource(spec, ctx)).trainBatches(3).next()).value as ClipBatch;
    expect(Array.from(clips.data as Float32Array)).to.deep.equal(Array.from(train.clips));
    expect(Array.from(labels.data as BigInt64Array, Number)).to.deep.equal(Array.from(train.labels));

    const png = PNG.sync.read(readFileSync(files[2]!));
    expect(png.width).to.equal(5 * 24 + 6 * SHEET_GAP);
    expect(png.height).to.equal(3 * (20 + SHEET_LABEL_HEIGHT) + 4 * SHEET_GAP);
    // Pixel of clip 1, frame 2 at (y, x) shows the clip value scaled to 0..255.
    let checked = 0;
    for (let y = 0; y < 20; y++) for (let x = 0; x < 24; x++) {
      const v = train.clips[((1 * 5 + 2) * 20 + y) * 24 + x]!;
      const at = ((SHEET_GAP + 20 + SHEET_LABEL_HEIGHT + SHEET_GAP + y) * png.width + SHEET_GAP + 2 * (24 + SHEET_GAP) + x) * 4;
      expect(png.data[at]).to.equal(Math.round(v * 255));
      if (v > 0) checked++;
    }
    expect(checked).to.be.above(10);
  });

  it("the contact sheet writes each clip's label and class name under its frames, in black on white, cut at the sheet's edge", () => {
    const [n, t, h, w] = [3, 8, 6, 6];
    const batch = { clips: new Float32Array(n * t * h * w).fill(0.5), labels: Int32Array.from([2, 0, 1]), dims: [n, t, 1, h, w] } as unknown as ClipBatch;
    const names = ["walk", "run", "jump-rope:x9"];
    const png = PNG.sync.read(Buffer.from(contactSheet(batch, names)));
    const width = t * w + (t + 1) * SHEET_GAP;
    expect([png.width, png.height]).to.deep.equal([width, n * (h + SHEET_LABEL_HEIGHT) + (n + 1) * SHEET_GAP]);
    const dark = (x: number, y: number) => png.data[(y * png.width + x) * 4] === 0;
    // Row r's label starts one gap below its frames; each font pixel is a SHEET_LABEL_SCALE square.
    const expected = ["2: jump-rope:x9", "0: walk", "1: run"];
    for (const [r, text] of expected.entries()) {
      const top = SHEET_GAP + r * (h + SHEET_LABEL_HEIGHT + SHEET_GAP) + h + SHEET_GAP;
      // The characters whose glyph fits inside the sheet, less its right gap.
      const fits = Math.floor((width - 2 * SHEET_GAP - GLYPH_WIDTH * SHEET_LABEL_SCALE) / (GLYPH_ADVANCE * SHEET_LABEL_SCALE)) + 1;
      let on = 0;
      for (let y = top - SHEET_GAP; y < top + GLYPH_HEIGHT * SHEET_LABEL_SCALE; y++) {
        for (let x = 0; x < width; x++) {
          const c = Math.floor((x - SHEET_GAP) / (GLYPH_ADVANCE * SHEET_LABEL_SCALE));
          const gx = Math.floor((x - SHEET_GAP - c * GLYPH_ADVANCE * SHEET_LABEL_SCALE) / SHEET_LABEL_SCALE);
          const gy = Math.floor((y - top) / SHEET_LABEL_SCALE);
          const want = y >= top && x >= SHEET_GAP && c < Math.min(fits, text.length) && gx < GLYPH_WIDTH && glyphPixel(text[c]!, gx, gy);
          expect(dark(x, y), `row ${r} "${text}" at (${x}, ${y})`).to.equal(want);
          if (want) on++;
        }
      }
      expect(on, `row ${r} draws its label`).to.be.above(10);
    }
    // The label of a clip with no name is its number; the digits are told apart.
    const unnamed = PNG.sync.read(Buffer.from(contactSheet(batch)));
    const strip = (p: PNG, r: number) => {
      const top = SHEET_GAP + r * (h + SHEET_LABEL_HEIGHT + SHEET_GAP) + h + SHEET_GAP;
      return p.data.subarray(top * p.width * 4, (top + GLYPH_HEIGHT * SHEET_LABEL_SCALE) * p.width * 4).toString("hex");
    };
    expect(new Set([0, 1, 2].map((r) => strip(unnamed, r))).size).to.equal(3);
    expect(new Set("0123456789".split("").map((d) => [0, 1, 2, 3, 4].map((y) => [0, 1, 2].map((x) => (glyphPixel(d, x, y) ? "#" : ".")).join("")).join("/"))).size).to.equal(10);
  });

  // The sample's files have the names npy data conventionally has: --out at the experiment's own
  // data folder used to replace its training set with a few preprocessed clips, silently.
  it("CLI: never replaces files already in --out (the experiment's own npy data included) without --force", async () => {
    const data = join(dir, "npy-data");
    mkdirSync(data);
    const clips = Float32Array.from({ length: 4 * 6 * 1 * 8 * 8 }, (_, i) => (i % 7) / 7);
    writeFileSync(join(data, "clips.npy"), encodeNpy(clips, [4, 6, 1, 8, 8]));
    writeFileSync(join(data, "labels.npy"), encodeNpy(BigInt64Array.from([0n, 1n, 0n, 1n]), [4]));
    const before = readdirSync(data).map((f) => [f, readFileSync(join(data, f))] as const);
    const exp = join(dir, "npy-exp.yaml");
    writeFileSync(exp, stringify({
      name: "npy-sample",
      model: { name: "m", input: { channels: 1, height: 8, width: 8 }, classes: 2, layers: [
        { type: "conv2d", out_channels: 2, kernel: 3, padding: 1 }, { type: "global_avg_pool" }, { type: "linear", out_features: 2 }] },
      data: { kind: "npy", clips: "npy-data/clips.npy", labels: "npy-data/labels.npy", eval_on_train: true, clip_length: 3, frame_stride: 2 },
      train: { method: "bp", batch_size: 2, steps: 1 },
    }));

    const refused = captureIo();
    expect(await main(["data", exp, "--out", data, "--clips", "2"], refused)).to.equal(2);
    expect(refused.stderr).to.include("clips.npy (this experiment's data.clips), labels.npy (this experiment's data.labels) already exist");
    expect(refused.stderr).to.include("nothing was written");
    for (const [f, bytes] of before) expect(readFileSync(join(data, f)).equals(bytes), `${f} unchanged`).to.equal(true);
    expect(readdirSync(data).sort()).to.deep.equal(["clips.npy", "labels.npy"]);

    // A fresh folder is written; a second export into it is refused too, and --force replaces it.
    const out = join(dir, "sample");
    expect(await main(["data", exp, "--out", out, "--clips", "2"], captureIo())).to.equal(0);
    expect((await readNpy(join(out, "clips.npy"))).shape).to.deep.equal([2, 3, 1, 8, 8]);
    const again = captureIo();
    expect(await main(["data", exp, "--out", out, "--clips", "3"], again)).to.equal(2);
    expect(again.stderr).to.include("clips.npy, labels.npy, contact-sheet.png already exist");
    // --out named as given (here absolute), not as a path relative to the current folder.
    expect(again.stderr).to.include(`--out ${out}: clips.npy`);
    expect((await readNpy(join(out, "clips.npy"))).shape).to.deep.equal([2, 3, 1, 8, 8]);
    expect(await main(["data", exp, "--out", out, "--clips", "3", "--force"], captureIo())).to.equal(0);
    expect((await readNpy(join(out, "clips.npy"))).shape).to.deep.equal([3, 3, 1, 8, 8]);
  });

  // The README's own example asks for 16 clips: the sheet shows 8 of them, and now says so.
  it("CLI: says when the contact sheet leaves out clips or frames that clips.npy holds", async () => {
    const exp = join(dir, "sheet-cap.yaml");
    writeFileSync(exp, stringify({
      name: "sheet-cap",
      model: { name: "m", input: { channels: 1, height: 8, width: 8 }, classes: 3, layers: [{ type: "global_avg_pool" }, { type: "linear", out_features: 3 }] },
      data: { kind: "shapes", clip_length: SHEET_MAX_FRAMES + 2 },
      train: { method: "bp", batch_size: 2, steps: 1 },
    }));
    const out = join(dir, "sheet-cap");
    const io = captureIo();
    expect(await main(["data", exp, "--out", out, "--clips", String(SHEET_MAX_CLIPS + 2)], io), io.stderr).to.equal(0);
    expect((await readNpy(join(out, "clips.npy"))).shape).to.deep.equal([SHEET_MAX_CLIPS + 2, SHEET_MAX_FRAMES + 2, 1, 8, 8]);
    // The sheet's size says what it shows: 8 rows of 16 frames of 8x8 pixels, a gap around each.
    const png = PNG.sync.read(readFileSync(join(out, "contact-sheet.png")));
    expect(png.height).to.equal(SHEET_MAX_CLIPS * (8 + SHEET_LABEL_HEIGHT) + (SHEET_MAX_CLIPS + 1) * SHEET_GAP);
    expect(png.width).to.equal(SHEET_MAX_FRAMES * 8 + (SHEET_MAX_FRAMES + 1) * SHEET_GAP);
    expect(io.stderr).to.include(
      `note: contact-sheet.png shows the first ${SHEET_MAX_CLIPS} of the ${SHEET_MAX_CLIPS + 2} clips, ` +
        `the first ${SHEET_MAX_FRAMES} of each clip's ${SHEET_MAX_FRAMES + 2} frames (clips.npy holds them all)`,
    );
    // A sample the sheet shows whole: no note.
    const whole = captureIo();
    expect(await main(["data", exp, "data.clip_length=4", "--out", join(dir, "sheet-whole"), "--clips", "3"], whole), whole.stderr).to.equal(0);
    expect(whole.stderr).not.to.include("contact-sheet.png shows");
  });

  it("CLI: npy data without an evaluation setting (which a run needs) gives its training clips; a data error names the experiment file", async () => {
    const data = join(dir, "npy-plain");
    mkdirSync(data);
    writeFileSync(join(data, "clips.npy"), encodeNpy(Float32Array.from({ length: 4 * 3 * 64 }, (_, i) => (i % 5) / 5), [4, 3, 1, 8, 8]));
    writeFileSync(join(data, "labels.npy"), encodeNpy(BigInt64Array.from([0n, 1n, 1n, 0n]), [4]));
    const writeExp = () => {
      const exp = join(dir, "npy-plain.yaml");
      writeFileSync(exp, stringify({
        name: "npy-plain",
        model: { name: "m", input: { channels: 1, height: 8, width: 8 }, classes: 2, layers: [{ type: "global_avg_pool" }, { type: "linear", out_features: 2 }] },
        data: { kind: "npy", clips: "npy-plain/clips.npy", labels: "npy-plain/labels.npy", clip_length: 3 },
        train: { method: "bp", batch_size: 2, steps: 1 },
      }));
      return exp;
    };
    const exp = writeExp();
    const io = captureIo();
    expect(await main(["data", exp, "--out", join(dir, "plain-sample"), "--clips", "2"], io), io.stderr).to.equal(0);
    const sample = await readNpy(join(dir, "plain-sample", "clips.npy"));
    expect(sample.shape).to.deep.equal([2, 3, 1, 8, 8]);
    expect(io.stderr).not.to.include("more than once");
    // More clips than the file's 4: written, with a warning that some come twice (the epoch order goes on).
    const more = captureIo();
    expect(await main(["data", exp, "--out", join(dir, "more-sample"), "--clips", "6"], more), more.stderr).to.equal(0);
    expect(more.stderr).to.include("warning: --clips 6 is more than the 4 training clips: the sample holds some clips more than once");
    // A run whose batches are bigger than the file: trained, warned, and recorded in summary.json.
    const run = captureIo();
    expect(await main(["run", exp, "data.eval_on_train=true", "train.batch_size=5", `output.dir=${join(dir, "out")}`], run), run.stderr).to.equal(0);
    expect(run.stderr).to.include("warning: train.batch_size 5 is more than the 4 training clips: each batch holds some clips more than once");
    const runDir = /results: (\S+)/.exec(run.stderr)?.[1];
    expect(JSON.parse(readFileSync(join(runDir!, "summary.json"), "utf8")).warnings).to.deep.equal(["train.batch_size 5 is more than the 4 training clips: each batch holds some clips more than once"]);
    // With train.accumulate a step's batches together hold batch_size x accumulate clips: 3 x 2 > 4.
    const accumulated = captureIo();
    expect(await main(["run", exp, "data.eval_on_train=true", "train.batch_size=3", "train.accumulate=2", "train.steps=2", `output.dir=${join(dir, "out-acc")}`], accumulated), accumulated.stderr).to.equal(0);
    expect(accumulated.stderr).to.include("warning: train.batch_size x train.accumulate 6 is more than the 4 training clips: each step holds some clips more than once");
    // eval_clips without eval_labels: the message starts with the experiment file and the override
    // that set the key, as `run`'s does (a data file's own fault, such as a bad label, names that
    // file and its key instead).
    const bad = captureIo();
    expect(await main(["data", exp, `data.eval_clips=${join(data, "clips.npy")}`, "--out", join(dir, "bad-sample")], bad)).to.equal(2);
    expect(bad.stderr).to.include("eval_clips and eval_labels go together");
    expect(bad.stderr.startsWith(`error: ${exp} with override 'data.eval_clips=${join(data, "clips.npy")}': `), bad.stderr).to.equal(true);
  });
});
