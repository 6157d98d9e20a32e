import { expect } from "chai";
import { initWeights } from "../src/model/init.js";
import type { Model, ParamInfo } from "../src/model/model.js";

/** conv2d(8->64, k3) ... linear(64->100): parameters big enough for distribution checks. */
function model(params: ParamInfo[]): Model {
  return { name: "init-test", input: { channels: 8, height: 8, width: 8 }, classes: 100, layers: [], blocks: [], params, buffers: [], source: "inline" };
}
const PARAMS: ParamInfo[] = [
  { name: "0.weight", shape: [64, 8, 3, 3], layerIndex: 0, blockIndex: 0, fanIn: 72 },
  { name: "0.bias", shape: [64], layerIndex: 0, blockIndex: 0, fanIn: 72 },
  { name: "3.weight", shape: [100, 64], layerIndex: 3, blockIndex: 1, fanIn: 64 },
  { name: "3.bias", shape: [100], layerIndex: 3, blockIndex: 1, fanIn: 64 },
];

describe("initWeights (PyTorch default conv2d/linear initialisation)", () => {
  const weights = initWeights(model(PARAMS), 0);

  it("creates every parameter with its element count", () => {
    expect([...weights.keys()]).to.deep.equal(PARAMS.map((p) => p.name));
    expect(weights.get("0.weight")!.length).to.equal(64 * 8 * 9);
    expect(weights.get("3.bias")!.length).to.equal(100);
  });

  for (const param of PARAMS) {
    it(`${param.name}: within ±1/sqrt(fanIn) with U(-b, b)'s mean, variance and spread`, () => {
      const b = 1 / Math.sqrt(param.fanIn);
      const x = weights.get(param.name)!;
      const n = x.length;
      let max = 0;
      let s1 = 0;
      let s2 = 0;
      const quarters = [0, 0, 0, 0];
      for (const v of x) {
        max = Math.max(max, Math.abs(v));
        s1 += v;
        s2 += v * v;
        quarters[Math.min(3, Math.floor(((v + b) / (2 * b)) * 4))]! += 1;
      }
      expect(max).to.be.at.most(Math.fround(b));
      // The extremes are used: the largest |value| of n uniform draws is near b (P(max < 0.9b) = 0.9^n).
      expect(max).to.be.greaterThan(0.9 * b);
      // U(-b, b): mean 0 (standard error b/sqrt(3n)); E[x^2] = b^2/3 (standard error
      // b^2 * sqrt(4/45) / sqrt(n)); each quarter of the range holds n/4 (std sqrt(3n/16)).
      // Bounds are 5 standard errors: a correct sampler fails with probability < 1e-5.
      expect(Math.abs(s1 / n)).to.be.lessThan((5 * b) / Math.sqrt(3 * n));
      expect(Math.abs(s2 / n - (b * b) / 3)).to.be.lessThan((5 * b * b * Math.sqrt(4 / 45)) / Math.sqrt(n));
      for (const q of quarters) expect(Math.abs(q - n / 4)).to.be.lessThan(5 * Math.sqrt((3 * n) / 16));
    });
  }

  it("is deterministic per seed, differs across seeds and parameters", () => {
    const again = initWeights(model(PARAMS), 0);
    const other = initWeights(model(PARAMS), 1);
    for (const p of PARAMS) {
      expect([...again.get(p.name)!]).to.deep.equal([...weights.get(p.name)!]);
      expect(other.get(p.name)![0]).to.not.equal(weights.get(p.name)![0]);
    }
    const w0 = weights.get("0.weight")!.subarray(0, 10);
    const w3 = weights.get("3.weight")!.subarray(0, 10);
    expect([...w0].map((v) => v * Math.sqrt(72))).to.not.deep.equal([...w3].map((v) => v * Math.sqrt(64)));
  });

  it("gives a parameter the same values whatever the other parameters are", () => {
    const alone = initWeights(model([PARAMS[2]!]), 0);
    expect([...alone.get("3.weight")!]).to.deep.equal([...weights.get("3.weight")!]);
  });
});
