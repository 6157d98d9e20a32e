/**
 * `sideways export` of a video-folder run says how a video becomes model.onnx's `frames` (fps,
 * the decode's scale and crop, the evaluation window) and which class each logit is: the graph
 * holds neither. What it prints is checked against the clips the evaluation itself takes.
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { createDataSource } from "../src/data/create-source.js";
import { DataSpec, type VideoFolderDataSpec } from "../src/data/data-spec.js";
import { findFfmpegTools } from "../src/data/video/ffmpeg-tools.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/videos", import.meta.url));
const [H, W, DH, DW, T] = [12, 16, 16, 22, 3];
const MODEL = {
  name: "v", input: { channels: 1, height: H, width: W }, classes: 2,
  layers: [{ type: "conv2d", out_channels: 2, kernel: 3 }, { type: "global_avg_pool" }, { type: "linear", out_features: 2 }],
};
/** Class folders named so that sorting and classInd.txt number them differently. */
const DATA = {
  kind: "video-folder", root: "videos", clip_length: T, fps: 10, decode_size: [DH, DW],
  split: { format: "ucf101", dir: "splits", index: 1 },
};

describe("export: how a video becomes model.onnx's frames, and which class each logit is", function () {
  this.timeout(120_000);
  let dir = "";
  inFreshFolderEachTest("sideways-export-video-", (d) => (dir = d));

  beforeEach(() => {
    const videos = { Zebra: ["short_32_frames.mp4", "ava_6fps.mp4"], Apple: ["ucf101_apply_eye_makeup.avi", "kinetics_arm_wrestling.mp4"] };
    for (const [cls, files] of Object.entries(videos)) {
      mkdirSync(join(dir, "videos", cls), { recursive: true });
      for (const f of files) copyFileSync(join(FIXTURES, f), join(dir, "videos", cls, f));
    }
    mkdirSync(join(dir, "splits"));
    writeFileSync(join(dir, "splits", "classInd.txt"), "1 Zebra\n2 Apple\n");
    writeFileSync(join(dir, "splits", "trainlist01.txt"), "Zebra/short_32_frames.mp4 1\nApple/ucf101_apply_eye_makeup.avi 2\n");
    writeFileSync(join(dir, "splits", "testlist01.txt"), "Zebra/ava_6fps.mp4\nApple/kinetics_arm_wrestling.mp4\n");
    writeFileSync(join(dir, "exp.yaml"), stringify({ name: "v", model: MODEL, data: DATA, train: { steps: 1, batch_size: 1 } }));
    const model = resolveModel(MODEL, "v");
    writeCheckpoint(join(dir, "w.safetensors"), model, initWeights(model, 0));
  });

  it("prints the ffmpeg filters and window that give the evaluation's clips, and the classInd.txt numbering", async () => {
    const io = captureIo();
    expect(await main(["export", "exp.yaml", "--checkpoint", "w.safetensors", "--out", "deploy"], io), io.stderr).to.equal(0);
    const recipe = /frames of a video: .*\(ffmpeg -vf (\S+)\).*window \(from row (\d+), column (\d+)\)/.exec(io.stderr);
    expect(recipe, io.stderr).to.not.equal(null);
    expect(io.stderr, io.stderr).to.include(`logits: logit i is the class numbered i+1 in ${join(dir, "splits", "classInd.txt")}`);
    const [, filters, top, left] = recipe!;

    // The first evaluation clip (classes interleaved: Zebra's test video first) must be a run of
    // consecutive frames of ffmpeg's decode with those filters, cut at that row and column.
    const tools = await findFfmpegTools();
    const decode = spawnSync(tools.ffmpeg, ["-nostdin", "-v", "error", "-i", join(dir, "videos", "Zebra", "ava_6fps.mp4"), "-an", "-vf", filters,
      "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1"], { maxBuffer: 1 << 26 });
    expect(decode.status, String(decode.stderr)).to.equal(0);
    const frames = new Uint8Array(decode.stdout);
    const spec = DataSpec.parse(DATA) as VideoFolderDataSpec;
    const source = await createDataSource(spec, { input: MODEL.input, classes: 2, seed: 0, baseDir: dir, cacheDir: join(dir, "cache") });
    const batch = (await source.evalBatches(1, 1)[Symbol.asyncIterator]().next()).value;
    expect(Array.from(batch.labels), "Zebra is class 0 by classInd.txt, though it sorts last").to.deep.equal([0]);
    const clip = batch.pixels!.data as Uint8Array;
    const [y0, x0] = [Number(top), Number(left)];
    const matchesAt = (start: number): boolean => {
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < H; r++) {
          for (let c = 0; c < W; c++) {
            if (clip[(t * H + r) * W + c] !== frames[((start + t) * DH + y0 + r) * DW + x0 + c]) return false;
          }
        }
      }
      return true;
    };
    const count = frames.length / (DH * DW);
    expect(Array.from({ length: count - T + 1 }, (_, s) => s).some(matchesAt), `a window of the ${count} decoded frames`).to.equal(true);
  });
});
