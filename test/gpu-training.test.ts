/**
 * Training on the GPU execution providers (test/helpers/gpu-providers.ts says where each runs):
 * one clip batch of both methods, on one thread and on two depth-parallel worker stages, against
 * the float64 reference gradient (test/reference/model-ref.ts).
 *
 * The clips are static (every frame of a clip the same) and T = 2L-1, so every block of Sideways
 * gets a gradient and, by the static-clip property (docs/design/sideways.md), Sideways' G_k equals
 * BP's, which equals the gradient of the mean loss over the B distinct frames. So one float64
 * reference checks both methods. Tolerance 1e-4 relative per parameter tensor: float32 rounding
 * through a dozen layers, as test/model-gradient.test.ts on the CPU (observed there 3e-7; the GPU
 * kernels sum in other orders, hence the margin), ten times inside the 1e-3 asked of a GPU update.
 * The graphs are those the trainers run on that provider: the fused BP pass and Sideways tick
 * graphs, built for its graph target (WebGPU: max pooling without MaxPool's Indices output).
 */
import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model } from "../src/model/model.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import type { Executor } from "../src/train/executor.js";
import { ParallelExecutor } from "../src/train/parallel-executor.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { describeOnGpus } from "./helpers/gpu-providers.js";
import { refModelGradient } from "./reference/model-ref.js";
import { everyLayerKindSpec, fourBlockModel, randomClips, relDiff } from "./helpers/tiny-models.js";

/** Every layer kind between them: max and average pooling, flatten (every-layer-kind), global average pooling (four-block). */
const MODELS: [string, () => Model][] = [
  ["every-layer-kind", () => resolveModel(everyLayerKindSpec, "every-layer-kind")],
  ["four-block", fourBlockModel],
];

describeOnGpus("training on a GPU provider against the float64 reference", (gpu) => {
  for (const [name, makeModel] of MODELS) {
    for (const workers of [1, 2]) {
      it(`${name}: BP and Sideways gradients of a static clip batch, ${workers === 1 ? "one thread" : "2 worker stages"} (relative 1e-4)`, async () => {
        const model = makeModel();
        const L = model.blocks.length;
        const B = 2;
        const T = 2 * L - 1;
        const weights = initWeights(model, 5);
        const batch = randomClips(model, B, T, 9, true);
        const frameSize = batch.clips.length / (B * T);
        const firstFrames = new Float64Array(B * frameSize);
        for (let b = 0; b < B; b++) firstFrames.set(batch.clips.subarray(b * T * frameSize, (b * T + 1) * frameSize), b * frameSize);
        const [, , C, H, W] = batch.dims;
        const ref = refModelGradient(model, new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)])), { data: firstFrames, dims: [B, C, H, W] }, batch.labels);

        const graphs = buildAllBlockGraphs(model, gpu.target);
        const half = Math.ceil(L / 2);
        const exec: Executor =
          workers === 1
            ? await SequentialExecutor.create(model, graphs, gpu.opts)
            : await ParallelExecutor.create(model, graphs, [model.blocks.slice(0, half).map((b) => b.index), model.blocks.slice(half).map((b) => b.index)], gpu.opts);
        try {
          for (const method of ["bp", "sideways"] as const) {
            const r = await exec.runBatch(method, batch, weights);
            for (const p of model.params) {
              const g = r.grads.get(p.name);
              expect(g, `${method} ${p.name}`).to.not.equal(undefined);
              expect(relDiff(g!, ref.grads.get(p.name)!), `${method} ${p.name}`).to.be.below(1e-4);
            }
          }
        } finally {
          await exec.close();
        }
      });
    }
  }
});
