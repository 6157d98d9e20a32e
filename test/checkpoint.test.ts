import { expect } from "chai";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, ModelError } from "../src/errors.js";
import { decodeWeights, encodeWeights, readCheckpoint, writeCheckpoint } from "../src/model/checkpoint.js";
import type { Model, ParamInfo, Weights } from "../src/model/model.js";
import { float32Tensor, parseSafetensors, serializeSafetensors, type RawTensor } from "../src/model/safetensors.js";
import { writeResumeCheckpoint } from "../src/train/resume-checkpoint.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

/** conv2d(1->2, k3) relu global_avg_pool linear(2->3), as model/ would resolve it. */
function tinyModel(): Model {
  const param = (name: string, shape: number[], layerIndex: number, blockIndex: number, fanIn: number): ParamInfo =>
    ({ name, shape, layerIndex, blockIndex, fanIn });
  const params = [
    param("0.weight", [2, 1, 3, 3], 0, 0, 9),
    param("0.bias", [2], 0, 0, 9),
    param("3.weight", [3, 2], 3, 1, 2),
    param("3.bias", [3], 3, 1, 2),
  ];
  return { name: "tiny", input: { channels: 1, height: 4, width: 4 }, classes: 3, layers: [], blocks: [], params, buffers: [], source: "tiny.yaml" };
}

function tinyWeights(model: Model): Weights {
  return new Map(model.params.map((p, k) => {
    const n = p.shape.reduce((a, d) => a * d, 1);
    return [p.name, Float32Array.from({ length: n }, (_, i) => (k + 1) * 0.1 + i * 0.01)] as const;
  }));
}

describe("checkpoints", () => {
  let dir: string;
  freshFolderEachTest("ckpt-test-", (d) => (dir = d));

  it("writes and reads back the same weights, with metadata, leaving no temp file", () => {
    const model = tinyModel();
    const weights = tinyWeights(model);
    const path = join(dir, "sub", "w.safetensors");
    writeCheckpoint(path, model, weights, { step: "5" });
    expect(readdirSync(join(dir, "sub"))).to.deep.equal(["w.safetensors"]);
    const back = readCheckpoint(path, model);
    expect([...back.keys()]).to.deep.equal(model.params.map((p) => p.name));
    for (const [name, values] of weights) expect([...back.get(name)!]).to.deep.equal([...values]);
    const file = parseSafetensors(readFileSync(path), path);
    expect(file.metadata).to.deep.equal({ step: "5" });
    // PyTorch names and layouts, sorted by name as safetensors.torch.save_file writes them.
    expect([...file.tensors.entries()].map(([n, t]) => [n, t.dtype, t.shape])).to.deep.equal([
      ["0.bias", "F32", [2]],
      ["0.weight", "F32", [2, 1, 3, 3]],
      ["3.bias", "F32", [3]],
      ["3.weight", "F32", [3, 2]],
    ]);
  });

  it("reads a checkpoint stored as float64 (converted to float32)", () => {
    const model = tinyModel();
    const tensors = new Map<string, RawTensor>();
    for (const [name, values] of tinyWeights(model)) {
      const shape = model.params.find((p) => p.name === name)!.shape;
      tensors.set(name, { dtype: "F64", shape, bytes: new Uint8Array(Float64Array.from(values).buffer) });
    }
    const back = decodeWeights(serializeSafetensors({ tensors, metadata: null }), model, "f64.safetensors");
    expect(back.get("3.bias")![2]).to.equal(Math.fround(0.4 + 2 * 0.01));
  });

  it("lists every missing, unexpected and mis-shaped tensor in one ModelError", () => {
    const model = tinyModel();
    const weights = tinyWeights(model);
    const tensors = new Map<string, RawTensor>([
      ["0.weight", float32Tensor([2, 1, 3, 3], weights.get("0.weight")!)],
      ["0.bias", float32Tensor([2], weights.get("0.bias")!)],
      ["3.weight", float32Tensor([2, 3], weights.get("3.weight")!)], // transposed: wrong layout
      ["4.bias", float32Tensor([3], weights.get("3.bias")!)], // wrong layer index
    ]);
    const bytes = serializeSafetensors({ tensors, metadata: null });
    const call = () => decodeWeights(bytes, model, "other.safetensors");
    expect(call).to.throw(ModelError, /^checkpoint other\.safetensors does not fit model tiny \(tiny\.yaml\): /);
    expect(call).to.throw(/1 tensor with another shape: "3\.weight" has shape \[2, 3\], expected \[3, 2\]/);
    expect(call).to.throw(/1 missing tensor: "3\.bias" \[3\]/);
    expect(call).to.throw(/1 unexpected tensor: "4\.bias" \[3\]/);
    expect(call).to.throw(/; 2 of the model's 4 tensors fit$/);
  });

  it("counts tensors of another shape in the plural as English does (\"2 tensors with another shape\")", () => {
    const model = tinyModel();
    const weights = tinyWeights(model);
    const tensors = new Map<string, RawTensor>([
      ["0.weight", float32Tensor([2, 1, 3, 3], weights.get("0.weight")!)],
      ["0.bias", float32Tensor([1, 2], weights.get("0.bias")!)],
      ["3.weight", float32Tensor([2, 3], weights.get("3.weight")!)],
      ["3.bias", float32Tensor([3], weights.get("3.bias")!)],
    ]);
    const call = () => decodeWeights(serializeSafetensors({ tensors, metadata: null }), model, "other.safetensors");
    expect(call).to.throw(/: 2 tensors with another shape: "0\.bias" has shape \[1, 2\], expected \[2\], "3\.weight"/);
  });

  it("a checkpoint of another model: counts, the first four names of each kind, and a hint, not every name", () => {
    const model = tinyModel();
    const tensors = new Map<string, RawTensor>(Array.from({ length: 9 }, (_, i) => [`other.${i}`, float32Tensor([1], Float32Array.of(i))]));
    const call = () => decodeWeights(serializeSafetensors({ tensors, metadata: null }), model, "other.safetensors");
    expect(call).to.throw(/4 missing tensors: "0\.weight" \[2, 1, 3, 3\], "0\.bias" \[2\], "3\.weight" \[3, 2\], "3\.bias" \[3\];/);
    expect(call).to.throw(/9 unexpected tensors: "other\.0" \[1\], "other\.1" \[1\], "other\.2" \[1\], "other\.3" \[1\], \.\.\. \(5 more\); none of its 9 tensors fits the model's 4: a checkpoint of another model\?/);
    expect(call).not.to.throw(/other\.4/);
  });

  // An interrupted run leaves resume.safetensors, no final.safetensors: `export --checkpoint` and
  // train.init_checkpoint on it used to fail with a list of "unexpected tensor optimizer/...".
  it("reads the weights of a run's resume checkpoint, leaving its optimizer state out", () => {
    const model = tinyModel();
    const weights = tinyWeights(model);
    const path = join(dir, "resume.safetensors");
    const optimizer = new Map(model.params.map((p) => [`${p.name}/exp_avg`, new Float32Array(weights.get(p.name)!.length).fill(7)] as const));
    writeResumeCheckpoint(path, model, { step: 3, weights, optimizer, trainFrames: 1, trainSeconds: 1, dataWaitSeconds: 0, wallSeconds: 1, configHash: "abc" });
    const back = readCheckpoint(path, model);
    expect([...back.keys()].sort()).to.deep.equal(model.params.map((p) => p.name).sort());
    for (const [name, values] of weights) expect([...back.get(name)!]).to.deep.equal([...values]);
    // The same tensors without the resume format's mark are a file that does not fit the model.
    const { tensors } = parseSafetensors(readFileSync(path), path);
    expect(() => decodeWeights(serializeSafetensors({ tensors, metadata: null }), model, "plain.safetensors")).to.throw(ModelError, /\d+ unexpected tensors: "optimizer\//);
  });

  it("reports an unreadable or corrupt file as an InputError naming it", () => {
    const model = tinyModel();
    const missing = join(dir, "nope.safetensors");
    expect(() => readCheckpoint(missing, model)).to.throw(InputError, /cannot read checkpoint .*nope\.safetensors/);
    const bad = join(dir, "bad.safetensors");
    writeFileSync(bad, "not a checkpoint");
    expect(() => readCheckpoint(bad, model)).to.throw(InputError, /bad\.safetensors: not a valid safetensors file/);
  });

  it("treats weights that do not match the model as a bug when writing", () => {
    const model = tinyModel();
    const weights = tinyWeights(model);
    weights.delete("0.bias");
    expect(() => encodeWeights(model, weights)).to.throw(/^BUG: weights of model tiny lack parameter "0\.bias"/);
    const extra = tinyWeights(model).set("9.weight", new Float32Array(1));
    expect(() => encodeWeights(model, extra)).to.throw(/^BUG: .*9\.weight/);
    const short = tinyWeights(model).set("3.bias", new Float32Array(2));
    expect(() => encodeWeights(model, short)).to.throw(/^BUG: parameter "3\.bias" .* 2 values, expected 3/);
  });
});
