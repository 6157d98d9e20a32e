/**
 * `sideways export`: writes every block's forward and backward ONNX graph and a manifest that
 * says how to feed them. Shapes in the manifest are per example; graph inputs and outputs
 * carry a leading symbolic batch dimension "N" (parameters and their gradients do not).
 * Given trained weights, it also writes model.onnx: the whole forward pass in one graph with the
 * weights inside, `frames` [N, C, H, W] in and `logits` [N, classes] out, for inference with
 * plain onnxruntime (a clip's prediction is the argmax of its frames' mean logits, as in
 * training's evaluation).
 */
import { join } from "node:path";
import { blockValueNames, buildBlockGraphs, gradName } from "../layers/block-graphs.js";
import { BATCH_DIM, GraphBuilder } from "../graph/graph-builder.js";
import type { ParamSuffix, VjpInputs } from "../layers/layer-def.js";
import { layerDef } from "../layers/registry.js";
import { writeFileAtomic, writeJsonAtomic } from "../results/atomic-write.js";
import type { Model, Weights } from "./model.js";

export const INFERENCE_FILE = "model.onnx";
export const INFERENCE_INPUT = "frames";
export const INFERENCE_OUTPUT = "logits";

export interface ManifestBlock {
  index: number;
  layers: { index: number; type: string }[];
  inShape: number[];
  outShape: number[];
  params: { name: string; shape: number[] }[];
  forward: { file: string; inputs: string[]; outputs: string[] };
  backward: { file: string; inputs: string[]; outputs: string[] };
}

export interface Manifest {
  model: string;
  source: string;
  batchDim: string;
  input: Model["input"];
  classes: number;
  blocks: ManifestBlock[];
}

export function exportManifest(model: Model): Manifest {
  const blocks = model.blocks.map((block): ManifestBlock => {
    const names = blockValueNames(block.index);
    const paramNames = block.params.map((p) => p.name);
    return {
      index: block.index,
      layers: block.layers.map((l) => ({ index: l.index, type: l.spec.type })),
      inShape: block.inShape,
      outShape: block.outShape,
      params: block.params.map((p) => ({ name: p.name, shape: p.shape })),
      forward: { file: `block${block.index}.forward.onnx`, inputs: [names.x, ...paramNames], outputs: [names.y] },
      backward: {
        file: `block${block.index}.backward.onnx`,
        inputs: [names.x, ...paramNames, names.dy],
        outputs: [...paramNames.map(gradName), names.dx],
      },
    };
  });
  return { model: model.name, source: model.source, batchDim: BATCH_DIM, input: model.input, classes: model.classes, blocks };
}

/** Writes the graphs (every backward graph with its input gradient) and manifest.json into outDir. */
/** The files exportModel writes into outDir (and exportInferenceModel's, when `inference`). */
export function exportFileNames(model: Model, inference: boolean): string[] {
  const graphs = exportManifest(model).blocks.flatMap((entry) => [entry.forward.file, entry.backward.file]);
  return [...graphs, "manifest.json", ...(inference ? [INFERENCE_FILE] : [])];
}

export function exportModel(model: Model, outDir: string): { files: string[] } {
  const manifest = exportManifest(model);
  const files: string[] = [];
  for (const entry of manifest.blocks) {
    const graphs = buildBlockGraphs(model, model.blocks[entry.index], { inputGrad: true });
    for (const [bytes, file] of [[graphs.forward, entry.forward.file], [graphs.backward, entry.backward.file]] as const) {
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
 * forward builder (layers/registry.ts) for inference (training = false).
 */
export function buildInferenceGraph(model: Model, weights: Weights): Uint8Array {
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
  return g.toBytes();
}

/** Writes outDir/model.onnx (buildInferenceGraph); returns its path. */
export function exportInferenceModel(model: Model, weights: Weights, outDir: string): string {
  const path = join(outDir, INFERENCE_FILE);
  writeFileAtomic(path, buildInferenceGraph(model, weights));
  return path;
}
