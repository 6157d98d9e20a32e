/**
 * The model zoo and `sideways model summary`: the zoo files load with PyTorch's state_dict names,
 * the summary's parameter counts and FLOPs match counts made here by hand from the layer shapes,
 * and bad residual / normalisation layers exit 2 naming the layer and the shapes.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { loadModelFile } from "../src/model/load-model.js";
import { summariseBlocks } from "../src/model/summary.js";
import { captureIo } from "./helpers/capture-io.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const ZOO = ["models/vgg-bn-112.yaml", "models/resnet-112.yaml", "models/vgg-bn-mnist.yaml", "models/resnet-mnist.yaml", "models/depth-3.yaml", "models/depth-5.yaml", "models/depth-8.yaml"];

describe("model zoo and `sideways model summary`", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  for (const file of ZOO) {
    it(`${file}: loads; every block but the classifier normalises; summary totals equal the parameter shapes`, () => {
      const model = loadModelFile(file);
      const rows = summariseBlocks(model);
      const params = model.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
      expect(rows.reduce((s, r) => s + r.params, 0)).to.equal(params);
      expect(model.buffers.length).to.be.above(0);
      for (const block of model.blocks.slice(0, -1)) {
        const types = JSON.stringify(block.layers.map((l) => l.spec));
        expect(types, `block ${block.index}`).to.include("batch_norm");
      }
    });
  }

  it("models/depth-3, -5, -8.yaml (the depth study): L = 3, 5, 8 blocks, and each is depth-3 with 32-channel conv-BN-ReLU blocks added before the pool", () => {
    const layers = (file: string) => loadModelFile(file).blocks.flatMap((b) => b.layers.map((l) => JSON.stringify(l.spec)));
    const base = layers("models/depth-3.yaml");
    const middle = base.slice(4, 7); // block 1's conv-BN-ReLU (32 channels out; in-channels are inferred)
    for (const L of [3, 5, 8]) {
      const file = `models/depth-${L}.yaml`;
      expect(loadModelFile(file).blocks.length, file).to.equal(L);
      // The stem's 8 layers, L-3 middle blocks, then the pool and the head.
      const expected = [...base.slice(0, 8), ...Array.from({ length: L - 3 }, () => middle).flat(), ...base.slice(8)];
      expect(layers(file), file).to.deep.equal(expected);
    }
  });

  it("models/quickstart-cnn-silu, -gelu.yaml (the activations study): quickstart-cnn with every relu replaced, the same blocks and parameters, so a seed gives all three the same initial weights", () => {
    const base = loadModelFile("models/quickstart-cnn.yaml");
    const baseLayers = base.blocks.map((b) => b.layers.map((l) => JSON.stringify(l.spec)));
    for (const kind of ["silu", "gelu"]) {
      const file = `models/quickstart-cnn-${kind}.yaml`;
      const model = loadModelFile(file);
      const relu = JSON.stringify({ type: "relu" });
      const expected = baseLayers.map((block) => block.map((l) => (l === relu ? JSON.stringify({ type: kind }) : l)));
      expect(expected.flat(), "quickstart-cnn has relus to replace").to.include(JSON.stringify({ type: kind }));
      expect(model.blocks.map((b) => b.layers.map((l) => JSON.stringify(l.spec))), file).to.deep.equal(expected);
      // Initial weights depend only on the seed and a parameter's name (src/model/init.ts).
      expect(model.params.map((p) => [p.name, p.shape]), file).to.deep.equal(base.params.map((p) => [p.name, p.shape]));
    }
  });

  it("the summary marks gelu's tanh form (gelu(tanh)), inside a residual unit too; the exact form, written or not, is plain gelu", () => {
    const dir = tempFolder("sideways-summary-gelu-");
    const file = join(dir, "gelu-forms.yaml");
    const unit = "{ type: residual, layers: [{ type: conv2d, out_channels: 2, kernel: 3, padding: 1 }, { type: gelu, approximate: tanh }, { type: conv2d, out_channels: 2, kernel: 3, padding: 1 }, { type: gelu, approximate: none }] }";
    writeFileSync(file, `name: g\ninput: { channels: 1, height: 8, width: 8 }\nclasses: 2\nlayers:\n  - { type: conv2d, out_channels: 2, kernel: 3, padding: 1 }\n  - { type: gelu, approximate: tanh }\n  - ${unit}\n  - { type: gelu }\n  - { type: global_avg_pool }\n`);
    expect(summariseBlocks(loadModelFile(file)).map((b) => b.layers)).to.deep.equal(["0:conv2d 1:gelu(tanh)", "2:residual(conv2d,gelu(tanh),conv2d,gelu; shortcut identity) 3:gelu 4:global_avg_pool"]);
  });

  it("models/resnet-112.yaml: residual units named as PyTorch's modules name them, torchvision's downsample where the shape changes", () => {
    const model = loadModelFile("models/resnet-112.yaml");
    const names = model.params.map((p) => p.name);
    expect(names).to.include.members(["4.layers.0.weight", "4.layers.1.weight", "4.layers.4.bias", "8.shortcut.0.weight", "8.shortcut.1.weight", "8.shortcut.1.bias", "21.weight"]);
    expect(names.filter((n) => n.includes("shortcut"))).to.deep.equal(["8", "12", "16"].flatMap((i) => [`${i}.shortcut.0.weight`, `${i}.shortcut.1.weight`, `${i}.shortcut.1.bias`]));
    expect(model.buffers.map((b) => b.name)).to.include.members(["1.num_batches_tracked", "18.layers.4.running_var", "16.shortcut.1.running_mean"]);
    // torchvision's resnet18 has 11,689,512 parameters with its 1000-class fc (its model table);
    // with a 101-class one, 512 x 899 weights and 899 biases fewer.
    expect(model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)).to.equal(11_689_512 - 512 * 899 - 899);
    expect(model.blocks).to.have.length(10);
    expect(model.blocks[9].outShape).to.deep.equal([101]);
  });

  it("FLOPs per frame: conv multiply-adds x 2 for forward and weight gradient, x 3 where the input gradient is needed", () => {
    const rows = summariseBlocks(loadModelFile("models/resnet-mnist.yaml"));
    // block 0: conv 1->16 k3 s2 on 32x32 -> 16x16: 16*16*16*1*9 MACs, no input gradient.
    expect(rows[0].flops).to.equal(2 * 2 * 16 * 16 * 16 * 9);
    // block 2: residual, conv 16->32 k3 s2 (8x8 out), conv 32->32 k3, 1x1 shortcut 16->32 s2.
    const macs = 32 * 8 * 8 * 16 * 9 + 32 * 8 * 8 * 32 * 9 + 32 * 8 * 8 * 16;
    expect(rows[2].flops).to.equal(2 * 3 * macs);
    expect(rows[4].flops).to.equal(2 * 3 * 64 * 10);
  });

  it("several files (models/*.yaml): one summary each, in the order given; a bad one is exit 2 with nothing printed", async () => {
    const io = captureIo();
    expect(await main(["model", "summary", ...ZOO], io), io.stderr).to.equal(0);
    const heads = io.stdout.split("\n").filter((l) => /^\S+ \(models\/.*\.yaml\): input/.test(l));
    expect(heads.map((l) => l.slice(0, l.indexOf(" ")))).to.deep.equal(ZOO.map((f) => f.slice("models/".length, -".yaml".length)));
    const bad = captureIo();
    expect(await main(["model", "summary", ZOO[0], "test/fixtures/specs/models/bad-shapes.yaml"], bad)).to.equal(2);
    expect(bad.stderr).to.include("bad-shapes.yaml");
    expect(bad.stdout).to.equal("");
  });

  it("--tensors lists what its checkpoints hold: PyTorch's names, shapes, dtypes (counters I64)", async () => {
    const io = captureIo();
    expect(await main(["model", "summary", "models/resnet-mnist.yaml", "--tensors"], io), io.stderr).to.equal(0);
    const model = loadModelFile("models/resnet-mnist.yaml");
    const listed = io.stdout.split("\n").filter((l) => l.startsWith("  ") && /\] (F32|I64)$/.test(l));
    expect(listed).to.have.length(model.params.length + model.buffers.length);
    expect(io.stdout).to.include("checkpoint tensors (").and.include("  5.shortcut.weight [32, 16, 1, 1] F32\n").and.include("  1.num_batches_tracked [] I64\n");
  });

  it("prints a row per block, totals and a stage plan for --workers", async () => {
    const io = captureIo();
    expect(await main(["model", "summary", "models/resnet-mnist.yaml", "--workers", "2"], io)).to.equal(0);
    const lines = io.stdout.split("\n");
    expect(lines[0]).to.match(/^resnet-mnist \(models\/resnet-mnist\.yaml\): input \[1,32,32\], 10 classes, 5 blocks/);
    expect(lines.filter((l) => /^\d+ +\[/.test(l))).to.have.length(5);
    expect(io.stdout).to.match(/total: 77,658 parameters/);
    expect(lines.filter((l) => /^ {2}stage \d: blocks \d-\d/.test(l))).to.have.length(2);
    expect(io.stdout).to.match(/at least 2L-1 = 9 frames/);
    // More workers than blocks: a run uses one stage per block, and the plan says so.
    const more = captureIo();
    expect(await main(["model", "summary", "models/resnet-mnist.yaml", "--workers", "9"], more)).to.equal(0);
    expect(more.stdout).to.contain("stage plan for 9 worker(s) (5 stages: at most one per block)");
    // One block per stage reads "block 3", not "blocks 3-3".
    expect(more.stdout.split("\n").filter((l) => /^ {2}stage \d: block \d  /.test(l))).to.have.length(5);
  });

  it("an experiment file: the summary of its model (inline in ucf101.yaml, whose data is not here), overrides applied", async () => {
    const dir = tempFolder("sideways-summary-");
    // The same model as a model file, with the override applied by hand.
    const { parse, stringify } = await import("yaml");
    const inline = (parse(readFileSync("experiments/ucf101.yaml", "utf8")) as { model: { input: { height: number } } }).model;
    writeFileSync(join(dir, "m.yaml"), stringify({ ...inline, input: { ...inline.input, height: 32 } }));
    const viaModel = captureIo();
    expect(await main(["model", "summary", join(dir, "m.yaml")], viaModel), viaModel.stderr).to.equal(0);
    const viaExperiment = captureIo();
    // --workers 1: ucf101.yaml's runtime.workers is auto, one stage per core of this machine.
    expect(await main(["model", "summary", "experiments/ucf101.yaml", "model.input.height=32", "--workers", "1"], viaExperiment), viaExperiment.stderr).to.equal(0);
    expect(viaExperiment.stdout.split("\n")[0]).to.equal("ucf101-cnn (experiments/ucf101.yaml: model): input [3,32,64], 101 classes, 5 blocks");
    // Everything after the title line (blocks, totals, plan) is the model file's.
    expect(viaExperiment.stdout.split("\n").slice(1)).to.deep.equal(viaModel.stdout.split("\n").slice(1));
    // Overrides belong to experiment files.
    const onModel = captureIo();
    expect(await main(["model", "summary", "models/resnet-mnist.yaml", "classes=3"], onModel)).to.equal(2);
    expect(onModel.stderr).to.include("models/resnet-mnist.yaml: overrides (classes=3) apply to experiment files; this is a model file");
  });

  it("an experiment file's stage plan is for its runtime.workers (overrides too); --workers chooses another", async () => {
    const plan = async (...args: string[]) => {
      const io = captureIo();
      expect(await main(["model", "summary", "experiments/quickstart.yaml", ...args], io), io.stderr).to.equal(0);
      return /stage plan for (\d+) worker/.exec(io.stdout)?.[1];
    };
    expect(await plan()).to.equal("1");
    expect(await plan("runtime.workers=2")).to.equal("2");
    expect(await plan("runtime.workers=2", "--workers", "3")).to.equal("3");
  });

  it("a one-block model: singular nouns in the summary and in validate's ok line (never '1 blocks')", async () => {
    const dir = tempFolder("sideways-summary-");
    const model = join(dir, "one.yaml");
    writeFileSync(model, "name: one\ninput: { channels: 1, height: 8, width: 8 }\nclasses: 3\nlayers:\n  - { type: flatten }\n  - { type: linear, out_features: 3 }\n");
    const io = captureIo();
    expect(await main(["model", "summary", model], io), io.stderr).to.equal(0);
    expect(io.stdout).to.include("3 classes, 1 block\n");
    expect(io.stdout).to.include("at least 2L-1 = 1 frame for every block");
    expect(io.stdout).to.match(/^ {2}stage 0: block 0 {2}/m);
    const experiment = join(dir, "exp.yaml");
    writeFileSync(experiment, `name: one\nmodel: ${model}\ndata: { kind: shapes, clip_length: 1, frame_size: [8, 8] }\ntrain: { batch_size: 2, steps: 1 }\n`);
    const v = captureIo();
    expect(await main(["validate", experiment], v), v.stderr).to.equal(0);
    expect(v.stderr).to.include("(model one: 2 layers, 1 block)");
    expect(v.stderr).not.to.match(/\b1 (blocks|layers)\b/);
  });

  const bad = [
    {
      name: "identity shortcut with a shape change",
      layer: "{ type: residual, layers: [{ type: conv2d, out_channels: 4, kernel: 3, stride: 2, padding: 1 }] }",
      expect: /layers\.0 \(residual\): shortcut identity needs the inner layers' output shape \[4,4,4\] to equal the input shape \[2,8,8\]/,
    },
    { name: "bad inner layer", layer: "{ type: residual, layers: [{ type: maxpool2d, kernel: 9 }] }", expect: /layers\.0\.layers\.0 \(maxpool2d\): kernel 9 is larger/ },
    { name: "group_norm groups", layer: "{ type: group_norm, groups: 3 }", expect: /layers\.0 \(group_norm\): 2 channels do not split into 3 groups/ },
    { name: "nested residual", layer: "{ type: residual, layers: [{ type: residual, layers: [{ type: relu }] }] }", expect: /layers\.0 \(residual\)/ },
    { name: "batch_norm momentum", layer: "{ type: batch_norm, momentum: 0 }", expect: /layers\.0 \(batch_norm\): momentum/ },
    { name: "shortcut neither a kind nor a list", layer: "{ type: residual, shortcut: projection, layers: [{ type: relu }] }", expect: /layers\.0 \(residual\): shortcut: expected identity \| conv or a list, found 'projection'/ },
    {
      name: "shortcut list whose output is not the inner layers'",
      layer: "{ type: residual, shortcut: [{ type: conv2d, out_channels: 4, kernel: 1 }], layers: [{ type: conv2d, out_channels: 4, kernel: 3, stride: 2, padding: 1 }] }",
      expect: /layers\.0 \(residual\): the shortcut's layers output \[4,8,8\], but the inner layers output \[4,4,4\]/,
    },
    { name: "bad shortcut layer", layer: "{ type: residual, shortcut: [{ type: avgpool2d, kernel: 9 }], layers: [{ type: relu }] }", expect: /layers\.0\.shortcut\.0 \(avgpool2d\): kernel 9 is larger/ },
    { name: "unknown shortcut layer kind", layer: "{ type: residual, shortcut: [{ type: batchnorm }], layers: [{ type: relu }] }", expect: /layers\.0\.shortcut\.0\.type: expected .*found 'batchnorm' \(did you mean 'batch_norm'\?\)/ },
  ];
  for (const c of bad) {
    it(`bad model (${c.name}): exit 2 naming the layer and the shapes`, async () => {
      const dir = tempFolder("sideways-summary-");
      const file = join(dir, "bad.yaml");
      writeFileSync(file, `name: bad\ninput: { channels: 2, height: 8, width: 8 }\nclasses: 2\nlayers:\n  - ${c.layer}\n  - { type: conv2d, out_channels: 2, kernel: 1 }\n  - { type: global_avg_pool }\n`);
      const io = captureIo();
      expect(await main(["model", "summary", file], io)).to.equal(2);
      expect(io.stderr).to.include(file);
      expect(io.stderr).to.match(c.expect);
    });
  }
});
