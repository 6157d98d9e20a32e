/** The graph builder, read back through dumpGraph: structure, names, attributes, constants. */
import { expect } from "chai";
import { dumpGraph } from "../src/graph/dump-graph.js";
import { GraphBuilder, float } from "../src/graph/graph-builder.js";
import { onnx } from "../src/graph/onnx.js";
import { buildBlockGraphs } from "../src/layers/block-graphs.js";
import { phasesShape, spaceToDepth } from "../src/layers/phases.js";
import { resolveModel } from "../src/model/load-model.js";
import { GraphSession } from "../src/runtime/session.js";

describe("GraphBuilder", () => {
  it("builds a graph whose dump shows inputs, outputs, constants and attributes, dropping dead nodes", () => {
    const g = new GraphBuilder("tiny");
    const x = g.input("x", [3]);
    const w = g.inputFixed("w", [2, 3]);
    const y = g.op("Gemm", [x, w], { transB: 1, alpha: float(0.5) });
    g.op("Relu", [x]); // dead: no output depends on it
    const scaled = g.op("Mul", [y, g.constFloat("two", [2], [])]);
    g.output(scaled, [2], "y");
    expect(dumpGraph(g.toBytes())).to.equal(
      [
        "graph tiny (ir 8, opset ai.onnx:17)",
        "input x [N,3]",
        "input w [2,3]",
        "output y [N,2]",
        "const two []",
        "gemm = Gemm(x, w) transB=1 alpha=0.5",
        "y = Mul(gemm, two)",
        "",
      ].join("\n"),
    );
  });

  it("stores constants as little-endian rawData and gives every attribute a type", () => {
    const g = new GraphBuilder("consts");
    const x = g.input("x", [2]);
    const shape = g.constInt64("shape", [-1, 2]);
    const sum = g.op("Add", [x, g.constFloat("c", [1.5, -2], [2])]);
    g.output(g.op("Reshape", [g.op("Flatten", [sum], { axis: 1 }), shape]), [2], "y");
    const graph = onnx.ModelProto.decode(g.toBytes()).graph as onnx.GraphProto;
    const raw = (name: string) => Uint8Array.from(graph.initializer.find((t) => t.name === name)?.rawData ?? []).buffer;
    // The test machine is little-endian (x86-64, arm64), so typed arrays read the bytes directly.
    expect(Array.from(new Float32Array(raw("c")))).to.deep.equal([1.5, -2]);
    expect(Array.from(new BigInt64Array(raw("shape")))).to.deep.equal([-1n, 2n]);
    const attrs = (graph.node as onnx.NodeProto[]).flatMap((n) => n.attribute as onnx.AttributeProto[]);
    expect(attrs).to.not.be.empty;
    for (const a of attrs) expect(a.type, a.name).to.not.equal(onnx.AttributeProto.AttributeType.UNDEFINED);
  });

  it("copies a graph input declared as an output through Identity, and refuses a value nothing defines", () => {
    const g = new GraphBuilder("pass");
    g.output(g.input("x", [4]), [4], "y");
    expect(dumpGraph(g.toBytes())).to.contain("y = Identity(x)");
    expect(() => g.op("Relu", ["nowhere"])).to.throw(/BUG: graph pass: Relu reads nowhere/);
  });

  it("a built block graph runs and its dump has the block's contract", async () => {
    const model = resolveModel(
      { name: "m", input: { channels: 1, height: 6, width: 6 }, classes: 3, layers: [{ type: "conv2d", out_channels: 3, kernel: 3, stride: 2 }, { type: "relu" }, { type: "global_avg_pool" }] },
      "inline",
    );
    const graphs = buildBlockGraphs(model, model.blocks[0], { inputGrad: false });
    const dump = dumpGraph(graphs.backward);
    expect(dump.split("\n").filter((l) => /^(input|output) /.test(l))).to.deep.equal([
      "input b0.x [N,1,6,6]",
      "input 0.weight [3,1,3,3]",
      "input 0.bias [3]",
      "input b0.dy [N,3]",
      "output d0.weight [3,1,3,3]",
      "output d0.bias [3]",
    ]);
    // Stride 2: the weight gradient pairs each of the input's 2x2 phases (SpaceToDepth) with a
    // shifted dy, then gathers the kernel's 3x3 taps out of the flat phase x shift products.
    expect(dump).to.match(/= SpaceToDepth\(b0\.x\) blocksize=2/);
    // Shift pairs (0,1), (1,0), (1,1) of K3 S2 P0 use phase ranges 0-2, 0-1, 0: three row slices.
    expect(dump.match(/= Slice\(reshape_\d+, phase_rows_from/g)).to.have.length(3);
    expect(dump).to.match(/gather = Gather\(concat, tap_entries\) axis=0/);
    expect(dump).to.match(/d0\.weight = Reshape\(gather, w_shape\)/);
    expect(dump).to.not.contain("ConvTranspose"); // no input gradient asked for
    // global_avg_pool's gradient reaches the ReLU mask as (N,C,1,1), broadcast by the Mul, never expanded.
    expect(dump).to.not.contain("Expand");
    expect(dump).to.match(/= Mul\(reshape(_\d+)?, cast(_\d+)?\)/);
    const session = await GraphSession.create(graphs.backward, "dump test", { provider: "cpu", threads: 1 });
    expect([...session.outputNames].sort()).to.deep.equal(["d0.bias", "d0.weight"]);
    await session.release();
  });

  it("spaceToDepth as a Reshape, Transpose and Reshape (WebGPU candidate) gives SpaceToDepth's values bit for bit", async () => {
    // Pure data movement, so exactly equal: 3 rows of (C, H, W) = (2, 6, 12), strides 2 and 3.
    const [n, c, h, w] = [3, 2, 6, 12];
    const data = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 1.7) * 100);
    for (const stride of [2, 3]) {
      const phases = (form: "op" | "transpose") => {
        const g = new GraphBuilder(`phases-${form}`, { nchwcBlock: 0, cpu: false, spaceToDepth: form });
        g.output(spaceToDepth(g, g.input("x", [c, h, w]), [c, h, w], stride), phasesShape([c, h, w], stride), "y");
        return g;
      };
      expect(dumpGraph(phases("transpose").toBytes())).to.not.contain("SpaceToDepth");
      const run = async (g: GraphBuilder) => {
        const session = await GraphSession.create(g.toBytes(), g.name, { provider: "cpu", threads: 1 });
        const y = (await session.run({ x: { data, dims: [n, c, h, w] } })).y;
        await session.release();
        return y;
      };
      const [op, moved] = [await run(phases("op")), await run(phases("transpose"))];
      expect(moved.dims).to.deep.equal([n, ...phasesShape([c, h, w], stride)]);
      expect(Buffer.from(moved.data.buffer).equals(Buffer.from(op.data.buffer)), `stride ${stride}`).to.equal(true);
    }
  });

  it("expandedFrom finds the data input of an Expand, and nothing for other producers", () => {
    const g = new GraphBuilder("expand");
    const x = g.input("x", [3, 1]);
    const wide = g.op("Expand", [x, g.constInt64("shape", [1, 3, 4])]);
    expect(g.expandedFrom(wide)).to.equal(x);
    expect(g.expandedFrom(g.op("Relu", [wide]))).to.equal(null);
    expect(g.expandedFrom(x), "a graph input").to.equal(null);
  });
});
