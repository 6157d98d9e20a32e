/**
 * The optimizers of optimizer.ts as ONNX nodes, for a training step that runs whole inside one
 * graph (train/device-step.ts): same formulas, same PyTorch state slot names, in float32 (the
 * TypeScript optimizers compute each element in float64 and round once; the difference is a few
 * ulp per step, tested in test/device-step.test.ts).
 *
 * Per-step scalars come in as graph inputs [1] so that one graph serves every step: the learning
 * rate (SGD) or Adam's lr / (1 - beta1^t) and sqrt(1 - beta2^t), which depend on the step count,
 * and AdamW's decay factor 1 - lr * weight_decay, which depends on the (scheduled) rate.
 * Every parameter steps at every step here (BP with one update per clip batch), so one step count
 * serves all of them.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";

/** Graph input names of the per-step scalars. */
export const OPTIMIZER_SCALARS = { lr: "opt.lr", stepSize: "opt.step_size", bias2Sqrt: "opt.bias2_sqrt", decayFactor: "opt.decay_factor" } as const;

/** Whether the optimizer counts its steps (Adam's and AdamW's bias correction): a "{param}/step" state slot. */
export function countsSteps(spec: OptimizerSpec): boolean {
  return spec.kind === "adam" || spec.kind === "adamw";
}

/** State slots per parameter, in optimizer.ts exportState's names ("{param}/{slot}"), the step count aside. */
export function optimizerSlots(spec: OptimizerSpec): string[] {
  if (spec.kind !== "sgd") return ["exp_avg", "exp_avg_sq"];
  return spec.momentum !== 0 ? ["momentum_buffer"] : [];
}

/** Whether the step scales the parameters by AdamW's decay factor (none without weight decay: a factor of 1). */
function decouplesDecay(spec: OptimizerSpec): boolean {
  return spec.kind === "adamw" && spec.weight_decay !== 0;
}

/** Host values of the per-step scalars for the optimizer's `step`-th step (1-based) at rate `lr`. */
export function optimizerScalars(spec: OptimizerSpec, lr: number, step: number): Record<string, number> {
  if (spec.kind === "sgd") return { [OPTIMIZER_SCALARS.lr]: lr };
  return {
    [OPTIMIZER_SCALARS.stepSize]: lr / (1 - spec.betas[0] ** step),
    [OPTIMIZER_SCALARS.bias2Sqrt]: Math.sqrt(1 - spec.betas[1] ** step),
    // In float64 and rounded once, as torch.optim.AdamW's Python float 1 - lr * weight_decay.
    ...(decouplesDecay(spec) ? { [OPTIMIZER_SCALARS.decayFactor]: 1 - lr * spec.weight_decay } : {}),
  };
}

export interface StepValues {
  param: string;
  /** By slot name (optimizerSlots). */
  state: Record<string, string>;
}

/** The per-step scalar inputs this optimizer reads, declared once per graph. */
function scalar(g: GraphBuilder, name: string): string {
  return g.memo(`optimizer scalar ${name}`, () => g.inputFixed(name, [1]));
}

function constant(g: GraphBuilder, value: number): string {
  return g.memo(`optimizer constant ${value}`, () => g.constFloat("opt_c", [value], []));
}

/**
 * Nodes of one optimizer step of parameter `p` with gradient `grad` and state `state` (values by
 * slot name); returns the stepped parameter and state values.
 */
export function addOptimizerStep(g: GraphBuilder, spec: OptimizerSpec, p: string, grad: string, state: Record<string, string>): StepValues {
  // d = g + weightDecay * p (L2 decay added to the gradient, as torch.optim.SGD and Adam; AdamW
  // scales p instead, below).
  const d = spec.weight_decay !== 0 && spec.kind !== "adamw" ? g.op("Add", [grad, g.op("Mul", [p, constant(g, spec.weight_decay)])]) : grad;
  if (spec.kind === "sgd") {
    const lr = scalar(g, OPTIMIZER_SCALARS.lr);
    if (spec.momentum === 0) return { param: g.op("Sub", [p, g.op("Mul", [d, lr])]), state: {} };
    // The buffer starts at zeros, so momentum * 0 + d is PyTorch's first-step "buf = d" exactly.
    const buf = g.op("Add", [g.op("Mul", [state.momentum_buffer, constant(g, spec.momentum)]), d]);
    const dir = spec.nesterov ? g.op("Add", [d, g.op("Mul", [buf, constant(g, spec.momentum)])]) : buf;
    return { param: g.op("Sub", [p, g.op("Mul", [dir, lr])]), state: { momentum_buffer: buf } };
  }
  const [beta1, beta2] = spec.betas;
  const m = g.op("Add", [g.op("Mul", [state.exp_avg, constant(g, beta1)]), g.op("Mul", [d, constant(g, 1 - beta1)])]);
  const v = g.op("Add", [g.op("Mul", [state.exp_avg_sq, constant(g, beta2)]), g.op("Mul", [g.op("Mul", [d, d]), constant(g, 1 - beta2)])]);
  const denom = g.op("Add", [g.op("Div", [g.op("Sqrt", [v]), scalar(g, OPTIMIZER_SCALARS.bias2Sqrt)]), constant(g, spec.eps)]);
  const update = g.op("Div", [g.op("Mul", [m, scalar(g, OPTIMIZER_SCALARS.stepSize)]), denom]);
  // AdamW: p * (1 - lr * weightDecay) before the update (decoupled weight decay).
  const decayed = decouplesDecay(spec) ? g.op("Mul", [p, scalar(g, OPTIMIZER_SCALARS.decayFactor)]) : p;
  return { param: g.op("Sub", [decayed, update]), state: { exp_avg: m, exp_avg_sq: v } };
}
