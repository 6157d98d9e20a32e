/**
 * Issue 6: the PyTorch peer benchmark. The FLOP count is checked by hand; the benchmark itself
 * (bench/torch_peer.py as a server, interleaved steps) needs a Python with torch and is skipped,
 * saying why, where there is none (CI installs Debian's, .ci/system/30-torch.sh).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { formatPeerBench, judgeDraw, maxRelDiff, NEAR_TIE_MARGIN, peerBench, PEER_TOLERANCE } from "../src/bench/bench-peer.js";
import { layerMacs, trainingStepFlops } from "../src/bench/peer-flops.js";
import { TorchPeer, torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { encodeNpy } from "../src/data/npy.js";
import { initWeights } from "../src/model/init.js";
import { writeCheckpoint } from "../src/model/checkpoint.js";
import { resolveModel } from "../src/model/load-model.js";
import { InputError, RunError } from "../src/errors.js";
import { formatGraphTarget } from "../src/runtime/graph-forms.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";

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

describe("peer benchmark: the agreement check's verdict on one draw", () => {
  it("accepts agreement whatever the margin; redraws a disagreement only at a near-tie with draws left", () => {
    expect(judgeDraw(true, 1e-9, NEAR_TIE_MARGIN, 0)).to.equal("accept");
    expect(judgeDraw(true, null, NEAR_TIE_MARGIN, 3)).to.equal("accept");
    expect(judgeDraw(false, 5e-8, NEAR_TIE_MARGIN, 3)).to.equal("redraw");
    // A disagreement without a near-tie is real: refused at once.
    expect(judgeDraw(false, 1e-3, NEAR_TIE_MARGIN, 3)).to.equal("refuse");
    expect(judgeDraw(false, NEAR_TIE_MARGIN, NEAR_TIE_MARGIN, 3)).to.equal("refuse");
    expect(judgeDraw(false, null, NEAR_TIE_MARGIN, 3)).to.equal("refuse");
    // Near-ties on every draw do not excuse a disagreement on every draw.
    expect(judgeDraw(false, 5e-8, NEAR_TIE_MARGIN, 0)).to.equal("refuse");
  });
});

describe("peer benchmark against PyTorch (bench/torch_peer.py --serve)", function () {
  this.timeout(120_000);
  const reason = torchUnavailableReason();
  let dir = "";

  before(function () {
    if (reason) {
      skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    }
    dir = mkdtempSync(join(tmpdir(), "sideways-peer-test-"));
    writeFileSync(join(dir, "model.yaml"), stringify(modelYaml));
    writeFileSync(join(dir, "other.yaml"), stringify(otherYaml));
  });
  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
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
    expect(r.checks[0].draws).to.equal(1);
    expect(r.torch_uploads_each_step).to.equal(false);
    expect([r.pixel_clips, r.torch_uploads_pixels]).to.deep.equal([false, false]);
    // The report names the graphs our side ran: the CPU provider's target here.
    expect(r.graph_target).to.deep.equal(await graphTargetFor({ provider: "cpu" }));
    expect(formatPeerBench(r)).to.include(`Our graphs: ${formatGraphTarget(r.graph_target)}.`).and.include("cpu=true");
  });

  it("peerUploads: PyTorch keeps its clips in host memory and moves each step's batch inside the timed step; agreement unchanged", async () => {
    const r = await peerBench({ ...options(), peerUploads: true });
    expect(r.torch_uploads_each_step).to.equal(true);
    expect(r.checks[0].worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(r.rows[0].torch_ms_median).to.be.greaterThan(0);
  });

  it("pixelClips: 8-bit clips into our device step, and with peerUploads into PyTorch's step as 8-bit pixels; agreement unchanged", async () => {
    for (const peerUploads of [false, true]) {
      const r = await peerBench({ ...options(), deviceStep: true, pixelClips: true, peerUploads });
      // From what each side did: our device step's ClipInput, and PyTorch's reply.
      expect(r.pixel_clips).to.equal(true);
      expect(r.torch_uploads_each_step).to.equal(peerUploads);
      expect(r.torch_uploads_pixels).to.equal(peerUploads);
      expect(r.checks[0].worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
      expect(r.checks[0].worst_weight_rel_diff).to.be.at.most(PEER_TOLERANCE);
      expect(formatPeerBench(r)).to.include("device step, clips as 8-bit pixels");
      if (peerUploads) expect(formatPeerBench(r)).to.include("batch uploaded each step as 8-bit pixels");
    }
    const err = await peerBench({ ...options(), deviceStep: false, pixelClips: true }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.match(/--pixel-clips: .*device step/);
  });

  it("stepsPerCall: our device step takes 3 steps a call, PyTorch 3 between synchronisations; the agreement spans whole calls", async () => {
    const r = await peerBench({ ...options(), deviceStep: true, pixelClips: true, peerUploads: true, stepsPerCall: 3 });
    expect(r.steps_per_call).to.equal(3);
    // The check's 2 steps round up to one whole call of 3, on both sides.
    expect(r.checks[0].steps).to.equal(3);
    expect(r.checks[0].worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(r.checks[0].worst_weight_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(formatPeerBench(r)).to.include("3 steps a call");
    expect(formatPeerBench(r)).to.include("synchronised every 3 steps");
    const err = await peerBench({ ...options(), deviceStep: false, stepsPerCall: 2 }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.match(/--steps-per-call: .*device step/);
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

  // The device step (runtime.device_step) as our side: the same agreement rule, on a model with
  // batch norm so that its buffers (kept on the host, fed by the graph's statistics) are compared too.
  it("the device step as our side: models/vgg-bn-mnist.yaml agrees with PyTorch (parameters and buffers), then is timed", async () => {
    const r = await peerBench({ modelPath: "models/vgg-bn-mnist.yaml", batch: 4, frames: 3, threads: [1], rounds: 1, warmupRounds: 0, skipPeak: true, deviceStep: true });
    expect(r.our_path).to.equal("device step");
    const c = r.checks[0];
    expect(c.worst_loss_rel_diff).to.be.at.most(PEER_TOLERANCE);
    expect(c.worst_ours_vs_float64).to.be.at.most(Math.max(PEER_TOLERANCE, 2 * c.worst_torch_vs_float64));
    expect(r.rows[0].ours_ms_median).to.be.greaterThan(0);
  });

  // NearTies in bench/torch_peer.py, on one 1x4x4 frame whose largest value is 1: its four 2x2
  // max-pool windows have gaps of 0.1 or more between their two largest values, unless the
  // top-left one's runner-up is 0.75 less one float32 step (2^-24 ~ 6e-8 of the largest value).
  const tieModel = (first: Record<string, unknown>) => ({ name: "tie", input: { channels: 1, height: 4, width: 4 }, classes: 2, layers: [first, { type: "flatten" }, { type: "linear", out_features: 2 }] });
  const frame = (tiny: number) => {
    // Rows of the 4x4 frame; windows are the 2x2 quadrants.
    const f = [
      [0.75, 0.6, 0.1, 0.2],
      [0.5, 0.4, 0.3, 0.0],
      [1.0, 0.9, 0.45, 0.55],
      [0.8, 0.7, 0.35, 0.25],
    ];
    f[1][0] = tiny; // the top-left window's runner-up: 0.5, or 0.75 less one float32 step
    return f.flat();
  };
  const margins = async (layer: Record<string, unknown>, pixels: number[]) => {
    const sub = mkdtempSync(join(dir, "tie-"));
    writeFileSync(join(sub, "model.yaml"), stringify(tieModel(layer)));
    const model = resolveModel(tieModel(layer), "inline");
    writeCheckpoint(join(sub, "init.safetensors"), model, initWeights(model, 0));
    writeFileSync(join(sub, "clips.npy"), encodeNpy(Float32Array.from(pixels), [1, 1, 1, 4, 4]));
    writeFileSync(join(sub, "labels.npy"), encodeNpy(Int32Array.from([1]), [1]));
    const { peer } = await TorchPeer.start({ model: join(sub, "model.yaml"), init: join(sub, "init.safetensors"), clips: join(sub, "clips.npy"), labels: join(sub, "labels.npy"), lr: 0.1 });
    try {
      await peer.command({ cmd: "reset", dtype: "float64" });
      await peer.step();
      return await peer.command({ cmd: "near_ties" });
    } finally {
      await peer.close();
    }
  };
  const below075 = 0.75 - 2 ** -24;

  it("near-ties: finds a max-pool window whose two largest values are one float32 step apart", async () => {
    const tie = await margins({ type: "maxpool2d", kernel: 2 }, frame(below075));
    expect(tie.where).to.equal("MaxPool2d 0");
    expect(tie.margin).to.be.closeTo(2 ** -24, 1e-12);
    expect(tie.margin as number).to.be.below(NEAR_TIE_MARGIN);
    // The same frame with 0.5 as runner-up: the smallest gap is 0.1.
    const clear = await margins({ type: "maxpool2d", kernel: 2 }, frame(0.5));
    expect(clear.margin as number).to.be.at.least(NEAR_TIE_MARGIN);
  });

  it("near-ties: finds a ReLU input within float32 rounding of 0, leaving out an exact 0", async () => {
    // Values from -0.3 to 1 whose smallest nonzero |x| is 0.05, two of them exactly 0.
    const pixels = frame(0.5).map((v) => v - 0.3);
    pixels[0] = 1.0;
    pixels[5] = 3e-8; // a near-tie of the ReLU
    pixels[7] = 0; // an exact 0: structural, left out
    const tie = await margins({ type: "relu" }, pixels);
    expect(tie.where).to.equal("ReLU 0");
    expect(tie.margin as number).to.be.closeTo(Math.fround(3e-8), 1e-15);
    pixels[5] = -0.02;
    const clear = await margins({ type: "relu" }, pixels);
    expect(clear.margin as number).to.be.at.least(NEAR_TIE_MARGIN);
  });

  it("PyTorch given a different model, with every draw counted as a near-tie: still refused after the last draw", async () => {
    const log: string[] = [];
    let error: unknown = null;
    try {
      await peerBench({ ...options(), torchModelPath: join(dir, "other.yaml"), nearTieMargin: 1, maxCheckDraws: 3, log: (l) => log.push(l) });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(RunError);
    expect((error as Error).message).to.match(/refusing to time: the loss of step 1 .* on all 3 batches drawn \(earlier draws disagreed too/);
    expect(log.filter((l) => l.includes("inconclusive"))).to.have.length(2);
  });

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
