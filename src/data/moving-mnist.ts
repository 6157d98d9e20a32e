/**
 * Moving MNIST clips from real MNIST digits (after Srivastava et al., 2015): `digits` digits
 * fly in straight lines across a black frame, bouncing off the edges.
 *
 * Labels:
 * - task `digit`: the class of the first digit. The first digit is drawn at full brightness and
 *   the others at `distractor_intensity`, so with several digits the labelled one is visible.
 * - task `direction`: the direction bucket of the first digit's motion, bucket b covering angles
 *   around b * 360/directions degrees (image axes: x right, y down); the angle is drawn within
 *   the middle half of the bucket. The first digit's path is kept inside the frame so it never
 *   bounces and the direction holds for the whole clip; a single frame cannot tell it.
 *
 * Every clip is a pure function of (seed, train|eval, clip index), the seed of evaluation clips
 * being data.eval_seed where given; evaluation clips use held-out digits (see mnist-digits.ts).
 * Overlapping digits combine by maximum.
 */
import { DataError } from "../errors.js";
import type { Rng } from "../util/rng.js";
import { generatedClips, type ClipProducer, type ClipShape, type RawClip } from "./clip.js";
import { finiteTrainingSet, type MovingMnistDataSpec } from "./data-spec.js";
import { loadMnistDigits, MNIST_SIDE, resizeSquare, type MnistPools } from "./mnist-digits.js";
import { path1d, startInside } from "./motion.js";
import { count } from "../util/count.js";

const KEY = "data";

/** Checks the spec against the model and returns the producer. */
export async function createMovingMnist(
  spec: MovingMnistDataSpec,
  shape: ClipShape,
  classes: number,
  rng: Rng,
  evalRng: Rng = rng,
): Promise<ClipProducer> {
  const { height, width, frames } = shape;
  const digitSize = spec.digit_size ?? Math.min(MNIST_SIDE, Math.floor(Math.min(height, width) / 2));
  const roomX = width - digitSize;
  const roomY = height - digitSize;
  if (roomX < 1 || roomY < 1) {
    throw new DataError(
      `${KEY}.digit_size: ${digitSize}-pixel digits leave no room to move in ${height}x${width} frames (expected a digit smaller than the frame)`,
      undefined, `${KEY}.digit_size`,
    );
  }
  const expectedClasses = spec.task === "digit" ? 10 : spec.directions;
  if (classes !== expectedClasses) {
    throw new DataError(
      `${KEY}.task: moving-mnist task ${spec.task} has ${expectedClasses} classes${spec.task === "direction" ? " (data.directions)" : ""}, the model has ${classes}`,
      undefined, `${KEY}.task`,
    );
  }
  const [, maxSpeed] = spec.speed;
  if (spec.task === "direction" && (maxSpeed === 0 || frames < 2)) {
    // The label is the labelled digit's direction of motion: without motion, or in one frame, no
    // clip shows it, and training would fit noise.
    const [key, what] = maxSpeed === 0 ? ["speed", `speed [${spec.speed.join(", ")}] never moves the digits`] : ["clip_length", "a 1-frame clip cannot show motion"];
    throw new DataError(`${KEY}.${key}: task direction labels the direction of motion, but ${what}; expected a max speed above 0 and clip_length >= 2`, undefined, `${KEY}.${key}`);
  }
  const room = Math.min(roomX, roomY);
  const displacement = maxSpeed * (frames - 1) * spec.frame_stride;
  if ((spec.task === "direction" || !spec.bounce) && displacement > room) {
    throw new DataError(
      `${KEY}.speed: ${spec.task === "direction" ? "task direction" : "bounce: false"} needs every path to fit in the frame: ` +
        `max speed ${maxSpeed} px x ${frames - 1} frames x stride ${spec.frame_stride} = ${displacement} px, but only ${room} px are free ` +
        `(lower data.speed, clip_length or frame_stride, or use larger frames)`,
      undefined, `${KEY}.speed`,
    );
  }
  if (maxSpeed > room) {
    throw new DataError(`${KEY}.speed: max speed ${maxSpeed} px exceeds the ${room} px a digit can move in the frame`, undefined, `${KEY}.speed`);
  }
  const pools = await loadMnistDigits();
  const description =
    `moving-mnist (${spec.task}, ${count(spec.digits, "digit")}, ${height}x${width}, ` +
    `T=${frames}, stride ${spec.frame_stride}${spec.shuffle_frames ? ", shuffled frames" : ""})`;
  const clips = generatedClips(description, rng, evalRng, (clipRng, stream) => renderClip(spec, shape, digitSize, pools, clipRng, stream), finiteTrainingSet(spec));
  // Task digit's labels are the digits; task direction's are buckets of angle, without names.
  return spec.task === "digit" ? { ...clips, classNames: DIGIT_CLASS_NAMES } : clips;
}

/** Task digit's class names by label: label d is the digit d (also export's, source-class-names.ts). */
export const DIGIT_CLASS_NAMES: readonly string[] = Array.from({ length: 10 }, (_, d) => String(d));

function renderClip(
  spec: MovingMnistDataSpec,
  shape: ClipShape,
  digitSize: number,
  pools: MnistPools,
  rng: Rng,
  stream: "train" | "eval",
): RawClip {
  const { frames, channels, height, width } = shape;
  const roomX = width - digitSize;
  const roomY = height - digitSize;
  const steps = (frames - 1) * spec.frame_stride;
  const plane = height * width;
  const pixels = new Uint8Array(frames * channels * plane);
  let label = 0;
  for (let d = 0; d < spec.digits; d++) {
    const digitClass = rng.int(10);
    const pool = stream === "train" ? pools.train[digitClass]! : pools.eval[digitClass]!;
    const image = zeroBordered(resizeSquare(pool[rng.int(pool.length)]!, MNIST_SIDE, digitSize), digitSize);
    const isLabelled = d === 0;
    let angle: number;
    if (isLabelled && spec.task === "direction") {
      const bucket = rng.int(spec.directions);
      angle = (bucket + rng.uniform(-0.25, 0.25)) * ((2 * Math.PI) / spec.directions);
      label = bucket;
    } else {
      angle = rng.uniform(0, 2 * Math.PI);
      if (isLabelled) label = digitClass;
    }
    const speed = rng.uniform(spec.speed[0], spec.speed[1]);
    const vx = speed * Math.cos(angle);
    const vy = speed * Math.sin(angle);
    const keepInside = !spec.bounce || (isLabelled && spec.task === "direction");
    const x0 = keepInside ? startInside(rng, vx * steps, roomX) : rng.uniform(0, roomX);
    const y0 = keepInside ? startInside(rng, vy * steps, roomY) : rng.uniform(0, roomY);
    const xs = path1d(x0, vx, frames, spec.frame_stride, roomX, !keepInside);
    const ys = path1d(y0, vy, frames, spec.frame_stride, roomY, !keepInside);
    const intensity = isLabelled ? 1 : spec.distractor_intensity;
    for (let t = 0; t < frames; t++) placeSubpixel(pixels, t, shape, image, digitSize, xs[t]!, ys[t]!, intensity);
  }
  return { pixels, label };
}

/** A size x size image inside a border of zeros one pixel wide: [size + 2, size + 2]. */
function zeroBordered(image: Uint8Array, size: number): Uint8Array {
  const stride = size + 2;
  const out = new Uint8Array(stride * stride);
  for (let v = 0; v < size; v++) out.set(image.subarray(v * size, (v + 1) * size), (v + 1) * stride + 1);
  return out;
}

/**
 * Draws the digit into frame t, shifted by the fractional part of (x, y) with bilinear weights,
 * on a (size+1)^2 patch whose top-left pixel is (floor(x), floor(y)): sub-pixel motion keeps slow
 * digits smooth (integer rounding would make them jump a whole pixel every few frames). The
 * patch's last row and column carry weight only when the position is fractional, so nothing
 * leaves the frame. Overlapping digits combine by maximum. `bordered` is the digit inside a zero
 * border (zeroBordered), so every tap is a plain load: this is the generator's inner loop.
 */
function placeSubpixel(pixels: Uint8Array, t: number, shape: ClipShape, bordered: Uint8Array, size: number, x: number, y: number, intensity: number): void {
  const { channels, height, width } = shape;
  const plane = height * width;
  const left = Math.floor(x);
  const top = Math.floor(y);
  const fx = x - left;
  const fy = y - top;
  // The four taps' weights, each the product the bilinear formula multiplies its tap by.
  const w00 = (1 - fx) * (1 - fy);
  const w01 = fx * (1 - fy);
  const w10 = (1 - fx) * fy;
  const w11 = fx * fy;
  const extent = size + 1;
  const stride = size + 2;
  const rows = Math.min(extent, height - top);
  const columns = Math.min(extent, width - left);
  for (let c = 0; c < channels; c++) {
    const frame = (t * channels + c) * plane + top * width + left;
    for (let v = 0; v < rows; v++) {
      const below = (v + 1) * stride; // taps at rows v and v - 1 of the digit
      const above = v * stride;
      const out = frame + v * width;
      for (let u = 0; u < columns; u++) {
        const tap00 = bordered[below + u + 1]!;
        const tap01 = bordered[below + u]!;
        const tap10 = bordered[above + u + 1]!;
        const tap11 = bordered[above + u]!;
        if ((tap00 | tap01 | tap10 | tap11) === 0) continue; // black: level 0 never wins the maximum (most of the patch)
        const value = w00 * tap00 + w01 * tap01 + w10 * tap10 + w11 * tap11;
        const level = Math.round(value * intensity);
        if (level > pixels[out + u]!) pixels[out + u] = level;
      }
    }
  }
}
