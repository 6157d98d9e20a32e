/**
 * `sideways export --checkpoint` (issue 15): model.onnx holds the whole forward pass with the
 * weights inside, input `frames`, output `logits`, and plain onnxruntime (no code of ours) gives
 * the logits our own block-by-block forward gives.
 */
import { expect } from "chai";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { readCheckpoint, writeCheckpoint } from "../src/model/checkpoint.js";
import { onnx } from "../src/graph/onnx.js";
import { initWeights } from "../src/model/init.js";
import { loadModelFile, resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import { frameLogits } from "../src/train/evaluate.js";
import { everyLayerKindSpec } from "./helpers/tiny-models.js";
import { randomArray, seededRandom } from "./reference/numeric.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { RESUME_FILE, writeResumeCheckpoint } from "../src/train/resume-checkpoint.js";

/** Logits of `frames` [n, C, H, W] from model.onnx with onnxruntime-node alone. */
async function onnxLogits(file: string, frames: Float32Array, dims: number[]): Promise<{ names: [readonly string[], readonly string[]]; logits: Float32Array }> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ frames: new ort.Tensor("float32", frames, dims) });
    return { names: [session.inputNames, session.outputNames], logits: out.logits.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** model.onnx without its metadata_props (which say where its weights came from): the graph and the weights. */
function graphOf(file: string): Buffer {
  const proto = onnx.ModelProto.decode(readFileSync(file));
  proto.metadataProps = [];
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/** Our own forward: the per-block training graphs, block by block (train/evaluate.ts). */
async function ourLogits(model: Model, weights: Weights, frames: Float32Array, n: number): Promise<Float32Array> {
  const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model), { provider: "cpu", threads: 1 }, false);
  try {
    const { channels, height, width } = model.input;
    const logits = await frameLogits(model, runner, { clips: frames, labels: new Int32Array(1), dims: [1, n, channels, height, width] }, weights);
    return logits.data as Float32Array;
  } finally {
    await runner.release();
  }
}

/**
 * Both are float32 forwards of the same ops on the same CPU kernels; the graphs differ only in
 * where blocks are cut, so the results agree to float32 rounding: 1e-5 relative is ample.
 */
function expectClose(a: Float32Array, b: Float32Array): void {
  expect(a.length).to.equal(b.length);
  const scale = Math.max(...Array.from(b, Math.abs), 1e-3);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `logit ${i}: ${a[i]} vs ${b[i]}`).to.be.below(1e-5 * scale);
}

describe("export --checkpoint: one self-contained model.onnx", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  inFreshFolderEachTest("sideways-export-", (d) => (dir = d));

  it("every layer kind: frames in, logits out, weights inside, equal to our own forward", async () => {
    const model = resolveModel(everyLayerKindSpec, "every-layer-kind");
    writeFileSync(join(dir, "model.yaml"), stringify(everyLayerKindSpec));
    const weights = initWeights(model, 3);
    writeCheckpoint(join(dir, "w.safetensors"), model, weights);
    const io = captureIo();
    expect(await main(["export", "model.yaml", "--checkpoint", "w.safetensors", "--out", "out"], io), io.stderr).to.equal(0);
    expect(readdirSync(join(dir, "out"))).to.include.members(["model.onnx", "manifest.json", "block0.forward.onnx"]);
    const n = 5;
    const frames = Float32Array.from(randomArray(seededRandom(7), n * 64));
    const got = await onnxLogits(join(dir, "out", "model.onnx"), frames, [n, 1, 8, 8]);
    // No weight inputs: frames is the only thing to feed.
    expect(got.names).to.deep.equal([["frames"], ["logits"]]);
    expectClose(got.logits, await ourLogits(model, weights, frames, n));
  });

  it("batch norm, group norm and residual units: model.onnx normalises with the running statistics, as evaluation does", async () => {
    const spec = {
      name: "norms",
      input: { channels: 1, height: 8, width: 8 },
      classes: 3,
      layers: [
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
        { type: "batch_norm" },
        { type: "relu" },
        { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1 }, { type: "batch_norm" }, { type: "relu" }] },
        { type: "group_norm", groups: 2 },
        { type: "global_avg_pool" },
        { type: "linear", out_features: 3 },
      ],
    };
    const model = resolveModel(spec, "norms");
    writeFileSync(join(dir, "model.yaml"), stringify(spec));
    const weights = initWeights(model, 4);
    // Running statistics away from their initial 0 and 1, so that using them (or not) shows.
    const rng = seededRandom(11);
    for (const b of model.buffers) {
      const v = weights.get(b.name)!;
      if (b.name.endsWith("running_mean")) v.set(Float32Array.from(randomArray(rng, v.length)));
      if (b.name.endsWith("running_var")) v.set(Float32Array.from(randomArray(rng, v.length), (r) => 0.5 + Math.abs(r)));
    }
    writeCheckpoint(join(dir, "w.safetensors"), model, weights);
    const io = captureIo();
    expect(await main(["export", "model.yaml", "--checkpoint", "w.safetensors", "--out", "out"], io), io.stderr).to.equal(0);
    const n = 4;
    const frames = Float32Array.from(randomArray(seededRandom(8), n * 64));
    const got = await onnxLogits(join(dir, "out", "model.onnx"), frames, [n, 1, 8, 8]);
    expect(got.names).to.deep.equal([["frames"], ["logits"]]);
    expectClose(got.logits, await ourLogits(model, weights, frames, n));
  });

  it("a run's final.safetensors alone (the model from its config.yaml), and init_checkpoint is used, not ignored", async () => {
    expect(await main(["run", resolve(cwd, "test/fixtures/specs/good.yaml"), "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const final = join(dir, "results", "good", id, "final.safetensors");
    const io = captureIo();
    expect(await main(["export", "--checkpoint", final, "--out", "deploy"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("frames [N,1,8,8] -> logits [N,3]");
    const model = loadModelFile(resolve(cwd, "test/fixtures/specs/models/tiny.yaml"));
    const weights = readCheckpoint(final, model);
    const frames = Float32Array.from(randomArray(seededRandom(1), 3 * 64));
    expectClose((await onnxLogits(join(dir, "deploy", "model.onnx"), frames, [3, 1, 8, 8])).logits, await ourLogits(model, weights, frames, 3));

    // The run's folder stands for its final.safetensors: the same model.onnx.
    const viaFolder = captureIo();
    expect(await main(["export", "--checkpoint", dirname(final), "--out", "folder"], viaFolder), viaFolder.stderr).to.equal(0);
    expect(readFileSync(join(dir, "folder", "model.onnx")).equals(readFileSync(join(dir, "deploy", "model.onnx")))).to.equal(true);
    // An interrupted run's folder gives its resume checkpoint, said as such with its step.
    const unfinishedRun = join(dir, "unfinished-run");
    cpSync(dirname(final), unfinishedRun, { recursive: true });
    rmSync(join(unfinishedRun, "final.safetensors"));
    writeResumeCheckpoint(join(unfinishedRun, RESUME_FILE), model, { step: 2, weights, optimizer: new Map(), trainFrames: 0, trainSeconds: 0, dataWaitSeconds: 0, wallSeconds: 0, configHash: id });
    const interrupted = captureIo();
    expect(await main(["export", "--checkpoint", unfinishedRun, "--out", "unfinished"], interrupted), interrupted.stderr).to.equal(0);
    expect(interrupted.stderr).to.include(`note: ${join(unfinishedRun, RESUME_FILE)} is a resume checkpoint: the weights of an unfinished run at step 2, not its final ones`);
    expect(graphOf(join(dir, "unfinished", "model.onnx")).equals(graphOf(join(dir, "deploy", "model.onnx"))), "the same weights").to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, "unfinished", "inference.json"), "utf8")).resume_checkpoint_step).to.equal(2);
    expect(viaFolder.stderr).to.not.include("resume checkpoint");
    // A folder with no weights in it: exit 2 naming it, nothing written.
    const empty = captureIo();
    expect(await main(["export", "--checkpoint", join(dir, "results"), "--out", "none"], empty)).to.equal(2);
    expect(empty.stderr).to.include("is a folder with no final.safetensors or resume.safetensors in it");
    expect(existsSync(join(dir, "none"))).to.equal(false);

    // An earlier export is never replaced without --force: exit 2, model.onnx unchanged.
    const initial = readFileSync(join(dir, "deploy", "model.onnx"));
    const untrained = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/good.yaml"), "--out", "deploy"], untrained)).to.equal(2);
    expect(untrained.stderr).to.include("export: --out deploy: block0.forward.onnx").and.include("already exist there (an earlier export); nothing was written");
    expect(readFileSync(join(dir, "deploy", "model.onnx")).equals(initial)).to.equal(true);
    const forced = captureIo();
    expect(await main(["export", "--checkpoint", dirname(final), "--out", "deploy", "--force"], forced), forced.stderr).to.equal(0);

    // An experiment file with train.init_checkpoint: those weights go into model.onnx.
    const viaInit = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/good.yaml"), `train.init_checkpoint=${final}`, "--out", "init"], viaInit), viaInit.stderr).to.equal(0);
    expectClose((await onnxLogits(join(dir, "init", "model.onnx"), frames, [3, 1, 8, 8])).logits, await ourLogits(model, weights, frames, 3));
  });

  it("a run folder exports where its training data is not (copied off the machine that trained it)", async () => {
    const good = resolve(cwd, "test/fixtures/specs/good.yaml");
    expect(await main(["data", good, "--out", "npy-data", "--clips", "4"], captureIo())).to.equal(0);
    const at = (f: string) => join(dir, "npy-data", f);
    const npy = [`data={kind: npy, clips: ${at("clips.npy")}, labels: ${at("labels.npy")}, eval_on_train: true, clip_length: 4}`, "output.dir=trained"];
    expect(await main(["run", good, ...npy, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "trained"));
    rmSync(join(dir, "npy-data"), { recursive: true });
    const io = captureIo();
    expect(await main(["export", "--checkpoint", join(dir, "trained", id), "--out", "deploy"], io), io.stderr).to.equal(0);
    expect(existsSync(join(dir, "deploy", "model.onnx"))).to.equal(true);
    // A run needs its data still: the same config cannot train here.
    expect(await main(["validate", join(dir, "trained", id, "config.yaml")], captureIo())).to.equal(2);
    // An experiment file exports its training graphs without its data too, and with the weights
    // its train.init_checkpoint names; a missing init_checkpoint is named, nothing written.
    const graphs = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/good.yaml"), npy[0], "--out", "graphs"], graphs), graphs.stderr).to.equal(0);
    expect(existsSync(join(dir, "graphs", "manifest.json"))).to.equal(true);
    const final = join(dir, "trained", id, "final.safetensors");
    const withInit = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/good.yaml"), npy[0], `train.init_checkpoint=${final}`, "--out", "init"], withInit), withInit.stderr).to.equal(0);
    expect(readFileSync(join(dir, "init", "model.onnx")).equals(readFileSync(join(dir, "deploy", "model.onnx")))).to.equal(true);
    const missing = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/good.yaml"), npy[0], `train.init_checkpoint=${join(dir, "nope.safetensors")}`, "--out", "none"], missing)).to.equal(2);
    expect(missing.stderr).to.include("train.init_checkpoint: file not found");
    expect(existsSync(join(dir, "none"))).to.equal(false);
    // A --checkpoint that does not exist is said as such (it read as a file with no config.yaml beside it).
    for (const args of [[], [resolve(cwd, "test/fixtures/specs/good.yaml")]]) {
      const gone = captureIo();
      expect(await main(["export", ...args, "--checkpoint", join(dir, "nope.safetensors"), "--out", "none"], gone)).to.equal(2);
      expect(gone.stderr).to.include(`--checkpoint ${join(dir, "nope.safetensors")}: no such file or folder`);
      expect(existsSync(join(dir, "none"))).to.equal(false);
    }
  });

  it("says what frames model.onnx expects: the training data's values and its data.normalize, which the graph does not apply", async () => {
    const good = resolve(cwd, "test/fixtures/specs/good.yaml");
    const normalize = "data.normalize={mean: [0.5], std: [0.25]}";
    expect(await main(["run", good, normalize, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const io = captureIo();
    expect(await main(["export", "--checkpoint", join(dir, "results", "good", id), "--out", "deploy"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("frames: intensities in [0, 1], then per channel (x - mean) / std with mean [0.5], std [0.25] (data.normalize); model.onnx does not normalise");

    // What the message says is what the trainer was fed: the same clips without normalize, put
    // through (x - 0.5) / 0.25, are the normalised clips `sideways data` writes (float32 rounding).
    const clipsOf = async (out: string, ...overrides: string[]): Promise<Float32Array> => {
      expect(await main(["data", good, ...overrides, "--out", out, "--clips", "2"], captureIo())).to.equal(0);
      const npy = readFileSync(join(dir, out, "clips.npy"));
      const headerEnd = 10 + npy.readUInt16LE(8);
      return new Float32Array(npy.buffer.slice(npy.byteOffset + headerEnd, npy.byteOffset + npy.length));
    };
    const raw = await clipsOf("raw");
    const normalised = await clipsOf("normalised", normalize);
    expect(normalised.length).to.equal(raw.length);
    for (let i = 0; i < raw.length; i++) expect(Math.abs(normalised[i] - (raw[i] - 0.5) / 0.25), `value ${i}`).to.be.below(1e-6);

    const plain = captureIo();
    expect(await main(["export", good, `train.init_checkpoint=${join(dir, "results", "good", id, "final.safetensors")}`, "--out", "plain"], plain), plain.stderr).to.equal(0);
    expect(plain.stderr).to.include("frames: intensities in [0, 1], not normalised (the experiment has no data.normalize)");
    const modelOnly = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/models/tiny.yaml"), "--checkpoint", join(dir, "results", "good", id), "--out", "model-only"], modelOnly), modelOnly.stderr).to.equal(0);
    expect(modelOnly.stderr).to.include("frames: as the training data gave them, after its data.normalize (a model file does not say which)");
  });

  it("inference.json beside model.onnx, and the same in its metadata_props: layout, pixels, normalize, clip length, class names", async () => {
    const good = resolve(cwd, "test/fixtures/specs/good.yaml");
    expect(await main(["run", good, "data.normalize={mean: [0.5], std: [0.25]}", "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const runDir = join(dir, "results", "good", id);
    const io = captureIo();
    expect(await main(["export", "--checkpoint", runDir, "--out", "deploy"], io), io.stderr).to.equal(0);
    const description = JSON.parse(readFileSync(join(dir, "deploy", "inference.json"), "utf8"));
    // The class names the run recorded (shapes' kinds), by label; good.yaml's clips of 4 frames.
    const recorded = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).classes;
    expect(recorded).to.have.length(3);
    expect(description).to.deep.include({
      model: "tiny",
      weights: join(runDir, "final.safetensors"),
      resume_checkpoint_step: null,
      input: { name: "frames", dtype: "float32", shape: ["N", 1, 8, 8], layout: "NCHW: one row per frame, channels, height, width; N frames of any clips" },
      output: { name: "logits", dtype: "float32", shape: ["N", 3] },
      clip_length: 4,
      frame_stride: 1,
      normalize: { mean: [0.5], std: [0.25] },
      classes: recorded,
      class_order: null,
      video_frames: null,
    });
    expect(description.pixels).to.include("intensities in [0, 1], then per channel (x - mean) / std");
    expect(description.clip_prediction).to.include("argmax of the mean of its frames' logits");
    expect(io.stderr).to.include(`logits: the classes ${recorded.join(", ")}`).and.include("wrote deploy/inference.json");
    // model.onnx carries the same, for whoever gets the file alone.
    const props = onnx.ModelProto.decode(readFileSync(join(dir, "deploy", "model.onnx"))).metadataProps ?? [];
    const metadata = Object.fromEntries(props.map((p) => [p.key, p.value]));
    expect(JSON.parse(metadata.classes!)).to.deep.equal(recorded);
    expect(JSON.parse(metadata.normalize!)).to.deep.equal({ mean: [0.5], std: [0.25] });
    expect(JSON.parse(metadata.input!).shape).to.deep.equal(["N", 1, 8, 8]);
    expect(metadata.clip_length).to.equal("4");
    expect(metadata.pixels).to.equal(description.pixels);
    expect(metadata).to.not.have.property("video_frames");
    expect(metadata, "a path on this machine").to.not.have.property("weights");

    // A model file knows no data: nulls, not guesses; an earlier inference.json is not replaced.
    const modelOnly = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/models/tiny.yaml"), "--checkpoint", join(runDir, "final.safetensors"), "--out", "model-only"], modelOnly), modelOnly.stderr).to.equal(0);
    const fromModel = JSON.parse(readFileSync(join(dir, "model-only", "inference.json"), "utf8"));
    expect([fromModel.clip_length, fromModel.normalize]).to.deep.equal([null, null]);
    expect(fromModel.classes, "the checkpoint's run folder still names them").to.deep.equal(recorded);
    for (const f of readdirSync(join(dir, "model-only"))) if (f !== "inference.json") rmSync(join(dir, "model-only", f));
    const again = captureIo();
    expect(await main(["export", resolve(cwd, "test/fixtures/specs/models/tiny.yaml"), "--checkpoint", join(runDir, "final.safetensors"), "--out", "model-only"], again)).to.equal(2);
    expect(again.stderr).to.include("inference.json already exists there");

    // --help says it is written, with what.
    const help = captureIo();
    expect(await main(["export", "--help"], help)).to.equal(0);
    expect((help.stdout + help.stderr).replace(/\s+/g, " ")).to.include("also write model.onnx with them inside, and inference.json: the frames' layout and preprocessing, clip length and class names");
  });

  it("class names from the data source where no summary.json names them (an interrupted run, init_checkpoint), as `sideways data`'s classes.txt; else null, and why", async () => {
    const good = resolve(cwd, "test/fixtures/specs/good.yaml");
    const tiny = loadModelFile(resolve(cwd, "test/fixtures/specs/models/tiny.yaml"));
    writeCheckpoint(join(dir, "w3.safetensors"), tiny, initWeights(tiny, 0));
    // tiny.yaml with 10 classes, for moving-mnist's digits.
    const ten = { name: "ten", input: { channels: 1, height: 8, width: 8 }, classes: 10, layers: [{ type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1 }, { type: "relu" }, { type: "global_avg_pool" }, { type: "linear", out_features: 10 }] };
    writeFileSync(join(dir, "ten.yaml"), stringify(ten));
    writeCheckpoint(join(dir, "w10.safetensors"), resolveModel(ten, "ten"), initWeights(resolveModel(ten, "ten"), 0));
    const described = async (out: string, args: string[]) => {
      const io = captureIo();
      expect(await main(["export", ...args, "--out", out], io), io.stderr).to.equal(0);
      return { description: JSON.parse(readFileSync(join(dir, out, "inference.json"), "utf8")), stderr: io.stderr };
    };
    // The names the data source gives its labels when it makes clips: `sideways data` writes them, line k label k's.
    const classesTxt = async (out: string, overrides: string[]): Promise<string[] | null> => {
      expect(await main(["data", good, ...overrides, "--out", out, "--clips", "1"], captureIo())).to.equal(0);
      const file = join(dir, out, "classes.txt");
      return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(0, -1) : null;
    };

    // An interrupted run: config.yaml and resume.safetensors, no summary.json (written at the end).
    expect(await main(["run", good, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const interrupted = join(dir, "interrupted");
    cpSync(join(dir, "results", "good", id), interrupted, { recursive: true });
    for (const f of ["summary.json", "final.safetensors"]) rmSync(join(interrupted, f));
    writeResumeCheckpoint(join(interrupted, RESUME_FILE), tiny, { step: 2, weights: initWeights(tiny, 0), optimizer: new Map(), trainFrames: 0, trainSeconds: 0, dataWaitSeconds: 0, wallSeconds: 0, configHash: id });
    const shapes = await classesTxt("shapes-sample", []);
    expect(shapes).to.have.length(3);
    const fromRun = await described("interrupted-out", ["--checkpoint", interrupted]);
    expect(fromRun.description.classes).to.deep.equal(shapes);
    expect(fromRun.description.classes_note).to.include("named by the data source").and.include("shapes");
    expect(fromRun.stderr).to.include(`logits: the classes ${shapes!.join(", ")} (named by the data source`);
    const props = onnx.ModelProto.decode(readFileSync(join(dir, "interrupted-out", "model.onnx"))).metadataProps ?? [];
    expect(JSON.parse(props.find((p) => p.key === "classes")!.value!)).to.deep.equal(shapes);

    // An experiment file with train.init_checkpoint (weights outside any run folder): moving-mnist's digits.
    const digitData = [`model=${join(dir, "ten.yaml")}`, "data={kind: moving-mnist, clip_length: 4}"];
    const digits = await classesTxt("digit-sample", digitData);
    expect(digits).to.have.length(10);
    const fromInit = await described("digits", [good, ...digitData, `train.init_checkpoint=${join(dir, "w10.safetensors")}`]);
    expect(fromInit.description.classes).to.deep.equal(digits);

    // Where the source names no classes (`sideways data` writes no classes.txt either), or the data is not known: null, and why.
    const directionData = ["data={kind: moving-mnist, task: direction, directions: 3, speed: [0.5, 1], clip_length: 4}"];
    expect(await classesTxt("direction-sample", directionData)).to.equal(null);
    const direction = await described("direction", [good, ...directionData, `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(direction.description.classes).to.equal(null);
    expect(direction.description.classes_note).to.include("unnamed direction buckets: label b is motion at about b x 120 degrees");
    expect(direction.stderr).to.include("logits: no class names in inference.json: moving-mnist task direction's labels are unnamed direction buckets");
    // Never names for another number of logits than the source's classes (the data is not made here, so nothing else checks).
    const digitsOnThree = await described("digits-on-3", [good, "data={kind: moving-mnist, clip_length: 4}", `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(digitsOnThree.description.classes).to.equal(null);
    expect(digitsOnThree.description.classes_note).to.equal("moving-mnist task digit has 10 classes (the digits), the model 3");
    const npy = await described("npy", [good, "data={kind: npy, clips: c.npy, labels: l.npy, clip_length: 4}", `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(npy.description.classes).to.equal(null);
    expect(npy.stderr).to.include("logits: no class names in inference.json: npy data's labels are numbers: labels.npy names no classes");
    // npy with data.class_names: the names it gives, from a list or a file of one name a line; a file that is gone is a note, not a failed export.
    const npyNamed = await described("npy-named", [good, "data={kind: npy, clips: c.npy, labels: l.npy, clip_length: 4, class_names: [walk, run, jump]}", `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(npyNamed.description.classes).to.deep.equal(["walk", "run", "jump"]);
    expect(npyNamed.description.classes_note).to.include("named by the data source").and.include("data.class_names");
    writeFileSync(join(dir, "names.txt"), "sit\nstand\nlie\n");
    const npyFile = await described("npy-file", [good, `data={kind: npy, clips: c.npy, labels: l.npy, clip_length: 4, class_names: ${join(dir, "names.txt")}}`, `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(npyFile.description.classes).to.deep.equal(["sit", "stand", "lie"]);
    const npyGone = await described("npy-gone", [good, `data={kind: npy, clips: c.npy, labels: l.npy, clip_length: 4, class_names: ${join(dir, "gone.txt")}}`, `train.init_checkpoint=${join(dir, "w3.safetensors")}`]);
    expect(npyGone.description.classes).to.equal(null);
    expect(npyGone.description.classes_note).to.include("data.class_names could not be read").and.include("file not found");
    const modelFile = await described("model-file", [resolve(cwd, "test/fixtures/specs/models/tiny.yaml"), "--checkpoint", join(dir, "w3.safetensors")]);
    expect(modelFile.description.classes).to.equal(null);
    expect(modelFile.stderr).to.include("logits: no class names in inference.json: a model file does not say which data the weights were trained on");
  });

  it("--out naming a file, or a path under one: exit 2 naming --out and the file, a folder expected, nothing written (--force or not)", async () => {
    const tinyFile = resolve(cwd, "test/fixtures/specs/models/tiny.yaml");
    const tiny = loadModelFile(tinyFile);
    writeCheckpoint(join(dir, "w.safetensors"), tiny, initWeights(tiny, 0));
    writeFileSync(join(dir, "deploy.onnx"), "not a folder");
    for (const [out, expected] of [
      ["deploy.onnx", "export: --out deploy.onnx is a file; expected a folder (made if missing) for the per-block graphs, manifest.json, model.onnx and inference.json; nothing was written"],
      ["deploy.onnx/v1", `export: --out deploy.onnx/v1: ${join(dir, "deploy.onnx")} is a file, not a folder; expected a folder`],
    ]) {
      for (const force of [[], ["--force"]]) {
        const io = captureIo();
        expect(await main(["export", tinyFile, "--checkpoint", "w.safetensors", "--out", out, ...force], io), io.stderr).to.equal(2);
        expect(io.stderr).to.include(expected);
        expect(readFileSync(join(dir, "deploy.onnx"), "utf8")).to.equal("not a folder");
        expect(readdirSync(dir).sort()).to.deep.equal(["deploy.onnx", "w.safetensors"]);
      }
    }
    // Without weights, only the training graphs are named.
    const graphsOnly = captureIo();
    expect(await main(["export", tinyFile, "--out", "deploy.onnx"], graphsOnly)).to.equal(2);
    expect(graphsOnly.stderr).to.include("export: --out deploy.onnx is a file; expected a folder (made if missing) for the per-block graphs and manifest.json; nothing was written");
  });

  it("weights of another model: exit 2 before anything is written", async () => {
    writeFileSync(join(dir, "model.yaml"), stringify(everyLayerKindSpec));
    const other = resolveModel({ ...everyLayerKindSpec, classes: 4, layers: [...everyLayerKindSpec.layers.slice(0, -1), { type: "linear", out_features: 4 }] }, "other");
    writeCheckpoint(join(dir, "w.safetensors"), other, initWeights(other, 0));
    const io = captureIo();
    expect(await main(["export", "model.yaml", "--checkpoint", "w.safetensors", "--out", "out"], io)).to.equal(2);
    expect(readdirSync(dir).sort()).to.deep.equal(["model.yaml", "w.safetensors"]);
  });
});
