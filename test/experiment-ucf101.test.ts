/**
 * The UCF101 template (experiments/ucf101.yaml) works as documented: pointed with overrides at a
 * UCF101-layout copy of the real fixture clips (class folders + official split files), it
 * validates and trains end to end through the CLI.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readCsv } from "../src/results/csv-read.js";
import { runFolderIn } from "./helpers/run-folder.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));
// Real clips from mmaction2 (licence and provenance: test/fixtures/videos/README.md).
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/videos", import.meta.url));
const TEMPLATE = resolve("experiments/ucf101.yaml");

describe("experiments/ucf101.yaml on a UCF101-layout copy of the fixture clips", function () {
  this.timeout(120_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("validates and trains a few steps with the documented overrides", () => {
    const dir = tempFolder("sideways-ucf-");
    const root = join(dir, "UCF-101");
    const splits = join(dir, "ucfTrainTestlist");
    const layout: Record<string, string[]> = {
      ApplyEyeMakeup: ["ucf101_apply_eye_makeup.avi", "short_32_frames.mp4"],
      ArmWrestling: ["kinetics_arm_wrestling.mp4", "ava_6fps.mp4"],
    };
    mkdirSync(splits, { recursive: true });
    const train: string[] = [];
    const test: string[] = [];
    for (const [cls, files] of Object.entries(layout)) {
      mkdirSync(join(root, cls), { recursive: true });
      files.forEach((f, i) => {
        const name = `v_${cls}_g0${i + 1}_c01${f.slice(f.lastIndexOf("."))}`;
        copyFileSync(join(FIXTURES, f), join(root, cls, name));
        (i === 0 ? train : test).push(`${cls}/${name}`);
      });
    }
    writeFileSync(join(splits, "classInd.txt"), "1 ApplyEyeMakeup\n2 ArmWrestling\n");
    writeFileSync(join(splits, "trainlist01.txt"), train.map((p, i) => `${p} ${i + 1}\n`).join(""));
    writeFileSync(join(splits, "testlist01.txt"), test.map((p) => `${p}\n`).join(""));

    const overrides = [
      `data.root=${root}`,
      `data.split.dir=${splits}`,
      "model.classes=2",
      "model.layers.9.out_features=2",
      "train.batch_size=2",
      "train.steps=3",
      "eval.clips=4", // two windows of each of the 2 test videos
      "runtime.workers=2",
      `output.dir=${join(dir, "run")}`,
    ];
    // Decoded frames go to this test's folder, not the user's cache.
    const env = { ...process.env, SIDEWAYS_CACHE_DIR: join(dir, "frame-cache") };
    const validate = spawnSync(process.execPath, [cli, "validate", TEMPLATE, ...overrides], { encoding: "utf8", env });
    expect(validate.status, validate.stderr).to.equal(0);
    const run = spawnSync(process.execPath, [cli, "run", TEMPLATE, ...overrides, "--quiet"], { encoding: "utf8", timeout: 100_000, env });
    expect(run.status, run.stderr).to.equal(0);
    const summary = JSON.parse(readFileSync(join(runFolderIn(join(dir, "run")), "summary.json"), "utf8"));
    expect(summary).to.include({ status: "completed", steps_done: 3 });
    expect(existsSync(join(runFolderIn(join(dir, "run")), "final.safetensors"))).to.equal(true);
    // Video-level accuracy over the test list's videos, each voting with its two clips (its
    // arithmetic: test/evaluate.test.ts), in eval.csv and as the summary's final value.
    const evalCsv = readCsv(join(runFolderIn(join(dir, "run")), "eval.csv"));
    expect(evalCsv.columns).to.include.members(["eval_video_top1", "eval_videos"]);
    const last = evalCsv.rows.at(-1)!;
    expect(last).to.include({ eval_clips: 4, eval_videos: 2 });
    expect([0, 0.5, 1]).to.include(last.eval_video_top1);
    expect(summary.final_eval_video_top1).to.equal(last.eval_video_top1);
  });
});
