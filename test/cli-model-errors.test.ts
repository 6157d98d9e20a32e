/**
 * Issue-2 acceptance through the command line: bad model files make `sideways export` exit with
 * status 2 and a message naming the file and the layer index, and write nothing.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));

const base = "name: bad\ninput: { channels: 1, height: 8, width: 8 }\n";
const cases: { name: string; yaml: string; expect: RegExp }[] = [
  { name: "an empty file says so", yaml: "", expect: /bad-model.yaml: the file is empty/ },
  { name: "a file of comments only says so", yaml: "# a model\n# to be written\n", expect: /bad-model.yaml: the file is empty/ },
  { name: "a list instead of a mapping: the expected keys, no crash", yaml: "- conv2d\n", expect: /bad-model.yaml: / },
  {
    name: "a misspelt layer key: did you mean, the layer's valid keys, no zod text",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_chanels: 4, kernel: 3 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.0 \(conv2d\): unknown key 'out_chanels' \(did you mean 'out_channels'\?\); valid keys: type, out_channels, kernel, stride, padding, bias$/m,
  },
  {
    name: "a misspelt top-level key: did you mean, said once",
    yaml: `${base}clases: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /^error: [^\n]*bad-model.yaml: \(top level\): unknown key 'clases' \(did you mean 'classes'\?\); valid keys: name, input, classes, layers\n$/,
  },

  {
    name: "unknown layer type",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: dropout }\n  - { type: linear, out_features: 2 }\n`,
    expect: /layers\.1: unknown layer type "dropout"/,
  },
  {
    name: "kernel larger than its input",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: maxpool2d, kernel: 7 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /layers\.1 \(maxpool2d\)/,
  },
  {
    name: "zero size",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 0, kernel: 3 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /layers\.0 \(conv2d\)/,
  },
  {
    name: "negative size",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: -3 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /layers\.0 \(conv2d\)/,
  },
  // A residual unit's inner layers are named by the key path a user finds in the file, in every kind of error.
  {
    name: "an inner layer's shapes: its key path and type",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: residual, layers: [{ type: conv2d, out_channels: 4, kernel: 1 }, { type: group_norm, groups: 3 }] }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.1\.layers\.1 \(group_norm\): 4 channels do not split into 3 groups$/m,
  },
  {
    name: "an inner layer's misspelt key: its key path and type",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: residual, layers: [{ type: conv2d, out_chanels: 4, kernel: 1 }] }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.1\.layers\.0 \(conv2d\): unknown key 'out_chanels' \(did you mean 'out_channels'\?\)/,
  },
  {
    name: "a shortcut layer's shapes: its key path and type",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: residual, shortcut: [{ type: avgpool2d, kernel: 9 }], layers: [{ type: relu }] }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.1\.shortcut\.0 \(avgpool2d\): kernel 9 is larger than its input 6x6/,
  },
  {
    name: "an empty list item: what belongs there",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: global_avg_pool }\n  -\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.2: expected a layer mapping such as \{type: conv2d, \.\.\.\}, found an empty item$/m,
  },
  {
    name: "an empty inner list item: its key path",
    yaml: `${base}classes: 2\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - type: residual\n    layers:\n      - { type: relu }\n      -\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 2 }\n`,
    expect: /bad-model\.yaml: layers\.1\.layers\.1: expected a layer mapping such as \{type: conv2d, \.\.\.\}, found an empty item$/m,
  },
  {
    name: "classes not matching the last layer",
    yaml: `${base}classes: 5\nlayers:\n  - { type: conv2d, out_channels: 4, kernel: 3 }\n  - { type: global_avg_pool }\n  - { type: linear, out_features: 3 }\n`,
    expect: /layers\.2 \(linear\) outputs \[\d+\], but the model must output \[classes\] = \[5\]/,
  },
];

describe("bad model files through `sideways export`", function () {
  this.timeout(30_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();
  for (const c of cases) {
    it(`${c.name}: exit 2, names the file and the layer, writes nothing`, () => {
      const dir = tempFolder("sideways-model-");
      const file = join(dir, "bad-model.yaml");
      writeFileSync(file, c.yaml);
      const out = join(dir, "onnx");
      const r = spawnSync(process.execPath, [cli, "export", file, "--out", out], { encoding: "utf8", timeout: 20_000 });
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include("bad-model.yaml");
      expect(r.stderr).to.match(c.expect);
      expect(r.stderr).not.to.match(/\n\s+at /); // a message, not a stack trace
      expect(r.stderr).not.to.match(/Unrecognized key|Invalid input/); // not zod's raw text
      expect(existsSync(out)).to.equal(false);
    });
  }
});

describe("a model file given where an experiment file belongs, and the reverse", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  it("an experiment's model: naming another experiment file says so: exit 2", () => {
    const dir = tempFolder("sideways-model-");
    writeFileSync(join(dir, "other.yaml"), "name: other\nmodel: m.yaml\ndata: { kind: shapes }\n");
    writeFileSync(join(dir, "exp.yaml"), "name: exp\nmodel: other.yaml\ndata: { kind: shapes }\n");
    const r = spawnSync(process.execPath, [cli, "validate", join(dir, "exp.yaml")], { encoding: "utf8", timeout: 20_000 });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include("other.yaml: this is an experiment file (it has model:, data:), not a model file");
  });

  it("an experiment's model: naming an empty or comment-only file says the file is empty: exit 2, no crash", () => {
    const dir = tempFolder("sideways-model-");
    writeFileSync(join(dir, "exp.yaml"), "name: exp\nmodel: m.yaml\ndata: { kind: shapes }\n");
    for (const text of ["", "# nothing yet\n"]) {
      writeFileSync(join(dir, "m.yaml"), text);
      for (const args of [["validate", join(dir, "exp.yaml")], ["model", "summary", join(dir, "m.yaml")]]) {
        const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 20_000 });
        expect(r.status, r.stderr).to.equal(2);
        expect(r.stderr).to.include("m.yaml: the file is empty").and.not.include("BUG");
      }
    }
  });

  it("run and validate say it is a model file and how to use it: exit 2", () => {
    for (const command of ["run", "validate"]) {
      const r = spawnSync(process.execPath, [cli, command, "models/small-cnn.yaml"], { encoding: "utf8", timeout: 20_000 });
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include("models/small-cnn.yaml: this is a model file (it has layers:), not an experiment file").and.include("model: small-cnn.yaml");
    }
  });
});
