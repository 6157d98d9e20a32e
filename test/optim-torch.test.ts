/**
 * Optimizers and learning-rate schedules against PyTorch itself (test/reference/torch_optim.py:
 * torch.optim.SGD / Adam / AdamW with amsgrad False, stepped by torch.optim.lr_scheduler's
 * MultiStepLR, LinearLR, StepLR, CosineAnnealingLR after a LinearLR warm-up joined by
 * SequentialLR), over 20 to 25 steps of the same float32 gradients, for
 *  - the rates: learningRate (src/optim/schedule.ts) at every update, the warm-up's last included;
 *  - the host optimizers (src/optim/optimizer.ts) stepped at those rates;
 *  - the device step's optimizer nodes (src/optim/optimizer-graph.ts addOptimizerStep with
 *    optimizerScalars' per-step inputs), as one graph run by onnxruntime on the CPU, state carried
 *    from call to call as train/device-step.ts carries it.
 * test/optim.test.ts checks 6 steps against a float64 transcription and torch's final values
 * without a schedule; this adds what only a long run with a schedule shows: Adam's bias
 * correction late in a run, AdamW's decay factor following a rate that drops at milestones or
 * falls linearly, betas and eps set, and the schedules' hand-over from warm-up.
 *
 * Tolerances. Rates: relative 1e-12 (torch's schedulers multiply the previous rate by a factor
 * each step, ours is closed-form: 1e-16 of rounding a step, 6e-16 observed). Parameters: absolute
 * 2e-6, parameters below 1.1 in magnitude (float32 ulp 1.2e-7 to 2.4e-7): both sides store float32
 * after every step and each step rounds a few times on either side (ours in float64 and once, or
 * float32 per op in the graph; torch per op); observed at most 4.8e-7 over 25 steps. A schedule one
 * update late (rate s-1 at update s) ends more than 1e-5 away in every case whose rate changes
 * (checked below), so the tolerance tells an off-by-one apart.
 * Needs a Python with torch (CI installs Debian's, .ci/system/30-torch.sh); skipped with the reason
 * printed where there is none.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { peerPython, torchUnavailableReason } from "../src/bench/torch-peer-process.js";
import { GraphBuilder } from "../src/graph/graph-builder.js";
import type { Weights } from "../src/model/model.js";
import { createOptimizer } from "../src/optim/optimizer.js";
import { addOptimizerStep, optimizerScalars, optimizerSlots } from "../src/optim/optimizer-graph.js";
import { learningRate } from "../src/optim/schedule.js";
import { GraphSession, type Feeds } from "../src/runtime/session.js";
import { OptimizerSpec, ScheduleSpec } from "../src/spec/experiment-spec.js";
import { NEEDS_TORCH, skipBecause } from "./helpers/skip.js";

const script = fileURLToPath(new URL("../../test/reference/torch_optim.py", import.meta.url));

const SIZE = 7;
/** float32 start and per-step gradients from closed forms: signs change over the run, magnitudes 0.01 to 0.5. */
const initial = () => Float32Array.from({ length: SIZE }, (_, i) => 0.6 - 0.17 * i);
const gradAt = (t: number) => Float32Array.from({ length: SIZE }, (_, i) => Math.sin(0.7 * t + 1.1 * i) * 0.4 + 0.03 * (i - 3));
const RATE_TOL = 1e-12;
const PARAM_TOL = 2e-6;

/** [label, optimizer, schedule, steps]. */
const CASES: Array<[string, unknown, unknown, number]> = [
  // Milestone 1: the update right after the warm-up's last (update 4 at base, update 5 at base / 2).
  ["adamw weight decay 0.1, warm-up 4 then multistep [1, 5, 9] gamma 0.5", { kind: "adamw", lr: 0.02, weight_decay: 0.1 }, { kind: "multistep", milestones: [1, 5, 9], gamma: 0.5, warmup_steps: 4 }, 25],
  ["adamw betas [0.85, 0.995], eps 1e-5, weight decay 0.3, warm-up 3 then linear to end_lr 0.003", { kind: "adamw", lr: 0.03, betas: [0.85, 0.995], eps: 1e-5, weight_decay: 0.3 }, { kind: "linear", end_lr: 0.003, warmup_steps: 3 }, 24],
  // Milestone 20 of 22 updates: the last two at lr * 0.3; torch's defaults (betas, eps, weight decay 0.01).
  ["adamw defaults, multistep [1, 20] gamma 0.3 without warm-up", { kind: "adamw", lr: 0.01 }, { kind: "multistep", milestones: [1, 20], gamma: 0.3 }, 22],
  // Warm-up of one update (LinearLR with total_iters 0: base from the first), large eps and decay.
  ["adamw betas [0.5, 0.9], eps 1e-3, weight decay 1, warm-up 1 then linear to 0", { kind: "adamw", lr: 0.05, betas: [0.5, 0.9], eps: 1e-3, weight_decay: 1 }, { kind: "linear", end_lr: 0, warmup_steps: 1 }, 21],
  // end_lr equal to lr: LinearLR with end_factor 1, a constant rate.
  ["adamw weight decay 0.05, linear to end_lr = lr", { kind: "adamw", lr: 0.02, weight_decay: 0.05 }, { kind: "linear", end_lr: 0.02 }, 20],
  ["adamw weight decay 0.1, warm-up 4 then cosine to min_lr 0.001", { kind: "adamw", lr: 0.02, weight_decay: 0.1 }, { kind: "cosine", min_lr: 0.001, warmup_steps: 4 }, 20],
  ["adamw weight decay 0.1, warm-up 4 then step 3 gamma 0.5", { kind: "adamw", lr: 0.02, weight_decay: 0.1 }, { kind: "step", step_size: 3, gamma: 0.5, warmup_steps: 4 }, 20],
  ["adam betas [0.8, 0.99], L2 decay 0.1, warm-up 5 then multistep [2, 6] gamma 0.2", { kind: "adam", lr: 0.02, betas: [0.8, 0.99], weight_decay: 0.1 }, { kind: "multistep", milestones: [2, 6], gamma: 0.2, warmup_steps: 5 }, 20],
  ["sgd momentum 0.9, decay 0.01, warm-up 2 then multistep [1, 3]", { kind: "sgd", lr: 0.1, momentum: 0.9, weight_decay: 0.01 }, { kind: "multistep", milestones: [1, 3], warmup_steps: 2 }, 20],
];

interface Case {
  label: string;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  steps: number;
}
interface TorchCase {
  lrs: number[];
  params: number[][];
}

const cases: Case[] = CASES.map(([label, o, s, steps]) => ({ label, optimizer: OptimizerSpec.parse(o), schedule: ScheduleSpec.parse(s), steps }));

function runTorch(python: string): TorchCase[] {
  const job = { cases: cases.map((c) => ({ optimizer: c.optimizer, schedule: c.schedule, initial: [...initial()], grads: Array.from({ length: c.steps }, (_, t) => [...gradAt(t)]) })) };
  const r = spawnSync(python, [script], { input: JSON.stringify(job), encoding: "utf8", timeout: 120_000, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${python} ${script}: ${r.stderr}`);
  return JSON.parse(r.stdout).cases;
}

/** The schedule's rates, or (`late`) each update taking the one before's: an off-by-one. */
function ratesOf(c: Case, late = false): number[] {
  return Array.from({ length: c.steps }, (_, s) => learningRate(c.schedule, c.optimizer.lr, late ? Math.max(s - 1, 0) : s, c.steps));
}

/** The host optimizer's parameters after each step at `rates`. */
function hostTrajectory(c: Case, rates: number[]): Float32Array[] {
  const optimizer = createOptimizer(c.optimizer);
  const weights: Weights = new Map([["w", initial()]]);
  return rates.map((lr, t) => {
    optimizer.step(weights, new Map([["w", gradAt(t)]]), lr);
    return Float32Array.from(weights.get("w")!);
  });
}

/** One step of addOptimizerStep as a graph: p, grad, each state slot and the per-step scalars in; the stepped values out as "next.*". */
function optimizerGraph(spec: OptimizerSpec): Uint8Array {
  const g = new GraphBuilder("optimizer step");
  const p = g.inputFixed("p", [SIZE]);
  const grad = g.inputFixed("grad", [SIZE]);
  const state = Object.fromEntries(optimizerSlots(spec).map((slot) => [slot, g.inputFixed(slot, [SIZE])]));
  const stepped = addOptimizerStep(g, spec, p, grad, state);
  g.outputFixed(stepped.param, [SIZE], "next.p");
  for (const [slot, value] of Object.entries(stepped.state)) g.outputFixed(value, [SIZE], `next.${slot}`);
  return g.toBytes();
}

/** The graph's parameters after each step at `rates`, the parameter and state carried from call to call. */
async function graphTrajectory(c: Case, rates: number[]): Promise<Float32Array[]> {
  const session = await GraphSession.create(optimizerGraph(c.optimizer), c.label, { provider: "cpu", threads: 1 });
  try {
    let carried: Record<string, Float32Array> = { p: initial(), ...Object.fromEntries(optimizerSlots(c.optimizer).map((slot) => [slot, new Float32Array(SIZE)])) };
    const out: Float32Array[] = [];
    for (const [t, lr] of rates.entries()) {
      const feeds: Feeds = { grad: { data: gradAt(t), dims: [SIZE] } };
      for (const [name, value] of Object.entries(carried)) feeds[name] = { data: value, dims: [SIZE] };
      // Step t + 1 (1-based), as DeviceStep.steps counts for Adam's bias correction.
      for (const [name, value] of Object.entries(optimizerScalars(c.optimizer, lr, t + 1))) {
        if (session.inputNames.includes(name)) feeds[name] = { data: Float32Array.of(value), dims: [1] };
      }
      const result = await session.run(feeds);
      carried = Object.fromEntries(Object.keys(carried).map((name) => [name, Float32Array.from(result[`next.${name}`].data)]));
      out.push(carried.p);
    }
    return out;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(ours: Float32Array[], theirs: number[][]): number {
  let worst = 0;
  ours.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - theirs[t]![i]!)))));
  return worst;
}

describe("optimizers and schedules against torch.optim and torch.optim.lr_scheduler (test/reference/torch_optim.py)", function () {
  this.timeout(120_000);
  const reason = torchUnavailableReason();
  let torch: TorchCase[] = [];
  before(function () {
    if (reason) skipBecause(this, `${reason} (${NEEDS_TORCH})`);
    torch = runTorch(peerPython());
  });

  cases.forEach((c, k) => {
    it(`${c.label}, ${c.steps} steps: the rate at each update, the host optimizer's and the device graph's parameters after each`, async () => {
      const theirs = torch[k]!;
      const rates = ratesOf(c);
      expect(theirs.lrs).to.have.length(c.steps);
      rates.forEach((lr, s) => expect(lr, `lr of update ${s}`).to.be.closeTo(theirs.lrs[s]!, RATE_TOL * theirs.lrs[s]!));
      // The warm-up's last update is at the full rate, as LinearLR's end_factor 1 makes it.
      const warmup = c.schedule.warmup_steps;
      if (warmup > 0) expect(rates[warmup - 1]).to.be.closeTo(c.optimizer.lr, RATE_TOL * c.optimizer.lr);

      const host = hostTrajectory(c, rates);
      expect(maxAbsDiff(host, theirs.params), "host optimizer").to.be.below(PARAM_TOL);
      const graph = await graphTrajectory(c, rates);
      expect(maxAbsDiff(graph, theirs.params), "device graph").to.be.below(PARAM_TOL);

      // Not vacuous: the parameters move, and a schedule one update late ends measurably elsewhere.
      const moved = Math.max(...host.at(-1)!.map((v, i) => Math.abs(v - initial()[i]!)));
      expect(moved).to.be.above(1e-2);
      const late = ratesOf(c, true);
      if (late.some((lr, s) => lr !== rates[s])) expect(maxAbsDiff(hostTrajectory(c, late), theirs.params), "one update late").to.be.above(1e-5);
    });
  });
});
