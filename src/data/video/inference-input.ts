/**
 * How a video becomes the `frames` an exported model.onnx was trained on, and which class each
 * logit is: what someone deploying a video-folder run needs besides the pixel scaling, and
 * cannot read off the graph (it holds neither the decode nor the class names).
 */
import { join } from "node:path";
import { resolveUserPath } from "../../util/user-path.js";
import type { VideoFolderDataSpec } from "../data-spec.js";

/** Mirrors decode.ts (fps, scale to cover, centre crop) and video-folder.ts (the evaluation window). */
export function videoFramesRecipe(data: VideoFolderDataSpec, input: { height: number; width: number }): string {
  const [dh, dw] = data.decode_size ?? [input.height, input.width];
  const rate = data.fps === null ? "at the video's own frame rate" : `resampled to ${data.fps} fps (data.fps)`;
  const [top, left] = [Math.floor((dh - input.height) / 2), Math.floor((dw - input.width) / 2)];
  const window = dh === input.height && dw === input.width ? "" : `, then its centre ${input.height}x${input.width} window (from row ${top}, column ${left})`;
  const filters = [...(data.fps === null ? [] : [`fps=${data.fps}`]), `scale=${dw}:${dh}:force_original_aspect_ratio=increase`, `crop=${dw}:${dh}`];
  return `each frame ${rate}, scaled to cover ${dh}x${dw} (height x width, aspect ratio kept) and centre-cropped to it ` +
    `(ffmpeg -vf ${filters.join(",")})${window}, as evaluation took it`;
}

/** The class of logit i, as video-index.ts numbers them. */
export function videoClassOrder(data: VideoFolderDataSpec, baseDir: string): string {
  const folders = `the class folders of ${resolveUserPath(baseDir, data.root)} sorted by name (code-point order, as LC_ALL=C ls)`;
  if (data.split?.format === "ucf101") {
    return `logit i is the class numbered i+1 in ${join(resolveUserPath(baseDir, data.split.dir), "classInd.txt")} (without that file: the i-th, from 0, of ${folders})`;
  }
  return `logit i is the i-th, from 0, of ${folders}`;
}
