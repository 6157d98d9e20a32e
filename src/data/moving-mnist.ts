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
import type { ClipProducer, ClipShape, RawClip } from "./clip.js";
import type { MovingMnistDataSpec } from "./data-spec.js";
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
  const make = (stream: "train" | "eval", index: number) =>
    renderClip(spec, shape, digitSize, pools, (stream === "eval" ? evalRng : rng).fork(stream).fork(index), stream);
  return {
    description,
    trainClip: async (index) => make("train", index),
    evalCount: (requested) => requested,
    evalClip: async (index) => make("eval", index),
    skippedFiles: () => [],
    evalIsTrain: false,
    uint8Pixels: true,
    synchronous: true,
    close: async () => undefined,
  };
}

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
    const image = resizeSquare(pool[rng.int(pool.length)]!, MNIST_SIDE, digitSize);
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
    for (let t = 0; t < frames; t++) {
      const sheet = placeSubpixel(image, digitSize, xs[t]!, ys[t]!, intensity);
      const left = Math.floor(xs[t]!);
      const top = Math.floor(ys[t]!);
      const extent = digitSize + 1;
      for (let c = 0; c < channels; c++) {
        const base = (t * channels + c) * plane;
        for (let y = 0; y < extent && top + y < height; y++) {
          for (let x = 0; x < extent && left + x < width; x++) {
            const v = sheet[y * extent + x]!;
            const at = base + (top + y) * width + left + x;
            if (v > pixels[at]!) pixels[at] = v;
          }
        }
      }
    }
  }
  return { pixels, label };
}

/**
 * The digit shifted by the fractional part of (x, y) with bilinear weights, on a (size+1)^2
 * patch whose top-left pixel is (floor(x), floor(y)): sub-pixel motion keeps slow digits smooth
 * (integer rounding would make them jump a whole pixel every few frames). The patch's last row
 * and column carry weight only when the position is fractional, so nothing leaves the frame.
 */
function placeSubpixel(image: Uint8Array, size: number, x: number, y: number, intensity: number): Uint8Array {
  const fx = x - Math.floor(x);
  const fy = y - Math.floor(y);
  const extent = size + 1;
  const out = new Uint8Array(extent * extent);
  const at = (u: number, v: number) => (u >= 0 && v >= 0 && u < size && v < size ? image[v * size + u]! : 0);
  for (let v = 0; v < extent; v++) {
    for (let u = 0; u < extent; u++) {
      const value =
        (1 - fx) * (1 - fy) * at(u, v) + fx * (1 - fy) * at(u - 1, v) + (1 - fx) * fy * at(u, v - 1) + fx * fy * at(u - 1, v - 1);
      out[v * extent + u] = Math.round(value * intensity);
    }
  }
  return out;
}
