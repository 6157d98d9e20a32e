/**
 * Issue 6: the PyTorch peer benchmark. The FLOP count is checked by hand; the benchmark itself
 * (bench/torch_peer.py as a server, interleaved steps) needs a Python with torch and is skipped,
 * saying why, where there is none (CI installs no torch).
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { maxRelDiff, peerBench, PEER_TOLERANCE } from "../src/bench/bench-peer.js";
import { layerMacs, trainingStepFlops } from "../src/bench/peer-flops.js";
import { torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { resolveModel } from "../src/model/load-model.js";
import { RunError } from "../src/errors.js";

const layers = [
  { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
  { type: "relu" },
  { type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1 },
  { type: "relu" },
  { type: "global_avg_pool" },
  { type: "linear", out_features: 3 },
];
const modelYaml = { name: "peer-tiny", input: { channels: 1, height: 8, width: 8 }, classes: 3, layers };
// Same parameters and shapes, different function: the first ReLU becomes an identity max-pool.
const otherYaml = { ...modelYaml, layers: [layers[0], { type: "maxpool2d", kernel: 1, stride: 1 }, ...layers.slice(2)] };

describe("peer benchmark: FLOP count", () => {
  it("counts forward, weight- and input-gradient MACs per layer, 2 FLOPs each", () => {
    const model = resolveModel(modelYaml, "inline");
    // conv 0: 4*8*8*1*9 = 2304 (no input gradient: nothing below needs it); conv 2: 6*4*4*4*9 = 3456;
    // linear: 6*3 = 18.
    expect(layerMacs(model)).to.deep.equal([
      { layer: 0, type: "conv2d", forward: 2304, weightGrad: 2304, inputGrad: 0 },
      { layer: 2, type: "conv2d", forward: 3456, weightGrad: 3456, inputGrad: 3456 },
      { layer: 5, type: "linear", forward: 18, weightGrad: 18, inputGrad: 18 },
    ]);
    expect(trainingStepFlops(model, 10)).to.equal(2 * 10 * (2 * 2304 + 3 * 3456 + 3 * 18));
  });

  it("maxRelDiff is the max-norm difference over the max-norm of the reference", () => {
    expect(maxRelDiff([1, 2, 4], [1, 2, 3])).to.equal(1 / 3);
    expect(maxRelDiff([0, 0], [0, 0])).to.equal(0);
  });
});

describe("peer benchmark against PyTorch (bench/torch_peer.py --serve)", function () {
  this.timeout(120_000);
  const reason = torchUnavailableReason();
  let dir = "";

  before(function () {
    if (reason) {
      console.log(`      skipped: ${reason} (the peer benchmark needs PyTorch; CI installs none)`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "sideways-peer-test-"));
    writeFileSync(join(dir, "model.yaml"), stringify(modelYaml));
    writeFileSync(join(dir, "other.yaml"), stringify(otherYaml));
  });

  const options = () => ({ modelPath: join(dir, "model.yaml"), batch: 3, frames: 2, threads: [1], rounds: 2, warmupRounds: 1, skipPeak: true });

  it("the same model: agreement within the tolerance, then timed rows with a ratio", async () => {
    const r = await peerBench(options());
    expect(r.checks).to.have.length(1);
    expect(r.checks[0].worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(r.checks[0].worst_weight_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(r.frames_per_step).to.equal(6);
    expect(r.rows).to.have.length(1);
    expect(r.rows[0].ours_ms_median).to.be.greaterThan(0);
    expect(r.rows[0].torch_ms_median).to.be.greaterThan(0);
    expect(r.ratio_ours_over_torch).to.equal(r.rows[0].ratio_ours_over_torch);
  });

  // The small zoo models: batch_norm (per-frame statistics, running statistics compared too),
  // group_norm-free residual units with identity and 1x1 conv shortcuts. 4 clips x 3 frames.
  for (const zoo of ["models/vgg-bn-mnist.yaml", "models/resnet-mnist.yaml"]) {
    it(`${zoo}: parameters and buffers agree with PyTorch's within the tolerance after 2 steps`, async () => {
      const r = await peerBench({ modelPath: zoo, batch: 4, frames: 3, threads: [1], rounds: 1, warmupRounds: 0, skipPeak: true });
      const c = r.checks[0];
      expect(c.worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
      // Against PyTorch's float64 run (the agreement rule of checkAgreement, which would have refused
      // to time otherwise): within the tolerance, or no farther than twice PyTorch's own float32.
      expect(c.worst_ours_vs_float64).to.be.at.most(Math.max(PEER_TOLERANCE, 2 * c.worst_torch_vs_float64));
    });
  }

  it("PyTorch given a different model: refuses to time, naming what differs", async () => {
    let error: unknown = null;
    try {
      await peerBench({ ...options(), torchModelPath: join(dir, "other.yaml") });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(RunError);
    expect((error as Error).message).to.match(/refusing to time: the loss of step 1 at 1 thread\(s\): ours .*, PyTorch float32 .*, float64 .* \(ours .* from float64, allowed/);
  });
});
