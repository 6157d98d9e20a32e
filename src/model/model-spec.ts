/** Schema of a model file (models/*.yaml), per docs/design/conventions.md. */
import { z } from "zod";

const size = () => z.number().int().positive();

export const LayerSpec = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("conv2d"),
    out_channels: size(),
    kernel: size(),
    stride: size().default(1),
    padding: z.number().int().min(0).default(0),
    bias: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal("relu") }),
  z.strictObject({ type: z.literal("maxpool2d"), kernel: size(), stride: size().optional(), padding: z.number().int().min(0).default(0) }),
  z.strictObject({ type: z.literal("avgpool2d"), kernel: size(), stride: size().optional(), padding: z.number().int().min(0).default(0) }),
  z.strictObject({ type: z.literal("global_avg_pool") }),
  z.strictObject({ type: z.literal("flatten") }),
  z.strictObject({ type: z.literal("linear"), out_features: size(), bias: z.boolean().default(true) }),
]);
export type LayerSpec = z.infer<typeof LayerSpec>;

export const ModelSpec = z.strictObject({
  name: z.string().min(1),
  input: z.strictObject({ channels: size(), height: size(), width: size() }),
  classes: z.number().int().min(2),
  layers: z.array(LayerSpec).min(1),
});
export type ModelSpec = z.infer<typeof ModelSpec>;
