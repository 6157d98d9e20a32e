import { expect } from "chai";
import { Rng } from "../src/util/rng.js";

/** Draws n values from a fresh generator. */
function draw(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.next());
}

describe("Rng (sfc32 seeded by cyrb128)", () => {
  it("gives the same sequence for the same seed and different ones for different seeds", () => {
    expect(draw(new Rng(42), 100)).to.deep.equal(draw(new Rng(42), 100));
    expect(draw(new Rng(42), 10)).to.not.deep.equal(draw(new Rng(43), 10));
    expect(draw(new Rng(0), 10)).to.not.deep.equal(draw(new Rng(1), 10));
  });

  it("keeps its stream fixed across versions (pinned first outputs of seed 0)", () => {
    // Changing the generator would silently change every seeded experiment: this pins it.
    const rng = new Rng(0);
    const firstWords = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
    expect(firstWords).to.deep.equal(PINNED_SEED0_UINT32);
  });

  it("forks streams that depend only on the parent's path and the label", () => {
    const parent = new Rng(7);
    const before = draw(parent.fork("data"), 20);
    draw(parent, 1000); // consuming the parent must not change its forks
    expect(draw(parent.fork("data"), 20)).to.deep.equal(before);
    expect(draw(parent.fork("init"), 20)).to.not.deep.equal(before);
    expect(draw(parent.fork(1), 20)).to.not.deep.equal(draw(parent.fork("1"), 20));
    expect(parent.fork("a").fork("b").path).to.not.equal(parent.fork("a/b").path);
    expect(draw(parent.fork("a").fork("b"), 20)).to.not.deep.equal(draw(parent.fork("a/b"), 20));
    expect(draw(new Rng(8).fork("data"), 20)).to.not.deep.equal(before);
    expect(parent.fork("data").path).to.equal('7/"data"');
  });

  it("next() is roughly uniform on [0, 1): chi-square over 20 bins", () => {
    const rng = new Rng(123);
    const n = 100_000;
    const bins = new Array<number>(20).fill(0);
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      if (x < 0 || x >= 1) outside += 1;
      else bins[Math.floor(x * 20)]! += 1;
    }
    expect(outside).to.equal(0);
    const expected = n / 20;
    const chi2 = bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: P(chi2 > 43.8) = 0.001, so a fair generator fails this 1 in 1000 seeds.
    expect(chi2).to.be.lessThan(43.8);
  });

  it("uniform, int and normal have the right range and moments", () => {
    const rng = new Rng(5);
    const n = 50_000;
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(-3, 5);
      if (u < -3 || u >= 5) outside += 1;
      sum += u;
    }
    expect(outside).to.equal(0);
    // mean 1, std of the sample mean = 8/sqrt(12 n) = 0.0103; 5 standard errors.
    expect(Math.abs(sum / n - 1)).to.be.lessThan(0.052);

    const counts = [0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 70_000; i++) counts[rng.int(7)]! += 1;
    // each count ~ Binomial(70000, 1/7): std = 92.6; 5 standard deviations.
    for (const c of counts) expect(Math.abs(c - 10_000)).to.be.lessThan(463);

    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s1 += z;
      s2 += z * z;
    }
    const mean = s1 / n;
    const variance = s2 / n - mean * mean;
    // standard errors: mean 1/sqrt(n) = 0.0045, variance sqrt(2/n) = 0.0063; 5 of each.
    expect(Math.abs(mean)).to.be.lessThan(0.023);
    expect(Math.abs(variance - 1)).to.be.lessThan(0.032);
  });

  it("int rejects non-positive or fractional n", () => {
    const rng = new Rng(0);
    expect(() => rng.int(0)).to.throw(RangeError, /positive integer/);
    expect(() => rng.int(2.5)).to.throw(RangeError);
    expect(() => new Rng(0.5)).to.throw(RangeError, /safe integer/);
  });

  it("shuffle is a deterministic permutation in place", () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Rng(9).shuffle(a);
    expect(shuffled).to.equal(a);
    expect([...a].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(a).to.not.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(new Rng(9).shuffle(Array.from({ length: 50 }, (_, i) => i))).to.deep.equal(a);
  });

  it("shuffle puts each element in each position about equally often", () => {
    const rng = new Rng(11);
    const trials = 24_000;
    const positionOfZero = [0, 0, 0, 0];
    for (let t = 0; t < trials; t++) positionOfZero[rng.shuffle([0, 1, 2, 3]).indexOf(0)]! += 1;
    // Binomial(24000, 1/4): std = 67; 5 standard deviations.
    for (const c of positionOfZero) expect(Math.abs(c - 6000)).to.be.lessThan(335);
  });
});

const PINNED_SEED0_UINT32 = [1599423197, 1787896020, 3131439848];
