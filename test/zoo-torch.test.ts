/**
 * The model zoo against PyTorch: for each of its normalised models (ZOO), the torch.nn module built from the YAML
 * in Python (test/reference/torch_module.py, plain torch.nn layers written from
 * docs/design/conventions.md) has exactly our checkpoint's names, shapes and dtypes, as many
 * parameters as `sideways model summary` counts, loads our checkpoint with
 * load_state_dict(strict=True), and its float64 eval-mode forward gives the logits of the
 * model.onnx that `sideways export --checkpoint` writes, run by plain onnxruntime.
 * Needs a Python with torch (CI installs Debian's, .ci/system/30-torch.sh); skipped with the
 * reason printed where there is none.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { peerPython, torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { main } from "../src/cli/main.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { loadModelFile } from "../src/model/load-model.js";
import { summariseBlocks } from "../src/model/summary.js";
import { captureIo } from "./helpers/capture-io.js";
import { randomArray, seededRandom } from "./reference/numeric.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";

const script = fileURLToPath(new URL("../../test/reference/torch_module.py", import.meta.url));
const ZOO = ["models/resnet-mnist.yaml", "models/vgg-bn-mnist.yaml", "models/vgg-gn-mnist.yaml", "models/resnet-112.yaml", "models/vgg-bn-112.yaml", "models/depth-3.yaml", "models/depth-5.yaml", "models/depth-8.yaml"];

describe("model zoo against torch.nn modules built from the YAML (test/reference/torch_module.py)", function () {
  this.timeout(120_000);
  const reason = torchUnavailableReason();
  let dir: string;
  before(function () {
    if (reason) {
      skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    }
    dir = mkdtempSync(join(tmpdir(), "sideways-zoo-torch-"));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const file of ZOO) {
    it(`${file}: state_dict names, shapes, dtypes and parameter count; strict load; model.onnx logits equal PyTorch's eval forward`, async () => {
      const model = loadModelFile(file);
      const weights = initWeights(model, 5);
      // Running statistics away from their initial 0 and 1 (and a count), so that evaluation
      // with the batch's statistics, or with none, would show in the logits.
      const rng = seededRandom(3);
      for (const b of model.buffers) {
        const v = weights.get(b.name)!;
        if (b.name.endsWith("running_mean")) v.set(Float32Array.from(randomArray(rng, v.length), (r) => 0.2 * r));
        if (b.name.endsWith("running_var")) v.set(Float32Array.from(randomArray(rng, v.length), (r) => 0.5 + Math.abs(r)));
        if (b.name.endsWith("num_batches_tracked")) v.fill(7);
      }
      const base = join(dir, model.name);
      writeCheckpoint(`${base}.safetensors`, model, weights);
      const io = captureIo();
      expect(await main(["export", file, "--checkpoint", `${base}.safetensors`, "--out", `${base}-export`], io), io.stderr).to.equal(0);

      const n = 2;
      const { channels, height, width } = model.input;
      const frames = Float32Array.from(randomArray(seededRandom(9), n * channels * height * width));
      writeFileSync(`${base}.f32`, Buffer.from(frames.buffer));
      const r = spawnSync(peerPython(), [script, file, `${base}.safetensors`, `${base}.f32`, String(n), `${base}.json`], { encoding: "utf8", timeout: 110_000 });
      expect(r.status, r.stderr).to.equal(0);
      const torch = JSON.parse(readFileSync(`${base}.json`, "utf8")) as { state: Record<string, [number[], string]>; params: number; buffers: number; logits: number[] };

      const ours: Record<string, [number[], string]> = {};
      for (const p of model.params) ours[p.name] = [p.shape, "F32"];
      for (const b of model.buffers) ours[b.name] = [b.shape, b.dtype];
      expect(ours).to.deep.equal(torch.state);
      expect(summariseBlocks(model).reduce((s, row) => s + row.params, 0)).to.equal(torch.params);
      expect(model.buffers.reduce((s, b) => s + b.shape.reduce((a, d) => a * d, 1), 0)).to.equal(torch.buffers);

      const session = await ort.InferenceSession.create(join(`${base}-export`, "model.onnx"));
      let logits: Float32Array;
      try {
        logits = (await session.run({ frames: new ort.Tensor("float32", frames, [n, channels, height, width]) })).logits.data as Float32Array;
      } finally {
        await session.release();
      }
      // model.onnx computes in float32 through up to 21 layers (sums of up to 4608 products per
      // output), PyTorch here in float64: rounding gives about 1e-6 of the largest logit (observed
      // at most 2e-7 on the 112 models, 1e-6 on the MNIST ones, torch 1.13 CPU). 1e-4 leaves room
      // for other CPUs' kernels; normalising with the batch's statistics instead of the running
      // ones, or dropping a shortcut, changes the logits by about their own size.
      expect(logits.length).to.equal(torch.logits.length);
      const scale = Math.max(...torch.logits.map(Math.abs));
      for (let i = 0; i < logits.length; i++) {
        expect(Math.abs(logits[i] - torch.logits[i]), `logit ${i}: ${logits[i]} vs ${torch.logits[i]}`).to.be.below(1e-4 * scale);
      }
    });
  }
});
