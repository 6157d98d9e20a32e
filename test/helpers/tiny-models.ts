/** Small models and clip batches shared by the trainer tests. */
import type { RawClip } from "../../src/data/clip.js";
import type { ClipBatch } from "../../src/data/source.js";
import { resolveModel } from "../../src/model/load-model.js";
import type { Model } from "../../src/model/model.js";
import { Rng } from "../../src/util/rng.js";

/** 4 blocks (conv, conv s2, conv, linear) on 1x8x8 input, 3 classes: cheap but exercises every block kind. */
export const fourBlockSpec = {
  name: "four-block",
  input: { channels: 1, height: 8, width: 8 },
  classes: 3,
  layers: [
    { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
    { type: "relu" },
    { type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1 },
    { type: "relu" },
    { type: "conv2d", out_channels: 6, kernel: 3, padding: 0 },
    { type: "relu" },
    { type: "global_avg_pool" },
    { type: "linear", out_features: 3 },
  ],
};

export function fourBlockModel(): Model {
  return resolveModel(fourBlockSpec, "test four-block model");
}

/** The first `frames` frames of every clip. */
export function firstFrames(batch: ClipBatch, frames: number): ClipBatch {
  const [B, T, C, H, W] = batch.dims;
  const size = C * H * W;
  const clips = new Float32Array(B * frames * size);
  for (let b = 0; b < B; b++) clips.set(batch.clips.subarray(b * T * size, (b * T + frames) * size), b * frames * size);
  return { clips, labels: batch.labels, dims: [B, frames, C, H, W] };
}

/** Frame t of every clip of `batch`, as a batch of 1-frame clips. */
export function frameOf(batch: ClipBatch, t: number): ClipBatch {
  const [B, T, C, H, W] = batch.dims;
  const size = C * H * W;
  const clips = new Float32Array(B * size);
  for (let b = 0; b < B; b++) clips.set(batch.clips.subarray((b * T + t) * size, (b * T + t + 1) * size), b * size);
  return { clips, labels: batch.labels, dims: [B, 1, C, H, W] };
}

/**
 * A model spec using every layer kind (conv with and without bias, stride 2, max and average
 * pooling, flatten, two linear layers) on 1x8x8 input, 3 classes: 4 blocks.
 */
export const everyLayerKindSpec = {
  name: "every-layer-kind",
  input: { channels: 1, height: 8, width: 8 },
  classes: 3,
  layers: [
    { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
    { type: "relu" },
    { type: "maxpool2d", kernel: 2 },
    { type: "conv2d", out_channels: 5, kernel: 3, stride: 2, padding: 1, bias: false },
    { type: "relu" },
    { type: "avgpool2d", kernel: 2 },
    { type: "flatten" },
    { type: "linear", out_features: 6 },
    { type: "relu" },
    { type: "linear", out_features: 3 },
  ],
};

/** Whether two float32 arrays hold the same bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

/** Random clips [B, T, C, H, W]; with `staticClip` every frame of a clip is the same frame. */
export function randomClips(model: Model, B: number, T: number, seed: number, staticClip = false): ClipBatch {
  const rng = new Rng(seed);
  const { channels: C, height: H, width: W } = model.input;
  const frame = C * H * W;
  const clips = new Float32Array(B * T * frame);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const off = (b * T + t) * frame;
      if (staticClip && t > 0) clips.copyWithin(off, b * T * frame, b * T * frame + frame);
      else for (let i = 0; i < frame; i++) clips[off + i] = rng.uniform(-1, 1);
    }
  }
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) labels[b] = rng.int(model.classes);
  return { clips, labels, dims: [B, T, C, H, W] };
}

/** `count` raw clips of `clipSize` uniform random 8-bit pixels, labelled 0, 1, ... mod `classes` (the data pipeline's input, src/data/clip.ts). */
export function randomByteClips(count: number, clipSize: number, seed: number, classes: number): RawClip[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, b) => ({ pixels: Uint8Array.from({ length: clipSize }, () => rng.int(256)), label: b % classes }));
}

/** ||a - b|| / ||moved - start||: disagreement measured against the size of the update. */
export function offByMovement(a: ArrayLike<number>, b: ArrayLike<number>, start: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    m += (b[i] - start[i]) ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(m), 1e-30);
}

/** ||a - b|| / max(||a||, ||b||) over all entries. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-30);
}

/** conv-BN-ReLU, conv-BN-ReLU (stride 2), a residual unit (GN and BN inside), linear: 4 blocks. */
export function normModel(): Model {
  return resolveModel(
    {
      name: "norm-tiny",
      input: { channels: 1, height: 8, width: 8 },
      classes: 3,
      layers: [
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1, bias: false },
        { type: "batch_norm" },
        { type: "relu" },
        { type: "conv2d", out_channels: 6, kernel: 3, stride: 2, padding: 1, bias: false },
        { type: "batch_norm", momentum: 0.2 },
        { type: "relu" },
        {
          type: "residual",
          layers: [
            { type: "conv2d", out_channels: 6, kernel: 3, padding: 1, bias: false },
            { type: "group_norm", groups: 2 },
            { type: "relu" },
            { type: "conv2d", out_channels: 6, kernel: 3, padding: 1, bias: false },
            { type: "batch_norm" },
          ],
        },
        { type: "relu" },
        { type: "global_avg_pool" },
        { type: "linear", out_features: 3 },
      ],
    },
    "test norm model",
  );
}
