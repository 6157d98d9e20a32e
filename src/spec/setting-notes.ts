/**
 * Notes on settings of a valid experiment that a researcher would want told, said by validate,
 * run, sweep and schedule. Not errors: the run asked for is still a valid run.
 *
 * Settings a valid experiment may hold that change nothing in its configuration. They are notes,
 * not errors: a sweep may cross such a setting with others under which it matters (the rules
 * study zips weight_stashing with update_every), and a run with them is still the run asked for.
 * Saying so keeps a researcher from reporting, say, PipeDream's weight stashing for runs that
 * never used it.
 */
import { VideoFolderDataSpec } from "../data/data-spec.js";
import type { Model } from "../model/model.js";
import { blockFacts } from "../schedule/analysis.js";
import { RULES } from "../schedule/registry.js";
import type { ExperimentSpec } from "./experiment-spec.js";
import { scheduleNotes } from "./schedule-notes.js";

const EVAL_FRACTION_DEFAULT = VideoFolderDataSpec.shape.eval_fraction.parse(undefined);

/** Whether the experiment as written (overrides applied, before defaults) sets data.`key`. */
function writesDataKey(written: unknown, key: string): boolean {
  const data = (written as { data?: unknown } | undefined)?.data;
  return typeof data === "object" && data !== null && key in data;
}

/**
 * `model`, where known, lets the notes that depend on the number of blocks be said. `written`,
 * the experiment before defaults (LoadedExperiment.raw), tells a key set to its default from one
 * left out: a note on a default no one wrote would be said for every such run.
 */
export function ineffectiveSettings(spec: ExperimentSpec, model?: Pick<Model, "blocks">, written?: unknown): string[] {
  const notes: string[] = [];
  const { train, runtime } = spec;
  const rule = RULES[train.method];
  const clipSchedule = model === undefined || train.update_every === "clip" || !rule.inClipUpdates ? null : rule.generate(model.blocks.length, spec.data.clip_length);
  const ticks = clipSchedule?.ticks ?? null;
  if (train.update_every !== "clip" && ticks !== null && train.update_every >= ticks) {
    notes.push(
      `train.update_every: ${train.update_every} is at least the ${ticks} ticks of a clip batch under ${train.method}, so each block steps once per clip batch, after its last tick: the rule of train.update_every: clip (equal up to float32 rounding, under another run id, by the slower in-clip path); update_every: clip says so`,
    );
  }
  if (train.weight_stashing && train.update_every === "clip") {
    notes.push(
      "train.weight_stashing: true changes nothing with train.update_every: clip (the weights do not change inside a clip batch, so every backward already reads the weights its forward used; stashing matters with in-clip updates, train.update_every: N)",
    );
  }
  const generated = spec.data.kind === "moving-mnist" || spec.data.kind === "shapes";
  if (spec.data.eval_seed !== undefined && !generated && !spec.data.shuffle_frames) {
    notes.push(`data.eval_seed changes nothing for ${spec.data.kind} data without data.shuffle_frames (its evaluation clips come from files, not from a seed)`);
  }
  const data = spec.data;
  if (data.kind === "video-folder" && data.split !== null && (data.eval_fraction !== EVAL_FRACTION_DEFAULT || writesDataKey(written, "eval_fraction"))) {
    notes.push(`data.eval_fraction: ${data.eval_fraction} changes nothing with data.split (the ${data.split.format} split files choose the evaluation videos; eval_fraction holds videos out only without split files)`);
  }
  // Schedules that do what was asked but hardly what was meant; with in-clip updates each block
  // counts its own steps, so those notes need each block's steps per clip batch.
  const stepsPerClip = clipSchedule === null || train.update_every === "clip" ? null : blockFacts(clipSchedule, train.update_every, train.weight_stashing).map((f) => f.steps);
  notes.push(...scheduleNotes(train, stepsPerClip));
  const devices = [runtime.device_id].flat();
  if (runtime.provider === "cpu" && devices.some((d) => d !== 0)) {
    notes.push(`runtime.device_id: ${JSON.stringify(runtime.device_id)} changes nothing with runtime.provider: cpu (it places sessions on GPUs: runtime.provider cuda)`);
  }
  return notes;
}

/**
 * The notes of a sweep's runs, each once, with how many runs it applies to when that is not
 * all of them ("(3 of 12 runs)").
 */
export function ineffectiveSettingsOfRuns(runs: readonly { spec: ExperimentSpec; model?: Pick<Model, "blocks">; raw?: unknown }[]): string[] {
  const runsPerNote = new Map<string, number>();
  for (const r of runs) for (const n of ineffectiveSettings(r.spec, r.model, r.raw)) runsPerNote.set(n, (runsPerNote.get(n) ?? 0) + 1);
  return [...runsPerNote].map(([n, k]) => (k === runs.length ? n : `${n} (${k} of ${runs.length} runs)`));
}

/**
 * A sweep over several seeds of generated data, or with shuffle_frames, without data.eval_seed
 * evaluates each seed on clips (or frame orders) of its own, so the spread over seeds mixes in the sampling of the evaluation set.
 */
export function seedDependentEvaluation(specs: readonly ExperimentSpec[]): string | null {
  const seeded = specs.filter((s) => (s.data.kind === "moving-mnist" || s.data.kind === "shapes" || s.data.shuffle_frames) && s.data.eval_seed === undefined);
  if (new Set(seeded.map((s) => s.seed)).size < 2) return null;
  return "each seed is evaluated on clips of its own (generated data, and shuffle_frames' frame order, are drawn from the run's seed), so the std over seeds includes the sampling of the evaluation set; data.eval_seed: N evaluates every seed on the same clips";
}
