/**
 * The update rules (train.method) in one table: the schema's enum, the dispatch of a stage
 * (src/train/run-stage.ts), the diagnostics and `sideways schedule` all read it. Adding a rule is
 * a generator in rules.ts and an entry here.
 */
import type { Schedule } from "./action.js";
import { bpSchedule, gpipeSchedule, pipelinedBpSchedule, sidewaysSchedule } from "./rules.js";

export const METHOD_NAMES = ["sideways", "bp", "pipelined-bp", "gpipe"] as const;
export type Method = (typeof METHOD_NAMES)[number];

export interface Rule {
  name: Method;
  describe: string;
  /** How figures and notes name it ("pipelined BP"). */
  label: string;
  /** Its lines in the figures (src/results/plot.ts): the dash pattern and the word for it in the subtitle. */
  line: { dash: readonly number[]; name: string };
  generate(blocks: number, frames: number): Schedule;
  /** Whether train.update_every may be an integer (steps inside a clip batch). */
  inClipUpdates: boolean;
  /** Whether train.weight_stashing means anything (a backward can read a frame older than the current one). */
  weightStashing: boolean;
  /**
   * A one-graph path for per-clip updates that gives what the table gives (the whole BP pass,
   * a whole Sideways tick: docs/PERFORMANCE.md), or null: the interpreter runs the table.
   */
  fusedPath: "bp-pass" | "sideways-tick" | null;
  /** The rule whose gradient diagnostics compare with (cos_b*): exact BP, or Sideways for BP itself. */
  diagnosticReference: Method;
}

export const RULES: Readonly<Record<Method, Rule>> = Object.freeze({
  sideways: {
    name: "sideways",
    describe: "depth-parallel, each block pairs its newest input with the newest gradient (block k's gradient is 2(L-1-k) frames older than its input)",
    label: "Sideways",
    line: { dash: [1, 0], name: "solid" },
    generate: sidewaysSchedule,
    inClipUpdates: true,
    weightStashing: false,
    fusedPath: "sideways-tick",
    diagnosticReference: "bp",
  },
  bp: {
    name: "bp",
    describe: "synchronous backprop, frame after frame through all blocks",
    label: "BP",
    line: { dash: [6, 3], name: "dashed" },
    generate: bpSchedule,
    inClipUpdates: false,
    weightStashing: false,
    fusedPath: "bp-pass",
    diagnosticReference: "sideways",
  },
  "pipelined-bp": {
    name: "pipelined-bp",
    describe: "exact BP with frames as micro-batches through depth-parallel blocks, a forward and a backward per block and tick, inputs stashed",
    label: "pipelined BP",
    line: { dash: [2, 2], name: "dotted" },
    generate: pipelinedBpSchedule,
    inClipUpdates: true,
    weightStashing: true,
    fusedPath: null,
    diagnosticReference: "bp",
  },
  gpipe: {
    name: "gpipe",
    describe: "exact BP with frames as micro-batches, all forwards through the depth-parallel blocks and then all backwards (fill and drain), inputs stashed",
    label: "GPipe",
    line: { dash: [8, 3, 2, 3], name: "dash-dot" },
    generate: gpipeSchedule,
    // GPipe flushes the pipeline before its one update: a step inside the clip batch is another rule.
    inClipUpdates: false,
    weightStashing: false,
    fusedPath: null,
    diagnosticReference: "bp",
  },
});

/** The rule of `method`, or null for a name this version does not know (a run recorded by another version). */
export function findRule(method: string): Rule | null {
  return Object.hasOwn(RULES, method) ? RULES[method as Method] : null;
}

export function ruleFor(method: string): Rule {
  const rule = findRule(method);
  if (!rule) throw new Error(`BUG: unknown method "${method}" (known: ${METHOD_NAMES.join(", ")})`);
  return rule;
}
