/**
 * gelu's `approximate` key (PyTorch's GELU argument): `tanh`, y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2,
 * beside the exact form (absent or `none`). The gradient cases of both forms against finite
 * differences are test/layers-gradients.test.ts's; here: the float64 references against
 * PyTorch's own values, the two forms told apart by the ONNX graphs, and the run identity.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { peerPython, torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { PORTABLE_TARGET } from "../src/graph/graph-builder.js";
import { buildBlockGraphs } from "../src/layers/block-graphs.js";
import { LayerSpec } from "../src/model/model-spec.js";
import { GraphSession } from "../src/runtime/session.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { configHash, resolvedConfig } from "../src/spec/resolved-config.js";
import { canonicalJson } from "../src/spec/run-id.js";
import { oneLayerModel } from "./helpers/one-layer-model.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
import { geluExact, geluTanh } from "./reference/layers-ref.js";

type Form = typeof geluExact;

/**
 * PyTorch 1.13's float64 torch.nn.functional.gelu(x, approximate=...) and its autograd gradient
 * at these x (printed with repr: every digit of the double).
 */
const TORCH_POINTS = [-3, -1, -0.5, 0.5, 1, 2, 3];
const TORCH_VALUES = {
  tanh: {
    y: [-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.34571400982514394, 0.8411919906082768, 1.954597694087775, 2.996362607918227],
    dx: [-0.011584166630969648, -0.08296408384578252, 0.13263009646535764, 0.8673699035346424, 1.0829640838457826, 1.0860992566236183, 1.0115841666309695],
  },
  none: {
    y: [-0.00404969409489031, -0.15865525393145702, -0.15426876936299344, 0.34573123063700656, 0.841344746068543, 1.9544997361036416, 2.99595030590511],
    dx: [-0.01194564720418392, -0.08331547058768635, 0.13250487534383712, 0.8674951246561629, 1.0833154705876864, 1.085231801078197, 1.011945647204184],
  },
} as const;

const FORMS: Record<"tanh" | "none", Form> = { tanh: geluTanh, none: geluExact };

/** Both sides float64, the same formula in another order: a few roundings of values at most 3 (ulp 4.4e-16). */
const FLOAT64_TOL = 1e-14;

/** x on [-4, 4] in steps of 1/16 (exact in float32), where the two forms differ most (|x| near 2 to 3). */
const GRID = Float32Array.from({ length: 129 }, (_, i) => -4 + i / 16);

/** y and dx (for dy = 1) of a one-layer gelu graph on the CPU provider, in float32. */
async function onnxGelu(spec: Record<string, unknown>): Promise<{ y: Float32Array; dx: Float32Array }> {
  const model = oneLayerModel(LayerSpec.parse(spec), [GRID.length]);
  const graphs = buildBlockGraphs(model, model.blocks[0], { inputGrad: true, target: PORTABLE_TARGET });
  const opts = { provider: "cpu" as const, threads: 1 };
  const forward = await GraphSession.create(graphs.forward, "gelu forward", opts);
  const backward = await GraphSession.create(graphs.backward, "gelu backward", opts);
  try {
    const x = { data: GRID, dims: [1, GRID.length] };
    const y = (await forward.run({ "b0.x": x }))["b0.y"].data as Float32Array;
    const dx = (await backward.run({ "b0.x": x, "b0.dy": { data: new Float32Array(GRID.length).fill(1), dims: [1, GRID.length] } }))["b0.dx"].data as Float32Array;
    return { y, dx };
  } finally {
    await forward.release();
    await backward.release();
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

describe("gelu approximate: tanh (PyTorch's GELU(approximate='tanh')) beside the exact form", () => {
  for (const form of ["tanh", "none"] as const) {
    it(`the float64 reference of approximate ${form} equals PyTorch's float64 F.gelu and its autograd gradient at ${TORCH_POINTS.length} points, to ${FLOAT64_TOL}`, () => {
      const ours = TORCH_POINTS.map(FORMS[form]);
      expect(maxAbsDiff(ours.map((o) => o.value), TORCH_VALUES[form].y), "y").to.be.below(FLOAT64_TOL);
      expect(maxAbsDiff(ours.map((o) => o.slope), TORCH_VALUES[form].dx), "dx").to.be.below(FLOAT64_TOL);
    });
  }

  // Float32 graphs against their own float64 form. y: within 1e-6 (|y| <= 4, a few float32
  // roundings, unit 6e-8; observed 3.4e-7). dx: within 5e-6, since tanh's 1 - t^2 (PyTorch's order)
  // keeps only the absolute precision of t, a float32 ulp of 1 (6e-8), where t is near +-1, and the
  // factor x (1 + 3 * 0.044715 x^2) sqrt(2/pi) / 2 around it reaches 5 at |x| = 4 (observed 9.5e-7;
  // the exact form 1e-7). The forms differ by up to 4.7e-4 in y and 8.7e-4 in dy/dx on this grid:
  // a graph that ignored the key would miss its reference by over 90 times the tolerance.
  it("the CPU graphs of the two forms differ by over 1e-4 on [-4, 4] (y and dx), each close to its own float64 form (y 1e-6, dx 5e-6): the key is not ignored", async () => {
    const reference = (form: Form) => ({ y: Array.from(GRID, (x) => form(x).value), dx: Array.from(GRID, (x) => form(x).slope) });
    const tanhRef = reference(geluTanh);
    const exactRef = reference(geluExact);
    expect(maxAbsDiff(tanhRef.y, exactRef.y), "the forms' y differ").to.be.above(1e-4);
    expect(maxAbsDiff(tanhRef.dx, exactRef.dx), "the forms' dy/dx differ").to.be.above(1e-4);
    const tanh = await onnxGelu({ type: "gelu", approximate: "tanh" });
    expect(maxAbsDiff(tanh.y, tanhRef.y), "tanh graph y vs tanh form").to.be.below(1e-6);
    expect(maxAbsDiff(tanh.dx, tanhRef.dx), "tanh graph dx vs tanh form").to.be.below(5e-6);
    for (const spec of [{ type: "gelu" }, { type: "gelu", approximate: "none" }]) {
      const exact = await onnxGelu(spec);
      expect(maxAbsDiff(exact.y, exactRef.y), `${JSON.stringify(spec)} y vs exact form`).to.be.below(1e-6);
      expect(maxAbsDiff(exact.dx, exactRef.dx), `${JSON.stringify(spec)} dx vs exact form`).to.be.below(5e-6);
      expect(maxAbsDiff(exact.y, tanh.y), `${JSON.stringify(spec)} and tanh graphs' y`).to.be.above(1e-4);
      expect(maxAbsDiff(exact.dx, tanh.dx), `${JSON.stringify(spec)} and tanh graphs' dx`).to.be.above(1e-4);
    }
  });

  describe("run identity", () => {
    let dir = "";
    freshFolderEachTest("sideways-gelu-approximate-", (d) => (dir = d));

    /** An experiment of a small gelu model whose gelu layer has `extra`. */
    function experiment(file: string, extra: string) {
      writeFileSync(
        join(dir, `${file}.model.yaml`),
        `name: g\ninput: { channels: 1, height: 8, width: 8 }\nclasses: 3\nlayers:\n  - { type: conv2d, out_channels: 3, kernel: 3 }\n  - { type: gelu${extra} }\n  - { type: global_avg_pool }\n`,
      );
      writeFileSync(join(dir, `${file}.yaml`), `name: g\nmodel: ${file}.model.yaml\ndata: { kind: shapes, clip_length: 4 }\n`);
      const { spec, model, baseDir } = loadExperiment(join(dir, `${file}.yaml`));
      return { hash: configHash(spec, model, baseDir), modelJson: canonicalJson(resolvedConfig(spec, model, baseDir).model) };
    }

    it("approximate: none is the run without the key (models from before it keep their ids: no key added to the resolved model); tanh is another run", () => {
      const absent = experiment("absent", "");
      const none = experiment("none", ", approximate: none");
      const tanh = experiment("tanh", ", approximate: tanh");
      expect(absent.modelJson).to.include('{"type":"gelu"}').and.not.include("approximate");
      expect(none.modelJson).to.equal(absent.modelJson);
      expect(none.hash).to.equal(absent.hash);
      expect(tanh.modelJson).to.include('{"approximate":"tanh","type":"gelu"}');
      expect(tanh.hash).to.not.equal(absent.hash);
    });
  });

  describe("against PyTorch, on this machine", function () {
    this.timeout(120_000);
    const reason = torchUnavailableReason();
    before(function () {
      if (reason) skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    });

    // The tabulated values above, checked against the PyTorch at hand on a whole grid: F.gelu in
    // float64 and its autograd gradient, each form against its float64 reference.
    it(`PyTorch's float64 F.gelu(x, approximate=...) and its gradient on [-4, 4] equal the float64 references, to ${FLOAT64_TOL}`, () => {
      const script = [
        "import json, sys, torch",
        "x = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float64, requires_grad=True)",
        "out = {}",
        "for form in ('tanh', 'none'):",
        "    y = torch.nn.functional.gelu(x, approximate=form)",
        "    (dx,) = torch.autograd.grad(y.sum(), x)",
        "    out[form] = {'y': y.tolist(), 'dx': dx.tolist()}",
        "print(json.dumps(out))",
      ].join("\n");
      const r = spawnSync(peerPython(), ["-c", script, JSON.stringify(Array.from(GRID))], { encoding: "utf8", timeout: 100_000 });
      expect(r.status, r.stderr).to.equal(0);
      const torch = JSON.parse(r.stdout) as Record<"tanh" | "none", { y: number[]; dx: number[] }>;
      for (const form of ["tanh", "none"] as const) {
        const ours = Array.from(GRID, FORMS[form]);
        expect(maxAbsDiff(ours.map((o) => o.value), torch[form].y), `${form} y`).to.be.below(FLOAT64_TOL);
        expect(maxAbsDiff(ours.map((o) => o.slope), torch[form].dx), `${form} dx`).to.be.below(FLOAT64_TOL);
      }
    });
  });
});
