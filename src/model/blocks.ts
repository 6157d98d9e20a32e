/**
 * Blocks (docs/design/sideways.md): a block is one parameterised layer (conv2d, linear) with
 * the parameter-free layers after it up to the next parameterised one; parameter-free layers
 * before the first parameterised layer join the first block.
 */
import type { Block, ResolvedLayer } from "./model.js";

/**
 * The block index of each layer, given which layers are parameterised. Example:
 * [relu, conv, relu, pool, linear] -> [0, 0, 0, 0, 1]. Needs at least one parameterised layer.
 */
export function blockIndexOfLayers(parameterised: readonly boolean[]): number[] {
  if (!parameterised.includes(true)) throw new Error("BUG: blockIndexOfLayers needs a parameterised layer");
  let block = 0;
  let seenParameterised = false;
  return parameterised.map((p) => {
    if (p) {
      if (seenParameterised) block++;
      seenParameterised = true;
    }
    return block;
  });
}

/** Groups resolved layers (whose params already carry their block index) into blocks. */
export function groupBlocks(layers: readonly ResolvedLayer[], blockOfLayer: readonly number[]): Block[] {
  const blocks: Block[] = [];
  layers.forEach((layer, i) => {
    const k = blockOfLayer[i];
    if (blocks[k] === undefined) blocks[k] = { index: k, layers: [], inShape: layer.inShape, outShape: layer.outShape, params: [] };
    const block = blocks[k];
    block.layers.push(layer);
    block.outShape = layer.outShape;
    block.params.push(...layer.params);
  });
  return blocks;
}
