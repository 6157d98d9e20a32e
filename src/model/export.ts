/**
 * `sideways export`: writes every block's forward and backward ONNX graph and a manifest that
 * says how to feed them. Shapes in the manifest are per example; graph inputs and outputs
 * carry a leading symbolic batch dimension "N" (parameters and their gradients do not).
 * Given trained weights, it also writes model.onnx: the whole forward pass in one graph with the
 * weights inside, `frames` [N, C, H, W] in and `logits` [N, classes] out, for inference with
 * plain onnxruntime (a clip's prediction is the argmax of its frames' mean logits, as in
 * training's evaluation), with inference.json beside it and in its metadata_props saying how to feed it.
 */
import { join } from "node:path";
import { buildBlockGraphs } from "../layers/block-graphs.js";
import { CLIPS_PER_FRAME } from "../layers/layer-def.js";
import { onnx } from "../graph/onnx.js";
import { BATCH_DIM, GraphBuilder } from "../graph/graph-builder.js";
import type { ParamSuffix, VjpInputs } from "../layers/layer-def.js";
import { layerDef } from "../layers/registry.js";
import { writeFileAtomic, writeJsonAtomic } from "../results/atomic-write.js";
import { INFERENCE_DESCRIPTION_FILE, onnxMetadata, type InferenceDescription } from "./inference-description.js";
import type { Model, Weights } from "./model.js";

export const INFERENCE_FILE = "model.onnx";
export const INFERENCE_INPUT = "frames";
export const INFERENCE_OUTPUT = "logits";

/** A graph file and its inputs and outputs, as the graph declares them (what a caller feeds and fetches). */
export interface ManifestGraph {
  file: string;
  inputs: string[];
  outputs: string[];
}

export interface ManifestBlock {
  index: number;
  layers: { index: number; type: string }[];
  inShape: number[];
  outShape: number[];
  params: { name: string; shape: number[] }[];
  forward: ManifestGraph;
  backward: ManifestGraph;
}

export interface Manifest {
  model: string;
  source: string;
  batchDim: string;
  input: Model["input"];
  classes: number;
  /** What the graphs' names mean, for the kinds of name these graphs use. */
  names: Record<string, string>;
  blocks: ManifestBlock[];
}

/** The meaning of each kind of graph input and output, for the manifest (block-graphs.ts names them). */
const NAME_GLOSSARY: [RegExp, string, string][] = [
  [/^b\d+\.x$/, "b{k}.x", "block k's input, [N, ...inShape]: the rows of N = frames x clips, frame f's clips together (time-major)"],
  [/^b\d+\.y$/, "b{k}.y", "block k's output, [N, ...outShape]"],
  [/^b\d+\.dy$/, "b{k}.dy", "the loss gradient with respect to b{k}.y"],
  [/^b\d+\.dx$/, "b{k}.dx", "the loss gradient with respect to b{k}.x"],
  [/^d\d+\./, "d{param}", "the loss gradient with respect to parameter {param}, summed over the rows"],
  [new RegExp(`^${CLIPS_PER_FRAME}$`), CLIPS_PER_FRAME, "float32 [1]: how many rows make one frame (the clips of a batch); layers with per-frame statistics (batch_norm) normalise each frame's rows together"],
  [/^b\d+\.stat\./, "b{k}.stat.{layer}.{mean|var}", "a batch_norm layer's per-frame batch mean and biased variance, frame after frame, flat: what updates its running statistics (momentum, PyTorch's unbiased variance)"],
];

/** The graph's inputs (those without a default) and outputs, in its order. */
function graphNames(file: string, bytes: Uint8Array): ManifestGraph {
  const graph = onnx.ModelProto.decode(bytes).graph;
  const defaults = new Set((graph?.initializer ?? []).map((t) => t.name));
  const inputs = (graph?.input ?? []).map((v) => v.name ?? "").filter((n) => !defaults.has(n));
  return { file, inputs, outputs: (graph?.output ?? []).map((v) => v.name ?? "") };
}

const graphFile = (block: number, kind: "forward" | "backward") => `block${block}.${kind}.onnx`;

/**
 * The manifest of the exported graphs: per block its layers, shapes, parameters, and each graph's
 * file, inputs and outputs read from the graph itself, so that it lists what the graph needs
 * (clips_per_frame, batch_norm's statistics) as well as the block's own values.
 */
export function exportManifest(model: Model, graphs: readonly { forward: Uint8Array; backward: Uint8Array }[]): Manifest {
  const blocks = model.blocks.map((block): ManifestBlock => ({
    index: block.index,
    layers: block.layers.map((l) => ({ index: l.index, type: l.spec.type })),
    inShape: block.inShape,
    outShape: block.outShape,
    params: block.params.map((p) => ({ name: p.name, shape: p.shape })),
    forward: graphNames(graphFile(block.index, "forward"), graphs[block.index].forward),
    backward: graphNames(graphFile(block.index, "backward"), graphs[block.index].backward),
  }));
  const used = blocks.flatMap((b) => [b.forward, b.backward].flatMap((g) => [...g.inputs, ...g.outputs]));
  const names = Object.fromEntries(NAME_GLOSSARY.filter(([pattern]) => used.some((n) => pattern.test(n))).map(([, name, meaning]) => [name, meaning]));
  for (const n of used) if (!NAME_GLOSSARY.some(([pattern]) => pattern.test(n)) && !model.params.some((p) => p.name === n)) throw new Error(`BUG: the manifest has no meaning for the graph name ${n}`);
  return { model: model.name, source: model.source, batchDim: BATCH_DIM, input: model.input, classes: model.classes, names, blocks };
}

/** The files exportModel writes into outDir (and exportInferenceModel's, when `inference`). */
export function exportFileNames(model: Model, inference: boolean): string[] {
  const graphs = model.blocks.flatMap((b) => [graphFile(b.index, "forward"), graphFile(b.index, "backward")]);
  return [...graphs, "manifest.json", ...(inference ? [INFERENCE_FILE, INFERENCE_DESCRIPTION_FILE] : [])];
}

/** Writes the graphs (every backward graph with its input gradient) and manifest.json into outDir. */
export function exportModel(model: Model, outDir: string): { files: string[] } {
  const graphs = model.blocks.map((block) => buildBlockGraphs(model, block, { inputGrad: true }));
  const manifest = exportManifest(model, graphs);
  const files: string[] = [];
  for (const entry of manifest.blocks) {
    for (const [bytes, file] of [[graphs[entry.index].forward, entry.forward.file], [graphs[entry.index].backward, entry.backward.file]] as const) {
      writeFileAtomic(join(outDir, file), bytes);
      files.push(join(outDir, file));
    }
  }
  const manifestPath = join(outDir, "manifest.json");
  writeJsonAtomic(manifestPath, manifest);
  files.push(manifestPath);
  return { files };
}

/**
 * The model's forward pass as one portable ONNX graph with the weights as initializers (named as
 * PyTorch names them): frames [N, C, H, W] -> logits [N, classes]. Each layer is built by its own
 * forward builder (layers/registry.ts) for inference (training = false). `metadata` goes into the
 * model's metadata_props.
 */
export function buildInferenceGraph(model: Model, weights: Weights, metadata: Record<string, string> = {}): Uint8Array {
  const g = new GraphBuilder(`${model.name}.inference`);
  const { channels, height, width } = model.input;
  let x = g.input(INFERENCE_INPUT, [channels, height, width]);
  for (const layer of model.layers) {
    const params: VjpInputs["params"] = {};
    for (const p of layer.params) {
      const w = weights.get(p.name);
      if (w === undefined) throw new Error(`BUG: no weights for ${p.name}`);
      params[p.name.slice(p.name.indexOf(".") + 1) as ParamSuffix] = g.constFloat(p.name, w, p.shape);
    }
    // Layers with buffers (batch_norm, also inside residual units) normalise with them, as evaluation does.
    const buffers: Record<string, string> = {};
    for (const b of layer.buffers) {
      const w = weights.get(b.name);
      if (w === undefined) throw new Error(`BUG: no buffer ${b.name}`);
      buffers[b.name.slice(b.name.indexOf(".") + 1)] = g.constFloat(b.name, w, b.shape);
    }
    x = layerDef(layer.spec).forward(g, layer, x, params, false, layer.buffers.length > 0 ? buffers : undefined).y;
  }
  g.output(g.node("Identity", [x], [INFERENCE_OUTPUT])[0], [model.classes]);
  return g.toBytes(metadata);
}

/** Writes outDir/model.onnx (buildInferenceGraph, `description` in its metadata_props) and outDir/inference.json; returns their paths. */
export function exportInferenceModel(model: Model, weights: Weights, outDir: string, description: InferenceDescription): { model: string; description: string } {
  const path = join(outDir, INFERENCE_FILE);
  writeFileAtomic(path, buildInferenceGraph(model, weights, onnxMetadata(description)));
  const descriptionPath = join(outDir, INFERENCE_DESCRIPTION_FILE);
  writeJsonAtomic(descriptionPath, description);
  return { model: path, description: descriptionPath };
}
