/**
 * Training-clip augmentation (`data.augment`): each training clip is mirrored left-right with
 * probability 1/2 and shifted by a random (dy, dx) in [-pad, pad]^2, the same draw for every
 * frame of the clip, so the clip stays as smooth in time as it was (Sideways' premise, the
 * smoothness the paper's frame_stride and shuffle_frames knobs vary). Evaluation clips are never
 * augmented.
 *
 * Output pixel (y, x) of a frame plane is S'[y + dy][x + dx], where S' is the plane mirrored when
 * the clip is flipped (S'[y][x] = S[y][W-1-x]); a position outside the frame is a 0 pixel before
 * normalisation (black), as torchvision's RandomCrop(size, padding=pad) followed by
 * RandomHorizontalFlip draws it. The draw depends on the seed and the clip's index in the run
 * only, so a batch is the same with or without data workers and after a resume.
 *
 * Written here rather than taken from a package: the clips are planes in one flat buffer (8-bit
 * or float32) that must be transformed in place, clip by clip, with a draw shared by every frame;
 * image-augmentation packages work on one decoded image at a time.
 */
import type { Rng } from "../util/rng.js";
import type { AugmentSpec } from "./data-spec.js";

export interface ClipAugment {
  flip: boolean;
  /** Largest shift in pixels (data.augment.pad_crop). */
  pad: number;
  /** Root of the per-clip draws (one fork per training clip index). */
  rng: Rng;
}

/** One clip's draw: mirrored or not, and its shift. */
export interface ClipTransform {
  flip: boolean;
  dy: number;
  dx: number;
}

/** The augmentation a spec asks for, or null where it asks for none. */
export function clipAugment(spec: AugmentSpec | undefined, rng: Rng): ClipAugment | null {
  if (spec === undefined || (!spec.flip && spec.pad_crop === 0)) return null;
  return { flip: spec.flip, pad: spec.pad_crop, rng };
}

/** The draw of training clip `index`. */
export function drawTransform(aug: ClipAugment, index: number): ClipTransform {
  const r = aug.rng.fork(index);
  const flip = aug.flip && r.int(2) === 1;
  const dy = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  const dx = aug.pad > 0 ? r.int(2 * aug.pad + 1) - aug.pad : 0;
  return { flip, dy, dx };
}

/**
 * Applies `t` in place to the `planes` consecutive planes of height x width values starting at
 * `offset` of `data` (one clip: frames x channels planes). `fill(p)` is the value of a pixel from
 * outside the frame in plane p (0 for 8-bit pixels; for float clips already normalised, the
 * normalised 0 of that plane's channel).
 *
 * In place, without a copy of the plane (docs/PERFORMANCE.md attempt 80): a mirror is the shift by
 * (dy, -dx) followed by reversing each row (mirror(S shifted by -dx) = S' shifted by dx).
 */
export function transformClip(data: Uint8Array | Float32Array, offset: number, planes: number, height: number, width: number, t: ClipTransform, fill: (plane: number) => number): void {
  if (!t.flip && t.dy === 0 && t.dx === 0) return;
  const dx = t.flip ? -t.dx : t.dx;
  for (let p = 0; p < planes; p++) {
    const base = offset + p * height * width;
    shiftPlane(data, base, height, width, t.dy, dx, fill(p));
    if (t.flip) mirrorRows(data, base, height, width);
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
