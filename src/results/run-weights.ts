/**
 * Which weights file a command reads when given a run's folder or a file (`export --checkpoint`,
 * `evaluate`): a file as given; for a run's folder, final.safetensors of a completed run, else
 * resume.safetensors of an interrupted one. Final weights cut short are refused as such (runs.csv
 * says unreadable_weights), never read as far as they go.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { RESUME_FILE } from "../train/resume-checkpoint.js";
import { FINAL_WEIGHTS_FILE, SUMMARY_FILE, UNREADABLE_WEIGHTS, finalWeightsDamage, readSummary } from "./run-dir.js";

/** `given` says how the path was given in messages, e.g. "export: --checkpoint" or "evaluate:". */
export function runWeightsFile(path: string, given: string): string {
  if (!existsSync(path)) throw new InputError(`${given} ${path}: no such file or folder; give a run's folder or a weights file (safetensors)`, path);
  if (!statSync(path).isDirectory()) return path;
  // Missing final weights under a completed summary were removed since: a resume checkpoint there
  // is read, and the command says that it is not the final weights (resumeCheckpointStep).
  const summary = readSummary(path);
  const completed = summary?.status === "completed";
  const damage = completed ? finalWeightsDamage(path) : null;
  if (damage !== null)
    throw new InputError(`${given} ${path}: ${damage}, though the run's ${SUMMARY_FILE} says it completed (runs.csv: ${UNREADABLE_WEIGHTS}); expected the run's whole trained weights; nothing was written`, join(path, FINAL_WEIGHTS_FILE));
  for (const name of [FINAL_WEIGHTS_FILE, RESUME_FILE]) if (existsSync(join(path, name))) return join(path, name);
  // A run that stopped at a non-finite loss (or failed before its first checkpoint) writes none: said, with why it ended.
  const ended = summary === null || completed ? "" : ` (its ${SUMMARY_FILE} says ${summary.status}${summary.message ? `: ${summary.message}` : ""}; a run that ended so left no weights)`;
  const removed = completed ? ` (its ${SUMMARY_FILE} says it completed: its ${FINAL_WEIGHTS_FILE} was removed since)` : ended;
  throw new InputError(`${given} ${path} is a folder with no ${FINAL_WEIGHTS_FILE} or ${RESUME_FILE} in it${removed}; give a run's folder or a weights file`, path);
}
