/**
 * Training-clip augmentation (`data.augment`): each training clip is zoomed in on a random part of
 * its frame (scale), mirrored left-right with probability 1/2 (flip) and shifted by a random
 * (dy, dx) in [-pad, pad]^2 (pad_crop), the same draw for every frame of the clip, so the clip
 * stays as smooth in time as it was (Sideways' premise, the smoothness the paper's frame_stride
 * and shuffle_frames knobs vary). Evaluation clips are never augmented.
 *
 * In this order, each step on the previous one's output:
 * 1. Resized crop (scale: [min, max], video recipes' "random resized crop": torchvision's
 *    RandomResizedCrop with the frame's own aspect ratio). The area fraction s is uniform in
 *    [min, max) (Rng.uniform, as torch's uniform_: max is drawn only where float64 rounding
 *    makes it so, or where min = max); the crop is ch = max(1, round(H sqrt(s))) by
 *    cw = max(1, round(W sqrt(s)))
 *    pixels, its top-left corner uniform over the (H - ch + 1) x (W - cw + 1) valid positions, and
 *    it is resized back to H x W by bilinear interpolation with half-pixel centres (PyTorch's
 *    F.interpolate(mode="bilinear", align_corners=False)): output row y reads source row
 *    (y + 0.5) ch / H - 0.5 of the crop, clamped to [0, ch - 1], and likewise for columns. The crop
 *    is never larger than the frame, so this is always upsampling (or the identity at s = 1), where
 *    antialiasing does not apply. 8-bit pixels are rounded to the nearest integer, an exact .5 up
 *    (as Math.round; a value within float64 rounding of .5 may go either way); float values are
 *    not rounded beyond float32.
 * 2. Mirror and shift: output pixel (y, x) of a frame plane is S'[y + dy][x + dx], where S' is the
 *    plane mirrored when the clip is flipped (S'[y][x] = S[y][W-1-x]); a position outside the
 *    frame is a 0 pixel before normalisation (black), as torchvision's RandomCrop(size,
 *    padding=pad) followed by RandomHorizontalFlip draws it.
 *
 * The draw depends on the seed and the clip's index in the run only, so a batch is the same with
 * or without data workers and after a resume. The scale numbers are drawn after the flip and
 * shift, and only where scale zooms at all (not absent or [1, 1]), so that configs without it keep
 * their batches bit for bit.
 *
 * Written here rather than taken from a package: the clips are planes in one flat buffer (8-bit
 * or float32) that must be transformed in place, clip by clip, with a draw shared by every frame;
 * image-augmentation packages work on one decoded image at a time.
 */
import type { Rng } from "../util/rng.js";
import type { AugmentSpec } from "./data-spec.js";

export interface ClipAugment {
  flip: boolean;
  /** Area fractions [min, max] of the resized crop (data.augment.scale); null: no zoom. */
  scale: [number, number] | null;
  /** Largest shift in pixels (data.augment.pad_crop). */
  pad: number;
  /** Root of the per-clip draws (one fork per training clip index). */
  rng: Rng;
}

/** One clip's resized crop: the area fraction drawn and the window of the frame it gave. */
export interface CropWindow {
  area: number;
  top: number;
  left: number;
  height: number;
  width: number;
}

/** One clip's draw: its resized crop (absent: none), mirrored or not, and its shift. */
export interface ClipTransform {
  flip: boolean;
  dy: number;
  dx: number;
  crop?: CropWindow;
}

/** The augmentation a spec asks for, or null where it asks for none. */
export function clipAugment(spec: AugmentSpec | undefined, rng: Rng): ClipAugment | null {
  const scale = spec?.scale !== undefined && zooms(spec.scale) ? spec.scale : null;
  if (spec === undefined || (!spec.flip && spec.pad_crop === 0 && scale === null)) return null;
  return { flip: spec.flip, pad: spec.pad_crop, scale, rng };
}

/** Whether data.augment.scale changes a clip: absent and [1, 1] do not (the whole frame, resized to itself). */
export function zooms(scale: readonly [number, number] | undefined): boolean {
  return scale !== undefined && !(scale[0] === 1 && scale[1] === 1);
}

/** The draw of training clip `index` in a frame of height x width. */
export function drawTransform(aug: ClipAugment, index: number, height: number, width: number): ClipTransform {
  const r = aug.rng.fork(index);
  // These three first, as before scale existed: configs without it keep their batches.
  const flip = aug.flip && r.int(2) === 1;
  const dy = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  const dx = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  if (aug.scale === null) return { flip, dy, dx };
  const area = r.uniform(aug.scale[0], aug.scale[1]);
  const ch = Math.max(1, Math.round(height * Math.sqrt(area)));
  const cw = Math.max(1, Math.round(width * Math.sqrt(area)));
  const top = r.int(height - ch + 1);
  const left = r.int(width - cw + 1);
  return { flip, dy, dx, crop: { area, top, left, height: ch, width: cw } };
}

/**
 * Applies `t` in place to the `planes` consecutive planes of height x width values starting at
 * `offset` of `data` (one clip: frames x channels planes). `fill(p)` is the value of a pixel from
 * outside the frame in plane p (0 for 8-bit pixels; for float clips already normalised, the
 * normalised 0 of that plane's channel). `scratch`: height x width float64 values, needed where
 * `t` has a crop (a zoom reads pixels that it has to overwrite; cropScratch); the caller
 * allocates it once for many clips.
 *
 * Mirror and shift in place, without a copy of the plane (docs/PERFORMANCE.md attempt 80): a
 * mirror is the shift by (dy, -dx) followed by reversing each row (mirror(S shifted by -dx) = S'
 * shifted by dx).
 */
export function transformClip(data: Uint8Array | Float32Array, offset: number, planes: number, height: number, width: number, t: ClipTransform, fill: (plane: number) => number, scratch?: Float64Array): void {
  if (t.crop) {
    if (!scratch || scratch.length < t.crop.height * width) throw new Error("BUG: a resized crop needs a float64 scratch of at least crop height x frame width values");
    const rows = bilinearTaps(t.crop.height, height);
    const cols = bilinearTaps(t.crop.width, width);
    for (let p = 0; p < planes; p++) resizeCrop(data, offset + p * height * width, width, t.crop, rows, cols, scratch);
  }
  if (!t.flip && t.dy === 0 && t.dx === 0) return;
  const dx = t.flip ? -t.dx : t.dx;
  for (let p = 0; p < planes; p++) {
    const base = offset + p * height * width;
    shiftPlane(data, base, height, width, t.dy, dx, fill(p));
    if (t.flip) mirrorRows(data, base, height, width);
  }
}

/** The scratch transformClip needs for resized crops in frames of height x width (any crop fits). */
export function cropScratch(height: number, width: number): Float64Array {
  return new Float64Array(height * width);
}

/** Where each of `size` output positions reads a source of `from` positions: the two taps and the second one's weight. */
interface Taps {
  first: Int32Array;
  second: Int32Array;
  weight: Float64Array;
}

/**
 * Bilinear taps with half-pixel centres (align_corners=False) from `from` to `size` >= `from`
 * positions: output i reads source (i + 0.5) from / size - 0.5, clamped below at 0 as PyTorch
 * does, between floor(src) and the next position (the last one where src reaches past it). Kept
 * as the exact fraction ((2i + 1) from - size) / (2 size) so that the weight is exact where it is
 * a short binary fraction, as 1/4 and 1/2 are.
 */
function bilinearTaps(from: number, size: number): Taps {
  const taps = { first: new Int32Array(size), second: new Int32Array(size), weight: new Float64Array(size) };
  const den = 2 * size;
  for (let i = 0; i < size; i++) {
    const num = Math.max(0, (2 * i + 1) * from - size);
    const lo = Math.min(Math.floor(num / den), from - 1);
    taps.first[i] = lo;
    taps.second[i] = Math.min(lo + 1, from - 1);
    taps.weight[i] = lo === from - 1 ? 0 : (num - lo * den) / den;
  }
  return taps;
}

/**
 * The plane at `base` replaced by its `crop` window resized to the plane's size (8-bit: rounded
 * to nearest, an exact .5 up; float32: as computed in float64, rounded once). Separable: each crop
 * row resized to the plane's width into `rows` (float64, ch x W), then each output row a blend of
 * two of those, written straight into the plane, since `rows` holds all that the output needs
 * from it. Each output value is the same float64 expression as the 2 x 2 blend
 * lerp(lerp(a, b, wx), lerp(c, d, wx), wy), only without computing a source row's lerps twice.
 */
function resizeCrop(data: Uint8Array | Float32Array, base: number, width: number, crop: CropWindow, vertical: Taps, horizontal: Taps, rows: Float64Array): void {
  const { first: x0, second: x1, weight: wx } = horizontal;
  const outWidth = x0.length;
  const [cropHeight, cropTop, cropLeft] = [crop.height, crop.top, crop.left];
  for (let y = 0; y < cropHeight; y++) {
    const src = base + (cropTop + y) * width + cropLeft;
    const out = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const a = data[src + x0[x]!]!;
      rows[out + x] = a + wx[x]! * (data[src + x1[x]!]! - a);
    }
  }
  const round = data instanceof Uint8Array;
  const { first: y0, second: y1, weight: wy } = vertical;
  for (let y = 0; y < y0.length; y++) {
    const r0 = y0[y]! * outWidth;
    const r1 = y1[y]! * outWidth;
    const w = wy[y]!;
    const out = base + y * width;
    for (let x = 0; x < outWidth; x++) {
      const top = rows[r0 + x]!;
      const v = top + w * (rows[r1 + x]! - top);
      data[out + x] = round ? Math.floor(v + 0.5) : v;
    }
  }
}

/**
 * Plane[y][x] = plane[y + dy][x + dx] in place, `value` where that lies outside the plane: one
 * copyWithin of the whole plane by dy rows and dx pixels (overlap-safe), which is right inside the
 * columns whose source lies in the frame and brings the neighbouring row's pixels into the |dx|
 * columns at one edge, then fills of what came from outside. Per plane, not per row: a frame's
 * rows are short (32 pixels at 32 x 32), where a native call per row cost more than the copy
 * (docs/PERFORMANCE.md attempt 80).
 */
function shiftPlane(data: Uint8Array | Float32Array, base: number, height: number, width: number, dy: number, dx: number, value: number): void {
  const x0 = Math.max(0, -dx);
  const x1 = Math.min(width, width - dx);
  const y0 = Math.max(0, -dy);
  const y1 = Math.min(height, height - dy);
  const shift = dy * width + dx;
  if (shift !== 0) data.copyWithin(base + y0 * width + x0, base + y0 * width + x0 + shift, base + (y1 - 1) * width + x1 + shift);
  data.fill(value, base, base + y0 * width);
  data.fill(value, base + y1 * width, base + height * width);
  if (dx === 0) return;
  for (let y = y0; y < y1; y++) {
    const row = base + y * width;
    for (let x = 0; x < x0; x++) data[row + x] = value;
    for (let x = x1; x < width; x++) data[row + x] = value;
  }
}

/** Each row of the plane reversed in place (left-right mirror). */
function mirrorRows(data: Uint8Array | Float32Array, base: number, height: number, width: number): void {
  for (let y = 0; y < height; y++) {
    for (let i = base + y * width, j = i + width - 1; i < j; i++, j--) {
      const v = data[i]!;
      data[i] = data[j]!;
      data[j] = v;
    }
  }
}
