/** Schema of a model file (models/*.yaml), per docs/design/conventions.md. */
import { z } from "zod";

const size = () => z.number().int().positive();

/**
 * gelu's `approximate`, PyTorch's argument: absent and `none` are the exact form, and `none` is read
 * as absent, so that the resolved model (config.yaml, the config hash) is the same whether a file
 * spells out the default or not, and models written before the key keep their run ids.
 */
const geluApproximate = () =>
  z
    .enum(["none", "tanh"])
    .transform((v) => (v === "tanh" ? v : undefined))
    .optional();

/** Layer kinds that may also sit inside a residual unit (every kind but residual itself). */
const PLAIN_LAYERS = [
  z.strictObject({
    type: z.literal("conv2d"),
    out_channels: size(),
    kernel: size(),
    stride: size().default(1),
    padding: z.number().int().min(0).default(0),
    bias: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal("relu") }),
  // PyTorch's LeakyReLU: y = x for x > 0, slope * x otherwise (negative_slope, here at least 0).
  z.strictObject({ type: z.literal("leaky_relu"), slope: z.number().min(0).default(0.01) }),
  // PyTorch's SiLU: y = x * sigmoid(x); and GELU: approximate none (PyTorch's default) is
  // y = x * Phi(x), Phi by erf; tanh its tanh approximation (layers/gelu.ts).
  z.strictObject({ type: z.literal("silu") }),
  z.strictObject({ type: z.literal("gelu"), approximate: geluApproximate() }),
  z.strictObject({ type: z.literal("maxpool2d"), kernel: size(), stride: size().optional(), padding: z.number().int().min(0).default(0) }),
  z.strictObject({ type: z.literal("avgpool2d"), kernel: size(), stride: size().optional(), padding: z.number().int().min(0).default(0) }),
  z.strictObject({ type: z.literal("global_avg_pool") }),
  z.strictObject({ type: z.literal("flatten") }),
  z.strictObject({ type: z.literal("linear"), out_features: size(), bias: z.boolean().default(true) }),
  // PyTorch's BatchNorm2d (affine, track_running_stats); statistics per frame (layers/batch-norm.ts).
  z.strictObject({ type: z.literal("batch_norm"), momentum: z.number().gt(0).max(1).default(0.1), eps: z.number().positive().default(1e-5) }),
  z.strictObject({ type: z.literal("group_norm"), groups: size(), eps: z.number().positive().default(1e-5) }),
] as const;

export const InnerLayerSpec = z.discriminatedUnion("type", [...PLAIN_LAYERS]);
export type InnerLayerSpec = z.infer<typeof InnerLayerSpec>;

export const LayerSpec = z.discriminatedUnion("type", [
  ...PLAIN_LAYERS,
  // output = layers(x) + shortcut(x); shortcut conv: 1x1 with the inner stride and out channels;
  // a list: those layers (torchvision's downsample: a bias-free 1x1 conv and a batch_norm).
  z.strictObject({
    type: z.literal("residual"),
    layers: z.array(InnerLayerSpec).min(1),
    shortcut: z.union([z.enum(["identity", "conv"]), z.array(InnerLayerSpec).min(1)]).default("identity"),
  }),
]);
export type LayerSpec = z.infer<typeof LayerSpec>;

export const ModelSpec = z.strictObject({
  name: z.string().min(1),
  input: z.strictObject({ channels: size(), height: size(), width: size() }),
  classes: z.number().int().min(2),
  layers: z.array(LayerSpec).min(1),
});
export type ModelSpec = z.infer<typeof ModelSpec>;
