/** A one-layer, one-block model around a layer spec, so that the layer alone goes through buildBlockGraphs. */
import { layerDef } from "../../src/layers/registry.js";
import type { Model, ResolvedLayer } from "../../src/model/model.js";
import type { LayerSpec } from "../../src/model/model-spec.js";

export function oneLayerModel(spec: LayerSpec, inShape: number[]): Model {
  const def = layerDef(spec);
  const outShape = def.outShape(spec, inShape);
  const params = def.params(spec, inShape).map((p) => ({ name: `0.${p.suffix}`, shape: p.shape, layerIndex: 0, blockIndex: 0, fanIn: p.fanIn }));
  const buffers = (def.buffers?.(spec, inShape) ?? []).map((b) => ({ name: `0.${b.suffix}`, shape: b.shape, layerIndex: 0, blockIndex: 0, init: b.init, dtype: b.dtype }));
  const layer: ResolvedLayer = { index: 0, spec, inShape, outShape, params, buffers };
  const block = { index: 0, layers: [layer], inShape, outShape, params, buffers };
  return { name: "case", input: { channels: 0, height: 0, width: 0 }, classes: 0, layers: [layer], blocks: [block], params, buffers, source: "test" };
}
