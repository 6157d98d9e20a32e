/**
 * Whether an execution provider works in this process: one small graph (a convolution and a ReLU,
 * the kinds of kernel training needs) run on it and checked against values computed here.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GraphBuilder } from "../graph/graph-builder.js";
import { cudaInstallDir, MANIFEST } from "./cuda-install.js";
import type { ProviderOptions } from "./providers.js";
import { GraphSession } from "./session.js";

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export async function probeProvider(opts: ProviderOptions): Promise<ProbeResult> {
  const g = new GraphBuilder("provider-probe");
  const x = g.input("x", [1, 3, 3]);
  const w = g.constFloat("w", [1, -1, 0.5, 2], [1, 1, 2, 2]);
  g.output(g.op("Relu", [g.op("Conv", [x, w], { kernel_shape: [2, 2] })]), [1, 2, 2], "y");
  const input = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  // y[i][j] = x[i][j] - x[i][j+1] + 0.5 x[i+1][j] + 2 x[i+1][j+1], then ReLU.
  const expected = [0, 1, 0, 2].map((_, k) => {
    const i = k >> 1;
    const j = k & 1;
    const at = (r: number, c: number) => input[r * 3 + c];
    return Math.max(0, at(i, j) - at(i, j + 1) + 0.5 * at(i + 1, j) + 2 * at(i + 1, j + 1));
  });
  // Without the CUDA build, loading it would fail with a message written for an experiment file
  // (src/runtime/cuda-install.ts readCudaInstall), of which a probe reason keeps one line.
  if (opts.provider === "cuda" && process.env.SIDEWAYS_ORT !== "bundled") {
    const manifest = join(cudaInstallDir(), MANIFEST);
    if (!existsSync(manifest)) {
      const named = process.env.SIDEWAYS_CUDA_DIR ? ", in the folder SIDEWAYS_CUDA_DIR names" : "";
      return { ok: false, reason: `the CUDA execution provider is not installed on this machine (no ${manifest}${named}): install it once with \`sideways gpu install cuda13\` (docs/GPU.md)` };
    }
  }
  let session: GraphSession | null = null;
  try {
    session = await GraphSession.create(g.toBytes(), `${opts.provider} probe`, { ...opts, threads: 1 });
    const y = (await session.run({ x: { data: input, dims: [1, 1, 3, 3] } })).y.data;
    const wrong = expected.some((v, i) => Math.abs(y[i] - v) > 1e-5 * Math.max(1, Math.abs(v)));
    return wrong ? { ok: false, reason: `wrong result: got [${Array.from(y)}], expected [${expected}]` } : { ok: true };
  } catch (err) {
    return { ok: false, reason: (err instanceof Error ? err.message : String(err)).split("\n")[0] };
  } finally {
    await session?.release();
  }
}
