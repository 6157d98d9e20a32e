/**
 * K calls of one graph as one graph: copy j of the graph reads, for each carried pair (input X,
 * output Y), copy j-1's Y as its X, so that one run of the chained graph does what K runs of the
 * graph do when each run's Y is fed to the next as X (the device step's parameters and optimizer
 * state, device-step.ts). Each call costs onnxruntime its run's start and end (the inputs' copies
 * to the device, the outputs' copies back, a stream synchronisation): on CUDA about a sixth of the
 * device step at 256 x 8 clips (docs/GPU.md, run 14), which K calls in one pay once. It is what
 * Keras calls steps_per_execution.
 *
 * Naming: the chained graph takes copy 0's carried inputs under their own names and gives copy
 * K-1's carried outputs under theirs; every other input and output of copy j is callName(name, j).
 * Initializers are constants, shared by every copy under their own names.
 */
import { onnx } from "./onnx.js";

/** The name, in a chain of calls, of copy `call`'s own input or output `name` (one not carried). */
export function callName(name: string, call: number): string {
  return `call${call}/${name}`;
}

/** A value carried from one call to the next: the graph's output `output` is its next input `input`. */
export interface Carried {
  input: string;
  output: string;
}

/**
 * `calls` (at least 1) copies of the ONNX model `bytes` chained by `carried`, as one model's bytes;
 * one call is the model itself, unchanged.
 */
export function chainCalls(bytes: Uint8Array, calls: number, carried: readonly Carried[]): Uint8Array {
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`BUG: chainCalls needs a whole number of calls >= 1, got ${calls}`);
  if (calls === 1) return bytes;
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error("BUG: chainCalls: the model has no graph");
  const inputs = new Set((graph.input ?? []).map((v) => v.name as string));
  const outputs = new Set((graph.output ?? []).map((v) => v.name as string));
  for (const c of carried) {
    if (!inputs.has(c.input) || !outputs.has(c.output)) throw new Error(`BUG: chainCalls: carried ${c.input} -> ${c.output} is not an input and an output of the graph`);
    // An output that is an input as it is (no node makes it) would be the next call's input under two names.
    if (inputs.has(c.output)) throw new Error(`BUG: chainCalls: carried output ${c.output} is an input of the graph, passed through`);
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name as string));
  const carriedIn = new Map(carried.map((c) => [c.input, c.output]));
  const carriedOut = new Set(carried.map((c) => c.output));

  // Copy `call`'s name for a value of the graph: a carried output keeps its name at the last call;
  // "" (an omitted optional output) stays "".
  const name = (value: string, call: number): string => (value === "" || (call === calls - 1 && carriedOut.has(value)) ? value : callName(value, call));
  // ... and for a value it reads: a carried input is the call before's output (at call 0, its own
  // name), even where an initializer gives it a default; an initializer is shared by every call.
  const read = (value: string, call: number): string => {
    const from = carriedIn.get(value);
    if (from !== undefined) return call === 0 ? value : name(from, call - 1);
    if (value === "" || initializers.has(value)) return value;
    return name(value, call);
  };
  const nodes: onnx.INodeProto[] = [];
  const input: onnx.IValueInfoProto[] = [];
  const output: onnx.IValueInfoProto[] = [];
  for (let j = 0; j < calls; j++) {
    for (const node of graph.node ?? []) {
      if ((node.attribute ?? []).some((a) => a.g || (a.graphs?.length ?? 0) > 0)) throw new Error(`BUG: chainCalls cannot copy subgraphs (node ${node.name})`);
      nodes.push({ ...node, name: node.name ? callName(node.name, j) : node.name, input: (node.input ?? []).map((v) => read(v, j)), output: (node.output ?? []).map((v) => name(v, j)) });
    }
    // A carried input, and one an initializer stands behind (shared), is the chain's input once.
    const once = (input: string) => carriedIn.has(input) || initializers.has(input);
    for (const v of graph.input ?? []) if (!once(v.name as string) || j === 0) input.push({ ...v, name: read(v.name as string, j) });
    for (const v of graph.output ?? []) if (!carriedOut.has(v.name as string) || j === calls - 1) output.push({ ...v, name: name(v.name as string, j) });
  }
  const chained = onnx.ModelProto.create({ ...model, graph: { ...graph, node: nodes, input, output, valueInfo: [] } });
  return onnx.ModelProto.encode(chained).finish().slice();
}
