/** Per-block comparison of two gradient sets (Sideways' G_k against BP's G_k on the same batch). */
import type { Model } from "../model/model.js";

/** Cosine similarity over all parameters of each block; NaN where either side has no gradient. */
export function blockCosines(model: Model, a: Map<string, Float32Array>, b: Map<string, Float32Array>): number[] {
  return model.blocks.map((block) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (const p of block.params) {
      const x = a.get(p.name);
      const y = b.get(p.name);
      if (!x || !y) return NaN;
      for (let i = 0; i < x.length; i++) {
        dot += x[i] * y[i];
        na += x[i] * x[i];
        nb += y[i] * y[i];
      }
    }
    return dot / Math.sqrt(na * nb);
  });
}
