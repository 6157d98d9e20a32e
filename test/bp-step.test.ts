/**
 * Issue-2 acceptance: one BP step with plain SGD, run end to end through `runExperiment` from an
 * init checkpoint on NumPy clips, equals init - lr * G with G from the independent float64
 * reference (test/reference), not from our ONNX graphs.
 */
import { expect } from "chai";
import { writeFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { readCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { loadModelFile } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter } from "../src/train/run-types.js";
import { refBackward, refForward, refSoftmaxCrossEntropy, type RefTensor } from "./reference/layers-ref.js";
import { everyLayerKindSpec, randomClips, relDiff } from "./helpers/tiny-models.js";
import { writeNpyRunInputs } from "./helpers/npy-run-inputs.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };


/** Mean-CE gradient over all B*T frames (= BP's G, sideways.md) in float64, layer by layer. */
function referenceGradient(model: Model, weights: Weights, clips: Float32Array, labels: Int32Array, B: number, T: number): Map<string, Float64Array> {
  const { channels: C, height: H, width: W } = model.input;
  let x: RefTensor = { data: Float64Array.from(clips), dims: [B * T, C, H, W] };
  const frameLabels = Array.from({ length: B * T }, (_, i) => labels[Math.floor(i / T)]);
  const params = (li: number) => {
    const p: Record<string, Float64Array> = {};
    for (const info of model.layers[li].params) p[info.name.split(".")[1]] = Float64Array.from(weights.get(info.name)!);
    return p;
  };
  const inputs: RefTensor[] = [];
  for (const layer of model.layers) {
    inputs.push(x);
    x = refForward(layer.spec, x, params(layer.index));
  }
  let g = refSoftmaxCrossEntropy(x, frameLabels).dLogits;
  const grads = new Map<string, Float64Array>();
  for (let li = model.layers.length - 1; li >= 0; li--) {
    const r = refBackward(model.layers[li].spec, inputs[li], params(li), g);
    for (const [suffix, d] of Object.entries(r.dParams)) grads.set(`${li}.${suffix}`, d);
    g = r.dx;
  }
  return grads;
}

describe("one BP step end to end (runExperiment, npy data, init checkpoint)", function () {
  this.timeout(60_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("final weights equal init - lr * G (G from the float64 reference, relative 1e-4)", async () => {
    const dir = tempFolder("sideways-bp-step-");
    writeFileSync(join(dir, "model.yaml"), stringify(everyLayerKindSpec));
    const model = loadModelFile(join(dir, "model.yaml"));
    expect(model.blocks.length).to.be.at.least(3);
    const init = initWeights(model, 5);
    const B = 4;
    const T = 3;
    const batch = randomClips(model, B, T, 9);
    writeNpyRunInputs(dir, model, init, batch);
    const lr = 0.1;
    const spec = ExperimentSpec.parse({
      name: "bp-step",
      model: "model.yaml",
      data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: T, shuffle: false },
      train: { method: "bp", batch_size: B, steps: 1, optimizer: { kind: "sgd", lr, momentum: 0 }, init_checkpoint: "init.safetensors" },
      eval: { every: 0, clips: B },
    });
    const runDir = join(dir, "run");
    const summary = await runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: "r0", progress: silent });
    expect(summary.status).to.equal("completed");
    for (const f of ["config.yaml", "metrics.csv", "eval.csv", "summary.json", "final.safetensors"]) {
      expect(existsSync(join(runDir, f)), f).to.equal(true);
    }
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).status).to.equal("completed");

    const final = readCheckpoint(join(runDir, "final.safetensors"), model);
    const G = referenceGradient(model, init, batch.clips, batch.labels, B, T);
    for (const p of model.params) {
      const w0 = init.get(p.name)!;
      const w1 = final.get(p.name)!;
      const expected = Float64Array.from(w0, (v, i) => v - lr * G.get(p.name)![i]);
      // Compare the update itself (w0 - w1) so the check is not dominated by the unchanged weights.
      const update = Float64Array.from(w1, (v, i) => w0[i] - v);
      const expectedUpdate = Float64Array.from(expected, (v, i) => w0[i] - v);
      // float32 graphs against float64: the update carries float32 rounding of w (1e-7 relative
      // to |w|, about 1e-6..1e-5 relative to the update); 1e-4 leaves a margin.
      expect(relDiff(update, expectedUpdate), p.name).to.be.lessThan(1e-4);
    }
  });
});
