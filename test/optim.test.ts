import { expect } from "chai";
import { SpecError } from "../src/errors.js";
import type { Weights } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import { OptimizerSpec } from "../src/spec/experiment-spec.js";

const STEPS = 6;
const SIZE = 5;
/** float32 initial values and per-step gradients, from closed forms (reproducible in NumPy). */
const initial = () => Float32Array.from({ length: SIZE }, (_, i) => 0.5 - 0.2 * i);
const gradAt = (t: number) => Float32Array.from({ length: SIZE }, (_, i) => Math.sin(1.3 * t + i) * 0.5 + 0.05 * i);
const lrAt = (base: number, t: number) => base * (1 - 0.1 * t);

/**
 * PyTorch's update formulas (torch.optim.SGD / Adam / AdamW docs, dampening 0, amsgrad
 * False), written independently in float64 with no rounding of parameters or state.
 */
function referenceTrajectory(spec: OptimizerSpec): number[][] {
  const p = [...initial()];
  const buf: number[] = new Array(SIZE).fill(0);
  const m: number[] = new Array(SIZE).fill(0);
  const v: number[] = new Array(SIZE).fill(0);
  const out: number[][] = [];
  for (let t = 0; t < STEPS; t++) {
    const g = [...gradAt(t)];
    const lr = lrAt(spec.lr, t);
    for (let i = 0; i < SIZE; i++) {
      // AdamW's decay is decoupled: the parameter shrinks, the gradient stays as it is.
      const gi = spec.kind === "adamw" ? g[i]! : g[i]! + spec.weight_decay * p[i]!;
      if (spec.kind === "adamw") p[i] = p[i]! * (1 - lr * spec.weight_decay);
      if (spec.kind === "sgd") {
        let d = gi;
        if (spec.momentum !== 0) {
          buf[i] = t === 0 ? d : spec.momentum * buf[i]! + d;
          d = spec.nesterov ? d + spec.momentum * buf[i]! : buf[i]!;
        }
        p[i] = p[i]! - lr * d;
      } else {
        const [b1, b2] = spec.betas;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        const mHat = m[i]! / (1 - b1 ** (t + 1));
        const vHat = v[i]! / (1 - b2 ** (t + 1));
        p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + spec.eps);
      }
    }
    out.push([...p]);
  }
  return out;
}

function ourTrajectory(spec: OptimizerSpec): number[][] {
  const optimizer = createOptimizer(spec);
  const weights: Weights = new Map([["w", initial()]]);
  const out: number[][] = [];
  for (let t = 0; t < STEPS; t++) {
    optimizer.step(weights, new Map([["w", gradAt(t)]]), lrAt(spec.lr, t));
    out.push([...weights.get("w")!]);
  }
  return out;
}

const CASES: Array<[string, unknown]> = [
  ["sgd, lr only", { kind: "sgd", lr: 0.1 }],
  ["sgd, momentum 0.9", { kind: "sgd", lr: 0.1, momentum: 0.9 }],
  ["sgd, Nesterov momentum 0.9", { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true }],
  ["sgd, weight decay 0.05 with momentum 0.5", { kind: "sgd", lr: 0.2, momentum: 0.5, weight_decay: 0.05 }],
  ["sgd, weight decay 0.1 without momentum", { kind: "sgd", lr: 0.3, weight_decay: 0.1 }],
  ["adam, defaults", { kind: "adam", lr: 0.01 }],
  ["adam, betas [0.8, 0.99], eps 1e-6, weight decay 0.1", { kind: "adam", lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.1 }],
  // Default weight decay 0.01: lr 0.01 shrinks p by 1e-4 of itself a step, ~3e-4 over the steps here.
  ["adamw, defaults (weight decay 0.01)", { kind: "adamw", lr: 0.01 }],
  ["adamw, betas [0.8, 0.99], eps 1e-6, weight decay 0.5", { kind: "adamw", lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.5 }],
];

describe("optimizers against a float64 reference of PyTorch's formulas", () => {
  for (const [name, raw] of CASES) {
    it(`${name}: ${STEPS} steps with a changing lr`, () => {
      const spec = OptimizerSpec.parse(raw);
      const ours = ourTrajectory(spec);
      const reference = referenceTrajectory(spec);
      // Ours stores parameters and state as float32 after each step (as PyTorch does): each
      // step adds at most a few roundings of values below 2 in magnitude (2 * 2^-24 = 1.2e-7
      // each); over 6 steps that stays below 1e-6. A wrong formula is off by > 1e-3 here.
      for (let t = 0; t < STEPS; t++) {
        for (let i = 0; i < SIZE; i++) expect(ours[t]![i]).to.be.closeTo(reference[t]![i]!, 1e-6, `step ${t} element ${i}`);
      }
      // Each step moves the parameters (the test is not vacuous).
      expect(Math.abs(ours[STEPS - 1]![0]! - initial()[0]!)).to.be.greaterThan(1e-3);
    });
  }

  it("matches final values printed by torch.optim (PyTorch 1.13.1) for the same data", () => {
    for (const [name, raw, expected] of TORCH_FINAL) {
      const final = ourTrajectory(OptimizerSpec.parse(raw))[STEPS - 1]!;
      // float32 everywhere on both sides; operation order differs, so a few ulp of drift.
      for (let i = 0; i < SIZE; i++) expect(final[i]).to.be.closeTo(expected[i]!, 1e-6, `${name} element ${i}`);
    }
  });
});

describe("optimizer state per parameter", () => {
  for (const raw of [{ kind: "sgd", lr: 0.1, momentum: 0.9, weight_decay: 0.01 }, { kind: "adam", lr: 0.01 }, { kind: "adamw", lr: 0.01, weight_decay: 0.1 }]) {
    it(`${raw.kind}: a parameter absent from grads is untouched, and its state starts when it first gets one`, () => {
      const spec = OptimizerSpec.parse(raw);
      const both = createOptimizer(spec);
      const weights: Weights = new Map([["a", initial()], ["b", initial().map((x) => x * 2)]]);
      const bBefore = [...weights.get("b")!];
      both.step(weights, new Map([["a", gradAt(0)]]), 0.1);
      expect([...weights.get("b")!]).to.deep.equal(bBefore);
      both.step(weights, new Map([["a", gradAt(1)], ["b", gradAt(1)]]), 0.1);
      both.step(weights, new Map([["b", gradAt(2)]]), 0.1);

      // The same as separate optimizers that only ever saw each parameter's own steps.
      const onlyA = createOptimizer(spec);
      const a: Weights = new Map([["a", initial()]]);
      onlyA.step(a, new Map([["a", gradAt(0)]]), 0.1);
      onlyA.step(a, new Map([["a", gradAt(1)]]), 0.1);
      const onlyB = createOptimizer(spec);
      const b: Weights = new Map([["b", initial().map((x) => x * 2)]]);
      onlyB.step(b, new Map([["b", gradAt(1)]]), 0.1);
      onlyB.step(b, new Map([["b", gradAt(2)]]), 0.1);
      expect([...weights.get("a")!]).to.deep.equal([...a.get("a")!]);
      expect([...weights.get("b")!]).to.deep.equal([...b.get("b")!]);
    });
  }

  // A resumed run imports the state its checkpoint exported. Adam's bias correction divides by
  // 1 - beta^t, so the step count t is state as much as m and v: after k steps the next update
  // differs from a first step's even with the same m, v and gradient.
  for (const [name, raw] of CASES.filter(([n]) => n.startsWith("adam") || n === "sgd, Nesterov momentum 0.9")) {
    it(`${name}: state exported after 3 steps and imported into a fresh optimizer gives the original's next updates, bit for bit`, () => {
      const spec = OptimizerSpec.parse(raw);
      const original = createOptimizer(spec);
      const weights: Weights = new Map([["w", initial()], ["b", initial().map((x) => -x)]]);
      for (let t = 0; t < 3; t++) original.step(weights, new Map([["w", gradAt(t)], ["b", gradAt(t + 7)]]), lrAt(spec.lr, t));
      const state = original.exportState();
      const at3 = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
      expect([...state.keys()].sort()).to.deep.equal(spec.kind !== "sgd" ? ["b/exp_avg", "b/exp_avg_sq", "b/step", "w/exp_avg", "w/exp_avg_sq", "w/step"] : ["b/momentum_buffer", "w/momentum_buffer"]);
      if (spec.kind !== "sgd") expect([...state.get("w/step")!]).to.deep.equal([3]);
      const resumed = createOptimizer(spec);
      const exported = original.exportState();
      resumed.importState(exported);
      // The import copies: what becomes of the exported arrays later (a checkpoint buffer reused) does not reach it.
      for (const v of exported.values()) v.fill(NaN);
      const copy = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
      for (let t = 3; t < 5; t++) {
        const grads = () => new Map([["w", gradAt(t)], ["b", gradAt(t + 7)]]);
        original.step(weights, grads(), lrAt(spec.lr, t));
        resumed.step(copy, grads(), lrAt(spec.lr, t));
        for (const name of ["w", "b"]) expect([...copy.get(name)!], `${name} after step ${t + 1}`).to.deep.equal([...weights.get(name)!]);
      }
      // Not vacuous: the same m and v with the step count started again (a fresh optimizer's
      // bias correction) move the parameters elsewhere, by ~1e-3 at lr 0.01.
      if (spec.kind !== "sgd") {
        const next = (step: number) => {
          const o = createOptimizer(spec);
          o.importState(new Map([...state].map(([k, v]) => [k, k.endsWith("/step") ? Float32Array.of(step) : v])));
          const w = new Map([...at3].map(([k, v]) => [k, Float32Array.from(v)]));
          o.step(w, new Map([["w", gradAt(3)]]), lrAt(spec.lr, 3));
          return [...w.get("w")!];
        };
        const [kept, restarted] = [next(3), next(0)];
        expect(Math.max(...kept.map((x, i) => Math.abs(x - restarted[i]!)))).to.be.greaterThan(1e-4);
      }
    });
  }

  it("sgd without momentum keeps no state (as torch.optim.SGD, whose momentum_buffer stays None): nothing to export", () => {
    const optimizer = createOptimizer(OptimizerSpec.parse({ kind: "sgd", lr: 0.1, weight_decay: 0.01 }));
    const weights: Weights = new Map([["w", initial()]]);
    optimizer.step(weights, new Map([["w", gradAt(0)]]), 0.1);
    optimizer.step(weights, new Map([["w", gradAt(1)]]), 0.1);
    expect([...optimizer.exportState().keys()]).to.deep.equal([]);
  });

  it("adamw: torch.optim.AdamW's defaults; without weight decay it is Adam bit for bit, with it not Adam's L2 decay", () => {
    expect(OptimizerSpec.parse({ kind: "adamw" })).to.deep.equal({ kind: "adamw", lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01 });
    const final = (raw: unknown) => ourTrajectory(OptimizerSpec.parse(raw))[STEPS - 1]!;
    expect(final({ kind: "adamw", lr: 0.05, weight_decay: 0 })).to.deep.equal(final({ kind: "adam", lr: 0.05, weight_decay: 0 }));
    const [decoupled, l2] = [final({ kind: "adamw", lr: 0.05, weight_decay: 0.5 }), final({ kind: "adam", lr: 0.05, weight_decay: 0.5 })];
    expect(Math.max(...decoupled.map((x, i) => Math.abs(x - l2[i]!)))).to.be.greaterThan(1e-3);
  });

  it("rejects Nesterov without momentum, as torch.optim.SGD does", () => {
    expect(() => createOptimizer(OptimizerSpec.parse({ kind: "sgd", nesterov: true }))).to.throw(SpecError, /nesterov: true needs momentum > 0/);
  });

  it("treats a gradient for an unknown parameter or of the wrong length as a bug", () => {
    const optimizer = createOptimizer(OptimizerSpec.parse({ kind: "sgd" }));
    const weights: Weights = new Map([["w", initial()]]);
    expect(() => optimizer.step(weights, new Map([["v", gradAt(0)]]), 0.1)).to.throw(/^BUG: .*"v", which is not a parameter/);
    expect(() => optimizer.step(weights, new Map([["w", new Float32Array(2)]]), 0.1)).to.throw(/^BUG: gradient of "w" has 2 values, expected 5/);
  });
});

/**
 * Final parameters printed by Debian's PyTorch 1.13.1 (torch.__version__ "1.13.0a0") running
 * torch.optim.SGD / Adam / AdamW on float32 tensors with the same initial values, gradients and
 * per-step lr as initial(), gradAt(t) and lrAt(base, t) above.
 */
const TORCH_FINAL: Array<[string, unknown, number[]]> = [
  [
    "sgd Nesterov",
    { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true },
    [0.38811156153678894, 0.04201645031571388, -0.13757586479187012, -0.24011413753032684, -0.4258902966976166],
  ],
  [
    "sgd weight decay + momentum",
    { kind: "sgd", lr: 0.2, momentum: 0.5, weight_decay: 0.05 },
    [0.38866332173347473, 0.0785130113363266, -0.11222772300243378, -0.24390241503715515, -0.43115946650505066],
  ],
  [
    "adam weight decay",
    { kind: "adam", lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.1 },
    [0.3708494305610657, 0.17330922186374664, -0.00011783093214035034, -0.1539176106452942, -0.25156381726264954],
  ],
  [
    "adam defaults",
    { kind: "adam", lr: 0.01 },
    [0.4860934019088745, 0.27393460273742676, 0.0790138989686966, -0.11168454587459564, -0.28994473814964294],
  ],
  [
    "adamw defaults",
    { kind: "adamw", lr: 0.01 },
    [0.48587146401405334, 0.2738063335418701, 0.07897421717643738, -0.11163683980703354, -0.2898150086402893],
  ],
  [
    "adamw weight decay 0.5",
    { kind: "adamw", lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.5 },
    [0.38581353425979614, 0.155312180519104, -0.0032347189262509346, -0.14656752347946167, -0.23354896903038025],
  ],
];
