/**
 * model.onnx (`sideways export --checkpoint`) against computations that share nothing with it:
 *  - the float64 reference (test/reference/layers-ref.ts: plain loops, PyTorch's semantics, batch
 *    norm in eval mode with its running statistics) for every layer kind and every residual
 *    shortcut, including leaky_relu, silu and gelu, which export-inference.test.ts's models lack;
 *  - onnxruntime for Python (test/reference/onnx_logits.py), as someone deploying the file
 *    elsewhere runs it, where SIDEWAYS_PYTHON (else python3 on PATH) imports onnxruntime and numpy;
 *    skipped with the reason printed where it does not.
 * export-inference.test.ts checks model.onnx against our own block-by-block forward (the same
 * onnxruntime kernels); zoo-torch.test.ts checks the zoo against PyTorch where torch is installed.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { peerPython } from "../src/bench/torch-peer-process.js";
import { captureIo } from "./helpers/capture-io.js";
import { skipBecause } from "./helpers/skip.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { everyLayerKindSpec } from "./helpers/tiny-models.js";
import { refModelEvalLogits } from "./reference/model-ref.js";
import { randomArray, seededRandom } from "./reference/numeric.js";

const onnxScript = fileURLToPath(new URL("../../test/reference/onnx_logits.py", import.meta.url));

/** The layer kinds everyLayerKindSpec lacks: the three other activations, both norms, every residual shortcut, global_avg_pool. */
const activationsAndResidualsSpec = {
  name: "activations-and-residuals",
  input: { channels: 2, height: 8, width: 8 },
  classes: 4,
  layers: [
    { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
    { type: "leaky_relu", slope: 0.2 },
    // identity shortcut
    { type: "residual", layers: [{ type: "conv2d", out_channels: 4, kernel: 3, padding: 1, bias: false }, { type: "batch_norm", eps: 1e-3 }, { type: "silu" }, { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }] },
    { type: "gelu" },
    // a list shortcut (torchvision's downsample)
    {
      type: "residual",
      shortcut: [{ type: "conv2d", out_channels: 6, kernel: 1, stride: 2, bias: false }, { type: "batch_norm" }],
      layers: [{ type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1, bias: false }, { type: "batch_norm" }, { type: "leaky_relu" }],
    },
    // the conv shortcut, a pooling layer inside
    { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 6, kernel: 3, padding: 1 }, { type: "group_norm", groups: 3 }, { type: "maxpool2d", kernel: 2 }] },
    { type: "batch_norm" },
    { type: "silu" },
    { type: "global_avg_pool" },
    { type: "linear", out_features: 4 },
  ],
};

/** Initial weights, and running statistics away from their initial 0 and 1 so that using them (or the batch's) shows. */
function weightsWithStatistics(model: Model, seed: number): Weights {
  const weights = initWeights(model, seed);
  const rng = seededRandom(seed + 100);
  for (const b of model.buffers) {
    const v = weights.get(b.name)!;
    if (b.name.endsWith("running_mean")) v.set(Float32Array.from(randomArray(rng, v.length), (r) => 0.3 * r));
    if (b.name.endsWith("running_var")) v.set(Float32Array.from(randomArray(rng, v.length), (r) => 0.5 + Math.abs(r)));
    if (b.name.endsWith("num_batches_tracked")) v.fill(9);
  }
  return weights;
}

/** Exports `spec` with `weights` through the CLI; returns model.onnx's path. */
async function exported(dir: string, spec: { name: string }, model: Model, weights: Weights): Promise<string> {
  writeFileSync(join(dir, `${spec.name}.yaml`), stringify(spec));
  writeCheckpoint(join(dir, `${spec.name}.safetensors`), model, weights);
  const io = captureIo();
  expect(await main(["export", `${spec.name}.yaml`, "--checkpoint", `${spec.name}.safetensors`, "--out", spec.name], io), io.stderr).to.equal(0);
  return join(dir, spec.name, "model.onnx");
}

async function onnxLogits(file: string, frames: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    return (await session.run({ frames: new ort.Tensor("float32", frames, dims) })).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Every |got - want| below `relative` times the largest |want|. */
function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, relative: number): void {
  expect(got.length).to.equal(want.length);
  const scale = Math.max(...Array.from(want, Math.abs));
  expect(scale, "logits that are all about 0 would show nothing").to.be.above(1e-2);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i]), `logit ${i}: ${got[i]} vs ${want[i]}`).to.be.below(relative * scale);
}

const cases = [
  { spec: everyLayerKindSpec, seed: 3 },
  { spec: activationsAndResidualsSpec, seed: 4 },
];

describe("export: model.onnx against independent computations", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-export-ref-", (d) => (dir = d));

  for (const { spec, seed } of cases) {
    it(`${spec.name}: the float64 reference's eval-mode logits`, async () => {
      const model = resolveModel(spec, spec.name);
      const weights = weightsWithStatistics(model, seed);
      const file = await exported(dir, spec, model, weights);
      const n = 5;
      const { channels, height, width } = model.input;
      const frames = Float32Array.from(randomArray(seededRandom(seed + 7), n * channels * height * width));
      const got = await onnxLogits(file, frames, [n, channels, height, width]);
      const w64 = new Map([...weights].map(([name, w]) => [name, Float64Array.from(w)]));
      const want = refModelEvalLogits(model, w64, { data: Float64Array.from(frames), dims: [n, channels, height, width] });
      expect(want.dims).to.deep.equal([n, model.classes]);
      // float32 through at most 17 layers, each output a sum of at most 54 products, and onnxruntime's
      // float32 erf/sigmoid: about 1e-7 of the largest logit here (observed at most 2e-7). 1e-5 leaves
      // room for other CPUs' kernels; batch statistics for running ones, a dropped shortcut or the
      // tanh GELU change the logits by 1e-3 of their size or far more.
      expectWithin(got, want.data, 1e-5);
    });
  }

  it("onnxruntime for Python runs model.onnx (frames in, logits out) and gives the same logits", async function () {
    const python = peerPython();
    const probe = spawnSync(python, ["-c", "import onnxruntime, numpy"], { encoding: "utf8", timeout: 60_000 });
    if (probe.error || probe.status !== 0) {
      skipBecause(this, `${python} cannot import onnxruntime and numpy (${probe.error?.message ?? probe.stderr.trim().split("\n").pop()}); set SIDEWAYS_PYTHON to a Python that can (pip install onnxruntime numpy)`);
    }
    const spec = activationsAndResidualsSpec;
    const model = resolveModel(spec, spec.name);
    const weights = weightsWithStatistics(model, 5);
    const file = await exported(dir, spec, model, weights);
    const n = 3;
    const { channels, height, width } = model.input;
    const frames = Float32Array.from(randomArray(seededRandom(12), n * channels * height * width));
    writeFileSync(join(dir, "frames.f32"), Buffer.from(frames.buffer));
    const r = spawnSync(python, [onnxScript, file, join(dir, "frames.f32"), String(n), join(dir, "logits.json")], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).to.equal(0);
    const py = JSON.parse(readFileSync(join(dir, "logits.json"), "utf8")) as { inputs: [string, (string | number)[]][]; outputs: [string, (string | number)[]][]; logits: number[]; metadata: Record<string, string> };
    // What a user without our source sees: one input, frames [N, C, H, W], one output, logits [N, classes].
    expect(py.inputs).to.deep.equal([["frames", ["N", channels, height, width]]]);
    expect(py.outputs).to.deep.equal([["logits", ["N", model.classes]]]);
    // The model's own description, as Python's onnxruntime reads it: that of inference.json beside it.
    const description = JSON.parse(readFileSync(join(dir, spec.name, "inference.json"), "utf8"));
    expect(JSON.parse(py.metadata.input)).to.deep.equal(description.input);
    expect(py.metadata.clip_prediction).to.equal(description.clip_prediction);
    // Another process and build of onnxruntime on the same float32 graph: rounding only.
    expectWithin(py.logits, await onnxLogits(file, frames, [n, channels, height, width]), 1e-5);
  });
});
