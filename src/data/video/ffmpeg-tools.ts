/**
 * Finding ffmpeg and ffprobe. In order: the SIDEWAYS_FFMPEG / SIDEWAYS_FFPROBE environment
 * variables; the static binaries shipped inside the npm packages @ffmpeg-installer/ffmpeg and
 * @ffprobe-installer/ffprobe (per-platform optional dependencies, so `npm ci` needs nothing but
 * the registry); `ffmpeg` / `ffprobe` on PATH. Each candidate must run `-version` successfully.
 */
import { execFile } from "node:child_process";
import { accessSync, chmodSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import { DataError } from "../../errors.js";

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

let found: Promise<FfmpegTools> | null = null;

/** The tools, located once per process; a DataError saying how to get them when absent. */
export function findFfmpegTools(): Promise<FfmpegTools> {
  found ??= locate();
  found.catch(() => { found = null; });
  return found;
}

async function locate(): Promise<FfmpegTools> {
  const ffmpeg = await firstWorking("ffmpeg", process.env.SIDEWAYS_FFMPEG, "@ffmpeg-installer/ffmpeg");
  const ffprobe = await firstWorking("ffprobe", process.env.SIDEWAYS_FFPROBE, "@ffprobe-installer/ffprobe");
  return { ffmpeg, ffprobe };
}

async function firstWorking(tool: string, fromEnv: string | undefined, npmPackage: string): Promise<string> {
  const candidates: string[] = [];
  if (fromEnv) candidates.push(fromEnv);
  const fromNpm = npmBinary(npmPackage);
  if (fromNpm) candidates.push(fromNpm);
  candidates.push(tool);
  const tried: string[] = [];
  for (const candidate of candidates) {
    const problem = await runsVersion(candidate);
    if (problem === null) return candidate;
    tried.push(`${candidate} (${problem})`);
  }
  throw new DataError(
    `video-folder needs ${tool} and none works; tried: ${tried.join("; ")}. ` +
      `Install the npm package ${npmPackage} (ships a static binary), put ${tool} on PATH ` +
      `(Debian/Ubuntu: apt-get install ffmpeg), or set SIDEWAYS_${tool.toUpperCase()} to its path`,
  );
}

function npmBinary(npmPackage: string): string | null {
  try {
    // The installer packages throw a plain string when no binary exists for this platform.
    const { path } = createRequire(import.meta.url)(npmPackage) as { path: string };
    makeExecutable(path);
    return path;
  } catch {
    return null;
  }
}

function runsVersion(binary: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, ["-version"], { timeout: 15_000 }, (err) => resolve(err ? err.message.split("\n")[0]! : null));
  });
}

/**
 * The installer packages' only install script is `chmod u+x` on their binary, and `npm ci` runs
 * no install scripts here (.npmrc ignore-scripts; docs/design/onnxruntime-node.md): do the same.
 * Where that is not allowed (someone else's install) the candidate fails and PATH is tried next.
 */
function makeExecutable(path: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    try {
      chmodSync(path, statSync(path).mode | 0o100);
    } catch {
      // not ours to change: runsVersion reports it
    }
  }
}
