/**
 * `sideways data FILE --out DIR --clips N`: the first N training clips exactly as the trainer
 * would receive them, for inspection in Python or an image viewer:
 *   clips.npy          float32 [N, T, C, H, W] after all preprocessing
 *   labels.npy         int64 [N]
 *   contact-sheet.png  one row per clip (at most 8), one column per frame (at most 16), the
 *                      clip's label (and class name, where the data names its classes) under it
 *   classes.txt        where the data names its classes: line k is label k's name
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { writeFileAtomic } from "../results/atomic-write.js";
import { createDataSource, type DataContext } from "./create-source.js";
import type { DataSpec } from "./data-spec.js";
import { encodeNpy } from "./npy.js";
import { drawText, GLYPH_HEIGHT } from "./pixel-font.js";
import { repeatedClipsNote, type ClipBatch, type ShortVideo, type SkippedFile } from "./source.js";

export const SHEET_MAX_CLIPS = 8;
export const SHEET_MAX_FRAMES = 16;
export const SHEET_GAP = 2;
/** Screen pixels per font pixel in the label under each clip. */
export const SHEET_LABEL_SCALE = 2;
/** Height of the strip under each clip's frames that holds its label. */
export const SHEET_LABEL_HEIGHT = GLYPH_HEIGHT * SHEET_LABEL_SCALE + SHEET_GAP;

/**
 * The files `exportDataSample` may write into `outDir`, in this order; the last, classes.txt, only
 * where the data names its classes. The caller refuses to replace any of them without --force
 * (src/cli/commands/data.ts).
 */
export function sampleFiles(outDir: string): string[] {
  return [join(outDir, "clips.npy"), join(outDir, "labels.npy"), join(outDir, "contact-sheet.png"), join(outDir, CLASSES_FILE)];
}

export const CLASSES_FILE = "classes.txt";

/** Label k's name on line k (0-based, as labels.npy counts), so `open(p).read().splitlines()[label]` names it. */
export function classesText(names: readonly string[]): string {
  return names.map((n) => `${n}\n`).join("");
}

export async function exportDataSample(
  spec: DataSpec,
  ctx: DataContext,
  outDir: string,
  clips: number,
): Promise<{ files: string[]; skipped: readonly SkippedFile[]; short: readonly ShortVideo[]; repeated: string | null; sheetNote: string | null }> {
  if (!Number.isSafeInteger(clips) || clips < 1) throw new Error(`BUG: exportDataSample needs clips >= 1, got ${clips}`);
  const source = await createDataSource({ ...spec, prefetch: 0 }, ctx);
  let batch: ClipBatch;
  let skipped: readonly SkippedFile[];
  let short: readonly ShortVideo[];
  const names = source.classNames;
  const repeated = repeatedClipsNote("--clips", clips, source.trainClips, "the sample");
  try {
    const first = await source.trainBatches(clips).next();
    if (first.done) throw new Error("BUG: training batches ended before the first");
    batch = first.value;
    // With skip_bad_files, clips of a skipped file come from another video: say which were skipped.
    skipped = source.skipped?.() ?? [];
    short = source.shortVideos?.() ?? [];
  } finally {
    await source.close();
  }
  const [clipsFile, labelsFile, sheetFile, classesFile] = sampleFiles(outDir) as [string, string, string, string];
  writeFileAtomic(clipsFile, encodeNpy(batch.clips, batch.dims));
  writeFileAtomic(labelsFile, encodeNpy(BigInt64Array.from(batch.labels, (v) => BigInt(v)), [batch.labels.length]));
  writeFileAtomic(sheetFile, contactSheet(batch, names));
  if (names !== undefined) writeFileAtomic(classesFile, classesText(names));
  // An earlier sample's names (another data set's, here only by --force) must not pass for these labels'.
  else rmSync(classesFile, { force: true });
  const files = names === undefined ? [clipsFile, labelsFile, sheetFile] : [clipsFile, labelsFile, sheetFile, classesFile];
  return { files, skipped, short, repeated, sheetNote: contactSheetNote(batch.dims[0], batch.dims[1]) };
}

/**
 * What the contact sheet leaves out of n clips of t frames, or null where it shows them all: it
 * is capped, so `--clips 16` would otherwise look like a sheet of 16 clips that lost half of them.
 */
export function contactSheetNote(n: number, t: number): string | null {
  const cut: string[] = [];
  if (n > SHEET_MAX_CLIPS) cut.push(`the first ${SHEET_MAX_CLIPS} of the ${n} clips`);
  if (t > SHEET_MAX_FRAMES) cut.push(`the first ${SHEET_MAX_FRAMES} of each clip's ${t} frames`);
  return cut.length === 0 ? null : `contact-sheet.png shows ${cut.join(", ")} (clips.npy holds them all)`;
}

/** The text under a clip of `label` on the contact sheet: "3: walk", or "3" where the classes have no names. */
export function sheetLabel(label: number, names: readonly string[] | undefined): string {
  const name = names?.[label];
  return name === undefined ? String(label) : `${label}: ${name}`;
}

/**
 * A PNG grid of frames, each clip's label (sheetLabel) under its row, so clips can be checked
 * against labels at a glance. Values map linearly from [min(0, lowest), max(1, highest)] to
 * 0..255, so unnormalised clips show as they are and normalised ones are stretched to fit. Three
 * channels show as RGB; any other count shows channel 0 in gray.
 */
export function contactSheet(batch: ClipBatch, names?: readonly string[]): Uint8Array {
  const [n, t, c, h, w] = batch.dims;
  const rows = Math.min(n, SHEET_MAX_CLIPS);
  const cols = Math.min(t, SHEET_MAX_FRAMES);
  const rowHeight = h + SHEET_LABEL_HEIGHT;
  const png = new PNG({ width: cols * w + (cols + 1) * SHEET_GAP, height: rows * rowHeight + (rows + 1) * SHEET_GAP });
  png.data.fill(255);
  let lo = 0;
  let hi = 1;
  for (const v of batch.clips) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const toByte = (v: number) => Math.round(((v - lo) / (hi - lo)) * 255);
  const plane = h * w;
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < cols; f++) {
      const frame = (r * t + f) * c * plane;
      const left = SHEET_GAP + f * (w + SHEET_GAP);
      const top = SHEET_GAP + r * (rowHeight + SHEET_GAP);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = y * w + x;
          const at = ((top + y) * png.width + left + x) * 4;
          const gray = toByte(batch.clips[frame + i]!);
          png.data[at] = c === 3 ? toByte(batch.clips[frame + i]!) : gray;
          png.data[at + 1] = c === 3 ? toByte(batch.clips[frame + plane + i]!) : gray;
          png.data[at + 2] = c === 3 ? toByte(batch.clips[frame + 2 * plane + i]!) : gray;
          png.data[at + 3] = 255;
        }
      }
    }
    const labelTop = SHEET_GAP + r * (rowHeight + SHEET_GAP) + h + SHEET_GAP;
    drawText(png.data, png.width, sheetLabel(batch.labels[r]!, names), SHEET_GAP, labelTop, SHEET_LABEL_SCALE, png.width - SHEET_GAP);
  }
  return PNG.sync.write(png);
}
