/**
 * A cheap synthetic source for fast tests: one geometric shape per clip moving in a straight line
 * and bouncing off the edges, class = shape kind. With `classes` = k the first k kinds of
 * SHAPE_KINDS are used. Size, brightness (or colour, with 3 channels), start and velocity are
 * drawn per clip from (seed, train|eval, clip index); positions are sub-pixel, so motion is smooth.
 */
import { DataError } from "../errors.js";
import type { Rng } from "../util/rng.js";
import { generatedClips, type ClipProducer, type ClipShape, type RawClip } from "./clip.js";
import { finiteTrainingSet, type ShapesDataSpec } from "./data-spec.js";
import { path1d } from "./motion.js";

export const SHAPE_KINDS = ["square", "circle", "triangle", "cross", "ring", "diamond"] as const;

/** Inside tests in coordinates relative to the shape's centre, radius r. */
const INSIDE: Record<(typeof SHAPE_KINDS)[number], (dx: number, dy: number, r: number) => boolean> = {
  square: (dx, dy, r) => Math.abs(dx) <= r && Math.abs(dy) <= r,
  circle: (dx, dy, r) => dx * dx + dy * dy <= r * r,
  triangle: (dx, dy, r) => dy >= -r && dy <= r && Math.abs(dx) <= (dy + r) / 2,
  cross: (dx, dy, r) =>
    (Math.abs(dx) <= r / 3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r / 3 && Math.abs(dx) <= r),
  ring: (dx, dy, r) => {
    const d2 = dx * dx + dy * dy;
    return d2 <= r * r && d2 >= 0.3 * r * r;
  },
  diamond: (dx, dy, r) => Math.abs(dx) + Math.abs(dy) <= r,
};

export function createShapes(spec: ShapesDataSpec, shape: ClipShape, classes: number, rng: Rng, evalRng: Rng = rng): ClipProducer {
  if (classes < 2 || classes > SHAPE_KINDS.length) {
    throw new DataError(
      `data.kind: the shapes source has ${SHAPE_KINDS.length} shape kinds (${SHAPE_KINDS.join(", ")}); the model has ${classes} classes (expected 2 to ${SHAPE_KINDS.length})`,
      undefined, "data.kind",
    );
  }
  const side = Math.min(shape.height, shape.width);
  if (side < 8) {
    throw new DataError(`data.frame_size: shapes need frames of at least 8x8, got ${shape.height}x${shape.width}`, undefined, "data.frame_size");
  }
  const description = `shapes (${classes} kinds, ${shape.height}x${shape.width}, T=${shape.frames}, stride ${spec.frame_stride}${spec.shuffle_frames ? ", shuffled frames" : ""})`;
  return { ...generatedClips(description, rng, evalRng, (clipRng) => renderShapeClip(spec, shape, classes, clipRng), finiteTrainingSet(spec)), classNames: shapeClassNames(classes) };
}

/** The class names by label of shapes data for a model of `classes` classes: its first kinds (also export's, source-class-names.ts). */
export const shapeClassNames = (classes: number): string[] => SHAPE_KINDS.slice(0, classes);

function renderShapeClip(spec: ShapesDataSpec, shape: ClipShape, classes: number, rng: Rng): RawClip {
  const { frames, channels, height, width } = shape;
  const label = rng.int(classes);
  const inside = INSIDE[SHAPE_KINDS[label]!];
  const side = Math.min(height, width);
  const radius = rng.uniform(side / 8, side / 4);
  const box = 2 * radius;
  const colour = Array.from({ length: channels }, () => rng.uniform(0.5, 1));
  const angle = rng.uniform(0, 2 * Math.PI);
  const speed = Math.min(rng.uniform(spec.speed[0], spec.speed[1]), side - box);
  const xs = path1d(rng.uniform(0, width - box), speed * Math.cos(angle), frames, spec.frame_stride, width - box, true);
  const ys = path1d(rng.uniform(0, height - box), speed * Math.sin(angle), frames, spec.frame_stride, height - box, true);
  const plane = height * width;
  const pixels = new Uint8Array(frames * channels * plane);
  for (let t = 0; t < frames; t++) {
    const cx = xs[t]! + radius;
    const cy = ys[t]! + radius;
    for (let y = Math.floor(cy - radius); y <= Math.ceil(cy + radius); y++) {
      if (y < 0 || y >= height) continue;
      for (let x = Math.floor(cx - radius); x <= Math.ceil(cx + radius); x++) {
        if (x < 0 || x >= width || !inside(x + 0.5 - cx, y + 0.5 - cy, radius)) continue;
        for (let c = 0; c < channels; c++) pixels[(t * channels + c) * plane + y * width + x] = Math.round(255 * colour[c]!);
      }
    }
  }
  return { pixels, label };
}
