/** The table of layer kinds: one definition per `type` of a model file's layer. */
import type { LayerSpec } from "../model/model-spec.js";
import { avgpool2d } from "./avgpool2d.js";
import { batchNorm } from "./batch-norm.js";
import { conv2d } from "./conv2d.js";
import { flatten } from "./flatten.js";
import { gelu } from "./gelu.js";
import { globalAvgPool } from "./global-avg-pool.js";
import { groupNorm } from "./group-norm.js";
import type { LayerDef } from "./layer-def.js";
import { leakyRelu } from "./leaky-relu.js";
import { linear } from "./linear.js";
import { maxpool2d } from "./maxpool2d.js";
import { relu } from "./relu.js";
import { residual } from "./residual.js";
import { silu } from "./silu.js";

type LayerType = LayerSpec["type"];

const LAYERS: { readonly [T in LayerType]: LayerDef<Extract<LayerSpec, { type: T }>> } = Object.freeze({
  conv2d,
  relu,
  leaky_relu: leakyRelu,
  silu,
  gelu,
  maxpool2d,
  avgpool2d,
  global_avg_pool: globalAvgPool,
  flatten,
  linear,
  batch_norm: batchNorm,
  group_norm: groupNorm,
  residual,
});

export const LAYER_TYPES: readonly LayerType[] = Object.freeze(Object.keys(LAYERS) as LayerType[]);

export function isLayerType(type: unknown): type is LayerType {
  return typeof type === "string" && Object.hasOwn(LAYERS, type);
}

/** The definition for a layer spec, typed for that spec. */
export function layerDef<S extends LayerSpec>(spec: S): LayerDef<S> {
  return LAYERS[spec.type] as unknown as LayerDef<S>;
}
