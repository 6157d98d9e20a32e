/** Exported graphs load in fresh sessions, reproduce the in-process graphs, and match the manifest. */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBlockGraphs } from "../src/layers/block-graphs.js";
import { CLIPS_PER_FRAME } from "../src/layers/layer-def.js";
import { exportModel, type Manifest } from "../src/model/export.js";
import { loadModelFile } from "../src/model/load-model.js";
import { GraphSession, type Feeds } from "../src/runtime/session.js";
import { randomArray, seededRandom } from "./reference/numeric.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const opts = { provider: "cpu" as const, threads: 1 };
const f32 = (rng: () => number, dims: number[]) => ({ data: Float32Array.from(randomArray(rng, dims.reduce((a, b) => a * b, 1))), dims });

describe("exportModel", () => {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  let dir: string;
  let files: string[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "export-"));
    files = exportModel(loadModelFile("models/small-cnn.yaml"), dir).files;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes two graphs per block and a manifest that describes them", () => {
    const names = files.map((f) => f.slice(dir.length + 1));
    expect(names).to.deep.equal(["block0.forward.onnx", "block0.backward.onnx", "block1.forward.onnx", "block1.backward.onnx", "block2.forward.onnx", "block2.backward.onnx", "manifest.json"]);
    for (const f of files) expect(existsSync(f), f).to.equal(true);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
    expect(manifest.model).to.equal("small-cnn");
    expect(manifest.batchDim).to.equal("N");
    expect(manifest.blocks[1]).to.deep.equal({
      index: 1,
      layers: [{ index: 3, type: "conv2d" }, { index: 4, type: "relu" }, { index: 5, type: "global_avg_pool" }],
      inShape: [16, 32, 32],
      outShape: [32],
      params: [{ name: "3.weight", shape: [32, 16, 3, 3] }, { name: "3.bias", shape: [32] }],
      forward: { file: "block1.forward.onnx", inputs: ["b1.x", "3.weight", "3.bias"], outputs: ["b1.y"] },
      backward: { file: "block1.backward.onnx", inputs: ["b1.x", "3.weight", "3.bias", "b1.dy"], outputs: ["d3.weight", "d3.bias", "b1.dx"] },
    });
  });

  // resnet-mnist: batch norm (clips_per_frame in, per-frame statistics out) and residual units.
  for (const file of ["models/small-cnn.yaml", "models/resnet-mnist.yaml"]) {
    it(`${file}: every exported graph loads in a fresh session with exactly the manifest's inputs and outputs, fed by them alone, and reproduces the in-process graph`, async () => {
      const model = loadModelFile(file);
      const out = file === "models/small-cnn.yaml" ? dir : tempFolder("export-");
      try {
        if (out !== dir) exportModel(model, out);
        const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
        const rng = seededRandom(11);
        for (const entry of manifest.blocks) {
          const block = model.blocks[entry.index];
          const inProcess = buildBlockGraphs(model, block, { inputGrad: true });
          // Every input the manifest lists, and nothing else: 4 rows, 2 frames of 2 clips.
          const value = (name: string) => {
            if (name === `b${entry.index}.x`) return f32(rng, [4, ...entry.inShape]);
            if (name === `b${entry.index}.dy`) return f32(rng, [4, ...entry.outShape]);
            if (name === CLIPS_PER_FRAME) return { data: Float32Array.of(2), dims: [1] };
            const p = entry.params.find((q) => q.name === name);
            if (!p) throw new Error(`the manifest lists ${name}, which is neither a block value, ${CLIPS_PER_FRAME} nor a parameter`);
            return f32(rng, p.shape);
          };
          const feeds: Feeds = {};
          for (const name of new Set([...entry.forward.inputs, ...entry.backward.inputs])) feeds[name] = value(name);
          for (const [kind, bytes] of [["forward", inProcess.forward], ["backward", inProcess.backward]] as const) {
            const spec = entry[kind];
            const graphFeeds = Object.fromEntries(spec.inputs.map((n) => [n, feeds[n]]));
            const exported = await GraphSession.create(readFileSync(join(out, spec.file)), spec.file, opts);
            const fresh = await GraphSession.create(bytes, `${spec.file} in process`, opts);
            expect([...exported.inputNames].sort(), `${spec.file} inputs`).to.deep.equal([...spec.inputs].sort());
            expect([...exported.outputNames].sort(), `${spec.file} outputs`).to.deep.equal([...spec.outputs].sort());
            const a = await exported.run(graphFeeds);
            const b = await fresh.run(graphFeeds);
            for (const name of spec.outputs) expect(Array.from(a[name].data), `${spec.file} ${name}`).to.deep.equal(Array.from(b[name].data));
            await exported.release();
            await fresh.release();
          }
        }
        // Each kind of name the graphs use is explained once.
        if (out !== dir) expect(Object.keys(manifest.names)).to.include.members([CLIPS_PER_FRAME, "b{k}.stat.{layer}.{mean|var}", "d{param}"]);
      } finally {
        if (out !== dir) rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
