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

/**
 * The S x S phases of x (N, C, H, W) (`shape` = (C, H, W)), made once per graph for each value and
 * stride: one SpaceToDepth, or where the target asks (GraphTarget.spaceToDepth) the same values
 * as ONNX defines the op, a Reshape to (N, C, H/S, S, W/S, S), a Transpose and a Reshape.
 */
export function spaceToDepth(g: GraphBuilder, x: string, shape: readonly number[], stride: number): string {
  const phased = phasesShape(shape, stride); // checks that the shape splits
  return g.memo(`SpaceToDepth(${x}, ${stride})`, () => {
    if (g.target.spaceToDepth !== "transpose") return g.op("SpaceToDepth", [x], { blocksize: stride });
    const [c, h, w] = shape;
    const grid = g.op("Reshape", [x, g.constInt64("n_c_hg_s_wg_s", [-1, c, h / stride, stride, w / stride, stride])]);
    const moved = g.op("Transpose", [grid], { perm: [0, 3, 5, 1, 2, 4] });
    return g.op("Reshape", [moved, g.constInt64("n_ssc_hg_wg", [-1, ...phased])]);
  });
}

/** The per-row shape of the S x S phases of a (C, H, W) tensor: (S*S*C, H/S, W/S). */
export function phasesShape(shape: readonly number[], stride: number): number[] {
  if (!splitsEvenly(shape, stride)) throw new Error(`BUG: ${shape.join("x")} does not split into ${stride}x${stride} phases`);
  return [stride * stride * shape[0], shape[1] / stride, shape[2] / stride];
}
