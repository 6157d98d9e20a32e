/**
 * FLOP counts of a BP training step from the model's shapes, and the machine's float32 peak as
 * one large MatMul through onnxruntime achieves it (issue 6, "distance to the limit").
 *
 * Counted: the multiply-adds (MACs) of conv2d and linear layers (also inside residual units), 2 FLOPs per MAC, per frame:
 *   conv2d  forward  MACs = M * Ho * Wo * C * K * K
 *   linear  forward  MACs = in * out
 *   weight gradient  MACs = forward MACs (every parameterised layer)
 *   input gradient   MACs = forward MACs, where computed: for every layer above the model's first
 *                    parameterised layer (nobody needs the gradient of what lies below it)
 *   step FLOPs = 2 * frames * sum over layers of (forward + weight-gradient + input-gradient MACs).
 * ReLU, pooling, bias and loss arithmetic are not counted (under 1% of the MACs on the shipped
 * models), nor the forward that our backward graphs recompute: the count is the work the step
 * needs, the same for both implementations.
 */
import { quantile } from "./stats.js";
import { GraphBuilder } from "../graph/graph-builder.js";
import type { Model } from "../model/model.js";
import { forwardMacs } from "../model/summary.js";
import { GraphSession } from "../runtime/session.js";

export interface LayerMacs {
  layer: number;
  type: string;
  forward: number;
  weightGrad: number;
  inputGrad: number;
}

/** Per-frame multiply-adds of every conv2d and linear layer. */
export function layerMacs(model: Model): LayerMacs[] {
  const firstParameterised = model.layers.findIndex((l) => l.params.length > 0);
  const rows: LayerMacs[] = [];
  for (const layer of model.layers) {
    const spec = layer.spec;
    let forward: number;
    if (spec.type === "conv2d") {
      const [c] = layer.inShape;
      const [m, ho, wo] = layer.outShape;
      forward = m * ho * wo * c * spec.kernel * spec.kernel;
    } else if (spec.type === "linear") {
      forward = layer.inShape[0] * layer.outShape[0];
    } else if (spec.type === "residual") {
      forward = forwardMacs(spec, layer.inShape, layer.outShape); // its inner convs and 1x1 shortcut
    } else {
      continue;
    }
    rows.push({ layer: layer.index, type: spec.type, forward, weightGrad: forward, inputGrad: layer.index > firstParameterised ? forward : 0 });
  }
  return rows;
}

/** FLOPs of one BP step (forward, backward, no optimizer) over `frames` frames. */
export function trainingStepFlops(model: Model, frames: number): number {
  return 2 * frames * layerMacs(model).reduce((s, r) => s + r.forward + r.weightGrad + r.inputGrad, 0);
}

export interface PeakMeasurement {
  threads: number;
  /** Side of the square MatMul. */
  n: number;
  ms_median: number;
  gflops: number;
}

/** Median FLOP/s of an n x n by n x n float32 MatMul on the CPU provider with `threads` intra-op threads. */
export async function measurePeakFlops(threads: number, n = 1024, repetitions = 7): Promise<PeakMeasurement> {
  const g = new GraphBuilder("peak-matmul");
  const a = g.input("a", [n]); // [N, n] with N = n at run time
  const b = g.inputFixed("b", [n, n]);
  g.output(g.op("MatMul", [a, b]), [n], "c");
  const session = await GraphSession.create(g.toBytes(), "peak MatMul", { provider: "cpu", threads });
  try {
    const fill = (len: number) => Float32Array.from({ length: len }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const feeds = { a: { data: fill(n * n), dims: [n, n] }, b: { data: fill(n * n), dims: [n, n] } };
    await session.run(feeds); // warm-up
    const times: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    const ms = quantile(times, 0.5);
    return { threads, n, ms_median: ms, gflops: (2 * n ** 3) / (ms / 1000) / 1e9 };
  } finally {
    await session.release();
  }
}
