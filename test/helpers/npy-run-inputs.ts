/** The files a test writes for a run on its own clips: the model file, the init checkpoint, clips.npy and labels.npy. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ClipBatch } from "../../src/data/source.js";
import { encodeNpy } from "../../src/data/npy.js";
import { writeCheckpoint } from "../../src/model/checkpoint.js";
import type { Model, Weights } from "../../src/model/model.js";

/** dir/model.yaml: `model` as a model file (its layers' specs), which loads back as the same model. Returns its path. */
export function writeModelFile(dir: string, model: Model): string {
  const file = join(dir, "model.yaml");
  writeFileSync(file, stringify({ name: model.name, input: model.input, classes: model.classes, layers: model.layers.map((l) => l.spec) }));
  return file;
}

/**
 * dir/init.safetensors (`init`), dir/clips.npy and dir/labels.npy (`batch`): what an npy
 * experiment with `init_checkpoint: init.safetensors` and `shuffle: false` trains on, and what
 * bench/torch_sideways.py reads.
 */
export function writeNpyRunInputs(dir: string, model: Model, init: Weights, batch: ClipBatch): void {
  writeCheckpoint(join(dir, "init.safetensors"), model, init);
  writeFileSync(join(dir, "clips.npy"), encodeNpy(batch.clips, batch.dims));
  writeFileSync(join(dir, "labels.npy"), encodeNpy(batch.labels, [batch.labels.length]));
}
