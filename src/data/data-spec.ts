/**
 * The `data:` section of an experiment file. Owned by the data sources (src/data/); the experiment
 * schema (src/spec/experiment-spec.ts) embeds it. Keys common to every kind come first.
 */
import { z } from "zod";

const common = {
  clip_length: z.number().int().min(1).max(4096).default(16),
  frame_stride: z.number().int().min(1).max(1024).default(1),
  shuffle_frames: z.boolean().default(false),
  shuffle: z.boolean().default(true),
};

export const NpyDataSpec = z.strictObject({
  kind: z.literal("npy"),
  clips: z.string().min(1),
  labels: z.string().min(1),
  /** Optional held-out clips for evaluation; without them evaluation uses the training clips. */
  eval_clips: z.string().min(1).optional(),
  eval_labels: z.string().min(1).optional(),
  ...common,
});

export const ShapesDataSpec = z.strictObject({
  kind: z.literal("shapes"),
  ...common,
});

export const MovingMnistDataSpec = z.strictObject({
  kind: z.literal("moving-mnist"),
  ...common,
});

export const VideoFolderDataSpec = z.strictObject({
  kind: z.literal("video-folder"),
  root: z.string().min(1),
  ...common,
});

export const DataSpec = z.discriminatedUnion("kind", [
  MovingMnistDataSpec,
  ShapesDataSpec,
  NpyDataSpec,
  VideoFolderDataSpec,
]);
export type DataSpec = z.infer<typeof DataSpec>;
