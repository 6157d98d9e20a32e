/**
 * Buffers (state the optimizer does not touch: batch_norm's running statistics). A training
 * forward of a block with such layers outputs each frame's statistics (block-graphs.ts
 * blockStatKeys); the runner logs them per call as BlockStats, the trainers hand the log on in
 * their StageResult, and applyBlockStats updates the buffers in the Weights map once per frame the
 * layer normalised, in frame order, with the layer's own rule (LayerDef.updateBuffers).
 *
 * Applied after the step rather than during it: no training forward reads the buffers (they only
 * normalise in evaluation), so the result is the same, and stages on worker threads need not send
 * buffers back and forth.
 */
import { SpecError } from "../errors.js";
import type { LayerDef } from "../layers/layer-def.js";
import { layerDef } from "../layers/registry.js";
import type { Model, Weights } from "./model.js";

/** One training forward's per-frame statistics of one block. */
export interface BlockStats {
  block: number;
  /** Rows per frame (the B clips of a batch) and frames in this forward (rows / clipsPerFrame). */
  clipsPerFrame: number;
  frames: number;
  /** By key "{layer index}.{stat}" (block-graphs.ts blockStatKeys): the frames' rows one after the other. */
  values: Map<string, Float32Array>;
}

/** Applies logged statistics to the buffers in `weights`, entry by entry and frame by frame. */
export function applyBlockStats(model: Model, weights: Weights, log: readonly BlockStats[]): void {
  for (const entry of log) {
    for (const layer of model.blocks[entry.block].layers) {
      const def = layerDef(layer.spec) as LayerDef;
      if (!def.updateBuffers) continue;
      const buffers: Record<string, Float32Array> = {};
      for (const b of layer.buffers) {
        const values = weights.get(b.name);
        if (!values) throw new Error(`BUG: weights of model ${model.name} lack buffer "${b.name}"`);
        buffers[b.name.slice(b.name.indexOf(".") + 1)] = values;
      }
      const prefix = `${layer.index}.`;
      const stats = [...entry.values].filter(([key]) => key.startsWith(prefix));
      for (let f = 0; f < entry.frames; f++) {
        const rows: Record<string, Float32Array> = {};
        for (const [key, values] of stats) {
          const row = values.length / entry.frames;
          rows[key.slice(prefix.length)] = values.subarray(f * row, (f + 1) * row);
        }
        def.updateBuffers(layer.spec, layer.inShape, buffers, rows, entry.clipsPerFrame);
      }
    }
  }
}

/**
 * Refuses a batch too small for a layer that normalises each frame over the batch's clips
 * (LayerDef.minClipsPerFrame: batch_norm on a 1x1 input needs two), before anything is built or
 * written; training would otherwise stop at its first step with an error from the layer.
 */
export function refuseTooFewClipsPerFrame(model: Model, batchSize: number): void {
  for (const layer of model.layers) {
    const need = (layerDef(layer.spec) as LayerDef).minClipsPerFrame?.(layer.spec, layer.inShape) ?? null;
    if (need === null || batchSize >= need.clips) continue;
    // Named by its key path in the model file, as the model's own errors name layers.
    const which = need.layer === layer.spec.type ? `layers.${layer.index} (${layer.spec.type})` : `layers.${layer.index}.${need.layer}`;
    throw new SpecError(
      `train.batch_size: expected at least ${need.clips} clips for model ${model.name} (${model.source}), found ${batchSize}: ${which} normalises each frame over the batch's clips, ` +
        `and its input of ${need.inShape.join("x")} gives it one value per channel from each clip (PyTorch: "Expected more than 1 value per channel when training")`,
      undefined,
      "train.batch_size",
    );
  }
}
