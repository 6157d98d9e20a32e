import { CUDA_TARGET, type GraphTarget } from "../../src/graph/graph-builder.js";

/**
 * CUDA_TARGET as attempt 67 left it (docs/PERFORMANCE.md): ConvTranspose input gradients and a
 * Conv and a Relu apart. The base the candidate forms are tested on one at a time, now that
 * CUDA_TARGET itself takes two of them (attempt 69).
 */
export const CUDA_ATTEMPT_67_TARGET: GraphTarget = { ...CUDA_TARGET, convInputGrad: "transpose", convRelu: "separate" };
