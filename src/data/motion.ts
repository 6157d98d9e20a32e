/**
 * Straight-line motion inside a frame, shared by the synthetic sources. An object's top-left
 * corner moves in [0, room] along one axis; frame stride s means s simulation steps per kept frame.
 */
import type { Rng } from "../util/rng.js";

/**
 * Positions of one coordinate at frames 0..frames-1, simulating `stride` steps of `velocity` per
 * frame and reflecting at 0 and `room` when `bounce` is set. Without bounce the caller must have
 * chosen a start that keeps the whole path inside (see `startInside`).
 */
export function path1d(start: number, velocity: number, frames: number, stride: number, room: number, bounce: boolean): number[] {
  const out: number[] = [];
  let x = start;
  let v = velocity;
  for (let t = 0; t < frames; t++) {
    if (t > 0) {
      for (let s = 0; s < stride; s++) {
        x += v;
        if (bounce) {
          if (x < 0) { x = -x; v = -v; }
          if (x > room) { x = 2 * room - x; v = -v; }
        }
      }
    }
    out.push(x);
  }
  return out;
}

/** A uniform start in [0, room] such that start + displacement also lies in [0, room]. */
export function startInside(rng: Rng, displacement: number, room: number): number {
  const lo = Math.max(0, -displacement);
  const hi = Math.min(room, room - displacement);
  if (hi < lo) throw new Error(`BUG: displacement ${displacement} does not fit in room ${room}`);
  return rng.uniform(lo, hi);
}
