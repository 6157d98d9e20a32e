/**
 * The two ONNX graphs of a block (docs/design/sideways.md):
 *   forward  F_k: (b{k}.x, params) -> b{k}.y
 *   backward B_k: (b{k}.x, params, b{k}.dy) -> (b{k}.dx, d{param} for every param)
 * k is the 0-based block index; params are graph inputs named as PyTorch names them
 * ("0.weight"), since they change every step. The backward graph recomputes the block's forward
 * from its input: no activation is kept between the two graphs.
 *
 * Where a block's forward and backward see the same input (BP's step; Sideways' tick), a second
 * pair keeps activations instead (buildSavedBlockGraphs): the forward also outputs the layer
 * outputs the VJPs read (b{k}.s{layer}; the block output is b{k}.y), and the backward takes them as
 * inputs, so only what no saved value provides (e.g. max-pool indices) is recomputed.
 *
 * Blocks with buffers (batch_norm): every forward above is a training forward, which normalises
 * with each frame's batch statistics and also outputs them (b{k}.stat.*, blockStatKeys) for the
 * running statistics; backward graphs only recompute and output none. Evaluation uses a third
 * graph that takes the buffers as inputs (buildEvalForwardGraph).
 *
 * For BP on a stage that holds every block, buildFusedBpGraph chains all blocks' forwards, the
 * head's gradient and all VJPs in one graph. Graphs are built for a GraphTarget: portable ONNX, or
 * with onnxruntime's NCHWc CPU kernels where conv2d can use them (conv2d.ts).
 */
import { GraphBuilder, PORTABLE_TARGET, type GraphTarget } from "../graph/graph-builder.js";
import type { Block, BufferInfo, Model, ParamInfo } from "../model/model.js";
import type { ForwardResult, FrameCut, LayerDef, ParamSuffix, PlacedLayer } from "./layer-def.js";
import { phasesShape } from "./phases.js";
import { layerDef } from "./registry.js";

/** Graph value names of block k's input, output and their gradients. */
export function blockValueNames(k: number): { x: string; y: string; dy: string; dx: string } {
  return { x: `b${k}.x`, y: `b${k}.y`, dy: `b${k}.dy`, dx: `b${k}.dx` };
}

/** Name of a parameter's gradient output: "d0.weight" for "0.weight". */
export function gradName(paramName: string): string {
  return `d${paramName}`;
}

export interface BlockGraphOptions {
  /** Emit b{k}.dx (default true); block 0's input gradient is of no use. */
  inputGrad?: boolean;
  /** What the graphs run on (default: portable ONNX). */
  target?: GraphTarget;
}

export function buildBlockGraphs(model: Model, block: Block, opts: BlockGraphOptions = {}): { forward: Uint8Array; backward: Uint8Array } {
  if (model.blocks[block.index] !== block) throw new Error(`BUG: block ${block.index} is not a block of model ${model.name}`);
  const target = opts.target ?? PORTABLE_TARGET;
  return { forward: buildForward(model, block, target).toBytes(), backward: buildBackward(model, block, opts.inputGrad ?? true, target).toBytes() };
}

function paramsOfLayer(params: readonly (ParamInfo | BufferInfo)[], layerIndex: number): Record<ParamSuffix, string> {
  const out: Record<ParamSuffix, string> = {};
  for (const p of params) if (p.layerIndex === layerIndex) out[p.name.slice(p.name.indexOf(".") + 1)] = p.name;
  return out;
}

/**
 * The per-frame statistics block k's training forwards output (layers with buffers): graph output
 * "b{k}.stat.{key}" for each key "{layer index}.{stat}" (e.g. "1.mean", "4.layers.1.var"), flat:
 * the frames' rows one after the other. Evaluation graphs take the buffers as inputs instead
 * (buildEvalForwardGraph).
 */
export function blockStatKeys(block: Block): string[] {
  return block.layers.flatMap((l) => ((layerDef(l.spec) as LayerDef).statKeys?.(l.spec) ?? []).map((key) => `${l.index}.${key}`));
}

export function statValueName(k: number, key: string): string {
  return `b${k}.stat.${key}`;
}

/**
 * Outputs each layer's per-frame statistics of a training forward (blockStatKeys). A block whose
 * frames went through several forwards of the same layers (`more`, in frame order after `steps`:
 * Sideways' whole clip, addSidewaysClip) outputs each statistic of all of them, one after the other.
 */
function outputStats(g: GraphBuilder, block: Block, steps: readonly Recomputed[], ...more: readonly Recomputed[][]): void {
  const pieces = [steps, ...more];
  steps.forEach(({ layer, result }, i) => {
    for (const key of Object.keys(result.stats ?? {})) {
      // Flat, so that the declared rank holds whatever a stat's row shape (frames * row length).
      const flat = pieces.map((p) => g.op("Reshape", [p[i].result.stats![key], g.constInt64("flat", [-1])]));
      const value = flat.length === 1 ? flat[0] : g.op("Concat", flat, { axis: 0 });
      g.output(value, [], statValueName(block.index, `${layer.index}.${key}`));
    }
  });
}

interface Recomputed {
  layer: PlacedLayer;
  x: string;
  result: ForwardResult;
}

/** Name of a saved layer output of block k: the block output keeps its own name b{k}.y. */
export function savedValueName(block: Block, layerIndex: number): string {
  const last = block.layers[block.layers.length - 1].index;
  return layerIndex === last ? blockValueNames(block.index).y : `b${block.index}.s${layerIndex}`;
}

/**
 * Where a graph body finds the parameters: "inputs" declares each as a graph input named after it;
 * "values" means the caller has already made values of those names (e.g. the device step's views
 * of one flat parameter vector, train/device-step-graph.ts).
 */
export type ParamsSource = "inputs" | "values";

interface ForwardOptions {
  /** Make the values the VJPs reuse (e.g. max-pool indices): a backward follows. */
  training: boolean;
  /** Layers whose output comes from a graph input (a saved value) instead of their forward op. */
  fed?: ReadonlySet<number>;
  /** The block's input value; default: a graph input b{k}.x. */
  input?: string;
  /** The buffers are graph inputs too and the layers normalise with them. */
  evaluation?: boolean;
  /** The block's parameters are graph inputs already (a second forward of the block in one graph). */
  paramsDeclared?: boolean;
}

/**
 * Adds the block's inputs and layers; returns each layer's input and forward result. Layers in
 * `fed` take their output from a graph input (a saved value) instead of their forward op, which
 * is then dropped from the graph unless something else (e.g. max-pool indices) needs it.
 */
function addForward(g: GraphBuilder, block: Block, opts: ForwardOptions): Recomputed[] {
  const { training, fed = new Set<number>(), input, evaluation = false } = opts;
  let x = input ?? g.input(blockValueNames(block.index).x, block.inShape);
  if (!opts.paramsDeclared) for (const p of block.params) g.inputFixed(p.name, p.shape);
  if (evaluation) for (const b of block.buffers) g.inputFixed(b.name, b.shape);
  const fedInputs = new Map([...fed].map((i) => [i, g.input(savedValueName(block, i), block.layers.find((l) => l.index === i)!.outShape)]));
  const steps: Recomputed[] = [];
  for (let i = 0; i < block.layers.length; i++) {
    const layer = block.layers[i];
    const fused = fusedWithNext(g, block, i, x, fed, training);
    if (fused) {
      // The layer's own output never exists: a name nothing defines, so a reader fails loudly.
      steps.push({ layer, x, result: { y: `${g.name}:fused-away:${layer.index}`, saved: fused.saved } });
      steps.push({ layer: block.layers[i + 1], x: steps[steps.length - 1].result.y, result: { y: fused.y, saved: {} } });
      x = fused.y;
      i++;
      continue;
    }
    const buffers = evaluation ? paramsOfLayer(block.buffers, layer.index) : undefined;
    const result = layerDef(layer.spec).forward(g, layer, x, paramsOfLayer(block.params, layer.index), training, buffers);
    const y = fedInputs.get(layer.index) ?? result.y;
    steps.push({ layer, x, result: { ...result, y } });
    x = y;
  }
  return steps;
}

/**
 * Layer i and a ReLU right after it as one kernel, where layer i can fuse it for the graph's
 * target and neither output is fed. Safe because ReLU's VJP reads only its own output, and no
 * VJP reads a parameterised layer's output, so layer i's pre-activation output is never needed.
 */
function fusedWithNext(g: GraphBuilder, block: Block, i: number, x: string, fed: ReadonlySet<number>, training: boolean): ForwardResult | null {
  const layer = block.layers[i];
  const next = block.layers[i + 1];
  const def = layerDef(layer.spec);
  if (!next || next.spec.type !== "relu" || !def.forwardFused || fed.has(layer.index) || fed.has(next.index)) return null;
  return def.forwardFused(g, layer, x, paramsOfLayer(block.params, layer.index), "Relu", training);
}

/** Each built forward graph's layer output values, by layer index (for the saved outputs). */
const forwardValues = new WeakMap<GraphBuilder, Map<number, string>>();

function forwardValueOf(g: GraphBuilder, layerIndex: number): string {
  const v = forwardValues.get(g)?.get(layerIndex);
  if (v === undefined) throw new Error(`BUG: no forward value for layer ${layerIndex} in ${g.name}`);
  return v;
}

/** The training forward (per-frame statistics as outputs), or with `evaluation` the one that uses the buffers. */
function buildForward(model: Model, block: Block, target: GraphTarget, evaluation = false): GraphBuilder {
  const g = new GraphBuilder(`${model.name}.block${block.index}.${evaluation ? "eval" : "forward"}`, target);
  const steps = addForward(g, block, { training: false, evaluation });
  forwardValues.set(g, new Map(steps.map((s) => [s.layer.index, s.result.y])));
  g.output(steps[steps.length - 1].result.y, block.outShape, blockValueNames(block.index).y);
  if (!evaluation) outputStats(g, block, steps);
  return g;
}

/**
 * The evaluation forward of a block with buffers: (b{k}.x, params, buffers) -> b{k}.y, normalising
 * with the running statistics. A block without buffers evaluates with its forward graph.
 */
export function buildEvalForwardGraph(model: Model, block: Block, opts: Pick<BlockGraphOptions, "target"> = {}): Uint8Array {
  return buildForward(model, block, opts.target ?? PORTABLE_TARGET, true).toBytes();
}

export interface SavedBlockGraphs {
  /** (b{k}.x, params) -> b{k}.y and the saved intermediate layer outputs. */
  forward: Uint8Array;
  /** (b{k}.x, params, saved values, b{k}.dy) -> (b{k}.dx, d{param}). */
  backward: Uint8Array;
  /** Names of the saved values the backward reads, the block output b{k}.y included if read. */
  saved: string[];
}

/** The activation-keeping graph pair of a block (for BP); gradients equal buildBlockGraphs'. */
export function buildSavedBlockGraphs(model: Model, block: Block, opts: BlockGraphOptions = {}): SavedBlockGraphs {
  if (model.blocks[block.index] !== block) throw new Error(`BUG: block ${block.index} is not a block of model ${model.name}`);
  const inputGrad = opts.inputGrad ?? true;
  const target = opts.target ?? PORTABLE_TARGET;
  // Offer every layer output; keep those the pruned backward graph still reads.
  const offered = buildBackward(model, block, inputGrad, target, new Set(block.layers.map((l) => l.index)));
  const read = new Set(offered.liveInputs());
  const fed = new Set(block.layers.filter((l) => read.has(savedValueName(block, l.index))).map((l) => l.index));
  const forward = buildForward(model, block, target);
  for (const layer of block.layers) {
    const name = savedValueName(block, layer.index);
    if (fed.has(layer.index) && name !== blockValueNames(block.index).y) forward.output(forwardValueOf(forward, layer.index), layer.outShape, name);
  }
  return {
    forward: forward.toBytes(),
    backward: buildBackward(model, block, inputGrad, target, fed).toBytes(),
    saved: [...fed].map((i) => savedValueName(block, i)),
  };
}

function buildBackward(model: Model, block: Block, inputGrad: boolean, target: GraphTarget, fed: ReadonlySet<number> = new Set()): GraphBuilder {
  const names = blockValueNames(block.index);
  const g = new GraphBuilder(`${model.name}.block${block.index}.backward`, target);
  const steps = addForward(g, block, { training: true, fed });
  const { dx } = addBackward(g, block, steps, g.input(names.dy, block.outShape), inputGrad);
  if (dx !== null) g.output(dx, block.inShape, names.dx);
  return g;
}

/**
 * Which layers of a block need their input gradient: the block's first if asked, and any layer
 * below which there is a layer with parameters or one that itself needs its input gradient.
 */
function layersNeedingDx(layers: readonly PlacedLayer[], inputGrad: boolean): boolean[] {
  const needDx: boolean[] = [];
  layers.forEach((_, i) => {
    needDx[i] = i === 0 ? inputGrad : needDx[i - 1] || layerDef(layers[i - 1].spec).parameterised;
  });
  return needDx;
}

/** Layouts of a block's output gradient (given) and input gradient (asked for): 0 plain, S > 1 phases. */
interface GradLayouts {
  dy: number;
  dx: number;
}

const PLAIN: GradLayouts = { dy: 0, dx: 0 };

/**
 * The VJPs of a block's layers, top down from `dy`, each parameter gradient a graph output
 * d{param}; returns the block's input gradient (null unless `inputGrad`) and its layout.
 * `layouts`: dy as given, and the input gradient as asked for (phases only where
 * phasedHandOver allows them).
 */
function addBackward(g: GraphBuilder, block: Block, steps: Recomputed[], dy: string, inputGrad: boolean, layouts: GradLayouts = PLAIN): { dx: string | null; dxPhases: number } {
  const needDx = layersNeedingDx(steps.map((s) => s.layer), inputGrad);
  let dyPhases = layouts.dy;
  for (let i = steps.length - 1; i >= 0; i--) {
    const { layer, x, result } = steps[i];
    const def = layerDef(layer.spec);
    if (!def.parameterised && !needDx[i]) break;
    const params = paramsOfLayer(block.params, layer.index);
    const grads = def.vjp(g, layer, { x, y: result.y, dy, dyPhases, params, saved: result.saved }, needDx[i], i === 0 ? layouts.dx : 0);
    for (const p of block.params.filter((q) => q.layerIndex === layer.index)) {
      const suffix = p.name.slice(p.name.indexOf(".") + 1) as ParamSuffix;
      g.outputFixed(grads.dParams[suffix] as string, p.shape, gradName(p.name));
    }
    if (grads.dx === null) break;
    dy = grads.dx;
    dyPhases = grads.dxPhases ?? 0;
  }
  return inputGrad ? { dx: dy, dxPhases: dyPhases } : { dx: null, dxPhases: 0 };
}

/**
 * The stride S > 1 in which block k (k >= 1) of a fused BP graph hands its input gradient to
 * block k-1 as S x S phases (layers/phases.ts), or 0. Where block k's first layer can give them
 * and every layer of block k-1 whose VJP runs can take them (quickstart-cnn: the stride-2 conv of
 * block 1 to block 0's ReLU and stride-1 conv), the layers never interleave the gradient back to
 * full resolution (docs/PERFORMANCE.md attempt 37).
 */
function phasedHandOver(g: GraphBuilder, model: Model, k: number): number {
  const first = model.blocks[k].layers[0];
  const stride = layerDef(first.spec).phasedDx?.(g, first) ?? 0;
  if (stride === 0) return 0;
  const below = model.blocks[k - 1].layers;
  const needDx = layersNeedingDx(below, k - 1 > 0);
  for (let i = below.length - 1; i >= 0; i--) {
    const def = layerDef(below[i].spec);
    if (!def.parameterised && !needDx[i]) break;
    if (!def.takesPhasedDy?.(g, below[i], stride, needDx[i])) return 0;
    if (!needDx[i]) break;
  }
  return stride;
}

/** Names of the fused BP graph's inputs and outputs besides the parameters and d{param}. */
export const FUSED_BP_NAMES = { x: "x", onehot: "onehot", scale: "dlogits_scale", logits: "logits" } as const;

/**
 * One BP pass of the whole model as one graph, for a stage that holds every block:
 *   (x [N, ...], every parameter, onehot [N, classes], dlogits_scale [1]) -> (logits, d{param} for every param)
 * The same layer forwards and VJPs as the block graphs, chained in one graph with the head's
 * gradient (softmax(logits) - onehot) * scale between them (scale = 1/B per frame: the head's
 * mean over clips), so no activation or block gradient leaves onnxruntime: the per-block graphs
 * copy each block output and input gradient into a new JS buffer (docs/PERFORMANCE.md
 * attempt 20). The losses are still computed by the TypeScript head from the logits.
 */
export function buildFusedBpGraph(model: Model, opts: Pick<BlockGraphOptions, "target"> = {}): Uint8Array {
  const g = new GraphBuilder(`${model.name}.bp`, opts.target ?? PORTABLE_TARGET);
  addFusedBp(g, model, g.input(FUSED_BP_NAMES.x, model.blocks[0].inShape), g.input(FUSED_BP_NAMES.onehot, [model.classes]), g.inputFixed(FUSED_BP_NAMES.scale, [1]));
  return g.toBytes();
}

/**
 * buildFusedBpGraph's body on rows `x` with their one-hot labels `onehot` and the head's gradient
 * scale `scale`: declares the parameters as graph inputs (unless `params` is "values") and logits,
 * d{param} and the statistics as graph outputs (a caller may dropOutput the d{param} and read them
 * as values instead).
 */
export function addFusedBp(g: GraphBuilder, model: Model, x: string, onehot: string, scale: string, params: ParamsSource = "inputs"): void {
  // handOver[k] > 0: block k gives its input gradient to block k-1 as phases of that stride.
  const handOver = model.blocks.map((_, k) => (k > 0 ? phasedHandOver(g, model, k) : 0));
  const steps = model.blocks.map((block, k) => {
    // A block given its gradient as phases forms it without saved forward values (only conv and
    // ReLU take phases, and conv's saved unfold serves the plain gradient): a plain forward then.
    const takesPhases = (handOver[k + 1] ?? 0) > 0;
    const s = addForward(g, block, { training: !takesPhases, input: x, paramsDeclared: params === "values" });
    outputStats(g, block, s);
    x = s[s.length - 1].result.y;
    return s;
  });
  // An Identity rather than output()'s in-place rename: the top layer's VJP may read its output by name.
  g.output(g.node("Identity", [x], [FUSED_BP_NAMES.logits])[0], [model.classes]);
  let dy: string | null = g.op("Mul", [g.op("Sub", [g.op("Softmax", [x], { axis: 1 }), onehot]), scale]);
  let dyPhases = 0;
  for (let k = model.blocks.length - 1; k >= 0 && dy !== null; k--) {
    ({ dx: dy, dxPhases: dyPhases } = addBackward(g, model.blocks[k], steps[k], dy, k > 0, { dy: dyPhases, dx: handOver[k] }));
  }
}

/** What a block does in one Sideways tick: its forward only, or its forward and backward. */
export type TickMode = "forward" | "both";

/**
 * One Sideways tick of a stage's blocks as one graph: each block in `modes` runs its forward on its
 * own input and, if "both", its backward with its own (stale) output gradient, side by side with no
 * edge between blocks (the rule's blocks are independent within a tick):
 *   (b{k}.x, b{k}.dy for "both" blocks but the top, params) -> (b{k}.y, b{k}.dx for "both" blocks k > 0, d{param})
 * The top block, if it runs its backward, takes the head's gradient of its own output instead:
 * inputs onehot [N, classes] and dlogits_scale [1] as in buildFusedBpGraph. Blocks not in `modes`
 * have nothing to do at this tick (no input yet, or neither a gradient nor a reader of their
 * output). One onnxruntime call per stage and tick instead of two per block
 * (docs/PERFORMANCE.md attempt 24).
 */
export function buildSidewaysTickGraph(model: Model, modes: ReadonlyMap<number, TickMode>, opts: Pick<BlockGraphOptions, "target"> = {}): Uint8Array {
  const key = [...modes].map(([k, m]) => `${k}${m === "both" ? "fb" : "f"}`).join("-");
  const g = new GraphBuilder(`${model.name}.sideways-tick.${key}`, opts.target ?? PORTABLE_TARGET);
  const top = model.blocks.length - 1;
  for (const [k, mode] of modes) {
    const block = model.blocks[k];
    const names = blockValueNames(k);
    const steps = addForward(g, block, { training: mode === "both" });
    outputStats(g, block, steps);
    const y = steps[steps.length - 1].result.y;
    // Identity, not output()'s rename: the block's VJPs may read y by its name.
    g.output(g.node("Identity", [y], [names.y])[0], block.outShape);
    if (mode === "forward") continue;
    const dy =
      k === top
        ? g.op("Mul", [g.op("Sub", [g.op("Softmax", [y], { axis: 1 }), g.input(FUSED_BP_NAMES.onehot, [model.classes])]), g.inputFixed(FUSED_BP_NAMES.scale, [1])])
        : g.input(names.dy, block.outShape);
    const { dx } = addBackward(g, block, steps, dy, k > 0);
    if (dx !== null) g.output(g.node("Identity", [dx], [names.dx])[0], block.inShape);
  }
  return g.toBytes();
}

/**
 * Frames of a clip of T frames block k (0-based, of L) works on under Sideways with weights fixed
 * for the clip (docs/design/sideways.md): its forward takes frames [0, forwardEnd) (frame f at tick
 * f + k; later frames would reach it after the clip's last tick), its backward the input frames
 * [backwardStart, forwardEnd), each with the gradient of the frame 2(L-1-k) before it. So
 * n_k = forwardEnd - backwardStart = T - 2L + k + 2, as blocksWithoutGradient counts.
 */
export function sidewaysClipFrames(blocks: number, frames: number, k: number): { backwardStart: number; forwardEnd: number } {
  return { backwardStart: 2 * (blocks - 1 - k), forwardEnd: frames - k };
}

/** Frames [from, to) of `rows`: time-major rows of `frames` frames (row f*B + b), each [...shape]. */
function frameRange(g: GraphBuilder, rows: string, frames: number, shape: readonly number[], from: number, to: number): string {
  if (from === 0 && to === frames) return rows;
  return g.memo(`frames(${rows}, ${frames}, ${from}, ${to})`, () => {
    const view = g.op("Reshape", [rows, g.constInt64("frame_rows", [frames, -1, ...shape])]);
    const part = g.op("Slice", [view, g.constInt64("from", [from]), g.constInt64("to", [to]), g.constInt64("axis0", [0])]);
    return g.op("Reshape", [part, g.constInt64("rows", [-1, ...shape])]);
  });
}

/**
 * A block's forward over `frames` frames as its backward sees frames [from, frames) of it: every
 * layer's input and output, and the values it saved for its VJP (as the layer says they are laid
 * out: LayerDef.laterFrames), cut to those frames. Only the cuts some VJP reads stay in the graph
 * (GraphBuilder keeps what an output depends on). Null where a layer cannot cut its saved values.
 */
function laterFrames(g: GraphBuilder, steps: readonly Recomputed[], frames: number, from: number): Recomputed[] | null {
  const cut: FrameCut = {
    rows: (value, shape) => frameRange(g, value, frames, shape, from, frames),
    frames: (value) => g.memo(`frames(${value}, ${from}, ${frames})`, () => g.op("Slice", [value, g.constInt64("from", [from]), g.constInt64("to", [frames]), g.constInt64("axis0", [0])])),
  };
  // A layer fused with the ReLU after it has no output value (addForward): nothing to cut.
  const rows = (value: string, shape: readonly number[]) => (g.has(value) ? cut.rows(value, shape) : value);
  const out: Recomputed[] = [];
  for (const { layer, x, result } of steps) {
    const saved = Object.keys(result.saved).length === 0 ? result.saved : layerDef(layer.spec).laterFrames?.(layer, result.saved, cut);
    if (!saved) return null;
    out.push({ layer, x: rows(x, layer.inShape), result: { ...result, y: rows(result.y, layer.outShape), saved } });
  }
  return out;
}

/**
 * Sideways on a whole clip batch as one graph, for a stage that holds every block, with the
 * weights fixed for the clip (update_every: clip). The rule's ticks are then a fixed pattern over
 * frames (sidewaysClipFrames): block k's forwards are frames [0, T-k) of its input, its backwards
 * pair input frame f with the input gradient block k+1 formed on frame f-2, which reached it one
 * tick later. So each block runs its forwards and its backwards over many frames at once, as BP's
 * fused pass does (addFusedBp), with the gradient handed down shifted by two frames instead of
 * aligned: one graph call per clip batch instead of one per tick, and kernels of many frames'
 * rows, which is what a GPU needs (docs/GPU.md). GraphTarget.sidewaysClip says how a block's
 * forward serves its backward, which reads only its later frames: one forward over every frame,
 * cut for the backward ("shared"), or two, the frames no backward reads and then the others
 * ("split", and "shared" where a layer cannot cut the values it saved for its VJP).
 *   rows `x` (T frames, time-major), `onehot` (the top block's T-L+1 frames), `scale` (1/B)
 *     -> logits (T-L+1 frames), per-frame statistics, d{param} = the SUM of block k's n_k
 *        backwards (the caller divides by n_k)
 * The parameters are graph inputs, or values the caller made (`params`, as addFusedBp).
 * Needs T >= 2L-1 (every block gets a gradient). Equals the tick-by-tick rule to float32 rounding
 * (test/device-step.test.ts).
 */
export function addSidewaysClip(g: GraphBuilder, model: Model, x: string, frames: number, onehot: string, scale: string, params: ParamsSource = "inputs"): void {
  const L = model.blocks.length;
  if (frames < 2 * L - 1) throw new Error(`BUG: Sideways on a whole clip needs at least ${2 * L - 1} frames for ${L} blocks, got ${frames}`);
  const shared = (g.target.sidewaysClip ?? "shared") === "shared";
  // handOver[k] > 0: block k gives its input gradient to block k-1 as phases of that stride (as addFusedBp).
  const handOver = model.blocks.map((_, k) => (shared && k > 0 ? phasedHandOver(g, model, k) : 0));
  const lastY = (steps: Recomputed[]) => steps[steps.length - 1].result.y;
  const backwardSteps: Recomputed[][] = [];
  let input = x; // block k's input: frames [0, T-k)
  let logits = x;
  for (const block of model.blocks) {
    const k = block.index;
    const { backwardStart: s, forwardEnd: e } = sidewaysClipFrames(L, frames, k);
    const declared = params === "values";
    // A block given its gradient as phases forms it without saved forward values (addFusedBp).
    const training = (handOver[k + 1] ?? 0) === 0;
    const whole = s === 0 || shared ? addForward(g, block, { training, input, paramsDeclared: declared }) : null;
    const backward = whole && s > 0 ? laterFrames(g, whole, e, s) : whole;
    let y: string;
    if (whole && backward) {
      backwardSteps.push(backward);
      outputStats(g, block, whole);
      y = lastY(whole);
    } else {
      // Without `whole`'s values (unread, so left out of the graph) where a layer cannot cut them.
      const early = addForward(g, block, { training: false, input: frameRange(g, input, e, block.inShape, 0, s), paramsDeclared: declared || whole !== null });
      const late = addForward(g, block, { training, input: frameRange(g, input, e, block.inShape, s, e), paramsDeclared: true });
      backwardSteps.push(late);
      outputStats(g, block, early, late);
      y = g.op("Concat", [lastY(early), lastY(late)], { axis: 0 });
    }
    if (k === L - 1) logits = y;
    else input = frameRange(g, y, e, block.outShape, 0, e - 1);
  }
  // An Identity rather than output()'s in-place rename: the top layer's VJP may read its output by name.
  g.output(g.node("Identity", [logits], [FUSED_BP_NAMES.logits])[0], [model.classes]);
  let dy: string | null = g.op("Mul", [g.op("Sub", [g.op("Softmax", [logits], { axis: 1 }), onehot]), scale]);
  let dyPhases = 0;
  for (let k = L - 1; k >= 0 && dy !== null; k--) {
    const block = model.blocks[k];
    const { dx, dxPhases } = addBackward(g, block, backwardSteps[k], dy, k > 0, { dy: dyPhases, dx: handOver[k] });
    // Block k-1 pairs its backwards with all of these but the last (it would arrive after the clip).
    const { backwardStart: s, forwardEnd: e } = sidewaysClipFrames(L, frames, k);
    const shape = dxPhases > 0 ? phasesShape(block.inShape, dxPhases) : block.inShape;
    dy = dx === null ? null : frameRange(g, dx, e - s, shape, 0, e - s - 1);
    dyPhases = dxPhases;
  }
}
