/**
 * The resolved model: layers with inferred shapes, grouped into blocks (pipeline stages' units).
 * Produced by model/load-model.ts from a model YAML; consumed by layers/ (graphs), train/ and
 * model/checkpoint.ts. Block and layer indices are 0-based in code; sideways.md's k = index + 1.
 */
import type { LayerSpec } from "./model-spec.js";

/** One learnable tensor, named as torch.nn.Sequential(*layers).state_dict() names it. */
export interface ParamInfo {
  /** "{layer index}.weight" | "{layer index}.bias" */
  name: string;
  /** PyTorch layout: conv2d weight [out, in, kh, kw], linear weight [out, in], bias [out]. */
  shape: number[];
  layerIndex: number;
  blockIndex: number;
  /** fan-in used by PyTorch's default initialisation. */
  fanIn: number;
  /** A constant start instead of that default (normalisation layers' weight 1, bias 0). */
  init?: number;
}

/**
 * One buffer (state the optimizer does not touch, e.g. "3.running_mean"), named as PyTorch's
 * state_dict names it. Kept in the same Weights map as the parameters, but never given a gradient.
 */
export interface BufferInfo {
  name: string;
  shape: number[];
  layerIndex: number;
  blockIndex: number;
  /** Every element's starting value. */
  init: number;
  /** How checkpoints store it (num_batches_tracked: I64, as PyTorch). */
  dtype: "F32" | "I64";
}

export interface ResolvedLayer {
  index: number;
  spec: LayerSpec;
  /** Per-example shapes (no batch dimension), e.g. [C, H, W] or [F]. */
  inShape: number[];
  outShape: number[];
  params: ParamInfo[];
  buffers: BufferInfo[];
}

export interface Block {
  index: number;
  layers: ResolvedLayer[];
  inShape: number[];
  outShape: number[];
  params: ParamInfo[];
  buffers: BufferInfo[];
}

export interface Model {
  name: string;
  input: { channels: number; height: number; width: number };
  classes: number;
  layers: ResolvedLayer[];
  blocks: Block[];
  params: ParamInfo[];
  /** Every layer's buffers; in the Weights map too (checkpoints hold both), fed only to evaluation graphs. */
  buffers: BufferInfo[];
  /** Where the model came from (file path or "inline"), for error messages. */
  source: string;
}

/** Parameters and buffers by PyTorch name; the one representation of a model's weights in the orchestrator. */
export type Weights = Map<string, Float32Array>;
