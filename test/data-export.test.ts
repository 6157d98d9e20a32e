import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { createDataSource } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import { exportDataSample, SHEET_GAP } from "../src/data/export-sample.js";
import { readNpy } from "../src/data/npy.js";
import type { ClipBatch } from "../src/data/source.js";

describe("data: exportDataSample", function () {
  this.timeout(20_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "sideways-export-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the first training clips as .npy and a contact sheet PNG of the expected size", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 5, digit_size: 10 });
    const ctx = { input: { channels: 1, height: 20, width: 24 }, classes: 10, seed: 4, baseDir: dir, cacheDir: "cache" };
    const { files } = await exportDataSample(spec, ctx, join(dir, "out"), 3);
    expect(files.map((f) => f.slice(dir.length))).to.deep.equal(["/out/clips.npy", "/out/labels.npy", "/out/contact-sheet.png"]);

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
    expect(png.height).to.equal(3 * 20 + 4 * SHEET_GAP);
    // Pixel of clip 1, frame 2 at (y, x) shows the clip value scaled to 0..255.
    let checked = 0;
    for (let y = 0; y < 20; y++) for (let x = 0; x < 24; x++) {
      const v = train.clips[((1 * 5 + 2) * 20 + y) * 24 + x]!;
      const at = ((SHEET_GAP + 20 + SHEET_GAP + y) * png.width + SHEET_GAP + 2 * (24 + SHEET_GAP) + x) * 4;
      expect(png.data[at]).to.equal(Math.round(v * 255));
      if (v > 0) checked++;
    }
    expect(checked).to.be.above(10);
  });
});
