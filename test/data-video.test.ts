import { expect } from "chai";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../src/cli/main.js";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec, VideoFolderDataSpec } from "../src/data/data-spec.js";
import type { ClipBatch } from "../src/data/source.js";
import { decodeVideo, probeVideo } from "../src/data/video/decode.js";
import { findFfmpegTools } from "../src/data/video/ffmpeg-tools.js";
import { FrameCache } from "../src/data/video/frame-cache.js";
import { indexVideos } from "../src/data/video/video-index.js";
import { DataError } from "../src/errors.js";
import { readCsv } from "../src/results/csv-read.js";
import { captureIo } from "./helpers/capture-io.js";
import { runFolderIn } from "./helpers/run-folder.js";

// Real clips from mmaction2 (licence and provenance: test/fixtures/videos/README.md).
/** The model and data lines of the small experiments run on the with-bad folder (one truncated video). */
const WITH_BAD_EXPERIMENT = [
  "model: { name: m, input: { channels: 1, height: 8, width: 8 }, classes: 2, layers: [{ type: conv2d, out_channels: 2, kernel: 3 }, { type: global_avg_pool }, { type: linear, out_features: 2 }] }",
  "data: { kind: video-folder, root: with-bad, clip_length: 3, eval_fraction: 0, skip_bad_files: true, shuffle: false, max_frames: 8 }",
];
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/videos", import.meta.url));
const VIDEOS = {
  avi: "ucf101_apply_eye_makeup.avi", // 164 frames
  short: "short_32_frames.mp4", // 32 frames
  kinetics: "kinetics_arm_wrestling.mp4", // 280 frames
  ava: "ava_6fps.mp4", // 57 frames
};

/**
 * `file` decoded by ffmpeg run here, not through decode.ts, as decode.ts is meant to: resampled to
 * `fps`, scaled to fill height x width, centre-cropped; raw bytes [F, H, W(, 3)].
 */
function ffmpegDecode(ffmpeg: string, file: string, fps: number, height: number, width: number, pixFmt: "rgb24" | "gray"): Uint8Array {
  const r = spawnSync(ffmpeg, ["-nostdin", "-v", "error", "-i", file, "-an", "-vf",
    `fps=${fps},scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height}`, "-pix_fmt", pixFmt, "-f", "rawvideo", "pipe:1"],
  { maxBuffer: 1 << 26 });
  expect(r.status, String(r.stderr)).to.equal(0);
  return new Uint8Array(r.stdout);
}

describe("data: video-folder", function () {
  this.timeout(60_000);
  let dir: string;
  const ctx = (channels = 1, height = 12, width = 16): DataContext => ({
    input: { channels, height, width }, classes: 2, seed: 1, baseDir: dir, cacheDir: "cache",
  });
  const firstBatch = async (raw: object, c: DataContext, size = 4): Promise<ClipBatch> =>
    (await (await createDataSource(DataSpec.parse(raw), c)).trainBatches(size).next()).value as ClipBatch;
  /** `<name>.yaml` in the test folder: the tiny 8x8 model with these data, train and eval lines, writing into `<name>-out`. */
  const writeVideoExperiment = (name: string, ...lines: string[]): string => {
    const exp = join(dir, `${name}.yaml`);
    writeFileSync(exp, [`name: ${name}`, WITH_BAD_EXPERIMENT[0], ...lines, `output: { dir: ${join(dir, `${name}-out`)} }`].join("\n"));
    return exp;
  };

  const savedCacheEnv = process.env.SIDEWAYS_CACHE_DIR;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-video-"));
    // Runs through the CLI cache decoded frames here, not in the user's cache.
    process.env.SIDEWAYS_CACHE_DIR = join(dir, "frame-cache");
    const layout = { ApplyEyeMakeup: [VIDEOS.avi, VIDEOS.short], ArmWrestling: [VIDEOS.kinetics, VIDEOS.ava] };
    for (const [cls, files] of Object.entries(layout)) {
      mkdirSync(join(dir, "videos", cls), { recursive: true });
      for (const f of files) copyFileSync(join(FIXTURES, f), join(dir, "videos", cls, f));
    }
    // A truncated copy in its own layout (a half mp4 has no index; a half AVI has damaged frames).
    for (const cls of ["A", "B"]) mkdirSync(join(dir, "with-bad", cls), { recursive: true });
    copyFileSync(join(FIXTURES, VIDEOS.short), join(dir, "with-bad", "A", VIDEOS.short));
    copyFileSync(join(FIXTURES, VIDEOS.ava), join(dir, "with-bad", "B", VIDEOS.ava));
    const bytes = readFileSync(join(FIXTURES, VIDEOS.short));
    writeFileSync(join(dir, "with-bad", "B", "truncated.mp4"), bytes.subarray(0, bytes.length >> 1));
    const avi = readFileSync(join(FIXTURES, VIDEOS.avi));
    writeFileSync(join(dir, "truncated.avi"), avi.subarray(0, avi.length >> 1));
  });
  after(() => {
    if (savedCacheEnv === undefined) delete process.env.SIDEWAYS_CACHE_DIR;
    else process.env.SIDEWAYS_CACHE_DIR = savedCacheEnv;
    rmSync(dir, { recursive: true, force: true });
  });

  it("decodes every fixture to within one frame of ffprobe's count, at the requested size", async () => {
    const tools = await findFfmpegTools();
    for (const name of Object.values(VIDEOS)) {
      const probe = await probeVideo(tools, join(FIXTURES, name));
      const decoded = await decodeVideo(tools, join(FIXTURES, name), { height: 8, width: 10, channels: 1, fps: null, maxFrames: null });
      expect(Math.abs(decoded.frames - probe.declaredFrames!), name).to.be.at.most(1);
      expect(decoded.pixels.length).to.equal(decoded.frames * 8 * 10);
    }
    const resampled = await decodeVideo(tools, join(FIXTURES, VIDEOS.avi), { height: 8, width: 8, channels: 3, fps: 5, maxFrames: null });
    // 164 frames at 25 fps = 6.56 s; at 5 fps that is 32 or 33 frames.
    expect(resampled.frames).to.be.within(32, 34);
  });

  it("gives clips of the model's shape with values in [0, 1] from class folders, gray and RGB", async () => {
    for (const channels of [1, 3]) {
      const b = await firstBatch({ kind: "video-folder", root: "videos", clip_length: 3, frame_stride: 2, eval_fraction: 0 }, ctx(channels));
      expect(b.dims).to.deep.equal([4, 3, channels, 12, 16]);
      expect(Math.min(...b.clips)).to.be.at.least(0);
      expect(Math.max(...b.clips)).to.be.at.most(1);
      // Real footage: not blank, with a spread of intensities.
      expect(new Set(b.clips).size).to.be.above(50);
      expect(Array.from(b.labels).every((l) => l === 0 || l === 1)).to.equal(true);
    }
  });

  it("clips are windows of ffmpeg's own decode (fps, scale, centre crop, RGB): frame stride, planar layout, normalisation", async () => {
    const tools = await findFfmpegTools();
    const [h, w, fps, stride, T] = [12, 16, 10, 2, 3];
    const mean = [0.1, 0.2, 0.3];
    const std = [0.5, 0.25, 2];
    // ffmpeg run here, not through decode.ts: [F, H, W, 3] bytes per video.
    const ffmpegFrames = (file: string) => ffmpegDecode(tools.ffmpeg, file, fps, h, w, "rgb24");
    const videos = [join("ApplyEyeMakeup", VIDEOS.short), join("ApplyEyeMakeup", VIDEOS.avi), join("ArmWrestling", VIDEOS.ava), join("ArmWrestling", VIDEOS.kinetics)];
    const decoded = videos.map((v) => ffmpegFrames(join(dir, "videos", v)));
    // The training clip of shuffle: false visits the videos in order (class, then name).
    const b = await firstBatch({ kind: "video-folder", root: "videos", clip_length: T, frame_stride: stride, fps, eval_fraction: 0, shuffle: false,
      normalize: { mean, std } }, ctx(3, h, w), 4);
    expect(Array.from(b.labels)).to.deep.equal([0, 0, 1, 1]);
    const plane = h * w;
    for (let n = 0; n < 4; n++) {
      const frames = decoded[n].length / (plane * 3);
      // Undo the normalisation: (x * std + mean) * 255 must be a whole byte (float32 rounding: 1e-3 of a level).
      const bytes = new Uint8Array(T * 3 * plane);
      for (let t = 0; t < T; t++) {
        for (let c = 0; c < 3; c++) {
          for (let i = 0; i < plane; i++) {
            const v = (b.clips[((n * T + t) * 3 + c) * plane + i] * std[c] + mean[c]) * 255;
            expect(Math.abs(v - Math.round(v)), `clip ${n} frame ${t} channel ${c} pixel ${i}`).to.be.below(1e-3);
            bytes[(t * 3 + c) * plane + i] = Math.round(v);
          }
        }
      }
      // Some start s: frame t of the clip is ffmpeg's frame s + t*stride, channel c its byte c of each pixel.
      const windowAt = (s: number) => Array.from({ length: T }, (_, t) => t).every((t) => {
        const f = s + t * stride;
        for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) if (bytes[(t * 3 + c) * plane + i] !== decoded[n][(f * plane + i) * 3 + c]) return false;
        return true;
      });
      const starts = Array.from({ length: frames - (T - 1) * stride }, (_, s) => s).filter(windowAt);
      expect(starts.length, `clip ${n} (${videos[n]}, ${frames} frames at ${fps} fps)`).to.be.above(0);
    }
  });

  it("data.decode_size: training clips are random windows of the model's size cut from the larger decode, one window for all a clip's frames; evaluation clips the centre one, or with eval_crops: 3 three crops of one temporal window", async () => {
    const tools = await findFfmpegTools();
    const [h, w, dh, dw, fps, T] = [12, 16, 16, 20, 10, 3];
    // ffmpeg run here at the decode size, gray: [F, dh, dw] bytes per video.
    const ffmpegFrames = (file: string) => ffmpegDecode(tools.ffmpeg, file, fps, dh, dw, "gray");
    const videos = [join("ApplyEyeMakeup", VIDEOS.short), join("ApplyEyeMakeup", VIDEOS.avi), join("ArmWrestling", VIDEOS.ava), join("ArmWrestling", VIDEOS.kinetics)];
    const decoded = videos.map((v) => ffmpegFrames(join(dir, "videos", v)));
    /** Every (start, y, x) at which `clip` [T, h, w] is video n's frames start.. cut at (y, x). */
    const placements = (clip: Uint8Array, n: number): { start: number; y: number; x: number }[] => {
      const frames = decoded[n]!.length / (dh * dw);
      const found = [];
      for (let start = 0; start + T <= frames; start++) {
        for (let y = 0; y <= dh - h; y++) {
          for (let x = 0; x <= dw - w; x++) {
            let same = true;
            for (let t = 0; t < T && same; t++) {
              for (let r = 0; r < h && same; r++) {
                for (let c = 0; c < w; c++) {
                  if (clip[(t * h + r) * w + c] !== decoded[n]![((start + t) * dh + y + r) * dw + x + c]) { same = false; break; }
                }
              }
            }
            if (same) found.push({ start, y, x });
          }
        }
      }
      return found;
    };
    const spec = { kind: "video-folder", root: "videos", clip_length: T, fps, eval_fraction: 0, shuffle: false, decode_size: [dh, dw] };
    const clipBytes = T * h * w;
    const source = await createDataSource(DataSpec.parse(spec), ctx(1, h, w));
    try {
      expect(source.description).to.include(`${h}x${w}x1 windows of frames decoded at ${dh}x${dw}`);
      expect(source.evalNote!(10), "one crop: nothing to say").to.equal(null);
      // 8 training clips: two rounds of the 4 videos in order (shuffle: false).
      const train = (await source.trainBatches(8).next()).value as ClipBatch;
      const [ys, xs] = [new Set<number>(), new Set<number>()];
      for (let b = 0; b < 8; b++) {
        const found = placements(train.pixels!.data.subarray(b * clipBytes, (b + 1) * clipBytes), b % 4);
        expect(found.length, `training clip ${b}`).to.be.above(0);
        for (const f of found) {
          ys.add(f.y);
          xs.add(f.x);
        }
      }
      expect([ys.size, xs.size], "windows move down and across from clip to clip").to.satisfy(([a, b]: number[]) => a > 1 && b > 1);
      let seen = 0;
      for await (const batch of source.evalBatches(4, 4)) {
        for (let b = 0; b < batch.labels.length; b++) {
          const clip = batch.pixels!.data.subarray(b * clipBytes, (b + 1) * clipBytes);
          const found = [0, 1, 2, 3].flatMap((n) => placements(clip, n));
          expect(found.length, `evaluation clip ${b}`).to.be.above(0);
          expect(found.every((f) => f.y === (dh - h) / 2 && f.x === (dw - w) / 2), `evaluation clip ${b}: ${JSON.stringify(found)}`).to.equal(true);
          seen += 1;
        }
      }
      expect(seen).to.equal(4);
    } finally {
      await source.close();
    }
    // Three-crop testing: each video's views 0, 1, 2 are one temporal window at the centre, the
    // left and the right (the longer spare side: 4 px across, as down; across wins a tie).
    const threeCrops = await createDataSource(DataSpec.parse({ ...spec, eval_crops: 3 }), ctx(1, h, w));
    try {
      expect(threeCrops.description).to.include("3 along the longer side in evaluation");
      // 4 videos x 3 crops: 12 clips give every video all three; 10 leave two with two, said at the start of a run.
      expect(threeCrops.evalNote!(12)).to.equal(null);
      expect(threeCrops.evalNote!(10)).to.equal("eval.clips is 10: with data.eval_crops 3 and 4 evaluation videos, some videos get fewer crops than others; eval.clips=12 gives each one temporal window in all 3 crops");
      expect(threeCrops.evalNote!(30)).to.include("eval.clips=36 gives each 3 temporal windows in all 3 crops");
      const clips: Uint8Array[] = [];
      for await (const batch of threeCrops.evalBatches(12, 12)) {
        for (let b = 0; b < batch.labels.length; b++) clips.push(batch.pixels!.data.slice(b * clipBytes, (b + 1) * clipBytes));
      }
      expect(clips).to.have.length(12);
      for (let i = 0; i < 12; i++) {
        const found = [0, 1, 2, 3].flatMap((n) => placements(clips[i]!, n).map((f) => ({ ...f, n })));
        const crop = Math.floor(i / 4);
        expect(found.length, `evaluation clip ${i}`).to.be.above(0);
        expect(found.every((f) => f.y === (dh - h) / 2 && f.x === ([1, 0, 2][crop]! * (dw - w)) / 2), `evaluation clip ${i} (crop ${crop}): ${JSON.stringify(found)}`).to.equal(true);
        // The three crops of a video share its temporal window.
        if (crop > 0) expect(placements(clips[i]!, found[0]!.n).map((f) => f.start)).to.deep.equal(placements(clips[i - 4]!, found[0]!.n).map((f) => f.start));
      }
    } finally {
      await threeCrops.close();
    }
    const uncropped = await createDataSource(DataSpec.parse({ ...spec, decode_size: [h, w], eval_crops: 3 }), ctx(1, h, w)).then(() => null, (e: unknown) => e);
    expect((uncropped as DataError).message).to.match(/^data\.eval_crops: 3 crops per evaluation window need frames decoded larger than the model input/);
    const small = await createDataSource(DataSpec.parse({ ...spec, decode_size: [10, 20] }), ctx(1, h, w)).then(() => null, (e: unknown) => e);
    expect(small).to.be.instanceOf(DataError);
    expect((small as DataError).message).to.match(/^data\.decode_size: \[10, 20\] is smaller than the model input 12x16; expected at least \[12, 16\]/);
  });

  it("serves later reads from the disk cache, with identical tensors", async () => {
    const tools = await findFfmpegTools();
    const params = { height: 12, width: 16, channels: 1 as const, fps: null, maxFrames: 20 };
    const cacheDir = join(dir, "cache-test");
    const first = new FrameCache(cacheDir, tools, params, 1);
    const a = await first.get(join(dir, "videos", "ArmWrestling", VIDEOS.kinetics));
    expect(first.decodes).to.equal(1);
    expect(a.frames).to.equal(20);
    const second = new FrameCache(cacheDir, tools, params, 1);
    const b = await second.get(join(dir, "videos", "ArmWrestling", VIDEOS.kinetics));
    expect(second.decodes).to.equal(0);
    const frames = [0, 7, 19];
    expect(Buffer.from(await second.readFrames(b, frames)).equals(Buffer.from(await first.readFrames(a, frames)))).to.equal(true);
    // A frame file deleted before a run finds it, or cut short while a run reads it (a cleaner of
    // old large files on scratch): decoded again, the same frames.
    const expected = Buffer.from(await first.readFrames(a, frames));
    rmSync(b.dataPath);
    const afterDelete = new FrameCache(cacheDir, tools, params, 1);
    const c = await afterDelete.get(join(dir, "videos", "ArmWrestling", VIDEOS.kinetics));
    expect(afterDelete.decodes, "a deleted frame file is decoded again").to.equal(1);
    truncateSync(c.dataPath, c.frameBytes * 3);
    expect(Buffer.from(await afterDelete.readFrames(c, frames)).equals(expected), "a frame file cut short under a run").to.equal(true);
    expect(afterDelete.decodes).to.equal(2);
    const other = new FrameCache(cacheDir, tools, { ...params, width: 14 }, 1);
    await other.get(join(dir, "videos", "ArmWrestling", VIDEOS.kinetics));
    expect(other.decodes, "different preprocessing is a different cache entry").to.equal(1);

    const spec = { kind: "video-folder", root: "videos", clip_length: 4, max_frames: 40, eval_fraction: 0 };
    const x = await firstBatch(spec, ctx());
    const y = await firstBatch(spec, ctx());
    expect(Buffer.from(x.clips.buffer).equals(Buffer.from(y.clips.buffer))).to.equal(true);
  });

  it("fails on a truncated video naming the file, or skips and counts it with skip_bad_files", async () => {
    const tools = await findFfmpegTools();
    const params = { height: 8, width: 8, channels: 1 as const, fps: null, maxFrames: null };
    const badAvi = await decodeVideo(tools, join(dir, "truncated.avi"), params).then(() => null, (e: DataError) => e);
    expect(badAvi).to.be.instanceOf(DataError);
    expect(badAvi!.message).to.include("truncated.avi: cannot decode video");

    const spec = { kind: "video-folder", root: "with-bad", clip_length: 2, eval_fraction: 0, shuffle: false, max_frames: 8 };
    const failed = await firstBatch(spec, ctx()).then(() => null, (e: DataError) => e);
    expect(failed).to.be.instanceOf(DataError);
    expect(failed!.message).to.match(/truncated\.mp4: cannot decode video: .*skip_bad_files/);

    const source = await createDataSource(DataSpec.parse({ ...spec, skip_bad_files: true }), ctx());
    const batch = (await source.trainBatches(3).next()).value as ClipBatch;
    expect(batch.dims[0]).to.equal(3);
    expect(source.stats!().skippedFiles).to.equal(1);
    expect(source.skipped!().map((f) => [f.file, f.reason.startsWith("cannot decode video: ")])).to.deep.equal([[join(dir, "with-bad", "B", "truncated.mp4"), true]]);
    // The recorded reason is why, not the error's advice to turn on the option that skipped it.
    expect(source.skipped!()[0]!.reason).not.to.include("skip_bad_files");
    // File order: A/short, B/ava, B/truncated -> replaced by the next readable video of its
    // class (B/ava), not by the next in the list (A/short), which would shift the class balance.
    expect(Array.from(batch.labels)).to.deep.equal([0, 1, 1]);
  });

  it("skip_bad_files replaces an unreadable evaluation video by one of its class, not by the next class's (counted twice)", async () => {
    // Four videos per class, the last two by name held out: A/a3, A/a4, B/b3 (truncated), B/b4.
    const root = join(dir, "bad-eval");
    for (const cls of ["A", "B"]) {
      mkdirSync(join(root, cls), { recursive: true });
      for (const i of [1, 2, 3, 4]) copyFileSync(join(FIXTURES, cls === "A" ? VIDEOS.short : VIDEOS.ava), join(root, cls, `${cls.toLowerCase()}${i}.mp4`));
    }
    const bytes = readFileSync(join(FIXTURES, VIDEOS.short));
    writeFileSync(join(root, "B", "b3.mp4"), bytes.subarray(0, bytes.length >> 1));
    const source = await createDataSource(
      DataSpec.parse({ kind: "video-folder", root: "bad-eval", clip_length: 2, eval_fraction: 0.5, skip_bad_files: true, max_frames: 8 }), ctx());
    const labels: number[] = [];
    for await (const b of source.evalBatches(4, 4)) labels.push(...b.labels);
    // Interleaved by class: a3, b3 -> b4, a4, b4; the next in the list (a4) would give [0, 0, 0, 1].
    expect(labels).to.deep.equal([0, 1, 0, 1]);
    expect(source.skipped!().map((f) => f.file)).to.deep.equal([join(root, "B", "b3.mp4")]);
  });

  it("a run whose held-out videos are all unreadable fails naming the evaluation list and files, and its summary lists them", async () => {
    // a3, a4, b3, b4 (held out by name) are all cut in half.
    const root = join(dir, "all-bad-eval");
    const half = readFileSync(join(FIXTURES, VIDEOS.short));
    for (const cls of ["A", "B"]) {
      mkdirSync(join(root, cls), { recursive: true });
      for (const i of [1, 2]) copyFileSync(join(FIXTURES, VIDEOS.short), join(root, cls, `${cls.toLowerCase()}${i}.mp4`));
      for (const i of [3, 4]) writeFileSync(join(root, cls, `${cls.toLowerCase()}${i}.mp4`), half.subarray(0, half.length >> 1));
    }
    const exp = writeVideoExperiment(
      "all-bad-eval",
      "data: { kind: video-folder, root: all-bad-eval, clip_length: 3, eval_fraction: 0.5, skip_bad_files: true, max_frames: 8 }",
      "train: { batch_size: 2, steps: 2 }",
      "eval: { every: 1, clips: 2 }",
    );
    const io = captureIo();
    expect(await main(["run", exp], io), io.stderr).to.equal(2);
    expect(io.stderr).to.match(/none of the 4 evaluation videos could be decoded \(skip_bad_files skipped them all: .*a3\.mp4: cannot decode video/);
    const runDir = runFolderIn(join(dir, "all-bad-eval-out"));
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect(summary.status).to.equal("failed");
    expect(summary.skipped_files.map((f: { file: string }) => f.file).sort()).to.deep.equal(["a3", "a4", "b3", "b4"].map((v) => join(root, v[0].toUpperCase(), `${v}.mp4`)));
    // The evaluation after step 1 failed: step 1's weights are kept, and once the videos are
    // mended the run goes on from there (train.checkpoint_every alone would have saved none).
    // Said once, at the end of the error; the run's "failed" line leaves the error to it.
    const saved = "; a resume checkpoint of step 1 was saved: mend the data and run again to go on from it";
    expect(io.stderr.split(saved)).to.have.length(2);
    expect(io.stderr.trimEnd().split("\n").at(-1)).to.match(/^error: .*none of the 4 evaluation videos could be decoded/).and.satisfy((l: string) => l.endsWith(saved));
    expect(io.stderr).to.match(/: failed after 1 step in [\d.]+ s\n/);
    expect(summary.message).to.include(saved);
    for (const cls of ["A", "B"]) for (const i of [3, 4]) copyFileSync(join(FIXTURES, VIDEOS.short), join(root, cls, `${cls.toLowerCase()}${i}.mp4`));
    const again = captureIo();
    expect(await main(["run", exp], again), again.stderr).to.equal(0);
    // The mended videos changed the folder's stamp; a checkpoint saved at a data error resumes on them.
    expect(again.stderr).to.include("resuming from step 1 (resume.safetensors, saved when a data error ended the last attempt: on the data as it is now)");
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).status).to.equal("completed");
    // The evaluation the data error ended is done on resuming: eval.csv has a row per evaluation.
    const evalSteps = readFileSync(join(runDir, "eval.csv"), "utf8").trim().split("\n").slice(1).map((line) => line.split(",")[0]);
    expect(evalSteps).to.deep.equal(["1", "2"]);
  });

  it("summary.json's best_eval_video_top1 is the largest eval_video_top1 of eval.csv, final_eval_video_top1 its last", async () => {
    const exp = writeVideoExperiment(
      "video-best",
      // Two held-out videos, each voting with two clips, evaluated after every step.
      "data: { kind: video-folder, root: videos, clip_length: 3, eval_fraction: 0.5, max_frames: 8 }",
      "train: { batch_size: 2, steps: 4, optimizer: { kind: sgd, lr: 0.5 } }",
      "eval: { every: 1, clips: 4 }",
    );
    const io = captureIo();
    expect(await main(["run", exp, "--quiet"], io), io.stderr).to.equal(0);
    const runDir = runFolderIn(join(dir, "video-best-out"));
    const videoTop1 = readCsv(join(runDir, "eval.csv")).rows.map((r) => r.eval_video_top1 as number);
    expect(videoTop1).to.have.length(4);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect(summary.best_eval_video_top1).to.equal(Math.max(...videoTop1));
    expect(summary.final_eval_video_top1).to.equal(videoTop1.at(-1));
    // 2 classes: top-5 columns there, empty (top-5 would be 1), and no top-5 in the summary.
    const csv = readCsv(join(runDir, "eval.csv"));
    expect(csv.columns.slice(-2)).to.deep.equal(["eval_clip_top5", "eval_video_top5"]);
    expect(csv.rows.every((r) => r.eval_clip_top5 === null && r.eval_video_top5 === null)).to.equal(true);
    expect(summary).to.not.have.any.keys("final_eval_clip_top5", "final_eval_video_top5");
  });

  it("a video run records its class names; `sideways evaluate` of it: its final weights give its last eval.csv row (video top-1 too); three-crop testing is said and counted", async () => {
    const exp = writeVideoExperiment(
      "video-evaluate",
      "data: { kind: video-folder, root: videos, clip_length: 3, eval_fraction: 0.5, max_frames: 8 }",
      "train: { batch_size: 2, steps: 2, optimizer: { kind: sgd, lr: 0.5 } }",
      "eval: { every: 0, clips: 4 }",
    );
    expect(await main(["run", exp, "--quiet"], captureIo())).to.equal(0);
    const runDir = runFolderIn(join(dir, "video-evaluate-out"));
    const last = readCsv(join(runDir, "eval.csv")).rows.at(-1)!;
    // The class folders' names, in label order (sorted by name without split files), recorded for later analyses.
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).classes).to.deep.equal(["ApplyEyeMakeup", "ArmWrestling"]);
    const again = captureIo();
    expect(await main(["evaluate", runDir, "--json", join(dir, "video-evaluate.json")], again), again.stderr).to.equal(0);
    const r = JSON.parse(readFileSync(join(dir, "video-evaluate.json"), "utf8"));
    expect([r.eval_loss, r.eval_clip_top1, r.eval_video_top1, r.eval_videos]).to.deep.equal([last.eval_loss, last.eval_clip_top1, last.eval_video_top1, last.eval_videos]);
    expect(again.stderr).to.not.include("spatial crops");
    // Decoded larger than the model's 8x8, three crops of one window of each of the 2 held-out videos.
    const crops = captureIo();
    expect(await main(["evaluate", runDir, "data.decode_size=[8,12]", "data.eval_crops=3", "eval.clips=6"], crops), crops.stderr).to.equal(0);
    expect(crops.stderr).to.include("on up to 6 clips (3 spatial crops of each temporal window) of");
    expect(crops.stdout).to.match(/\nclips +6\n/).and.match(/\nvideo top-1 +\d\.\d{4} \(2 videos\)\n/);
  });

  it("video top-5 with more than 5 classes: eval.csv's last columns eval_clip_top5, eval_video_top5; summary.json's final ones the last row's", async () => {
    // 6 classes of two videos (copies of the fixtures), one held out of each: 6 test videos, 2 clips each.
    const files = Object.values(VIDEOS);
    for (let c = 0; c < 6; c++) {
      mkdirSync(join(dir, "six", `c${c}`), { recursive: true });
      for (const f of [files[c % files.length], files[(c + 1) % files.length]]) copyFileSync(join(FIXTURES, f), join(dir, "six", `c${c}`, f));
    }
    const exp = join(dir, "six.yaml");
    writeFileSync(exp, [
      "name: six",
      "model: { name: m, input: { channels: 1, height: 8, width: 8 }, classes: 6, layers: [{ type: conv2d, out_channels: 2, kernel: 3 }, { type: global_avg_pool }, { type: linear, out_features: 6 }] }",
      "data: { kind: video-folder, root: six, clip_length: 2, eval_fraction: 0.5, max_frames: 8 }",
      "train: { batch_size: 2, steps: 2 }",
      "eval: { every: 1, clips: 12 }",
      `output: { dir: ${join(dir, "six-out")} }`,
    ].join("\n"));
    const io = captureIo();
    expect(await main(["run", exp, "--quiet"], io), io.stderr).to.equal(0);
    const runDir = runFolderIn(join(dir, "six-out"));
    const csv = readCsv(join(runDir, "eval.csv"));
    expect(csv.columns.slice(-4)).to.deep.equal(["wall_s", "eval_on_train", "eval_clip_top5", "eval_video_top5"]);
    for (const r of csv.rows) {
      expect(r.eval_videos).to.equal(6);
      expect(r.eval_video_top5).to.be.a("number").within(r.eval_video_top1 as number, 1);
      expect(Number.isInteger((r.eval_video_top5 as number) * 6), "a share of the 6 videos").to.equal(true);
    }
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect([summary.final_eval_clip_top5, summary.final_eval_video_top5]).to.deep.equal([csv.rows.at(-1)!.eval_clip_top5, csv.rows.at(-1)!.eval_video_top5]);
  });

  it("evaluation on the training videos is an explicit choice: eval_fraction that holds out nothing is an error", async () => {
    // Two videos per class: 0.2 of them is none.
    const failed = await firstBatch({ kind: "video-folder", root: "videos", clip_length: 2 }, ctx()).then(() => null, (e: DataError) => e);
    expect(failed).to.be.instanceOf(DataError);
    expect(failed!.message).to.match(/data.eval_fraction\): eval_fraction 0.2 holds out no video \(the smallest class has 2; holding one out needs 5 per class\); set data.eval_fraction: 0/);
    const explicit = await createDataSource(DataSpec.parse({ kind: "video-folder", root: "videos", clip_length: 2, eval_fraction: 0 }), ctx());
    expect(explicit.evalIsTrain).to.equal(true);
    const heldOut = await createDataSource(DataSpec.parse({ kind: "video-folder", root: "videos", clip_length: 2, eval_fraction: 0.5 }), ctx());
    expect(heldOut.evalIsTrain).to.equal(false);
    expect(heldOut.description).to.include(", 2 held out,");
    // A class too small for eval_fraction to hold one of its videos out is named: it is never evaluated.
    for (const [cls, n] of [["A", 3], ["B", 1]] as const) {
      mkdirSync(join(dir, "uneven", cls), { recursive: true });
      for (let i = 0; i < n; i++) copyFileSync(join(FIXTURES, VIDEOS.short), join(dir, "uneven", cls, `${i}.mp4`));
    }
    const uneven = await createDataSource(DataSpec.parse({ kind: "video-folder", root: "uneven", clip_length: 2, eval_fraction: 0.5 }), ctx());
    expect(uneven.description).to.include(", 1 held out (none of class B: too few videos),");
  });

  it("videos shorter than a clip's span are recorded once each (their clips end in copies of the last frame); a run logs them and lists them in summary.json", async () => {
    // clip_length 12 at stride 3 spans 34 frames: only the 32-frame video is shorter.
    const spec = { kind: "video-folder", root: "videos", clip_length: 12, frame_stride: 3, eval_fraction: 0, shuffle: false };
    const source = await createDataSource(DataSpec.parse(spec), ctx());
    try {
      for await (const _ of source.evalBatches(8, 4)) void _;
      const short = source.shortVideos!();
      expect(short.map((v) => [v.file, v.span])).to.deep.equal([[join(dir, "videos", "ApplyEyeMakeup", VIDEOS.short), 34]]);
      expect(short[0].frames).to.be.within(31, 33);
    } finally {
      await source.close();
    }
    const exp = writeVideoExperiment(
      "short",
      "data: { kind: video-folder, root: videos, clip_length: 12, frame_stride: 3, eval_fraction: 0, shuffle: false }",
      "train: { method: bp, batch_size: 2, steps: 1 }",
      "eval: { every: 0, clips: 4 }",
    );
    const io = captureIo();
    expect(await main(["run", exp], io), io.stderr).to.equal(0);
    const file = join(dir, "videos", "ApplyEyeMakeup", VIDEOS.short);
    expect(io.stderr.match(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has \\d+ frames, fewer than a clip spans \\(34\\): its clips end in copies of its last frame`, "g"))).to.have.length(1);
    const summary = JSON.parse(readFileSync(join(runFolderIn(join(dir, "short-out")), "summary.json"), "utf8"));
    expect(summary.short_videos.map((v: { file: string; span: number }) => [v.file, v.span])).to.deep.equal([[file, 34]]);
  });

  it("a run marks evaluation on training videos in summary.json and eval.csv, and lists skipped files", async () => {
    const exp = writeVideoExperiment("marks", WITH_BAD_EXPERIMENT[1], "train: { batch_size: 3, steps: 2 }", "eval: { every: 0, clips: 3 }");
    const io = captureIo();
    expect(await main(["run", exp], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("evaluating on the training clips").and.include(`skipped unreadable file ${join(dir, "with-bad", "B", "truncated.mp4")}`);
    const runDir = runFolderIn(join(dir, "marks-out"));
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect(summary.eval_on_train).to.equal(true);
    expect(summary.skipped_files.map((f: { file: string }) => f.file)).to.deep.equal([join(dir, "with-bad", "B", "truncated.mp4")]);
    const evalCsv = readCsv(join(runDir, "eval.csv"));
    expect(evalCsv.rows.map((r) => r.eval_on_train)).to.deep.equal([1]);
  });

  it("`sideways data` with skip_bad_files names each skipped file, as a run does (its clips come from another video)", async () => {
    const exp = join(dir, "sample.yaml");
    writeFileSync(exp, [
      "name: sample",
      ...WITH_BAD_EXPERIMENT,
    ].join("\n"));
    const io = captureIo();
    expect(await main(["data", exp, "--out", join(dir, "sample-out"), "--clips", "3"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`skipped unreadable file ${join(dir, "with-bad", "B", "truncated.mp4")}: cannot decode video: `);
    expect(existsSync(join(dir, "sample-out", "clips.npy"))).to.equal(true);
  });

  // The cache used to sit in .cache/sideways beside the experiment file: for a run trained again
  // from its folder's config.yaml, inside that earlier run's folder (decoding every video again).
  it("a run trained again from its folder's config.yaml leaves that folder as it was; the frame cache is shared", async () => {
    const exp = writeVideoExperiment(
      "again",
      // max_frames 7: decode settings no other test uses, so that this run's decodes are new entries.
      "data: { kind: video-folder, root: videos, clip_length: 3, eval_fraction: 0, max_frames: 7 }",
      "train: { batch_size: 2, steps: 2 }",
      "eval: { every: 0, clips: 2 }",
    );
    const io = () => ({ out: () => undefined, err: () => undefined, errIsTTY: false, exitCode: 0 });
    const entries = () => (existsSync(join(dir, "frame-cache", "video-frames")) ? readdirSync(join(dir, "frame-cache", "video-frames")).filter((f) => f.endsWith(".json")).sort() : []);
    const earlier = entries().length;
    expect(await main(["run", exp, "--quiet"], io())).to.equal(0);
    const cached = entries();
    expect(cached.length - earlier, "the 4 videos, decoded into SIDEWAYS_CACHE_DIR").to.equal(4);
    expect(existsSync(join(dir, ".cache")), "nothing beside the experiment file").to.equal(false);
    const runDir = runFolderIn(join(dir, "again-out"));
    const before = readdirSync(runDir).sort();
    expect(await main(["run", join(runDir, "config.yaml"), `output.dir=${join(dir, "again-elsewhere")}`, "--quiet"], io())).to.equal(0);
    expect(readdirSync(runDir).sort(), "the earlier run's folder").to.deep.equal(before);
    expect(statSync(join(dir, "again-elsewhere")).isDirectory()).to.equal(true);
    // Decoded once: the second run read the same entries.
    expect(entries()).to.deep.equal(cached);
  });

  it("a completed run whose video folder changed is still found, with a warning; a copy of the folder is the same data", async () => {
    cpSync(join(dir, "videos"), join(dir, "stamped"), { recursive: true });
    const exp = writeVideoExperiment(
      "stamped",
      "data: { kind: video-folder, root: stamped, clip_length: 3, eval_fraction: 0, max_frames: 8 }",
      "train: { batch_size: 2, steps: 2 }",
      "eval: { every: 0, clips: 2 }",
    );
    expect(await main(["run", exp, "--quiet"], captureIo())).to.equal(0);
    const again = async () => {
      const io = captureIo();
      expect(await main(["run", exp], io), io.stderr).to.equal(0);
      expect(io.stderr).to.include("already completed");
      return io.stderr;
    };
    expect(await again()).to.not.include("warning:");
    // Copied again (new modification times, as a copy to a node's scratch): the same videos.
    rmSync(join(dir, "stamped"), { recursive: true });
    cpSync(join(dir, "videos"), join(dir, "stamped"), { recursive: true });
    utimesSync(join(dir, "stamped", "ApplyEyeMakeup", VIDEOS.avi), new Date(), new Date(Date.now() + 60_000));
    expect(await again()).to.not.include("warning:");
    // One more video in a class.
    const added = join(dir, "stamped", "ApplyEyeMakeup", `more${VIDEOS.avi}`);
    copyFileSync(join(dir, "stamped", "ApplyEyeMakeup", VIDEOS.avi), added);
    expect(await again()).to.match(/warning: .* completed on data files that have changed since \(.*stamped: its videos changed after the run read them \(4 videos, [0-9.]+ \w+ then, 5 videos, [0-9.]+ \w+ now\)\)/);
    // Back to four, one of them renamed: the same count and total size.
    rmSync(added);
    renameSync(join(dir, "stamped", "ArmWrestling", VIDEOS.ava), join(dir, "stamped", "ArmWrestling", `renamed-${VIDEOS.ava}`));
    expect(await again()).to.match(/stamped: its videos were renamed, or replaced by others of the same sizes, after the run read them \(4 videos, /);
  });

  it("data.decode_size equal to the model input and data.eval_crops: 1 are the run without them (the same id and weights), as is `validate --print`'s config saved and run; a larger decode_size is another run", async () => {
    const data = "kind: video-folder, root: videos, clip_length: 3, eval_fraction: 0, max_frames: 8";
    const exp = writeVideoExperiment(
      "noop-decode",
      `data: { ${data} }`,
      "train: { batch_size: 2, steps: 2 }",
      "eval: { every: 0, clips: 2 }",
    );
    const run = async (out: string, ...o: string[]) => {
      const io = captureIo();
      expect(await main(["run", exp, `output.dir=${join(dir, out)}`, ...o], io), io.stderr).to.equal(0);
      return io.stderr;
    };
    await run("noop-a");
    const runDir = runFolderIn(join(dir, "noop-a"));
    // The model input is 8x8: the same decode, the same clips.
    expect(await run("noop-a", "data.decode_size=[8, 8]", "data.eval_crops=1")).to.include("already completed");
    expect(runFolderIn(join(dir, "noop-a"))).to.equal(runDir);
    // Trained elsewhere with the keys spelled out: the same id and the same weights, byte for byte.
    await run("noop-b", "data.decode_size=[8, 8]", "data.eval_crops=1");
    const spelled = runFolderIn(join(dir, "noop-b"));
    expect(basename(spelled)).to.equal(basename(runDir));
    expect(readFileSync(join(spelled, "final.safetensors")).equals(readFileSync(join(runDir, "final.safetensors")))).to.equal(true);
    // `validate --print` shows eval_crops at its default, decode_size as a comment; saved and run, the same run.
    const printed = captureIo();
    expect(await main(["validate", exp, `output.dir=${join(dir, "noop-a")}`, "--print"], printed), printed.stderr).to.equal(0);
    expect(printed.stdout).to.match(/^ {2}eval_crops: 1$/m).and.match(/^ {2}# decode_size: unset \(/m);
    writeFileSync(join(dir, "noop-printed.yaml"), printed.stdout);
    const again = captureIo();
    expect(await main(["run", join(dir, "noop-printed.yaml")], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include(`${runDir}: already completed`);
    // Random 8x8 windows of frames decoded at 10x12: a run of its own beside the first.
    expect(await run("noop-a", "data.decode_size=[10, 12]")).to.not.include("already completed");
    expect(readdirSync(join(dir, "noop-a")).filter((e) => existsSync(join(dir, "noop-a", e, "run-meta.json")))).to.have.length(2);
  });

  it("a video folder's split files are stamped by their contents, as npy files are", async () => {
    const { changedDataFiles, dataFileStamps } = await import("../src/results/data-files.js");
    const splits = join(dir, "stamp-splits");
    mkdirSync(splits, { recursive: true });
    writeFileSync(join(splits, "trainlist01.txt"), "ApplyEyeMakeup/a.avi 1\n");
    const data = VideoFolderDataSpec.parse({ kind: "video-folder", root: join(dir, "videos"), split: { format: "ucf101", dir: splits } });
    const then = dataFileStamps(data, true);
    expect(Object.keys(then).sort()).to.deep.equal([join(dir, "videos"), join(splits, "trainlist01.txt")].sort());
    expect(changedDataFiles(then, dataFileStamps(data))).to.deep.equal([]);
    writeFileSync(join(splits, "trainlist01.txt"), "ApplyEyeMakeup/b.avi 1\n");
    utimesSync(join(splits, "trainlist01.txt"), new Date(), new Date(Date.now() + 60_000));
    expect(changedDataFiles(then, dataFileStamps(data))).to.have.length(1).and.match(/trainlist01\.txt was modified at \S+ with other contents, after the run read it/);
    // One video of 5 MB grown by 10 bytes (the stamp reads sizes, not frames: stand-in files do):
    // the same count and a total that rounds alike, so exact bytes are said, not "renamed".
    const folder = join(dir, "stamp-grow");
    for (const [cls, mb] of [["A", 2], ["B", 3]] as const) {
      mkdirSync(join(folder, cls), { recursive: true });
      writeFileSync(join(folder, cls, `${cls}.avi`), Buffer.alloc(mb * 1e6));
    }
    const grow = VideoFolderDataSpec.parse({ kind: "video-folder", root: folder });
    const before = dataFileStamps(grow, true);
    writeFileSync(join(folder, "A", "A.avi"), Buffer.alloc(2e6 + 10));
    expect(changedDataFiles(before, dataFileStamps(grow))).to.deep.equal([`${folder}: its videos changed after the run read them (2 videos, 5000000 bytes then, 2 videos, 5000010 bytes now)`]);
    writeFileSync(join(folder, "B", "B.avi"), Buffer.alloc(4e6));
    expect(changedDataFiles(before, dataFileStamps(grow))).to.deep.equal([`${folder}: its videos changed after the run read them (2 videos, 5.0 MB then, 2 videos, 6.0 MB now)`]);
  });

  it("reads UCF101 and HMDB51 split files and evaluates on the test videos", async () => {
    const splits = join(dir, "splits");
    mkdirSync(splits, { recursive: true });
    writeFileSync(join(splits, "classInd.txt"), "1 ArmWrestling\n2 ApplyEyeMakeup\n");
    writeFileSync(join(splits, "trainlist01.txt"), `ApplyEyeMakeup/${VIDEOS.avi} 2\nArmWrestling/${VIDEOS.kinetics} 1\n`);
    writeFileSync(join(splits, "testlist01.txt"), `ApplyEyeMakeup/${VIDEOS.short}\r\nArmWrestling/${VIDEOS.ava}\r\n`);
    const root = join(dir, "videos");
    const ucf = await indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "ucf101", dir: splits } }), root, splits);
    expect(ucf.classNames).to.deep.equal(["ArmWrestling", "ApplyEyeMakeup"]);
    expect(ucf.train.map((v) => [v.file.endsWith(VIDEOS.avi) || v.file.endsWith(VIDEOS.kinetics), v.label])).to.deep.equal([[true, 1], [true, 0]]);
    expect(ucf.eval.map((v) => v.label)).to.deep.equal([0, 1]);
    // Listed videos missing under data.root: all of them (a wrong root), or some (a partial copy,
    // which skip_bad_files trains without).
    const partial = join(dir, "partial");
    for (const cls of ["ArmWrestling", "ApplyEyeMakeup"]) mkdirSync(join(partial, cls), { recursive: true });
    const ucfAt = (at: string, skip = false) => indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root: at, split: { format: "ucf101", dir: splits }, skip_bad_files: skip }), at, splits).then(() => null, (e: DataError) => e);
    expect((await ucfAt(partial))?.message).to.match(/partial \(data\.root\): 4 of the 4 videos the ucf101 split lists do not exist \(.*\); is data\.root the folder that holds the class folders\?$/);
    expect((await ucfAt(partial, true))?.message, "skip_bad_files: not all of them").to.include("4 of the 4 videos");
    copyFileSync(join(FIXTURES, VIDEOS.avi), join(partial, "ApplyEyeMakeup", VIDEOS.avi));
    expect((await ucfAt(partial))?.message).to.include("3 of the 4 videos the ucf101 split lists do not exist").and.include("or set data.skip_bad_files: true");
    expect(await ucfAt(partial, true), "skip_bad_files trains without the missing ones").to.equal(null);

    for (const [cls, train, test] of [["ApplyEyeMakeup", VIDEOS.avi, VIDEOS.short], ["ArmWrestling", VIDEOS.ava, VIDEOS.kinetics]]) {
      writeFileSync(join(splits, `${cls}_test_split1.txt`), `${train} 1 \n${test} 2 \nmissing.avi 0 \n`);
    }
    const hmdb = await indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "hmdb51", dir: splits } }), root, splits);
    expect(hmdb.classNames).to.deep.equal(["ApplyEyeMakeup", "ArmWrestling"]);
    expect(hmdb.train.map((v) => v.file)).to.deep.equal([join(root, "ApplyEyeMakeup", VIDEOS.avi), join(root, "ArmWrestling", VIDEOS.ava)]);
    expect(hmdb.eval.map((v) => v.file)).to.deep.equal([join(root, "ApplyEyeMakeup", VIDEOS.short), join(root, "ArmWrestling", VIDEOS.kinetics)]);

    const source = await createDataSource(
      DataSpec.parse({ kind: "video-folder", root: "videos", split: { format: "ucf101", dir: "splits" }, clip_length: 2, max_frames: 16 }),
      ctx(),
    );
    const evalLabels: number[] = [];
    for await (const b of source.evalBatches(4, 4)) evalLabels.push(...b.labels);
    // Two test videos, two uniformly spread windows each, interleaved by class.
    expect(evalLabels).to.deep.equal([0, 1, 0, 1]);
  });

  it("a split whose evaluation list is empty or shares videos with its training list is an exit-2 DataError naming the list (UCF101 and HMDB51)", async () => {
    const splits = join(dir, "bad-splits");
    mkdirSync(splits, { recursive: true });
    const root = join(dir, "videos");
    const index = () => indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "ucf101", dir: splits } }), root, splits);
    const error = () => index().then(() => expect.fail("accepted"), (e: DataError) => e);
    writeFileSync(join(splits, "trainlist01.txt"), `ApplyEyeMakeup/${VIDEOS.avi} 1
ArmWrestling/${VIDEOS.kinetics} 2
`);
    writeFileSync(join(splits, "testlist01.txt"), "\n");
    let e = await error();
    expect(e).to.be.instanceOf(DataError);
    expect(e.keyPath).to.equal("data.split");
    expect(e.message).to.equal(`${join(splits, "testlist01.txt")} (data.split): lists no evaluation videos; a split needs held-out videos to evaluate on`);
    writeFileSync(join(splits, "testlist01.txt"), `ApplyEyeMakeup/${VIDEOS.short}\nArmWrestling/${VIDEOS.kinetics}\n`);
    e = await error();
    expect(e.message).to.equal(
      `${join(splits, "trainlist01.txt")} (data.split): 1 of the split's 2 evaluation videos is listed for training too: ${join(root, "ArmWrestling", VIDEOS.kinetics)}; evaluation must be on held-out videos`,
    );
    // HMDB51: a video marked 1 in one line and 2 in another.
    for (const f of ["trainlist01.txt", "testlist01.txt"]) rmSync(join(splits, f));
    writeFileSync(join(splits, "ApplyEyeMakeup_test_split1.txt"), `${VIDEOS.avi} 1\n${VIDEOS.short} 2\n`);
    writeFileSync(join(splits, "ArmWrestling_test_split1.txt"), `${VIDEOS.ava} 1\n${VIDEOS.ava} 2\n`);
    const hmdb = await indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "hmdb51", dir: splits } }), root, splits).then(() => expect.fail("accepted"), (err: DataError) => err);
    expect(hmdb.message).to.equal(`${join(splits, "ArmWrestling_test_split1.txt")} (data.split): 1 of the split's 2 evaluation videos is listed for training too: ${join(root, "ArmWrestling", VIDEOS.ava)}; evaluation must be on held-out videos`);
  });

  it("split files whose class and video names hold spaces (UCF101 and HMDB51 formats): whole names, not their first word", async () => {
    const root = join(dir, "spaced");
    const layout = { "Apply Eye": ["v a 01.avi", "v a 02.mp4"], "Arm Wrestling": ["w 1.mp4", "w 2.mp4"] };
    for (const [cls, files] of Object.entries(layout)) {
      mkdirSync(join(root, cls), { recursive: true });
      for (const f of files) copyFileSync(join(FIXTURES, VIDEOS.short), join(root, cls, f));
    }
    const splits = join(dir, "spaced-splits");
    mkdirSync(splits, { recursive: true });
    writeFileSync(join(splits, "classInd.txt"), "1 Arm Wrestling\n2 Apply Eye\n");
    writeFileSync(join(splits, "trainlist01.txt"), "Apply Eye/v a 01.avi 2\nArm Wrestling/w 1.mp4 1\n");
    writeFileSync(join(splits, "testlist01.txt"), "Apply Eye/v a 02.mp4\nArm Wrestling/w 2.mp4\n");
    const ucf = await indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "ucf101", dir: splits } }), root, splits);
    expect(ucf.classNames).to.deep.equal(["Arm Wrestling", "Apply Eye"]);
    expect(ucf.train).to.deep.equal([{ file: join(root, "Apply Eye", "v a 01.avi"), label: 1 }, { file: join(root, "Arm Wrestling", "w 1.mp4"), label: 0 }]);
    expect(ucf.eval).to.deep.equal([{ file: join(root, "Arm Wrestling", "w 2.mp4"), label: 0 }, { file: join(root, "Apply Eye", "v a 02.mp4"), label: 1 }]);

    writeFileSync(join(splits, "Apply Eye_test_split1.txt"), "v a 01.avi 1\nv a 02.mp4 2\n");
    writeFileSync(join(splits, "Arm Wrestling_test_split1.txt"), "w 1.mp4 1\nw 2.mp4 2\n");
    const hmdb = await indexVideos(VideoFolderDataSpec.parse({ kind: "video-folder", root, split: { format: "hmdb51", dir: splits } }), root, splits);
    expect(hmdb.train.map((v) => v.file)).to.deep.equal([join(root, "Apply Eye", "v a 01.avi"), join(root, "Arm Wrestling", "w 1.mp4")]);
    expect(hmdb.eval.map((v) => v.file)).to.deep.equal([join(root, "Apply Eye", "v a 02.mp4"), join(root, "Arm Wrestling", "w 2.mp4")]);
  });

  it("class folders that are symbolic links (a subset assembled with ln -s) count as classes; a dangling link does not", async () => {
    const linked = join(dir, "linked");
    mkdirSync(linked, { recursive: true });
    for (const cls of ["ApplyEyeMakeup", "ArmWrestling"]) symlinkSync(join(dir, "videos", cls), join(linked, cls), "dir");
    symlinkSync(join(dir, "no-such-folder"), join(linked, "Dangling"), "dir");
    const spec = VideoFolderDataSpec.parse({ kind: "video-folder", root: linked, eval_fraction: 0.5 });
    const viaLinks = await indexVideos(spec, linked, null);
    const direct = await indexVideos(spec, join(dir, "videos"), null);
    expect(viaLinks.classNames).to.deep.equal(["ApplyEyeMakeup", "ArmWrestling"]);
    const rel = (vs: { file: string; label: number }[], root: string) => vs.map((v) => [v.file.slice(root.length), v.label]);
    expect(rel(viaLinks.train, linked)).to.deep.equal(rel(direct.train, join(dir, "videos")));
    expect(rel(viaLinks.eval, linked)).to.deep.equal(rel(direct.eval, join(dir, "videos")));
  });

  it("max_frames shorter than a clip's span (every clip would end in repeated frames): an error naming the key", async () => {
    const spec = { kind: "video-folder", root: "videos", clip_length: 4, frame_stride: 3, eval_fraction: 0 };
    const err = await firstBatch({ ...spec, max_frames: 9 }, ctx()).then(() => null, (e: DataError) => e);
    expect(err).to.be.instanceOf(DataError);
    expect(err!.keyPath).to.equal("data.max_frames");
    expect(err!.message).to.include("data.max_frames: 9 frames per video, but a clip spans 10 (clip_length 4, frame_stride 3)");
    // One frame more is exactly the span: clips of distinct frames.
    expect((await firstBatch({ ...spec, max_frames: 10 }, ctx())).dims).to.deep.equal([4, 4, 1, 12, 16]);
  });

  it("rejects a class count that does not match the model", async () => {
    const err = await createDataSource(DataSpec.parse({ kind: "video-folder", root: "videos" }), { ...ctx(), classes: 5 })
      .then(() => null, (e: DataError) => e);
    expect(err!.message).to.match(/2 classes \(ApplyEyeMakeup, ArmWrestling\), the model has 5/);
  });

  it("an empty class folder is an error naming it, not a class counted with no videos", async () => {
    // A folder holding only a non-video file is as empty as one holding nothing.
    for (const cls of ["ApplyEyeMakeup", "ArmWrestling", "Empty"]) mkdirSync(join(dir, "with-empty", cls), { recursive: true });
    copyFileSync(join(FIXTURES, VIDEOS.short), join(dir, "with-empty", "ApplyEyeMakeup", VIDEOS.short));
    copyFileSync(join(FIXTURES, VIDEOS.ava), join(dir, "with-empty", "ArmWrestling", VIDEOS.ava));
    writeFileSync(join(dir, "with-empty", "Empty", "notes.txt"), "not a video\n");
    // Whatever the model's class count (3 would have matched the folders), the folder is named.
    for (const classes of [2, 3]) {
      const err = await createDataSource(DataSpec.parse({ kind: "video-folder", root: "with-empty", eval_fraction: 0 }), { ...ctx(), classes })
        .then(() => null, (e: DataError) => e);
      expect(err, `classes ${classes}`).to.be.instanceOf(DataError);
      expect(err!.keyPath).to.equal("data.root");
      expect(err!.message).to.include(`(data.root): class folder with no videos (extensions .avi, `);
      expect(err!.message).to.include(`: ${join(dir, "with-empty", "Empty")}; a class without videos cannot be learnt`);
    }
  });
});
