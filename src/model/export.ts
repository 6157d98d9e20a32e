/**
 * `sideways export`: writes every block's forward and backward ONNX graph and a manifest that
 * says how to feed them. Shapes in the manifest are per example; graph inputs and outputs
 * carry a leading symbolic batch dimension "N" (parameters and their gradients do not).
 */
import { join } from "node:path";
import { blockValueNames, buildBlockGraphs, gradName } from "../layers/block-graphs.js";
import { BATCH_DIM } from "../graph/graph-builder.js";
import { writeFileAtomic, writeJsonAtomic } from "../results/atomic-write.js";
import type { Model } from "./model.js";

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
