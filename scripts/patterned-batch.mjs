// The clip batch the device-step measurement scripts time (device-step-ab.mjs, host-tail.mjs):
// `batch` clips of `frames` frames of `model`'s input, 8-bit pixels (b * 131 + i * 37) mod 256,
// labels b mod classes, made into a batch (float clips and their pixels) by this checkout's
// src/data/clip.js assembleBatch. The same batch in every script and build, so that their weight
// differences compare.
const { assembleBatch } = await import(new URL("../dist/src/data/clip.js", import.meta.url).href);

export function patternedBatch(model, batch, frames) {
  const { channels, height, width } = model.input;
  const size = frames * channels * height * width;
  const raw = Array.from({ length: batch }, (_, b) => ({ pixels: Uint8Array.from({ length: size }, (_, i) => (b * 131 + i * 37) % 256), label: b % model.classes }));
  return assembleBatch(raw, { frames, channels, height, width }, { shuffleFrames: false, normalize: null }, "train", 0);
}
