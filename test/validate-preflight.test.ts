/**
 * `validate` makes every check `run` makes before training (issue 15): each case here is a config
 * the schema accepts but `run` rejects with exit 2; `validate` must reject it too, and create
 * nothing. Clips too short for Sideways to reach every block are an error unless --allow-warnings.
 */
import { expect } from "chai";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { encodeNpy } from "../src/data/npy.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { loadModelFile } from "../src/model/load-model.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { configHash } from "../src/spec/resolved-config.js";
import { captureIo } from "./helpers/capture-io.js";
import { withEnv } from "./helpers/env.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");

describe("validate = run's checks before training", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-validate-", (d) => (dir = d));

  /**
   * validate, run and a sweep of two seeds all exit 2 with `expected` in the message, and leave
   * the folder empty (the sweep starts no run: before, each run failed in a folder of its own).
   */
  async function bothReject(overrides: string[], expected: string | RegExp, alsoRun = true): Promise<void> {
    const v = captureIo();
    expect(await main(["validate", GOOD, ...overrides], v), v.stderr).to.equal(2);
    expect(v.stderr).to.match(typeof expected === "string" ? new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : expected);
    expect(v.stderr).not.to.include("ok:");
    if (alsoRun) {
      const r = captureIo();
      expect(await main(["run", GOOD, ...overrides, "--quiet"], r), r.stderr).to.equal(2);
      expect(r.stderr).to.match(typeof expected === "string" ? new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : expected);
      const sw = captureIo();
      expect(await main(["sweep", GOOD, ...overrides, "sweep={seeds: [0, 1]}", "--quiet"], sw), sw.stderr).to.equal(2);
      expect(sw.stderr).to.match(typeof expected === "string" ? new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : expected);
    }
    expect(readdirSync(dir).filter((f) => f !== "videos")).to.deep.equal([]);
  }

  it("the data against the model: video classes, normalize values per channel", async () => {
    // Two class folders; the tiny model has 3 classes. (Found when indexing, before any decoding.)
    for (const c of ["a", "b"]) {
      mkdirSync(join(dir, "videos", c), { recursive: true });
      writeFileSync(join(dir, "videos", c, "v.avi"), "not a video");
    }
    await bothReject(["data={kind: video-folder, root: " + join(dir, "videos") + ", clip_length: 4}"], "2 classes (a, b), the model has 3");
    await bothReject(["data.normalize={mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}"], "data.normalize.mean: 3 values, expected one per input channel (1)");
  });

  it("non-finite input is named where it enters (file, clip, frame), exit 2, not a 'loss is NaN'", async () => {
    // 4 clips of 5 frames of 1x8x8; clip 2, frame 3, row 1, column 6 is NaN.
    const clips = new Float32Array(4 * 5 * 64).fill(0.5);
    clips[((2 * 5 + 3) * 64) + 1 * 8 + 6] = NaN;
    mkdirSync(join(dir, "videos"));
    writeFileSync(join(dir, "videos", "clips.npy"), encodeNpy(clips, [4, 5, 1, 8, 8]));
    writeFileSync(join(dir, "videos", "labels.npy"), encodeNpy(Int32Array.of(0, 1, 2, 0), [4]));
    const data = `data={kind: npy, clips: ${join(dir, "videos", "clips.npy")}, labels: ${join(dir, "videos", "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    await bothReject([data], /clips\.npy \(data\.clips\): clip 2, frame 3 holds NaN \(channel 0, row 1, column 6\); expected finite values/);
    clips[((2 * 5 + 3) * 64) + 1 * 8 + 6] = -Infinity;
    writeFileSync(join(dir, "videos", "clips.npy"), encodeNpy(clips, [4, 5, 1, 8, 8]));
    await bothReject([data], /clip 2, frame 3 holds -Infinity/, false);
  });

  it("npy clips shorter than data.clip_length: the experiment file and the overrides that set it are named beside the data file", async () => {
    // 4 clips of 5 frames; the experiment asks for 8 (and, below, 4 at stride 2: a span of 7).
    mkdirSync(join(dir, "videos"));
    const clipsFile = join(dir, "videos", "clips.npy");
    writeFileSync(clipsFile, encodeNpy(new Float32Array(4 * 5 * 64).fill(0.5), [4, 5, 1, 8, 8]));
    writeFileSync(join(dir, "videos", "labels.npy"), encodeNpy(Int32Array.of(0, 1, 2, 0), [4]));
    const data = (clipLength: number) => `data={kind: npy, clips: ${clipsFile}, labels: ${join(dir, "videos", "labels.npy")}, eval_on_train: true, clip_length: ${clipLength}}`;
    const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // The user wrote 8: no word about the default.
    await bothReject([data(8)], new RegExp(
      `error: ${quote(GOOD)} with override '${quote(data(8))}': ${quote(clipsFile)} \\(data\\.clips\\): clips have 5 frames; ` +
        `data\\.clip_length 8 with data\\.frame_stride 1 needs 8: set data\\.clip_length to 5 or less\\n`,
    ));
    // The stride's override is named too, since changing it fixes the clash as well.
    await bothReject([data(4), "data.frame_stride=2"], new RegExp(
      `error: ${quote(GOOD)} with override '${quote(data(4))}', override 'data\\.frame_stride=2': ${quote(clipsFile)} \\(data\\.clips\\): clips have 5 frames; ` +
        `data\\.clip_length 4 with data\\.frame_stride 2 needs 7: set data\\.clip_length to 3 or less, or a smaller data\\.frame_stride\\n`,
    ), false);
    // A sweep of the stride (not of data.clip_length, the error's first key): its run is named.
    const sweep = captureIo();
    expect(await main(["validate", GOOD, data(4), "sweep.grid.data.frame_stride=[1, 2]", "sweep.seeds=[0]"], sweep)).to.equal(2);
    expect(sweep.stderr).to.include(`: sweep run 1 (sweep.grid: data.frame_stride=2; seed=0): ${clipsFile} (data.clips): clips have 5 frames`);
  });

  it("the execution provider: cuda without its libraries", async () => {
    // The same missing build on every machine.
    await withEnv({ SIDEWAYS_CUDA_DIR: join(dir, "no-cuda-build") }, async () => {
      await bothReject(["runtime.provider=cuda"], /the CUDA execution provider is not installed[\s\S]*sideways gpu install cuda13/, false);
      // A sweep tries the provider in a child process (no GPU context left in the sweep's): the same words, exit 2, nothing written.
      const sw = captureIo();
      expect(await main(["sweep", GOOD, "runtime.provider=cuda", "sweep={seeds: [0, 1]}", "--quiet"], sw), sw.stderr).to.equal(2);
      expect(sw.stderr).to.match(/the CUDA execution provider is not installed[\s\S]*sideways gpu install cuda13/);
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  });

  it("runtime.device_id other than 0 on webgpu: exit 2 naming the key (the WebGPU EP cannot choose an adapter, so it would be ignored)", async () => {
    // Checked by the schema, before any session: the same on machines with and without WebGPU.
    await bothReject(["runtime.provider=webgpu", "runtime.device_id=1"], /runtime\.device_id: expected 0 with runtime\.provider webgpu/);
    await bothReject(["runtime.provider=webgpu", "runtime.device_id=[0, 1]", "runtime.workers=2"], /runtime\.device_id: expected 0 with runtime\.provider webgpu/);
    // The same index lists stay valid where they mean something.
    expect(await main(["validate", GOOD, "runtime.device_id=[0, 1]", "runtime.workers=2"], captureIo())).to.equal(0);
  });

  it("a train.init_checkpoint of another model: exit 2 naming the key and the override that set it, counts and a hint, not every name", async () => {
    const other = loadModelFile(join(dirname(GOOD), "../../../models/small-cnn.yaml"));
    const path = join(dir, "other.safetensors");
    writeCheckpoint(path, other, initWeights(other, 0));
    for (const command of ["validate", "run"]) {
      const io = captureIo();
      expect(await main([command, GOOD, `train.init_checkpoint=${path}`, ...(command === "run" ? ["--quiet"] : [])], io), io.stderr).to.equal(2);
      expect(io.stderr, command).to.match(/good\.yaml with override 'train\.init_checkpoint=[^']*other\.safetensors': train\.init_checkpoint: checkpoint \S+ does not fit model tiny/);
      expect(io.stderr, command).to.match(/none of its 6 tensors fits the model's \d+: a checkpoint of another model\?/);
    }
    // export reads an experiment's train.init_checkpoint the same way, naming it, before writing anything.
    const exported = captureIo();
    expect(await main(["export", GOOD, `train.init_checkpoint=${path}`, "--out", join(dir, "x")], exported)).to.equal(2);
    expect(exported.stderr).to.match(/good\.yaml with override 'train\.init_checkpoint=[^']*other\.safetensors': train\.init_checkpoint: checkpoint \S+ does not fit model tiny/);
    // Nothing written: no run folder.
    expect(readdirSync(dir)).to.deep.equal(["other.safetensors"]);
    rmSync(path);
  });

  it("clip length against depth: an error unless --allow-warnings, naming the override that set it or the file", async () => {
    await bothReject(["data.clip_length=1"], /good\.yaml with override 'data\.clip_length=1': data\.clip_length: with 1-frame clips and 2 blocks, Sideways never sends a gradient[\s\S]*--allow-warnings/, false);
    // Set in the file itself: the file alone is named, not an unrelated override.
    const own = join(dir, "short.yaml");
    writeFileSync(own, readFileSync(GOOD, "utf8").replace("models/tiny.yaml", join(dirname(GOOD), "models/tiny.yaml")).replace(/clip_length: \d+/, "clip_length: 1"));
    const fromFile = captureIo();
    expect(await main(["validate", own, "train.steps=3"], fromFile)).to.equal(2);
    expect(fromFile.stderr).to.match(new RegExp(`^error: ${own.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: data\\.clip_length: with 1-frame clips`));
    rmSync(own);
    // From a sweep's value: the run of the sweep it came from is named; an error about an unswept key names none.
    const sweep = captureIo();
    expect(await main(["validate", GOOD, "sweep.grid.data.clip_length=[4, 1]", "sweep.seeds=[0]"], sweep)).to.equal(2);
    expect(sweep.stderr).to.match(/good\.yaml: sweep run 1 \(sweep\.grid: data\.clip_length=1; seed=0\): data\.clip_length: with 1-frame clips/);
    const unswept = captureIo();
    expect(await main(["validate", GOOD, "sweep.grid.train.optimizer.lr=[0.1, 0.2]", "sweep.seeds=[0]", "data.clip_length=1"], unswept)).to.equal(2);
    expect(unswept.stderr).to.match(/good\.yaml with override 'data\.clip_length=1': data\.clip_length: with 1-frame clips/);
    const io = captureIo();
    expect(await main(["validate", GOOD, "data.clip_length=1", "--allow-warnings"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("warning: with 1-frame clips").and.include("ok:");
    // BP has no such limit.
    expect(await main(["validate", GOOD, "data.clip_length=1", "train.method=bp"], captureIo())).to.equal(0);
  });

  it("Sideways' device step asked for with clips shorter than 2L-1: exit 2 naming runtime.device_step, even with --allow-warnings", async () => {
    // run refused it too; before, it trained on the executor without a word (summary.json: device_step false).
    await bothReject(["data.clip_length=2", "runtime.device_step=true"], /runtime\.device_step: expected false or auto: Sideways' device step needs clips of at least 2L-1 = 3 frames/);
    const io = captureIo();
    expect(await main(["validate", GOOD, "data.clip_length=2", "runtime.device_step=true", "--allow-warnings"], io)).to.equal(2);
    expect(io.stderr).to.match(/runtime\.device_step: expected false or auto: Sideways' device step needs clips of at least 2L-1 = 3 frames for 2 blocks/);
    expect(await main(["validate", GOOD, "data.clip_length=3", "runtime.device_step=true"], captureIo())).to.equal(0);
  });

  it("data-parallel replicas of a model with batch_norm: exit 2 naming runtime.replicas", async () => {
    // Found by the replica executor when it starts (train/replica-executor.ts refuseBatchStatistics).
    const bn = "model={name: bn, input: {channels: 1, height: 8, width: 8}, classes: 3, layers: [{type: conv2d, out_channels: 4, kernel: 3}, {type: batch_norm}, {type: relu}, {type: global_avg_pool}, {type: linear, out_features: 3}]}";
    await bothReject([bn, "runtime.replicas=2"], /runtime\.replicas: expected 1 for model bn .*: layers\.1 \(batch_norm\) normalises each frame/);
    expect(await main(["validate", GOOD, bn], captureIo())).to.equal(0);
  });

  it("batch_norm on a 1x1 input with one clip per batch (one value per channel and frame): exit 2 naming train.batch_size", async () => {
    // Before, validate said ok and run stopped at its first step with "BUG" and exit 1. Inside a residual unit too.
    const bn = (norm: string) =>
      `model={name: bn, input: {channels: 1, height: 8, width: 8}, classes: 3, layers: [{type: conv2d, out_channels: 4, kernel: 8}, ${norm}, {type: relu}, {type: flatten}, {type: linear, out_features: 3}]}`;
    for (const [norm, which] of [
      ["{type: batch_norm}", "layers.1 (batch_norm)"],
      ["{type: residual, layers: [{type: conv2d, out_channels: 4, kernel: 1}, {type: batch_norm}]}", "layers.1.layers.1 (batch_norm)"],
    ]) {
      await bothReject([bn(norm), "train.batch_size=1", "data.clip_length=6"], `found 1: ${which} normalises each frame over the batch's clips, and its input of 4x1x1 gives it one value per channel`);
      expect(await main(["validate", GOOD, bn(norm), "train.batch_size=2", "data.clip_length=6"], captureIo())).to.equal(0);
    }
    // Swept: the run of batch size 1 is checked though a run of 2 comes first (the kinds of run
    // preflight tells apart include the batch size), and named as the sweep's run.
    for (const command of ["validate", "sweep"]) {
      const io = captureIo();
      expect(await main([command, GOOD, bn("{type: batch_norm}"), "data.clip_length=6", "sweep.grid.train.batch_size=[2, 1]", "sweep.seeds=[0]", ...(command === "sweep" ? ["--quiet"] : [])], io), `${command}: ${io.stderr}`).to.equal(2);
      expect(io.stderr, command).to.match(/good\.yaml: sweep run 1 \(sweep\.grid: train\.batch_size=1; seed=0\): train\.batch_size: .*found 1: layers\.1 \(batch_norm\)/);
    }
    expect(readdirSync(dir).filter((f) => f !== "videos")).to.deep.equal([]);
    // A sweep's run process (`run --child`, as sweep-runner.ts starts it) gets the swept value as an
    // override; its error names the sweep's run, not an override the user never typed.
    const swept = [bn("{type: batch_norm}"), "data.clip_length=6", "train.batch_size=1", "sweep=null"];
    const child = loadExperiment(GOOD, swept, { oneValuePerKey: false });
    const runId = `batch_size-1_${configHash(child.spec, child.model, child.baseDir)}`;
    const meta = { index: 1, params: { "train.batch_size": 1, seed: 0 }, config_id: "c", context: "sweep run 1 (sweep.grid: train.batch_size=1; seed=0)" };
    const io = captureIo();
    expect(await main(["run", GOOD, ...swept, "--child", "--run-id", runId, "--run-dir", join(dir, "runs", runId), "--sweep-meta", JSON.stringify(meta)], io)).to.equal(2);
    expect(io.stderr).to.match(/good\.yaml: sweep run 1 \(sweep\.grid: train\.batch_size=1; seed=0\): train\.batch_size: .*found 1/);
    expect(io.stderr).not.to.include("with override 'train.batch_size=1'");
    rmSync(join(dir, "runs"), { recursive: true, force: true });
    // The inner batch_norm's own input is named, not the unit's (4x2x2 here, halved by the inner conv).
    const unit = bn("{type: residual, shortcut: conv, layers: [{type: conv2d, out_channels: 4, kernel: 2, stride: 2}, {type: batch_norm}]}").replace("kernel: 8}", "kernel: 7}");
    await bothReject([unit, "train.batch_size=1", "data.clip_length=6"], "layers.1.layers.1 (batch_norm) normalises each frame over the batch's clips, and its input of 4x1x1", false);
    // On a larger input one clip is enough (PyTorch's rule: more than one value per channel).
    expect(await main(["validate", GOOD, bn("{type: batch_norm}").replace("kernel: 8", "kernel: 7"), "train.batch_size=1"], captureIo())).to.equal(0);
  });

  it("float32 npy clips of 8-bit pixels not divided by 255: a note of validate, run (summary.json) and sweep, not an error", async () => {
    // 4 clips of 5 frames of 1x8x8 holding whole numbers up to 255, as clips.astype(np.float32) of 8-bit frames does.
    mkdirSync(join(dir, "videos"));
    const clipsFile = join(dir, "videos", "clips.npy");
    writeFileSync(clipsFile, encodeNpy(Float32Array.from({ length: 4 * 5 * 64 }, (_, i) => (i * 37) % 256), [4, 5, 1, 8, 8]));
    writeFileSync(join(dir, "videos", "labels.npy"), encodeNpy(Int32Array.of(0, 1, 2, 0), [4]));
    const data = `data={kind: npy, clips: ${clipsFile}, labels: ${join(dir, "videos", "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    const note = `${clipsFile} (data.clips): float32 clips of whole numbers 0..255 look like 8-bit pixels not divided by 255`;
    const v = captureIo();
    expect(await main(["validate", GOOD, data], v), v.stderr).to.equal(0);
    expect(v.stderr).to.include(`note: ${GOOD}: ${note}`);
    expect(v.stderr).to.match(/^ok: /m);
    const r = captureIo();
    expect(await main(["run", GOOD, data, `output.dir=${join(dir, "out")}`, "--quiet"], r), r.stderr).to.equal(0);
    const [runId] = readdirSync(join(dir, "out"));
    const summary = JSON.parse(readFileSync(join(dir, "out", runId!, "summary.json"), "utf8")) as { notes?: string[]; warnings?: string[] };
    expect(summary.notes?.filter((n) => n.startsWith(note))).to.have.length(1);
    expect(summary.warnings ?? [], "a note, not a warning counted in the tables").not.to.satisfy((w: string[]) => w.some((x) => x.includes("8-bit pixels")));
    // A sweep says it before its runs, except with --quiet (notes are not warnings).
    for (const quiet of [false, true]) {
      const sw = captureIo();
      expect(await main(["sweep", GOOD, data, "sweep={seeds: [0]}", `output.dir=${join(dir, `sweep-${quiet}`)}`, ...(quiet ? ["--quiet"] : [])], sw), sw.stderr).to.equal(0);
      expect(sw.stderr.includes(`note: ${GOOD}: ${note}`), `--quiet ${quiet}`).to.equal(!quiet);
    }
  });

  it("a good config: ok, nothing created", async () => {
    const io = captureIo();
    expect(await main(["validate", GOOD], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/^ok: /m);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
