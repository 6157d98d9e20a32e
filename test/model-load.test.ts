/** Model files: shapes, parameters and blocks of good models; ModelErrors for bad ones. */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelError } from "../src/errors.js";
import { blockIndexOfLayers } from "../src/model/blocks.js";
import { loadModelFile, resolveModel } from "../src/model/load-model.js";

const base = { name: "m", input: { channels: 1, height: 8, width: 8 }, classes: 10 };
const model = (layers: unknown[], over: object = {}) => ({ ...base, layers, ...over });

describe("loadModelFile", () => {
  it("models/small-cnn.yaml: shapes, PyTorch parameter names and layouts, blocks", () => {
    const m = loadModelFile("models/small-cnn.yaml");
    expect(m.layers.map((l) => l.outShape)).to.deep.equal([[16, 64, 64], [16, 64, 64], [16, 32, 32], [32, 16, 16], [32, 16, 16], [32], [10]]);
    expect(m.params.map((p) => [p.name, p.shape, p.fanIn, p.blockIndex])).to.deep.equal([
      ["0.weight", [16, 1, 3, 3], 9, 0],
      ["0.bias", [16], 9, 0],
      ["3.weight", [32, 16, 3, 3], 144, 1],
      ["3.bias", [32], 144, 1],
      ["6.weight", [10, 32], 32, 2],
      ["6.bias", [10], 32, 2],
    ]);
    expect(m.blocks.map((b) => [b.layers.map((l) => l.index), b.inShape, b.outShape])).to.deep.equal([
      [[0, 1, 2], [1, 64, 64], [16, 32, 32]],
      [[3, 4, 5], [16, 32, 32], [32]],
      [[6], [32], [10]],
    ]);
    expect(m.source).to.equal("models/small-cnn.yaml");
  });

  it("the shipped models load: quickstart-cnn has >= 4 blocks, bench-8block >= 6", () => {
    const quick = loadModelFile("models/quickstart-cnn.yaml");
    expect(quick.blocks.length).to.be.at.least(4);
    expect(quick.layers[0].inShape).to.deep.equal([1, 32, 32]);
    const bench = loadModelFile("models/bench-8block.yaml");
    expect(bench.blocks.length).to.be.at.least(6);
    expect(bench.layers[0].inShape).to.deep.equal([3, 32, 32]);
  });

  it("leaky_relu's slope defaults to PyTorch's negative_slope, 0.01", () => {
    const m = resolveModel(model([{ type: "conv2d", out_channels: 10, kernel: 3 }, { type: "leaky_relu" }, { type: "global_avg_pool" }]), "x.yaml");
    expect(m.layers[1]!.spec).to.deep.equal({ type: "leaky_relu", slope: 0.01 });
  });

  it("gelu's approximate: tanh is kept; none is read as the key's absence (the exact form, as PyTorch's default)", () => {
    const gelu = (extra: object) => resolveModel(model([{ type: "conv2d", out_channels: 10, kernel: 3 }, { type: "gelu", ...extra }, { type: "global_avg_pool" }]), "x.yaml").layers[1]!.spec;
    expect(gelu({ approximate: "tanh" })).to.deep.equal({ type: "gelu", approximate: "tanh" });
    expect(JSON.stringify(gelu({ approximate: "none" }))).to.equal('{"type":"gelu"}');
    expect(gelu({})).to.deep.equal({ type: "gelu" });
  });

  describe("rejects bad files with a ModelError naming the file", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "model-load-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    const cases: { name: string; yaml: string; message: RegExp }[] = [
      { name: "duplicate key", yaml: "name: a\nname: b\n", message: /bad\.yaml: not valid YAML: .*unique/i },
      { name: "alias bomb", yaml: "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + Array.from({ length: 120 }, (_, i) => `b${i}: *a`).join("\n") + "\n", message: /bad\.yaml: not valid YAML: .*alias/i },
      { name: "unknown layer type", yaml: "name: m\ninput: {channels: 1, height: 8, width: 8}\nclasses: 3\nlayers:\n  - {type: conv3d, out_channels: 2, kernel: 3}\n", message: /bad\.yaml: layers\.0: unknown layer type "conv3d" \(did you mean 'conv2d'\?\); valid types: conv2d, relu, leaky_relu, silu, gelu, maxpool2d/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const path = join(dir, "bad.yaml");
        writeFileSync(path, c.yaml);
        expect(() => loadModelFile(path)).to.throw(ModelError, c.message);
      });
    }

    it("a missing file", () => {
      expect(() => loadModelFile(join(dir, "none.yaml"))).to.throw(ModelError, /^model file .*none\.yaml does not exist or cannot be read \(ENOENT\)$/);
    });

    it("a folder", () => {
      expect(() => loadModelFile(dir)).to.throw(ModelError, /^model file .* is not a file$/);
    });
  });
});

describe("resolveModel errors name the source, the layer index and the shapes", () => {
  const cases: { name: string; spec: unknown; message: string | RegExp }[] = [
    {
      name: "unknown layer type",
      spec: model([{ type: "relu" }, { type: "dropout" }]),
      message: 'x.yaml: layers.1: unknown layer type "dropout"; valid types: conv2d, relu, leaky_relu, silu, gelu, maxpool2d, avgpool2d, global_avg_pool, flatten, linear, batch_norm, group_norm, residual',
    },
    {
      // As a residual unit's inner layers get it: a typo and another framework's name are suggested.
      name: "a misspelt layer type: did you mean",
      spec: model([{ type: "relux" }, { type: "conv2d", out_channels: 4, kernel: 3 }]),
      message: 'x.yaml: layers.0: unknown layer type "relux" (did you mean \'relu\'?); valid types: conv2d, relu, leaky_relu, silu, gelu, maxpool2d, avgpool2d, global_avg_pool, flatten, linear, batch_norm, group_norm, residual',
    },
    {
      name: "another framework's layer type: our name suggested",
      spec: model([{ type: "conv2d", out_channels: 4, kernel: 3 }, { type: "BatchNorm2d" }]),
      message: /x\.yaml: layers\.1: unknown layer type "BatchNorm2d" \(did you mean 'batch_norm'\?\); valid types: /,
    },
    {
      // Keras's and TensorFlow's name for SiLU, which no edit distance finds.
      name: "swish: silu suggested",
      spec: model([{ type: "conv2d", out_channels: 4, kernel: 3 }, { type: "swish" }]),
      message: /x\.yaml: layers\.1: unknown layer type "swish" \(did you mean 'silu'\?\); valid types: /,
    },
    {
      name: "gelu's approximate misspelt: the allowed values",
      spec: model([{ type: "conv2d", out_channels: 10, kernel: 3 }, { type: "gelu", approximate: "tan" }, { type: "global_avg_pool" }]),
      message: "x.yaml: layers.1 (gelu): approximate: expected one of none | tanh, found 'tan' (did you mean 'tanh'?)",
    },
    {
      name: "gelu's approximate shortened to approx: the key suggested (as far from 'type' by edit distance)",
      spec: model([{ type: "conv2d", out_channels: 10, kernel: 3 }, { type: "gelu", approx: "tanh" }, { type: "global_avg_pool" }]),
      message: "x.yaml: layers.1 (gelu): unknown key 'approx' (did you mean 'approximate'?); valid keys: type, approximate",
    },
    {
      name: "kernel larger than its input",
      spec: model([{ type: "conv2d", out_channels: 4, kernel: 3 }, { type: "relu" }, { type: "maxpool2d", kernel: 2 }, { type: "maxpool2d", kernel: 5 }]),
      message: "x.yaml: layers.3 (maxpool2d): kernel 5 is larger than its input 3x3 (padding 0)",
    },
    {
      name: "conv kernel larger than the padded input",
      spec: model([{ type: "conv2d", out_channels: 4, kernel: 11, padding: 1 }]),
      message: "x.yaml: layers.0 (conv2d): kernel 11 is larger than its input 8x8 (padding 1)",
    },
    { name: "zero size", spec: model([{ type: "conv2d", out_channels: 0, kernel: 3 }]), message: /^x\.yaml: layers\.0 \(conv2d\): out_channels: expected an integer >= 1, found 0$/ },
    { name: "negative size", spec: model([{ type: "linear", out_features: -2 }]), message: /^x\.yaml: layers\.0 \(linear\): out_features: expected an integer >= 1, found -2$/ },
    // Below 0 the backward's mask, which reads the output's sign, would be wrong (src/layers/leaky-relu.ts).
    { name: "negative leaky_relu slope", spec: model([{ type: "leaky_relu", slope: -0.1 }]), message: /^x\.yaml: layers\.0 \(leaky_relu\): slope: expected a number >= 0, found -0\.1$/ },
    { name: "negative input size", spec: model([{ type: "relu" }], { input: { channels: 1, height: -8, width: 8 } }), message: /^x\.yaml: input\.height: / },
    {
      name: "classes not matching the last layer",
      spec: model([{ type: "flatten" }, { type: "linear", out_features: 12 }]),
      message: "x.yaml: layers.1 (linear) outputs [12], but the model must output [classes] = [10]",
    },
    {
      name: "output not 1-D",
      spec: model([{ type: "conv2d", out_channels: 10, kernel: 3 }]),
      message: /^x\.yaml: layers\.0 \(conv2d\) outputs \[10,6,6\], but the model must output \[classes\] = \[10\] \(end with global_avg_pool/,
    },
    {
      name: "linear on an image",
      spec: model([{ type: "linear", out_features: 10 }]),
      message: "x.yaml: layers.0 (linear): linear needs a flat [features] input, found [1,8,8]: put a flatten or global_avg_pool before it",
    },
    {
      name: "conv on features",
      spec: model([{ type: "flatten" }, { type: "conv2d", out_channels: 10, kernel: 1 }]),
      message: "x.yaml: layers.1 (conv2d): conv2d needs a [channels,height,width] input, found [64]",
    },
    {
      name: "pool padding over half the kernel",
      spec: model([{ type: "avgpool2d", kernel: 2, padding: 2 }]),
      message: "x.yaml: layers.0 (avgpool2d): padding 2 is more than half of kernel 2",
    },
    { name: "unknown key", spec: model([{ type: "relu", inplace: true }]), message: /^x\.yaml: layers\.0 \(relu\): .*inplace/ },
    { name: "no parameters", spec: model([{ type: "global_avg_pool" }], { input: { channels: 10, height: 4, width: 4 } }), message: /no layer with parameters/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let caught: unknown;
      try {
        resolveModel(c.spec, "x.yaml");
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ModelError);
      const message = (caught as Error).message;
      if (typeof c.message === "string") expect(message).to.equal(c.message);
      else expect(message).to.match(c.message);
    });
  }
});

describe("blockIndexOfLayers", () => {
  it("starts a block at each parameterised layer; leading parameter-free layers join the first", () => {
    expect(blockIndexOfLayers([false, true, false, false, true])).to.deep.equal([0, 0, 0, 0, 1]);
    expect(blockIndexOfLayers([true, true, false, true])).to.deep.equal([0, 1, 1, 2]);
    expect(blockIndexOfLayers([false, false, true])).to.deep.equal([0, 0, 0]);
  });
});
