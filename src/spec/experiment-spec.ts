/**
 * The experiment file schema: the single source of truth for keys, types, ranges and defaults.
 * Stable core keys are fixed by docs/design/conventions.md; the schema may only grow.
 */
import { z } from "zod";
import { DataSpec } from "../data/data-spec.js";
import { ModelSpec } from "../model/model-spec.js";
import { METHOD_NAMES, RULES } from "../schedule/registry.js";
import { SweepSpec } from "./sweep-spec.js";

const finite = () => z.number().finite();
/** One GPU's index (runtime.device_id). */
const GPU_INDEX = z.number().int().min(0);

export const OptimizerSpec = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("sgd"),
    lr: finite().positive().default(0.01),
    momentum: finite().min(0).max(1).default(0),
    nesterov: z.boolean().default(false),
    weight_decay: finite().min(0).default(0),
  }),
  z.strictObject({
    kind: z.literal("adam"),
    lr: finite().positive().default(0.001),
    betas: z.tuple([finite().min(0).lt(1), finite().min(0).lt(1)]).describe("[beta1, beta2]").default([0.9, 0.999]),
    eps: finite().positive().default(1e-8),
    weight_decay: finite().min(0).default(0),
  }),
  // torch.optim.AdamW: Adam with decoupled weight decay (p scaled by 1 - lr * weight_decay before
  // the update, not L2 in the gradient), with torch's defaults, weight_decay 0.01 among them.
  z.strictObject({
    kind: z.literal("adamw"),
    lr: finite().positive().default(0.001),
    betas: z.tuple([finite().min(0).lt(1), finite().min(0).lt(1)]).describe("[beta1, beta2]").default([0.9, 0.999]),
    eps: finite().positive().default(1e-8),
    weight_decay: finite().min(0).default(0.01),
  }),
]);
export type OptimizerSpec = z.infer<typeof OptimizerSpec>;

export const ScheduleSpec = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("constant"), warmup_steps: z.number().int().min(0).default(0) }),
  z.strictObject({
    kind: z.literal("step"),
    warmup_steps: z.number().int().min(0).default(0),
    step_size: z.number().int().min(1),
    gamma: finite().positive().default(0.1),
  }),
  z.strictObject({
    kind: z.literal("cosine"),
    warmup_steps: z.number().int().min(0).default(0),
    min_lr: finite().min(0).default(0),
  }),
  z.strictObject({
    kind: z.literal("multistep"),
    warmup_steps: z.number().int().min(0).default(0),
    // Updates after warm-up; whether each can take effect needs train.steps (ExperimentSpec below).
    milestones: z
      .array(z.number().int().min(1))
      .min(1)
      .superRefine((ms, ctx) => {
        const at = ms.findIndex((m, i) => i > 0 && m <= ms[i - 1]);
        if (at > 0) ctx.addIssue({ code: "custom", message: `expected strictly increasing milestones, each above the one before (${ms[at]} follows ${ms[at - 1]})` });
      })
      // What a value of the wrong kind, or an empty list, is told (src/spec/spec-issues.ts).
      .describe("a non-empty list of strictly increasing integers >= 1 (updates after warm-up)"),
    gamma: finite().positive().default(0.1),
  }),
  z.strictObject({
    kind: z.literal("linear"),
    warmup_steps: z.number().int().min(0).default(0),
    end_lr: finite().min(0).default(0),
  }),
]);
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

export const TrainSpec = z.strictObject({
  /** The update rule: src/schedule/registry.ts; `sideways schedule FILE` prints its table. */
  method: z.enum(METHOD_NAMES).default("sideways"),
  batch_size: z.number().int().min(1).max(65536).default(8),
  steps: z.number().int().min(1).default(500),
  optimizer: OptimizerSpec.default({ kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0 }),
  schedule: ScheduleSpec.default({ kind: "constant", warmup_steps: 0 }),
  init_checkpoint: z.string().min(1).nullable().default(null),
  /**
   * Write resume.safetensors (weights + optimizer state) every N updates, and on Ctrl-C; running
   * the same config again resumes from it. 0: only on Ctrl-C.
   */
  checkpoint_every: z.number().int().min(0).default(250),
  /**
   * BP: frames of every clip per forward/backward pass. 1 = frame by frame; all = the whole clip
   * batch at once; auto = passes whose largest layer output is about 1 MiB, 16-128 rows (frames x
   * clips; train/bp-stage.ts AUTO_PASS_BYTES). Same gradient up to float32
   * rounding (sideways.md); larger passes make fewer, larger onnxruntime calls and keep more
   * activations in memory.
   */
  bp_frames_per_pass: z.union([z.number().int().min(1), z.enum(["all", "auto"])]).default("auto"),
  /**
   * clip: one optimizer step per clip batch. N: after every N ticks and after the last, each
   * block that received gradients since its last step steps with their mean (sideways and
   * pipelined-bp; docs/design/sideways.md). The pipeline is only reset after the clip batch.
   * Step counts are per block: Adam's bias correction and train.schedule count a block's own steps.
   */
  update_every: z.union([z.literal("clip"), z.number().int().min(1)]).default("clip"),
  /**
   * pipelined-bp with in-clip updates: a frame's backward uses the weights its forward used
   * (PipeDream) instead of the current ones. No effect with update_every: clip.
   */
  weight_stashing: z.boolean().default(false),
  /**
   * Clips the gradient before each optimizer step to this total L2 norm over every parameter, as
   * torch.nn.utils.clip_grad_norm_(params, max_norm) does: all gradients times
   * min(1, max_norm / (norm + 1e-6)) (optim/grad-clip.ts). Unset: no clipping (an optional key with
   * no default, so that configurations without it keep their run ids). metrics.csv then logs the
   * norm before clipping as grad_norm. Needs update_every: clip.
   */
  grad_clip_norm: finite().positive().optional(),
  /**
   * The head's targets (1 - ε) onehot + ε / K instead of one-hot, as
   * torch.nn.CrossEntropyLoss(label_smoothing=ε) (layers/softmax-cross-entropy.ts): the training
   * loss and its gradient on every rule and path; evaluation's loss stays the plain cross-entropy.
   * Optional, so configurations without it keep their run ids.
   */
  label_smoothing: finite().min(0).max(1).optional(),
  /**
   * Gradient accumulation: each optimizer step averages the gradients of this many consecutive clip
   * batches of batch_size clips (each run through the rule's pipeline, which is reset after each),
   * the clips a run with batch_size x accumulate would take at that step (train/accumulate.ts).
   * train.steps counts optimizer steps. Needs update_every: clip and the host path (not
   * runtime.device_step). Optional, and 1 hashes as absent, so configurations keep their run ids.
   */
  accumulate: z.number().int().min(1).max(65536).optional(),
});

export const RuntimeSpec = z.strictObject({
  provider: z.enum(["cpu", "cuda", "webgpu"]).default("cpu"),
  /** GPU index; a list places depth-parallel stage s on device_id[s mod n] (docs/GPU.md). */
  // The descriptions are what a bad value is told it should be (src/spec/spec-issues.ts), the same
  // for -1, 1.5, 'abc' and [] (zod alone said "a number >= 0", "an integer or a list", ...).
  device_id: z
    .union([GPU_INDEX, z.array(GPU_INDEX).min(1)])
    .describe("an integer >= 0, or a non-empty list of them (depth-parallel stage s runs on item s mod its length)")
    .default(0),
  workers: z.union([z.number().int().min(1).max(256), z.literal("auto")]).default(1),
  /** intra-op threads per session; docs/design/onnxruntime-node.md: 1 is fastest with many sessions. */
  threads: z.number().int().min(1).max(256).default(1),
  /**
   * Data parallelism: replicas of the whole model on worker threads, each training on a share of
   * every clip batch (either method). Not combined with depth-parallel workers (yet).
   */
  replicas: z.number().int().min(1).max(256).default(1),
  /**
   * The whole step of BP or Sideways (every forward and backward of the clip batch, the optimizer)
   * in one graph whose weights and optimizer state stay with onnxruntime between steps (on WebGPU,
   * in GPU memory): auto uses it on GPU providers for bp and sideways on one stage with one update
   * per clip batch and train.accumulate 1 (train/device-step.ts; Sideways also needs clips of at least 2L-1 frames).
   */
  device_step: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /**
   * Training steps the device step takes in one onnxruntime call, each on its own clip batch
   * (graph/chain-calls.ts): a run's start and end cost onnxruntime about a sixth of a step on CUDA
   * (docs/GPU.md run 14), paid once per this many steps. A call ends early at an evaluation, a
   * checkpoint or the last step, where the host reads the weights. Needs the device step.
   */
  steps_per_call: z.number().int().min(1).max(64).default(1),
});

export const EvalSpec = z.strictObject({
  every: z.number().int().min(0).default(100),
  clips: z.number().int().min(1).default(256),
});

export const DiagnosticsSpec = z.strictObject({
  every: z.number().int().min(0).default(0),
});

export const OutputSpec = z.strictObject({
  dir: z.string().min(1).nullable().default(null),
  /**
   * Also keep the weights of the best evaluation so far as best.safetensors (by video-level top-1
   * on video folders, else clip top-1; the first of equal ones). Like every output key it is no part
   * of the run's id. Optional, so that resolved configs without it read as they did.
   */
  keep_best: z.boolean().optional(),
});

export const ExperimentSpec = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'"),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  model: z.union([z.string().min(1), ModelSpec]),
  data: DataSpec,
  train: TrainSpec.default(TrainSpec.parse({})),
  runtime: RuntimeSpec.default(RuntimeSpec.parse({})),
  eval: EvalSpec.default(EvalSpec.parse({})),
  diagnostics: DiagnosticsSpec.default(DiagnosticsSpec.parse({})),
  output: OutputSpec.default(OutputSpec.parse({})),
  sweep: SweepSpec.nullable().default(null),
}).superRefine((spec, ctx) => {
  const { replicas, workers } = spec.runtime;
  if (replicas > 1 && workers !== 1) {
    ctx.addIssue({ code: "custom", path: ["runtime", "replicas"], message: `expected 1 while runtime.workers is ${workers} (use depth-parallel workers or data-parallel replicas, not both)` });
  }
  const { schedule } = spec.train;
  // Update s is update s - warmup_steps after warm-up, the last one train.steps - 1 - warmup_steps:
  // a milestone from train.steps - warmup_steps on never takes effect. (With in-clip updates
  // each block counts its own steps, several per clip batch, so this bound is not theirs; knowing
  // the model, schedule-notes.ts names the milestones no block reaches.)
  if (schedule.kind === "multistep" && spec.train.update_every === "clip") {
    const after = spec.train.steps - schedule.warmup_steps;
    const late = schedule.milestones.filter((m) => m >= after);
    const left = `train.steps ${spec.train.steps} - train.schedule.warmup_steps ${schedule.warmup_steps}`;
    const message =
      after <= 0
        ? `expected train.steps above train.schedule.warmup_steps for a milestone to take effect (milestones count updates after warm-up, and ${left} leaves none)`
        : `expected each milestone below ${after} (milestones count updates after warm-up, and ${left} leaves ${after}: updates 0 to ${after - 1}; ${late.join(", ")} would never take effect: raise train.steps or remove ${late.length === 1 ? "it" : "them"})`;
    if (late.length > 0) ctx.addIssue({ code: "custom", path: ["train", "schedule", "milestones"], message });
  }
  const rule = RULES[spec.train.method];
  if (spec.train.update_every !== "clip" && !rule.inClipUpdates) {
    const allowed = Object.values(RULES).filter((r) => r.inClipUpdates).map((r) => r.name).join(", ");
    ctx.addIssue({ code: "custom", path: ["train", "update_every"], message: `expected clip for method ${rule.name} (in-clip updates apply to ${allowed})` });
  }
  if (spec.train.update_every !== "clip" && replicas > 1) {
    ctx.addIssue({ code: "custom", path: ["train", "update_every"], message: `expected clip while runtime.replicas is ${replicas} (in-clip updates run on depth-parallel workers, not on replicas)` });
  }
  if (spec.train.grad_clip_norm !== undefined && spec.train.update_every !== "clip") {
    ctx.addIssue({ code: "custom", path: ["train", "grad_clip_norm"], message: `expected no gradient clipping with train.update_every ${spec.train.update_every} (in-clip updates step each block when its own gradients are due, on its stage's thread, so no step sees the norm over every parameter that clipping takes; use train.update_every: clip, or remove the key)` });
  }
  const accumulate = spec.train.accumulate ?? 1;
  if (accumulate > 1 && spec.train.update_every !== "clip") {
    ctx.addIssue({ code: "custom", path: ["train", "accumulate"], message: `expected 1 with train.update_every ${spec.train.update_every} (in-clip updates step during a clip batch, so there is no one step after several batches to sum their gradients into; use train.update_every: clip, or remove the key)` });
  }
  if (spec.train.weight_stashing && !rule.weightStashing) {
    const allowed = Object.values(RULES).filter((r) => r.weightStashing).map((r) => r.name).join(", ");
    ctx.addIssue({ code: "custom", path: ["train", "weight_stashing"], message: `expected false for method ${rule.name} (weight stashing applies to ${allowed})` });
  }
  // (A batch_size below 1 has its own issue: this one would repeat it.)
  if (spec.train.batch_size >= 1 && replicas > spec.train.batch_size) {
    ctx.addIssue({ code: "custom", path: ["train", "batch_size"], message: `expected at least runtime.replicas (${replicas}) clips per batch` });
  }
  // onnxruntime-node's WebGPU EP takes no device option (it rejects `deviceId`): every session of
  // a process runs on the default adapter, so another GPU index would be silently ignored.
  const devices = [spec.runtime.device_id].flat();
  if (spec.runtime.provider === "webgpu" && devices.some((d) => d !== 0)) {
    ctx.addIssue({ code: "custom", path: ["runtime", "device_id"], message: `expected 0 with runtime.provider webgpu (onnxruntime-node's WebGPU EP runs every session on the default adapter and cannot choose another; docs/GPU.md)` });
  }
  const blocker = deviceStepBlocker(spec);
  if (spec.runtime.device_step === true && blocker !== null) {
    // Said once, at the key the conflict is about where accumulation is all that rules the step out.
    if (blocker === ACCUMULATE_BLOCKER) {
      ctx.addIssue({ code: "custom", path: ["train", "accumulate"], message: `expected 1 with runtime.device_step: true (the device step's one graph takes one clip batch per optimizer step; set runtime.device_step: auto or false to accumulate on the host path)` });
    } else {
      ctx.addIssue({ code: "custom", path: ["runtime", "device_step"], message: `expected false or auto: ${blocker}` });
    }
  }
  if (spec.runtime.steps_per_call > 1 && !usesDeviceStep(spec)) {
    const why = blocker ?? (spec.runtime.device_step === false ? "runtime.device_step is false" : "runtime.device_step auto uses it on GPU providers only; set it to true on the CPU");
    ctx.addIssue({ code: "custom", path: ["runtime", "steps_per_call"], message: `expected 1 (only the device step chains steps in one call, and this run trains without it: ${why})` });
  }
});
export type ExperimentSpec = z.infer<typeof ExperimentSpec>;

/** Why a run cannot train with runtime.device_step (train/device-step.ts), or null when it can. */
export function deviceStepBlocker(spec: Pick<ExperimentSpec, "train" | "runtime" | "diagnostics">): string | null {
  const method = spec.train.method;
  if (method !== "bp" && method !== "sideways") return `train.method is ${method}; the device step runs bp and sideways`;
  if (spec.runtime.workers !== 1 || spec.runtime.replicas !== 1) return "the device step runs on one stage: runtime.workers and runtime.replicas must be 1";
  if (spec.train.update_every !== "clip") return "the device step updates once per clip batch: train.update_every must be clip";
  if (spec.diagnostics.every !== 0) return "diagnostics compare gradients, which the device step never forms: diagnostics.every must be 0";
  if ((spec.train.accumulate ?? 1) > 1) return ACCUMULATE_BLOCKER;
  return null;
}

/**
 * What a run says at its start where runtime.device_step auto would take the device step (a GPU
 * provider) but train.accumulate > 1 keeps it on the host path; null otherwise.
 */
export function accumulateHostPathNote(spec: Pick<ExperimentSpec, "train" | "runtime" | "diagnostics">): string | null {
  if (spec.runtime.device_step !== "auto" || spec.runtime.provider === "cpu" || deviceStepBlocker(spec) !== ACCUMULATE_BLOCKER) return null;
  return `runtime.device_step auto: training on the host path (the executor and the host optimizer), since train.accumulate is ${spec.train.accumulate} and ${ONE_BATCH_A_STEP}`;
}

/** Why train.accumulate > 1 trains on the host path (device_step auto falls back; true is refused). */
const ONE_BATCH_A_STEP = "the device step takes one clip batch per optimizer step";
const ACCUMULATE_BLOCKER = `${ONE_BATCH_A_STEP}: train.accumulate must be 1`;

/** Whether a run trains with the device step: as asked, and with auto on GPU providers wherever it can. */
export function usesDeviceStep(spec: Pick<ExperimentSpec, "train" | "runtime" | "diagnostics">): boolean {
  const asked = spec.runtime.device_step;
  return deviceStepBlocker(spec) === null && (asked === "auto" ? spec.runtime.provider !== "cpu" : asked);
}
