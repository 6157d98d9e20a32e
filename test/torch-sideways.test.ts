/**
 * Sideways against an independent implementation of its rule: bench/torch_sideways.py runs
 * docs/design/sideways.md tick by tick with PyTorch's autograd for every block's VJP (nothing
 * shared with ours but the layer semantics and the rule's text). Two SGD steps on moving clips
 * (so that pairing a gradient with the wrong frame would show), from the same initial weights:
 * the losses, every parameter, batch norm's running statistics and n_k must agree, for our
 * executor (tick by tick) and for the device step (the whole clip batch as one graph).
 *
 * Tolerance 1e-4 of the update (|ours - torch| / |torch - start|): both sides compute in float32
 * with different reduction orders through a dozen layers and two steps (1e-5 is our two paths'
 * agreement on identical ops, test/device-step.test.ts); observed at most 5.6e-6 (torch 1.13, CPU).
 * Feeding PyTorch's first block the next frame instead fails every case. Needs a Python with torch (CI installs
 * Debian's, .ci/system/30-torch.sh); skipped with the reason printed where there is none.
 */
import { expect } from "chai";
import { torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import type { ClipBatch } from "../src/data/source.js";
import { PORTABLE_TARGET } from "../src/graph/graph-builder.js";
import { applyBlockStats } from "../src/model/buffers.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import type { Model, Weights } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import { OptimizerSpec } from "../src/spec/experiment-spec.js";
import { buildAllBlockGraphs } from "../src/train/block-runner.js";
import { DeviceStep } from "../src/train/device-step.js";
import { SequentialExecutor } from "../src/train/sequential-executor.js";
import { fourBlockModel, normModel, offByMovement, randomClips } from "./helpers/tiny-models.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";
import { torchSideways } from "./helpers/torch-sideways-peer.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const SGD = OptimizerSpec.parse({ kind: "sgd", lr: 0.1 });
const STEPS = 2;
const TOL = 1e-4;

/** Our Sideways: the executor tick by tick, or the device step; plain SGD, buffers applied after each batch. */
async function oursSideways(model: Model, weights: Weights, batch: ClipBatch, path: "executor" | "device step") {
  const w = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const optimizer = createOptimizer(SGD);
  const losses: number[] = [];
  let counts: number[] = [];
  if (path === "executor") {
    const exec = await SequentialExecutor.create(model, buildAllBlockGraphs(model, PORTABLE_TARGET), { provider: "cpu", threads: 1 });
    try {
      for (let s = 0; s < STEPS; s++) {
        const r = await exec.runBatch("sideways", batch, w);
        losses.push(...r.losses);
        counts = [...r.counts];
        optimizer.step(w, r.grads, SGD.lr);
        applyBlockStats(model, w, r.stats);
      }
    } finally {
      await exec.close();
    }
  } else {
    const step = await DeviceStep.create(model, SGD, batch.dims[1], { provider: "cpu", threads: 1 }, PORTABLE_TARGET, "sideways");
    try {
      step.load(w, optimizer);
      for (let s = 0; s < STEPS; s++) {
        const r = await step.step(batch, SGD.lr);
        losses.push(...r.losses);
        applyBlockStats(model, w, r.stats);
      }
      await step.sync(w, optimizer);
    } finally {
      await step.release();
    }
  }
  return { weights: w, losses, counts };
}

/** Two blocks on 2x6x6 frames: a conv and ReLU, then `unit` (a residual unit), pooled and classified. */
function unitModel(name: string, unit: Record<string, unknown>): Model {
  const layers = [{ type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, { type: "relu" }, unit, { type: "global_avg_pool" }, { type: "linear", out_features: 4 }];
  return resolveModel({ name, input: { channels: 2, height: 6, width: 6 }, classes: 4, layers }, `test ${name} model`);
}

describe("Sideways against PyTorch's autograd (bench/torch_sideways.py)", function () {
  this.timeout(180_000);
  const reason = torchUnavailableReason();
  const tempFolder = tempFoldersRemovedAfterEachTest();
  before(function () {
    if (reason) {
      skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    }
  });

  const cases: [string, () => Model][] = [
    ["four-block (conv, strided conv, global pool, linear)", fourBlockModel],
    ["norm-tiny (batch norm, group norm, a residual unit)", normModel],
    // A 2-block model whose first block gathers several layers, and a residual unit with a conv shortcut.
    [
      "shortcut (residual with a 1x1 conv shortcut)",
      () => unitModel("shortcut", { type: "residual", shortcut: "conv", layers: [{ type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1 }, { type: "relu" }] }),
    ],
    // leaky_relu (PyTorch's LeakyReLU) inside a unit, with a slope far from 0, so its backward's factor counts.
    [
      "leaky (leaky_relu, slope 0.2, in a residual unit)",
      () => unitModel("leaky", { type: "residual", layers: [{ type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, { type: "leaky_relu", slope: 0.2 }] }),
    ],
    // silu and gelu (PyTorch's SiLU and exact GELU), each reading its input in the backward, inside a unit.
    [
      "activations (gelu and silu in a residual unit)",
      () => unitModel("activations", { type: "residual", layers: [{ type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, { type: "gelu" }, { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, { type: "silu" }] }),
    ],
    // gelu's tanh form (PyTorch's GELU(approximate="tanh")) in a unit: the builders pass the key on.
    [
      "tanh gelu (gelu approximate tanh in a residual unit)",
      () => unitModel("tanh-gelu", { type: "residual", layers: [{ type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }, { type: "gelu", approximate: "tanh" }, { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 }] }),
    ],
    // torchvision's downsample: a shortcut of its own layers, a bias-free strided 1x1 conv and a
    // batch norm whose running statistics Sideways updates from the frames it forwards.
    [
      "downsample (residual with a [1x1 conv, batch_norm] shortcut)",
      () =>
        unitModel("downsample", {
          type: "residual",
          shortcut: [{ type: "conv2d", out_channels: 6, kernel: 1, stride: 2, bias: false }, { type: "batch_norm" }],
          layers: [{ type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1, bias: false }, { type: "batch_norm" }, { type: "relu" }],
        }),
    ],
  ];
  for (const [name, makeModel] of cases) {
    for (const path of ["executor", "device step"] as const) {
      it(`${name}: our ${path} gives PyTorch's weights, buffers, losses and n_k after ${STEPS} SGD steps (1e-4 of the update)`, async () => {
        const model = makeModel();
        const weights = initWeights(model, 7);
        // T = 2L: every block learns, and the blocks hold different numbers of backwards.
        const batch = randomClips(model, 3, 2 * model.blocks.length, 13);
        const dir = tempFolder("sideways-torch-sideways-");
        const torch = torchSideways(dir, model, weights, batch, { lr: SGD.lr, steps: STEPS });
        const ours = await oursSideways(model, weights, batch, path);
        const L = model.blocks.length;
        const T = batch.dims[1];
        expect(torch.counts).to.deep.equal(model.blocks.map((_, k) => T - 2 * L + k + 2));
        if (path === "executor") expect(ours.counts).to.deep.equal(torch.counts);
        expect(ours.losses.length).to.equal(torch.losses.length);
        ours.losses.forEach((l, i) => expect(Math.abs(l - torch.losses[i]), `loss ${i}`).to.be.below(TOL * Math.max(1, Math.abs(torch.losses[i]))));
        for (const p of [...model.params, ...model.buffers.filter((b) => b.dtype === "F32")]) {
          const theirs = torch.tensors.get(p.name);
          expect(theirs, p.name).to.not.equal(undefined);
          expect(offByMovement(ours.weights.get(p.name)!, theirs!, weights.get(p.name)!), p.name).to.be.below(TOL);
        }
        for (const b of model.buffers.filter((q) => q.dtype === "I64")) expect(ours.weights.get(b.name)![0], b.name).to.equal(torch.num_batches_tracked[b.name]);
      });
    }
  }
});
