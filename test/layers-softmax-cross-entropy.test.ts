/** The TypeScript head against an exact case, the float64 reference and finite differences. */
import { expect } from "chai";
import { DataError } from "../src/errors.js";
import { GraphBuilder, PORTABLE_TARGET } from "../src/graph/graph-builder.js";
import { softmaxCrossEntropy } from "../src/layers/softmax-cross-entropy.js";
import { GraphSession } from "../src/runtime/session.js";
import { addFrameLosses } from "../src/train/device-step-graph.js";
import { refSoftmaxCrossEntropy } from "./reference/layers-ref.js";
import { centralDifferences, randomArray, relativeError, seededRandom } from "./reference/numeric.js";

describe("softmaxCrossEntropy", () => {
  it("equal logits: loss ln K, gradient (1/K - onehot) / B", () => {
    const { loss, dLogits } = softmaxCrossEntropy({ data: new Float32Array(8), dims: [2, 4] }, Int32Array.from([1, 3]));
    expect(loss).to.be.closeTo(Math.log(4), 1e-12);
    expect(Array.from(dLogits.data)).to.deep.equal([0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]);
    expect(dLogits.dims).to.deep.equal([2, 4]);
  });

  it("matches the float64 reference and finite differences, also for large logits", () => {
    const rng = seededRandom(3);
    const logits = randomArray(rng, 5 * 7, 30); // up to ±30: exp would overflow float32 without the max shift
    const f32 = Float32Array.from(logits);
    const labels = Int32Array.from([0, 6, 2, 2, 5]);
    const head = softmaxCrossEntropy({ data: f32, dims: [5, 7] }, labels);
    const exact = Float64Array.from(f32);
    const ref = refSoftmaxCrossEntropy({ data: exact, dims: [5, 7] }, labels);
    // Same float32 inputs, both accumulate in float64: only dLogits' float32 storage differs.
    expect(Math.abs(head.loss - ref.loss)).to.be.below(1e-12);
    expect(relativeError(head.dLogits.data, ref.dLogits.data)).to.be.below(1e-6);
    const fd = centralDifferences(() => refSoftmaxCrossEntropy({ data: exact, dims: [5, 7] }, labels).loss, exact);
    expect(relativeError(ref.dLogits.data, fd)).to.be.below(1e-7);
  });

  it("rejects a label outside the classes, naming the row", () => {
    expect(() => softmaxCrossEntropy({ data: new Float32Array(6), dims: [2, 3] }, Int32Array.from([0, 3]))).to.throw(DataError, /label 3 of batch row 1/);
  });
});

describe("the device step's in-graph loss (device-step-graph.ts addFrameLosses)", () => {
  // 3 frames of 4 clips, 6 classes, time-major rows; logits up to ±200: exp overflows float32
  // unless shifted by the row's max, and a Log(Softmax) would give -inf for the smallest classes.
  const [n, B, K] = [3, 4, 6];
  const rng = seededRandom(11);
  const logits = Float32Array.from(randomArray(rng, n * B * K, 200));
  const maxLogit = logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const labels = Int32Array.from([5, 0, 3, 3]);
  const onehot = new Float32Array(n * B * K);
  for (let r = 0; r < n * B; r++) onehot[r * K + labels[r % B]] = 1;

  for (const form of ["op", "reductions"] as const) {
    it(`logSoftmax=${form}: each frame's mean loss equals the float64 reference within 1e-6 of the largest |logit|, finite for logits up to 200`, async () => {
      const g = new GraphBuilder(`frame-losses-${form}`, { ...PORTABLE_TARGET, logSoftmax: form });
      const loss = addFrameLosses(g, g.inputFixed("logits", [n * B, K]), g.inputFixed("onehot", [n * B, K]), g.inputFixed("scale", [1]), n);
      g.outputFixed(loss, [n], "losses");
      const session = await GraphSession.create(g.toBytes(), g.name, { provider: "cpu", threads: 1 });
      try {
        const out = await session.run({ logits: { data: logits, dims: [n * B, K] }, onehot: { data: onehot, dims: [n * B, K] }, scale: { data: Float32Array.of(1 / B), dims: [1] } });
        expect(out.losses.dims).to.deep.equal([n]);
        for (let t = 0; t < n; t++) {
          const rows = Float64Array.from(logits.subarray(t * B * K, (t + 1) * B * K));
          const ref = refSoftmaxCrossEntropy({ data: rows, dims: [B, K] }, labels).loss;
          // float32 rounds each log-probability (at most 2 max|logit| in size) to within 6e-8 of it,
          // and the frame's loss is a mean of B of them: 1e-6 max|logit| leaves 4x for the sums.
          expect(Math.abs(out.losses.data[t] - ref), `frame ${t}: ${out.losses.data[t]} vs ${ref}`).to.be.below(1e-6 * maxLogit);
          expect(Number.isFinite(out.losses.data[t])).to.equal(true);
        }
      } finally {
        await session.release();
      }
    });
  }
});
