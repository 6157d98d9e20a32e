/**
 * Phase-split tensors. The S x S phases of a (C, H, W) tensor t, H = S*hg and W = S*wg, are the
 * (S*S*C, hg, wg) tensor whose channel (rh*S + rw)*C + c holds t[c, S*a + rh, S*b + rw]: the
 * order of ONNX SpaceToDepth (blocksize S).
 *
 * Why: a strided conv's input gradient comes out of a sub-pixel conv already split into phases
 * (conv-grads.ts subPixelInputGrad), while interleaving it back to (C, H, W) costs about as much
 * as ConvTranspose itself (docs/PERFORMANCE.md attempts 16 and 37). In a fused BP graph the
 * layers below can use the phases as they are: a ReLU masks them with the phases of its own
 * output (which the strided conv's weight gradient splits anyway), and a stride-1 conv that needs
 * no input gradient forms its weight gradient from them (conv-grads.ts phasedDyWeightGrad).
 */
import type { GraphBuilder } from "../graph/graph-builder.js";

/** Whether a (C, H, W) shape splits into S x S phases with nothing left over. */
export function splitsEvenly(shape: readonly number[], stride: number): boolean {
  return stride > 1 && shape.length === 3 && shape[1] % stride === 0 && shape[2] % stride === 0;
}

/** The S x S phases of x (N, C, H, W), made once per graph for each value and stride. */
export function spaceToDepth(g: GraphBuilder, x: string, stride: number): string {
  return g.memo(`SpaceToDepth(${x}, ${stride})`, () => g.op("SpaceToDepth", [x], { blocksize: stride }));
}
