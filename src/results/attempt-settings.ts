/**
 * A resumed run's settings that differ from its config.yaml's. The run id leaves out settings that
 * change when work happens, not a number (train.checkpoint_every, data.workers, data.prefetch,
 * runtime.steps_per_call, output.*, name: src/spec/resolved-config.ts), so a run stopped with one
 * value resumes with another as the same run, bit for bit. config.yaml keeps the values the run
 * started with (rewriting it lost them); each resumed attempt that ran others records them in
 * run-meta.json (Attempt.settings in run-dir.ts), and says so as it resumes.
 */
import { existsSync } from "node:fs";
import { readYamlFile } from "../spec/yaml-file.js";

type Leaves = Map<string, unknown>;

/** Each leaf of a config by dotted key; a list is one leaf (its items are one setting). */
function leaves(value: unknown, prefix = "", into: Leaves = new Map()): Leaves {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) if (v !== undefined) leaves(v, prefix === "" ? key : `${prefix}.${key}`, into);
  } else if (prefix !== "") into.set(prefix, value);
  return into;
}

/** JSON with object keys sorted: the same value read back from YAML compares equal whatever its order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(value) ?? "null";
}

/** A setting this attempt runs with and config.yaml's value of it (undefined where either leaves it out). */
export interface SettingChange {
  key: string;
  inConfig: unknown;
  now: unknown;
}

/**
 * The settings of `resolved` (the config this attempt runs, as config.yaml is written) whose value
 * differs from `configFile`'s; none when that file is missing. Only settings the run id leaves out
 * can differ in a resumed run (its id is the same), and spellings of one value that hash alike.
 */
export function settingsOtherThanConfigFile(configFile: string, resolved: unknown): SettingChange[] {
  if (!existsSync(configFile)) return [];
  const inFile = leaves(readYamlFile(configFile, "run config"));
  const now = leaves(JSON.parse(JSON.stringify(resolved)) as unknown);
  const changes: SettingChange[] = [];
  for (const key of [...new Set([...now.keys(), ...inFile.keys()])].sort()) {
    if (canonical(inFile.get(key)) !== canonical(now.get(key))) changes.push({ key, inConfig: inFile.get(key), now: now.get(key) });
  }
  return changes;
}

/** run-meta.json's record of them: dotted key, this attempt's value (null where it leaves it out). */
export const attemptSettings = (changes: readonly SettingChange[]): Record<string, unknown> =>
  Object.fromEntries(changes.map((c) => [c.key, c.now ?? null]));

const shown = (v: unknown) => (v === undefined ? "unset" : canonical(v));

/** The note a resumed attempt prints where it runs other settings than config.yaml's, or null. */
export function otherSettingsNote(runId: string, changes: readonly SettingChange[]): string | null {
  if (changes.length === 0) return null;
  const each = changes.map((c) => `${c.key} ${shown(c.inConfig)} there, ${shown(c.now)} now`).join("; ");
  return `note: resuming ${runId} with settings other than its config.yaml's (${each}): they are no part of the run id and change no number; config.yaml keeps the values the run started with, run-meta.json's provenance this attempt's`;
}
