/**
 * `sideways bench --augment`: what data.augment costs the thread that assembles training batches
 * (the step's thread without data.workers): a batch of 8-bit clips of the model's input assembled
 * as training does (src/data/clip.ts assembleBatch), without augmentation, with shifts, mirrors,
 * both, and resized crops (scale), in the same rounds (each round times every setting once, in turn), as medians.
 */
import type { Model } from "../model/model.js";
import { clipAugment } from "../data/augment.js";
import { assembleBatch, type ClipShape, type Preprocess, type RawClip } from "../data/clip.js";
import type { AugmentSpec } from "../data/data-spec.js";
import { Rng } from "../util/rng.js";
import { median } from "./stats.js";

export interface AugmentRow {
  augment: string;
  batch_ms_median: number;
  /** Median batch time over the unaugmented one's, both from the same rounds. */
  ratio_to_none: number;
}

const SETTINGS: [string, AugmentSpec | undefined][] = [
  ["none", undefined],
  ["pad_crop 4", { flip: false, pad_crop: 4 }],
  ["flip", { flip: true, pad_crop: 0 }],
  ["flip + pad_crop 4", { flip: true, pad_crop: 4 }],
  ["scale 0.25-1", { flip: false, pad_crop: 0, scale: [0.25, 1] }],
];

export function benchAugment(model: Model, clips: number, frames: number, rounds: number): AugmentRow[] {
  const { channels, height, width } = model.input;
  const shape: ClipShape = { frames, channels, height, width };
  const size = frames * channels * height * width;
  const rng = new Rng(0);
  const raw: RawClip[] = Array.from({ length: clips }, (_, i) => ({ pixels: Uint8Array.from({ length: size }, () => rng.int(256)), label: i % model.classes }));
  const pres: Preprocess[] = SETTINGS.map(([, spec]) => ({ shuffleFrames: false, normalize: null, rng, evalRng: rng, augment: clipAugment(spec, new Rng(1).fork("augment")) }));
  const times = SETTINGS.map(() => [] as number[]);
  // One untimed round first: the first calls compile the functions.
  for (let round = -1; round < rounds; round++) {
    pres.forEach((pre, s) => {
      const t0 = performance.now();
      // Another first clip index each round: other draws, as a run's batches get.
      assembleBatch(raw, shape, pre, "train", Math.max(round, 0) * clips);
      if (round >= 0) times[s]!.push(performance.now() - t0);
    });
  }
  const none = median(times[0]!);
  return SETTINGS.map(([augment], s) => ({ augment, batch_ms_median: median(times[s]!), ratio_to_none: median(times[s]!) / none }));
}

export function formatAugment(model: Model, clips: number, frames: number, rows: AugmentRow[]): string {
  const { channels, height, width } = model.input;
  return [
    `data.augment on the thread that assembles training batches: ${clips} clips x ${frames} frames of ${channels}x${height}x${width} 8-bit pixels (${model.name}'s input), medians of the same rounds`,
    "",
    "| data.augment | batch ms | x none |",
    "|---|---|---|",
    ...rows.map((r) => `| ${r.augment} | ${r.batch_ms_median.toFixed(2)} | ${r.ratio_to_none.toFixed(2)} |`),
  ].join("\n");
}
