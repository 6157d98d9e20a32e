/**
 * The NCHWc graph target (src/runtime/nchwc-probe.ts, conv2d's nchwcConv): the probe finds
 * onnxruntime's channel block size, and the filter reorder built in our graphs is bit for bit
 * the one onnxruntime's own optimizer applies to a constant weight (MlasReorderFilterOIHWBo and
 * OIHWBiBo), in both of its cases. That the convolutions then compute the right values is checked
 * by the layer and model gradient tests, which run NCHWc cases against float64 references.
 * Skipped, saying why, on a CPU without NCHWc kernels (onnxruntime has them on x86-64 only).
 */
import { expect } from "chai";
import { InputError } from "../src/errors.js";
import { CUDA_TARGET, GraphBuilder, NCHWC_DOMAIN } from "../src/graph/graph-builder.js";
import { onnx } from "../src/graph/onnx.js";
import { nchwcFilter } from "../src/layers/conv-nchwc.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { cpuOptimizedGraph, GraphSession } from "../src/runtime/session.js";
import { seededRandom, randomArray } from "./reference/numeric.js";
import { withEnv } from "./helpers/env.js";
import { sameBits } from "./helpers/tiny-models.js";
import { NO_NCHWC, skipBecause } from "./helpers/skip.js";

describe("NCHWc graph target", function () {
  this.timeout(30_000);
  let block = 0;
  before(async () => {
    block = (await graphTargetFor({ provider: "cpu" })).nchwcBlock;
  });

  it("the probe finds a block size of 4, 8 or 16 channels, or none", () => {
    expect([0, 4, 8, 16]).to.include(block);
  });

  it("GPU providers and SIDEWAYS_NCHWC=0 get portable graphs", async () => {
    expect((await graphTargetFor({ provider: "webgpu" })).nchwcBlock).to.equal(0);
    await withEnv({ SIDEWAYS_NCHWC: "0" }, async () => {
      expect((await graphTargetFor({ provider: "cpu" })).nchwcBlock).to.equal(0);
    });
  });

  it("SIDEWAYS_CUDA_WGRAD=conv gives CUDA (only) conv2d's weight gradient as one dilated Conv; a bad value is an input error", async () => {
    for (const v of [undefined, "", "unfold"]) {
      await withEnv({ SIDEWAYS_CUDA_WGRAD: v }, async () => expect(await graphTargetFor({ provider: "cuda" }), `SIDEWAYS_CUDA_WGRAD=${v}`).to.equal(CUDA_TARGET));
    }
    await withEnv({ SIDEWAYS_CUDA_WGRAD: "conv" }, async () => {
      expect(await graphTargetFor({ provider: "cuda" })).to.deep.equal({ ...CUDA_TARGET, convWeightGrad: "conv" });
      expect((await graphTargetFor({ provider: "cpu" })).convWeightGrad).to.equal(undefined);
      expect((await graphTargetFor({ provider: "webgpu" })).convWeightGrad).to.equal(undefined);
    });
    await withEnv({ SIDEWAYS_CUDA_WGRAD: "im2col" }, async () => {
      const err = await graphTargetFor({ provider: "cuda" }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(InputError);
      expect((err as Error).message).to.match(/SIDEWAYS_CUDA_WGRAD=im2col: expected conv .* or unfold/);
    });
  });

  // [M, C, K]: C < block (NCHW input, OIHWBo) and C a multiple of the block (OIHWBiBo), with M
  // of one and of two blocks and M not a multiple (padded output channels).
  const shapes = (b: number): [number, number, number][] => [
    [b, 3, 3],
    [2 * b, 1, 5],
    [b + 3, 2, 3],
    [b, b, 3],
    [2 * b, 2 * b, 1],
    [b + 1, b, 3],
  ];

  it("the filter reorder equals onnxruntime's own, bit for bit, in both layouts", async function () {
    if (block === 0) skipBecause(this, `${NO_NCHWC}: nothing to compare with`);
    const rng = seededRandom(31);
    for (const [m, c, k] of shapes(block)) {
      const weight = Float32Array.from(randomArray(rng, m * c * k * k));
      const where = `M=${m} C=${c} K=${k}`;

      // onnxruntime's reorder: the initializer its NCHWc rewrite makes from a constant weight.
      const constant = new GraphBuilder("const-conv");
      const x = constant.input("x", [c, 6, 6]);
      constant.output(constant.op("Conv", [x, constant.constFloat("w", weight, [m, c, k, k])], { kernel_shape: [k, k] }), [m, 7 - k, 7 - k], "y");
      const optimized = onnx.ModelProto.decode(await cpuOptimizedGraph(constant.toBytes())).graph!;
      const conv = optimized.node!.find((n) => n.domain === NCHWC_DOMAIN && n.opType === "Conv");
      expect(conv, `${where}: onnxruntime made no NCHWc Conv`).to.not.equal(undefined);
      expect(optimized.node!.some((n) => n.opType === "ReorderInput"), `${where}: blocked input`).to.equal(c >= block);
      const init = optimized.initializer!.find((t) => t.name === conv!.input![1])!;
      const raw = init.rawData!;
      const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));

      // Ours: the same weight fed at run time, reordered in the graph.
      const g = new GraphBuilder("filter", { nchwcBlock: block, cpu: true });
      const mp = Math.ceil(m / block) * block;
      g.outputFixed(nchwcFilter(g, g.inputFixed("w", [m, c, k, k]), [m, c, k, k]), [mp, c, k, k], "filter");
      const session = await GraphSession.create(g.toBytes(), "filter", { provider: "cpu", threads: 1 });
      try {
        const ours = (await session.run({ w: { data: weight, dims: [m, c, k, k] } })).filter;
        expect(init.dims!.map(Number), `${where}: dims`).to.deep.equal(ours.dims);
        expect(sameBits(ours.data, theirs), `${where}: values`).to.equal(true);
      } finally {
        await session.release();
      }
    }
  });
});
