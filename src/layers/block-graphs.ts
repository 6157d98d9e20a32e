/**
 * The two ONNX graphs of a block (shared/design/sideways.md):
 *   forward  F_k: (b{k}.x, params) -> b{k}.y
 *   backward B_k: (b{k}.x, params, b{k}.dy) -> (b{k}.dx, d{param} for every param)
 * k is the 0-based block index; params are graph inputs named as PyTorch names them
 * ("0.weight"), since they change every step. The backward graph recomputes the block's forward
 * from its input: no activation is kept between the two graphs.
 */
import { GraphBuilder } from "../graph/graph-builder.js";
import type { Block, Model, ParamInfo } from "../model/model.js";
import type { ForwardResult, ParamSuffix, PlacedLayer, VjpInputs } from "./layer-def.js";
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
}

export function buildBlockGraphs(model: Model, block: Block, opts: BlockGraphOptions = {}): { forward: Uint8Array; backward: Uint8Array } {
  if (model.blocks[block.index] !== block) throw new Error(`BUG: block ${block.index} is not a block of model ${model.name}`);
  return { forward: buildForward(model, block).toBytes(), backward: buildBackward(model, block, opts.inputGrad ?? true).toBytes() };
}

function paramsOfLayer(params: readonly ParamInfo[], layerIndex: number): VjpInputs["params"] {
  const out: VjpInputs["params"] = {};
  for (const p of params) if (p.layerIndex === layerIndex) out[p.name.slice(p.name.indexOf(".") + 1) as ParamSuffix] = p.name;
  return out;
}

interface Recomputed {
  layer: PlacedLayer;
  x: string;
  result: ForwardResult;
}

/** Adds the block's inputs and layers; returns each layer's input and forward result. */
function addForward(g: GraphBuilder, block: Block, training: boolean): Recomputed[] {
  let x = g.input(blockValueNames(block.index).x, block.inShape);
  for (const p of block.params) g.inputFixed(p.name, p.shape);
  return block.layers.map((layer) => {
    const result = layerDef(layer.spec).forward(g, layer, x, paramsOfLayer(block.params, layer.index), training);
    const step = { layer, x, result };
    x = result.y;
    return step;
  });
}

function buildForward(model: Model, block: Block): GraphBuilder {
  const g = new GraphBuilder(`${model.name}.block${block.index}.forward`);
  const steps = addForward(g, block, false);
  g.output(steps[steps.length - 1].result.y, block.outShape, blockValueNames(block.index).y);
  return g;
}

function buildBackward(model: Model, block: Block, inputGrad: boolean): GraphBuilder {
  const names = blockValueNames(block.index);
  const g = new GraphBuilder(`${model.name}.block${block.index}.backward`);
  const steps = addForward(g, block, true);
  let dy = g.input(names.dy, block.outShape);
  // A layer's input gradient is needed if it is the block's (when asked) or a layer below
  // needs its output gradient: that layer has parameters or itself needs its input gradient.
  const needDx: boolean[] = [];
  steps.forEach((s, i) => {
    needDx[i] = i === 0 ? inputGrad : needDx[i - 1] || layerDef(steps[i - 1].layer.spec).parameterised;
  });
  for (let i = steps.length - 1; i >= 0; i--) {
    const { layer, x, result } = steps[i];
    const def = layerDef(layer.spec);
    if (!def.parameterised && !needDx[i]) break;
    const params = paramsOfLayer(block.params, layer.index);
    const grads = def.vjp(g, layer, { x, y: result.y, dy, params, saved: result.saved }, needDx[i]);
    for (const p of block.params.filter((q) => q.layerIndex === layer.index)) {
      const suffix = p.name.slice(p.name.indexOf(".") + 1) as ParamSuffix;
      g.outputFixed(grads.dParams[suffix] as string, p.shape, gradName(p.name));
    }
    if (grads.dx === null) break;
    dy = grads.dx;
  }
  if (inputGrad) g.output(dy, block.inShape, names.dx);
  return g;
}
