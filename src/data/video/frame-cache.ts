/**
 * Decoded videos cached on disk so that later epochs (and later runs) read frames instead of
 * decoding again. One entry per (file path, mtime, size, decode parameters):
 *   <cacheDir>/video-frames/<sha256 of that key>.u8    raw uint8 frames [F, C, H, W]
 *   <cacheDir>/video-frames/<sha256 of that key>.json  { key, frames, channels, height, width }
 * The .json is written after the .u8 (both whole, by rename), so an entry with a .json is complete.
 * Clips read only the frames they need from the .u8 file.
 */
import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve, join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../results/atomic-write.js";
import { decodeVideo, unreadable, type DecodeParams } from "./decode.js";
import type { FfmpegTools } from "./ffmpeg-tools.js";

const FORMAT = 1;

/**
 * Where decoded videos are cached unless a caller says otherwise: $SIDEWAYS_CACHE_DIR, else
 * $XDG_CACHE_HOME/sideways, else ~/.cache/sideways. Entries are keyed by the video's absolute
 * path, mtime, size and decode parameters, so every experiment file can share them; a folder next
 * to the experiment file would put the cache inside a run folder when a run is trained again from
 * its config.yaml (and decode every video again there).
 */
export function frameCacheRoot(): string {
  return process.env.SIDEWAYS_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "sideways");
}

export interface CachedVideo {
  file: string;
  frames: number;
  /** The raw frame file. */
  dataPath: string;
  frameBytes: number;
}

export class FrameCache {
  /** ffmpeg decodes run by this cache (cache misses). */
  decodes = 0;
  private readonly entries = new Map<string, Promise<CachedVideo>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly dir: string,
    private readonly tools: FfmpegTools,
    private readonly params: DecodeParams,
    private readonly concurrency: number,
  ) {}

  /** The cached entry for `file`, decoding it first if needed (once per process per file). */
  get(file: string): Promise<CachedVideo> {
    const path = resolve(file);
    let entry = this.entries.get(path);
    if (entry === undefined) {
      entry = this.load(path);
      this.entries.set(path, entry);
    }
    return entry;
  }

  /**
   * Frames `indices` (each in [0, frames)) of a cached video, concatenated: [n, C, H, W]. A frame
   * file deleted or cut short since it was found (a scratch purge, a tmp cleaner) is decoded again.
   */
  async readFrames(video: CachedVideo, indices: readonly number[]): Promise<Uint8Array> {
    try {
      return await this.readCached(video, indices);
    } catch (err) {
      if (!(err instanceof DamagedCacheFile)) throw err;
      this.entries.delete(video.file);
      return this.readCached(await this.get(video.file), indices);
    }
  }

  private async readCached(video: CachedVideo, indices: readonly number[]): Promise<Uint8Array> {
    const first = Math.min(...indices);
    const last = Math.max(...indices);
    const span = new Uint8Array((last - first + 1) * video.frameBytes);
    let handle;
    try {
      handle = await open(video.dataPath, "r");
    } catch (err) {
      throw new DamagedCacheFile(`${video.dataPath}: ${(err as Error).message}`);
    }
    try {
      const { bytesRead } = await handle.read(span, 0, span.length, first * video.frameBytes);
      if (bytesRead !== span.length) throw new DamagedCacheFile(`${video.dataPath} is shorter than its index says`);
    } finally {
      await handle.close();
    }
    const out = new Uint8Array(indices.length * video.frameBytes);
    indices.forEach((f, i) => out.set(span.subarray((f - first) * video.frameBytes, (f - first + 1) * video.frameBytes), i * video.frameBytes));
    return out;
  }

  private async load(file: string): Promise<CachedVideo> {
    let info;
    try {
      info = await stat(file);
    } catch (err) {
      throw unreadable(file, (err as Error).message);
    }
    const key = { format: FORMAT, file, mtimeMs: info.mtimeMs, size: info.size, params: this.params };
    const name = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 32);
    const dataPath = join(this.dir, "video-frames", `${name}.u8`);
    const indexPath = join(this.dir, "video-frames", `${name}.json`);
    const { channels, height, width } = this.params;
    const frameBytes = channels * height * width;
    const hit = await readIndex(indexPath, key);
    // An index whose frame file is gone or of another size (deleted or cut short by a cleaner of
    // old large files) is no entry: the video is decoded again.
    if (hit !== null && (await fileSize(dataPath)) === hit * frameBytes) return { file, frames: hit, dataPath, frameBytes };

    const decoded = await this.limited(() => decodeVideo(this.tools, file, this.params));
    this.decodes += 1;
    writeFileAtomic(dataPath, decoded.pixels);
    writeJsonAtomic(indexPath, { key, frames: decoded.frames, channels, height, width });
    return { file, frames: decoded.frames, dataPath, frameBytes };
  }

  /** Runs `task` when fewer than `concurrency` decodes are running. */
  private async limited<T>(task: () => Promise<T>): Promise<T> {
    while (this.running >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** A cache frame file that is missing or shorter than its index says. */
class DamagedCacheFile extends Error {}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** The frame count of a complete entry whose key matches, else null. */
async function readIndex(indexPath: string, key: object): Promise<number | null> {
  try {
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { key?: unknown; frames?: unknown };
    return JSON.stringify(index.key) === JSON.stringify(key) && typeof index.frames === "number" ? index.frames : null;
  } catch {
    return null;
  }
}
