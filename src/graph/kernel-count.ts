/**
 * How many kernels a graph launches on a GPU provider, counted from its nodes: every node but
 * those that alias their input there (Reshape, Flatten, Squeeze, Unsqueeze: a new shape over the
 * same memory on onnxruntime's CUDA and WebGPU EPs). Identity counts: ours copy a graph output.
 * What the device step's graph forms are compared by (docs/PERFORMANCE.md attempt 74); at small
 * batches a GPU step costs about its kernel launches (docs/GPU.md run 8).
 */
import { onnx } from "./onnx.js";

export const ALIASING_OPS: ReadonlySet<string> = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);

/** The node types of a serialized graph, in order. */
export function opTypes(bytes: Uint8Array): string[] {
  return (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType ?? "");
}

/** Kernel-launching nodes among `ops`: all but the aliasing ones. */
export function kernelCount(ops: readonly string[]): number {
  return ops.filter((op) => !ALIASING_OPS.has(op)).length;
}
