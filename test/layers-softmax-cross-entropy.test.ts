/** The TypeScript head against an exact case, the float64 reference and finite differences. */
import { expect } from "chai";
import { DataError } from "../src/errors.js";
import { softmaxCrossEntropy } from "../src/layers/softmax-cross-entropy.js";
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
