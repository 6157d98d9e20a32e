/**
 * The float64 erf of the gelu reference (test/reference/erf.ts) against tabulated values (to 16
 * digits as CPython's math.erf, the C library's, gives them; A&S table 7.1 agrees to its 15), on both sides of its switch from the
 * series to the continued fraction at 1.5, and its derivative 2/sqrt(pi) exp(-x^2) by central
 * differences, so that the gelu gradient cases rest on a checked erf.
 */
import { expect } from "chai";
import { erf } from "./reference/erf.js";

const TABLE: [number, number][] = [
  [0, 0],
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [1.5, 0.9661051464753108],
  [1.6, 0.9763483833446440],
  [1, 0.8427007929497149],
  [2, 0.9953222650189527],
  [2.9, 0.9999589021219005],
  [3, 0.9999779095030014],
  [3.1, 0.9999883513426328],
  [3.5, 0.9999992569016276],
  [4, 0.9999999845827421],
  [5, 0.9999999999984626],
];

describe("reference erf (float64, for gelu)", () => {
  it("equals the tabulated values to 2e-16 absolute, and is odd", () => {
    for (const [x, want] of TABLE) {
      expect(Math.abs(erf(x) - want), `erf(${x})`).to.be.below(2e-16 + 4 * Number.EPSILON * want);
      expect(erf(-x), `erf(-${x})`).to.equal(-erf(x));
    }
    expect(erf(40)).to.equal(1);
    expect(Number.isNaN(erf(NaN))).to.equal(true);
  });

  // Step 1e-5: truncation h^2 |erf'''| / 6 < 1e-10, rounding 1e-16 / h = 1e-11; a jump at the switch would show.
  it("has the derivative 2/sqrt(pi) exp(-x^2) (central differences, 2e-10 absolute), across the switch at 1.5", () => {
    const h = 1e-5;
    for (const x of [-2.5, -0.7, 0, 0.3, 1.49999, 1.5, 1.50001, 2.9, 3.4]) {
      const numeric = (erf(x + h) - erf(x - h)) / (2 * h);
      const exact = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
      expect(Math.abs(numeric - exact), `x = ${x}`).to.be.below(2e-10);
    }
  });
});
