/**
 * What a trainer needs from any data source. Clips are float32 [B, T, C, H, W] (already
 * preprocessed: stride, resize, normalisation, frame shuffling applied), labels int32 [B].
 */
export interface ClipBatch {
  /** Read-only: on a batch of 8-bit clips a getter that makes them on first read (src/data/clip.ts). */
  readonly clips: Float32Array;
  labels: Int32Array;
  /** [B, T, C, H, W] */
  dims: [number, number, number, number, number];
  /** The same clips as the 8-bit pixels they came from, where the source has them (DataSource.pixelClips). */
  pixels?: ClipPixels;
  /**
   * Where the source can reuse the batch's memory (a training batch of 8-bit clips): hands it back
   * for a later batch. The caller reads the batch no more: its clips and pixels then throw, and a
   * reference to its pixels kept elsewhere (a spread copy shares them) sees a later batch's.
   * Optional to call: a batch not released is garbage collected. Not enumerable, so a spread or a
   * structured clone of the batch leaves it behind.
   */
  release?(): void;
}

/**
 * A batch's clips as 8-bit pixels: clips[i] = fround(fround(data[i] * scale[c]) + shift[c]) for
 * element i of channel c, exactly (float32 multiply, then float32 add: what a GPU graph computes
 * from them, docs/GPU.md "Clips as 8-bit pixels"). A quarter of the float clips' bytes to upload.
 */
export interface ClipPixels {
  /** [B, T, C, H, W], the frames in the batch's order (shuffled where the clips are). */
  data: Uint8Array;
  /** Per channel [C]: 1 / (255 * std). */
  scale: Float32Array;
  /** Per channel [C]: -mean / std. */
  shift: Float32Array;
}

export interface DataSource {
  /** Short human description for logs, e.g. "moving-mnist (digit, 2 digits, 64x64)". */
  readonly description: string;
  readonly classes: number;
  /** Per-clip shape [T, C, H, W]. */
  readonly clipShape: [number, number, number, number];
  /**
   * Training batches, endless, deterministic from the experiment seed. The loader may prepare
   * the next batch while the caller trains on the current one. Batch k depends only on the seed
   * and k, so a resumed run starts at `startBatch` and sees the batches it would have seen.
   */
  trainBatches(batchSize: number, startBatch?: number): AsyncIterator<ClipBatch>;
  /** The fixed evaluation set (disjoint from training where the source allows), in batches. */
  evalBatches(clips: number, batchSize: number): AsyncIterable<ClipBatch>;
  /** How many clips evalBatches(clips) gives: fewer than asked when the evaluation set is smaller. */
  evalCount?(clips: number): number;
  /** A note for a run evaluating `clips` clips (ClipProducer.evalNote), or null. */
  evalNote?(clips: number): string | null;
  /** Where evaluation clips come several to a video: the video of clip `index` of `count` (ClipProducer.evalVideo). */
  readonly evalVideo?: (index: number, count: number) => number;
  /** The name of each class by label, where the source knows them (ClipProducer.classNames). */
  readonly classNames?: readonly string[];
  /** What a run should be told about the data as read (ClipProducer.notes); absent: nothing. */
  readonly notes?: readonly string[];
  close(): Promise<void>;
  /** Loader counters so far (optional: test doubles may leave it out). */
  stats?(): DataSourceStats;
  /** Files skipped as unreadable so far, with why (video-folder with skip_bad_files). */
  skipped?(): readonly SkippedFile[];
  /** Videos read so far that are shorter than a clip's span (their clips end in copies of their last frame). */
  shortVideos?(): readonly ShortVideo[];
  /** True when evaluation uses the training clips: results say so (summary.json, eval.csv). */
  readonly evalIsTrain?: boolean;
  /** How many distinct training clips there are, where a batch of more repeats some (npy). */
  readonly trainClips?: number;
  /** True when every training batch carries its clips as 8-bit pixels too (ClipBatch.pixels). */
  readonly pixelClips?: boolean;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

/** A video with fewer frames than a clip spans, (clip_length - 1) x frame_stride + 1 (after fps resampling). */
export interface ShortVideo {
  file: string;
  frames: number;
  span: number;
}

/**
 * What a run (for train.batch_size) and `sideways data` (for --clips) say when one batch of `size`
 * clips takes more than the source's `trainClips` distinct ones, or null: the batch goes on into
 * the next epoch's order, so it holds some clips twice.
 */
export function repeatedClipsNote(what: string, size: number, trainClips: number | undefined, batch = "each batch"): string | null {
  if (trainClips === undefined || size <= trainClips) return null;
  return `${what} ${size} is more than the ${trainClips} training clips: ${batch} holds some clips more than once`;
}

/** What a run and `sideways data` say of a short video. */
export function shortVideoNote(v: ShortVideo): string {
  return `${v.file} has ${v.frames} frames, fewer than a clip spans (${v.span}): its clips end in copies of its last frame`;
}

export interface DataSourceStats {
  /** Seconds `next()` of the training iterator spent waiting for a batch not yet prepared. */
  waitS: number;
  /**
   * Seconds the calling thread has spent on training data: waitS, plus the time it spent making
   * batches outside those waits (the prefetcher makes them on this thread between the consumer's
   * awaits: without data workers, the clips themselves; always their assembly). The trainer's
   * data_wait_s is its growth over a step: what the step's thread was busy with besides training,
   * an upper bound on what data workers can save (with stages or replicas on worker threads, the
   * making overlaps their compute). Not in it: the float clips an 8-bit batch makes when first read
   * (inside the step, where the host path reads them), and a video-folder's frame conversion after
   * its reads.
   */
  dataS: number;
  /** Training batches handed out. */
  batches: number;
  /** Files skipped as unreadable (video-folder with skip_bad_files). */
  skippedFiles: number;
}
