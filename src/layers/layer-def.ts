/**
 * What a layer kind is: shape inference, parameter shapes, a forward builder and a VJP
 * (vector-Jacobian product) builder side by side. defineLayer() wraps the VJP so that a layer
 * returning no gradient for an input or parameter fails loudly, naming the layer.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { LayerSpec } from "../model/model-spec.js";

/** A shape problem found at load time; the loader adds the file and layer index. */
export class LayerShapeError extends Error {
  /**
   * @param layer the layer inside a composite (a residual unit) at fault, as its key path within
   *   the unit and its type, "layers.1 (group_norm)", so that the model's error can name
   *   "layers.3.layers.1 (group_norm)"; absent: the layer itself.
   */
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(message);
  }
}

/**
 * A parameter's or buffer's name within its layer, as PyTorch's state dict spells it after the
 * layer index: "weight", "bias", "running_mean"; inside a residual unit "layers.1.weight",
 * "shortcut.bias".
 */
export type ParamSuffix = string;

export interface ParamShape {
  suffix: ParamSuffix;
  /** PyTorch layout. */
  shape: number[];
  /** fan-in of PyTorch's default initialisation (the weight's, also for the bias). */
  fanIn: number;
  /** A constant start instead of the kaiming-uniform default (normalisation layers: weight 1, bias 0). */
  init?: number;
}

/**
 * State a layer carries that the optimizer does not touch (batch_norm's running statistics):
 * saved in checkpoints under `{i}.{suffix}`, fed to the evaluation forward only, and changed only
 * by the layer's updateBuffers from the statistics its training forwards return.
 */
export interface BufferShape {
  suffix: ParamSuffix;
  shape: number[];
  /** Every element's starting value. */
  init: number;
  /** How a checkpoint stores it: F32, or I64 for counters (num_batches_tracked, as PyTorch). */
  dtype: "F32" | "I64";
}

/** A layer placed in a graph: its spec and per-example shapes (no batch dimension). */
export interface PlacedLayer<S extends LayerSpec = LayerSpec> {
  index: number;
  spec: S;
  inShape: readonly number[];
  outShape: readonly number[];
}

export interface ForwardResult {
  y: string;
  /** Extra values the VJP may reuse (e.g. max-pool indices); only made when `training`. */
  saved: Record<string, string>;
  /**
   * Per-frame statistics a layer with buffers computed from the batch (forward given no buffers),
   * by the names its `statKeys` lists: values shaped [frames, ...], one row per frame of the rows
   * (time-major: rows f*B .. f*B+B-1 are frame f), for its updateBuffers.
   */
  stats?: Record<string, string>;
}

/** What a layer that normalises over the batch's clips needs (LayerDef.minClipsPerFrame). */
export interface ClipsNeed {
  clips: number;
  /** The layer that needs them: "batch_norm", or "layers.1 (batch_norm)" (its key path and type) inside a residual unit. */
  layer: string;
  /** Its input shape, per clip. */
  inShape: readonly number[];
}

export interface VjpInputs {
  /** The layer input and output (recomputed in the backward graph). */
  x: string;
  y: string;
  /** Gradient with respect to y. */
  dy: string;
  /** dy's layout: absent or 0, y's own shape; S > 1, its S x S phases (layers/phases.ts). */
  dyPhases?: number;
  params: Partial<Record<ParamSuffix, string>>;
  saved: Record<string, string>;
}

/** Cuts a frame-major value to the later frames a backward reads (LayerDef.laterFrames). */
export interface FrameCut {
  /** A value of rows (frame f's rows together, as the layer's input), each shaped `rowShape`. */
  rows(value: string, rowShape: readonly number[]): string;
  /** A value whose axis 0 is the frame (e.g. a statistic per frame). */
  frames(value: string): string;
}

export interface VjpResult {
  /** Gradient with respect to x; null only when it was not asked for. */
  dx: string | null;
  /** dx's layout, as VjpInputs.dyPhases. */
  dxPhases?: number;
  /** One gradient per parameter of the layer. */
  dParams: Partial<Record<ParamSuffix, string>>;
}

export interface LayerDef<S extends LayerSpec = LayerSpec> {
  type: S["type"];
  /** True for layers with learnable parameters. */
  parameterised: boolean;
  /**
   * Whether the layer starts a block (default: `parameterised`). Normalisation layers have
   * parameters but join the block of the layer before them, so conv-BN-ReLU is one block.
   */
  startsBlock?: boolean;
  /** Per-example output shape; throws LayerShapeError for an input the layer cannot take. */
  outShape(spec: S, inShape: readonly number[]): number[];
  params(spec: S, inShape: readonly number[]): ParamShape[];
  /** The layer's buffers (absent: none). */
  buffers?(spec: S, inShape: readonly number[]): BufferShape[];
  /** Names of the per-frame statistics a forward without buffers returns in `stats` (absent: none). */
  statKeys?(spec: S): string[];
  /**
   * Applies one frame's statistics (each stat's row for that frame) to the buffers, in place, as
   * PyTorch's training forward would for a batch of `clipsPerFrame` examples.
   */
  updateBuffers?(spec: S, inShape: readonly number[], buffers: Record<string, Float32Array>, stats: Record<string, Float32Array>, clipsPerFrame: number): void;
  /**
   * The fewest clips per frame its training forward can normalise over, where that is more than
   * one (absent or null: any number), so that a batch too small is refused before training, naming
   * train.batch_size; `layer` names the layer that needs them (an inner layer of a composite).
   */
  minClipsPerFrame?(spec: S, inShape: readonly number[]): ClipsNeed | null;
  /**
   * The forward. `buffers` (graph inputs named by suffix) is given only to evaluation graphs: a
   * layer with buffers then normalises with them; without it, with each frame's batch statistics
   * (which it returns in `stats`). Layers without buffers ignore it.
   */
  forward(g: GraphBuilder, layer: PlacedLayer<S>, x: string, params: VjpInputs["params"], training: boolean, buffers?: Record<string, string>): ForwardResult;
  /**
   * The forward with `activation` applied in the same kernel: `y` is the activation's output and
   * `saved` this layer's own values for its VJP (as forward's); null where this layer cannot fuse
   * it for the graph's target. Only for layers whose own output no VJP reads (the block builder
   * never lets anything read it).
   */
  forwardFused?(g: GraphBuilder, layer: PlacedLayer<S>, x: string, params: VjpInputs["params"], activation: "Relu", training: boolean): ForwardResult | null;
  /**
   * The VJP. `dxPhases` > 1 asks for dx as its S x S phases (layers/phases.ts); only a stride
   * phasedDx allows is asked for. A layer given dy as phases (v.dyPhases) returns dx likewise.
   */
  vjp(g: GraphBuilder, layer: PlacedLayer<S>, v: VjpInputs, needDx: boolean, dxPhases?: number): VjpResult;
  /**
   * The values this layer's forward saved for its VJP (`saved`), cut to the later frames a
   * backward reads of one forward over more frames (block-graphs.ts addSidewaysClip): each value
   * through `cut`, which knows the frames. The layer says only how each value is laid out. Absent
   * on a layer whose forward saves nothing; null for a `saved` it cannot cut (the block then runs
   * two forwards).
   */
  laterFrames?(layer: PlacedLayer<S>, saved: Record<string, string>, cut: FrameCut): Record<string, string> | null;
  /** The stride S > 1 of the phases this layer's VJP can give dx in, or 0 (layers/phases.ts). */
  phasedDx?(g: GraphBuilder, layer: PlacedLayer<S>): number;
  /** Whether this layer's VJP can take dy as its S x S phases (with needDx as given). */
  takesPhasedDy?(g: GraphBuilder, layer: PlacedLayer<S>, stride: number, needDx: boolean): boolean;
}

/**
 * Checks every VJP call and result: phases only where the layer takes or gives them, dx when asked
 * for (in the layout asked for), and a gradient for each parameter and no other.
 */
export function defineLayer<S extends LayerSpec>(def: LayerDef<S>): LayerDef<S> {
  return {
    ...def,
    vjp(g, layer, v, needDx, dxPhases = 0) {
      const where = `layer ${layer.index} (${def.type}) VJP`;
      const dyPhases = v.dyPhases ?? 0;
      if (dyPhases > 0 && !def.takesPhasedDy?.(g, layer, dyPhases, needDx)) throw new Error(`BUG: ${where} was given dy as ${dyPhases}x${dyPhases} phases`);
      if (dxPhases > 0 && (def.phasedDx?.(g, layer) ?? 0) !== dxPhases) throw new Error(`BUG: ${where} was asked for dx as ${dxPhases}x${dxPhases} phases`);
      const result = def.vjp(g, layer, v, needDx, dxPhases);
      if (needDx && typeof result.dx !== "string") throw new Error(`BUG: ${where} returned no input gradient`);
      const expectedLayout = dyPhases > 0 ? dyPhases : dxPhases;
      if (needDx && (result.dxPhases ?? 0) !== expectedLayout) throw new Error(`BUG: ${where} returned dx in layout ${result.dxPhases ?? 0}, expected ${expectedLayout}`);
      const expected = def.params(layer.spec, layer.inShape).map((p) => p.suffix);
      const missing = expected.filter((s) => typeof result.dParams[s] !== "string");
      if (missing.length > 0) throw new Error(`BUG: ${where} returned no gradient for ${missing.join(", ")}`);
      const extra = Object.keys(result.dParams).filter((s) => !expected.includes(s as ParamSuffix));
      if (extra.length > 0) throw new Error(`BUG: ${where} returned gradients for unknown parameters ${extra.join(", ")}`);
      return result;
    },
  };
}

/** The value of a parameter the layer declared; its absence is a bug in the caller. */
export function param(v: VjpInputs["params"], suffix: ParamSuffix, layer: PlacedLayer): string {
  const name = v[suffix];
  if (name === undefined) throw new Error(`BUG: layer ${layer.index} (${layer.spec.type}) was given no ${suffix}`);
  return name;
}

/** Whether a layer kind starts a block (LayerDef.startsBlock). */
export function startsBlock(def: Pick<LayerDef, "parameterised" | "startsBlock">): boolean {
  return def.startsBlock ?? def.parameterised;
}

/**
 * Name of the graph input that says how many rows of a training graph's input make one frame
 * (the B clips of a batch): layers with per-frame statistics group the rows by it. A float32 [1],
 * fed by the runner to the graphs that declare it.
 */
export const CLIPS_PER_FRAME = "clips_per_frame";

/** The CLIPS_PER_FRAME input of this graph, declared on first use, as an int64 [1]. */
export function clipsPerFrame(g: GraphBuilder): string {
  return g.memo(CLIPS_PER_FRAME, () => g.op("Cast", [g.inputFixed(CLIPS_PER_FRAME, [1])], { to: 7 /* INT64 */ }));
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Checks an input is [C, H, W] and returns it. */
export function imageShape(type: string, inShape: readonly number[]): [number, number, number] {
  if (inShape.length !== 3) {
    throw new LayerShapeError(`${type} needs a [channels,height,width] input, found ${shapeText(inShape)}`);
  }
  return [inShape[0], inShape[1], inShape[2]];
}

/** Output size of a sliding window along one axis (PyTorch, ceil_mode false). */
export function windowOut(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Checks a square kernel fits its padded H x W input. */
export function checkKernelFits(kernel: number, padding: number, h: number, w: number): void {
  if (kernel > h + 2 * padding || kernel > w + 2 * padding) {
    throw new LayerShapeError(`kernel ${kernel} is larger than its input ${h}x${w} (padding ${padding})`);
  }
}

/**
 * The gradient padding that makes ConvTranspose give back the input size: the rows a strided
 * window never reached, (H + 2P - K) mod S.
 */
export function outputPadding(size: number, kernel: number, stride: number, padding: number): number {
  return (size + 2 * padding - kernel) % stride;
}
