/** The setting of the run-level tests that train one SGD step and compare it with the float64 references. */
import type { ClipBatch } from "../../src/data/source.js";
import { initWeights } from "../../src/model/init.js";
import type { Model, Weights } from "../../src/model/model.js";
import type { RefWeights } from "../reference/model-ref.js";
import { writeNpyRunInputs } from "./npy-run-inputs.js";
import { freshFolderForAllTests } from "./temp-folder.js";
import { fourBlockModel, randomClips } from "./tiny-models.js";

export interface OneStepRunInputs {
  model: Model;
  /** Clips and frames of the one batch: T = 9 >= 2L-1, so Sideways' device step runs and every block learns. */
  B: number;
  T: number;
  batch: ClipBatch;
  init: Weights;
  init64: RefWeights;
  /** The folder holding model inputs as an npy run reads them (writeNpyRunInputs); set by the suite's before hook. */
  dir: string;
}

/** The four-block model, one batch, its initial weights (float32 and float64), in a fresh folder for the enclosing suite. */
export function oneStepRunInputs(prefix: string): OneStepRunInputs {
  const model = fourBlockModel();
  const [B, T] = [4, 9];
  const batch = randomClips(model, B, T, 71);
  const init = initWeights(model, 23);
  const inputs: OneStepRunInputs = { model, B, T, batch, init, init64: new Map([...init].map(([n, w]) => [n, Float64Array.from(w)])), dir: "" };
  freshFolderForAllTests(prefix, (d) => {
    inputs.dir = d;
    writeNpyRunInputs(d, model, init, batch);
  });
  return inputs;
}
