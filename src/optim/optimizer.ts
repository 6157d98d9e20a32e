/**
 * Optimizers with PyTorch's update formulas (torch.optim.SGD, Adam and AdamW, defaults
 * maximize=False, amsgrad=False, dampening=0). Arithmetic is done in float64 per element and
 * stored as float32 (PyTorch rounds after every float32 op; the difference is a few ulp).
 *
 * State is per parameter name and created on the first step that parameter gets a gradient.
 * A parameter absent from `grads` is neither updated nor has its state touched (like PyTorch
 * with `p.grad is None`); Sideways relies on this for blocks that received no gradient.
 */
import { SpecError } from "../errors.js";
import type { OptimizerSpec } from "../spec/experiment-spec.js";
import type { Weights } from "../model/model.js";

export interface Optimizer {
  /** Updates `weights` in place from `grads` (same names, same lengths) with learning rate `lr`. */
  step(weights: Weights, grads: Map<string, Float32Array>, lr: number): void;
  /**
   * The per-parameter state as named float32 tensors, "{param}/{slot}" with PyTorch's slot names
   * (momentum_buffer; exp_avg, exp_avg_sq, step), for resumable checkpoints.
   */
  exportState(): Map<string, Float32Array>;
  /** Restores what exportState returned (copies the arrays). */
  importState(state: Map<string, Float32Array>): void;
}

/** Splits "{param}/{slot}" state names; the parameter name itself never contains "/". */
function slotsByParam(state: Map<string, Float32Array>): Map<string, Map<string, Float32Array>> {
  const out = new Map<string, Map<string, Float32Array>>();
  for (const [key, value] of state) {
    const cut = key.lastIndexOf("/");
    if (cut < 0) throw new Error(`BUG: optimizer state entry "${key}" is not "{param}/{slot}"`);
    const param = key.slice(0, cut);
    if (!out.has(param)) out.set(param, new Map());
    out.get(param)!.set(key.slice(cut + 1), value);
  }
  return out;
}

function slot(slots: Map<string, Float32Array>, param: string, name: string): Float32Array {
  const v = slots.get(name);
  if (!v) throw new Error(`BUG: optimizer state of "${param}" has no ${name}`);
  return Float32Array.from(v);
}

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  switch (spec.kind) {
    case "sgd":
      if (spec.nesterov && spec.momentum === 0) {
        // torch.optim.SGD raises "Nesterov momentum requires a momentum and zero dampening".
        throw new SpecError("train.optimizer: nesterov: true needs momentum > 0, found momentum 0", undefined, "train.optimizer.nesterov");
      }
      return new Sgd(spec.momentum, spec.nesterov, spec.weight_decay);
    case "adam":
      return new Adam(spec.betas[0], spec.betas[1], spec.eps, spec.weight_decay, "l2");
    case "adamw":
      return new Adam(spec.betas[0], spec.betas[1], spec.eps, spec.weight_decay, "decoupled");
  }
}

/**
 * torch.optim.SGD, dampening 0:
 *   d = g + weightDecay * p
 *   buf = d (first step), else buf = momentum * buf + d          (only when momentum != 0)
 *   d = nesterov ? d + momentum * buf : buf                      (only when momentum != 0)
 *   p = p - lr * d
 */
export class Sgd implements Optimizer {
  private readonly buffers = new Map<string, Float32Array>();

  constructor(readonly momentum: number, readonly nesterov: boolean, readonly weightDecay: number) {}

  step(weights: Weights, grads: Map<string, Float32Array>, lr: number): void {
    for (const [name, g] of grads) {
      const p = paramFor(weights, name, g);
      let buf = this.buffers.get(name);
      const first = buf === undefined;
      if (this.momentum !== 0 && buf === undefined) {
        buf = new Float32Array(p.length);
        this.buffers.set(name, buf);
      }
      for (let i = 0; i < p.length; i++) {
        let d = g[i]! + this.weightDecay * p[i]!;
        if (buf !== undefined) {
          buf[i] = first ? d : this.momentum * buf[i]! + d;
          d = this.nesterov ? d + this.momentum * buf[i]! : buf[i]!;
        }
        p[i] = p[i]! - lr * d;
      }
    }
  }

  exportState(): Map<string, Float32Array> {
    return new Map([...this.buffers].map(([name, buf]) => [`${name}/momentum_buffer`, Float32Array.from(buf)]));
  }

  importState(state: Map<string, Float32Array>): void {
    this.buffers.clear();
    for (const [param, slots] of slotsByParam(state)) this.buffers.set(param, slot(slots, param, "momentum_buffer"));
  }
}

/**
 * How Adam applies weight decay: "l2" as torch.optim.Adam (added to the gradient, so it passes
 * through m and v), "decoupled" as torch.optim.AdamW (the parameter scaled before the update).
 */
export type AdamWeightDecay = "l2" | "decoupled";

/**
 * torch.optim.Adam ("l2") and torch.optim.AdamW ("decoupled"), per parameter:
 *   t = t + 1
 *   l2:        g = g + weightDecay * p
 *   decoupled: p = p * (1 - lr * weightDecay)
 *   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The state (exp_avg, exp_avg_sq, step) is the same for both, as in PyTorch.
 */
export class Adam implements Optimizer {
  private readonly state = new Map<string, { step: number; m: Float32Array; v: Float32Array }>();

  constructor(readonly beta1: number, readonly beta2: number, readonly eps: number, readonly weightDecay: number, readonly decay: AdamWeightDecay) {}

  step(weights: Weights, grads: Map<string, Float32Array>, lr: number): void {
    for (const [name, g] of grads) {
      const p = paramFor(weights, name, g);
      let s = this.state.get(name);
      if (s === undefined) {
        s = { step: 0, m: new Float32Array(p.length), v: new Float32Array(p.length) };
        this.state.set(name, s);
      }
      s.step += 1;
      const stepSize = lr / (1 - this.beta1 ** s.step);
      const correction2Sqrt = Math.sqrt(1 - this.beta2 ** s.step);
      const { m, v } = s;
      const l2 = this.decay === "l2" ? this.weightDecay : 0;
      const shrink = this.decay === "decoupled" ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! + l2 * p[i]!;
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * gi;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi;
        p[i] = p[i]! * shrink - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / correction2Sqrt + this.eps);
      }
    }
  }

  exportState(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, st] of this.state) {
      out.set(`${name}/exp_avg`, Float32Array.from(st.m));
      out.set(`${name}/exp_avg_sq`, Float32Array.from(st.v));
      out.set(`${name}/step`, Float32Array.of(st.step)); // exact below 2^24 steps
    }
    return out;
  }

  importState(state: Map<string, Float32Array>): void {
    this.state.clear();
    for (const [param, slots] of slotsByParam(state)) {
      this.state.set(param, { step: slot(slots, param, "step")[0]!, m: slot(slots, param, "exp_avg"), v: slot(slots, param, "exp_avg_sq") });
    }
  }
}

function paramFor(weights: Weights, name: string, grad: Float32Array): Float32Array {
  const p = weights.get(name);
  if (p === undefined) throw new Error(`BUG: optimizer got a gradient for "${name}", which is not a parameter`);
  if (p.length !== grad.length) {
    throw new Error(`BUG: gradient of "${name}" has ${grad.length} values, expected ${p.length}`);
  }
  return p;
}
