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
 * normalised 0 of that plane's channel). `scratch` holds one plane.
 */
export function transformClip<A extends Uint8Array | Float32Array>(
  data: A,
  offset: number,
  planes: number,
  height: number,
  width: number,
  t: ClipTransform,
  fill: (plane: number) => number,
  scratch: A,
): void {
  if (!t.flip && t.dy === 0 && t.dx === 0) return;
  const size = height * width;
  // The output columns x whose source column x + dx lies inside the frame, and the rows likewise.
  const x0 = Math.max(0, -t.dx);
  const x1 = Math.min(width, width - t.dx);
  const y0 = Math.max(0, -t.dy);
  const y1 = Math.min(height, height - t.dy);
  for (let p = 0; p < planes; p++) {
    const base = offset + p * size;
    scratch.set(data.subarray(base, base + size));
    data.fill(fill(p), base, base + size);
    for (let y = y0; y < y1; y++) {
      const src = (y + t.dy) * width;
      const dst = base + y * width;
      if (t.flip) {
        for (let x = x0; x < x1; x++) data[dst + x] = scratch[src + width - 1 - (x + t.dx)]!;
      } else {
        data.set(scratch.subarray(src + x0 + t.dx, src + x1 + t.dx), dst + x0);
      }
    }
  }
}
