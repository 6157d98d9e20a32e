/**
 * Decoding a whole video with ffmpeg into uint8 frames at the model's resolution: optional frame
 * rate resampling (fps filter), scale so the shorter side fits, centre crop, grayscale (gray) or
 * RGB (rgb24). ffmpeg runs as a child process, so decoding never blocks the training thread.
 *
 * A video counts as unreadable when ffmpeg exits non-zero, reports any error (`-v error`; a
 * truncated AVI still exits 0 but reports damaged macroblocks), yields no frame, or yields fewer
 * frames than the container declares (checked with ffprobe when the frame rate is unchanged).
 */
import { execFile, spawn } from "node:child_process";
import { DataError } from "../../errors.js";
import type { FfmpegTools } from "./ffmpeg-tools.js";

export interface DecodeParams {
  height: number;
  width: number;
  channels: 1 | 3;
  /** Output frame rate; null keeps the file's frames. */
  fps: number | null;
  /** Stop after this many frames; null = all. */
  maxFrames: number | null;
}

export interface DecodedVideo {
  frames: number;
  /** [frames, channels, height, width] */
  pixels: Uint8Array;
}

export interface VideoProbe {
  width: number;
  height: number;
  /** Frames the container declares, when it does. */
  declaredFrames: number | null;
  /** Frames per second from r_frame_rate, when known. */
  fps: number | null;
}

/** A video that cannot be read: the message names the file and says how to skip such files. */
export class UnreadableVideoError extends DataError {
  /** Why, without the file name or the hint: what a run that skipped the file records. */
  readonly reason: string;
  constructor(file: string, why: string) {
    super(`${file}: cannot decode video: ${why} (skip such files with data.skip_bad_files: true)`, file, "data.root");
    this.reason = `cannot decode video: ${why}`;
  }
}

/** An UnreadableVideoError naming the file and ffmpeg's complaint. */
export function unreadable(file: string, why: string): UnreadableVideoError {
  return new UnreadableVideoError(file, why);
}

export async function probeVideo(tools: FfmpegTools, file: string): Promise<VideoProbe> {
  const args = ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,nb_frames,r_frame_rate", "-of", "json", file];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(tools.ffprobe, args, { maxBuffer: 1 << 20, timeout: 60_000 }, (err, out, errText) => {
      if (err) reject(unreadable(file, `ffprobe failed: ${firstLines(errText) || err.message}`));
      else resolve(out);
    });
  });
  const stream = (JSON.parse(stdout) as { streams?: Record<string, unknown>[] }).streams?.[0];
  if (stream === undefined) throw unreadable(file, "no video stream");
  const declared = Number(stream.nb_frames);
  const [num, den] = String(stream.r_frame_rate ?? "").split("/").map(Number);
  return {
    width: Number(stream.width),
    height: Number(stream.height),
    declaredFrames: Number.isInteger(declared) && declared > 0 ? declared : null,
    fps: num && den ? num / den : null,
  };
}

export async function decodeVideo(tools: FfmpegTools, file: string, p: DecodeParams): Promise<DecodedVideo> {
  const filters = [
    ...(p.fps !== null ? [`fps=${p.fps}`] : []),
    `scale=${p.width}:${p.height}:force_original_aspect_ratio=increase`,
    `crop=${p.width}:${p.height}`,
  ];
  const args = [
    "-nostdin", "-v", "error", "-i", file, "-an", "-sn",
    "-vf", filters.join(","),
    "-pix_fmt", p.channels === 1 ? "gray" : "rgb24",
    ...(p.maxFrames !== null ? ["-frames:v", String(p.maxFrames)] : []),
    "-f", "rawvideo", "pipe:1",
  ];
  const { code, stdout, stderr } = await run(tools.ffmpeg, args);
  if (code !== 0 || stderr.trim() !== "") {
    throw unreadable(file, `ffmpeg ${code !== 0 ? `exited with status ${code}` : "reported errors"}: ${firstLines(stderr) || "(no message)"}`);
  }
  const frameBytes = p.channels * p.height * p.width;
  const frames = Math.floor(stdout.length / frameBytes);
  if (frames === 0) throw unreadable(file, "ffmpeg produced no frames");
  if (p.fps === null) {
    const probe = await probeVideo(tools, file);
    const expected = probe.declaredFrames === null ? null : Math.min(probe.declaredFrames, p.maxFrames ?? Infinity);
    // One frame of slack: ffmpeg may duplicate or drop a frame at the end to keep timestamps.
    if (expected !== null && frames < expected - 1) {
      throw unreadable(file, `decoded ${frames} frames, the container declares ${probe.declaredFrames} (truncated file?)`);
    }
  }
  return { frames, pixels: p.channels === 1 ? stdout.subarray(0, frames * frameBytes) : rgbToPlanar(stdout, frames, p) };
}

/** Interleaved RGB [F, H, W, 3] to planar [F, 3, H, W]. */
function rgbToPlanar(rgb: Uint8Array, frames: number, p: DecodeParams): Uint8Array {
  const plane = p.height * p.width;
  const out = new Uint8Array(frames * 3 * plane);
  for (let f = 0; f < frames; f++) {
    const base = f * 3 * plane;
    for (let i = 0; i < plane; i++) {
      out[base + i] = rgb[base + 3 * i]!;
      out[base + plane + i] = rgb[base + 3 * i + 1]!;
      out[base + 2 * plane + i] = rgb[base + 3 * i + 2]!;
    }
  }
  return out;
}

function run(binary: string, args: string[]): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? -1, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}

function firstLines(text: string): string {
  return text.trim().split("\n").slice(0, 3).join(" | ");
}
