/**
 * What a run trained with, from its config.yaml (every run writes its fully resolved config there),
 * as dotted keys: how runs.csv, the paper table and the plots' legends say what sets runs apart
 * beyond the sweep's swept values. Two cases need it: a run in a sweep's folder that was not one of
 * the sweep's (a single `sideways run` with `output.dir` there), and runs of two sweeps of one
 * experiment gathered in one folder that differ in a setting neither swept (`train.steps=60` and
 * `train.steps=200`): without it their rows and lines read the same but for a hash.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { CellValue } from "./csv-text.js";
import type { RunRecord } from "./runs-table.js";

/** Settings that differ between runs without setting them apart as configurations. */
const IGNORED = (key: string) => key === "seed" || key.startsWith("output.");

/** Each run folder's config.yaml, parsed once, as dotted keys to values (lists are values). */
export class RunSettings {
  private readonly cache = new Map<string, Map<string, unknown> | undefined>();

  /** undefined where the run has no readable config.yaml (written by an older version). */
  of(runDir: string): Map<string, unknown> | undefined {
    if (!this.cache.has(runDir)) {
      let flat: Map<string, unknown> | undefined;
      try {
        flat = new Map();
        flatten(parseYaml(readFileSync(join(runDir, "config.yaml"), "utf8")), "", flat);
      } catch {
        flat = undefined;
      }
      this.cache.set(runDir, flat);
    }
    return this.cache.get(runDir);
  }

  /** One setting of a run: a value, or undefined where it or its config.yaml is missing. */
  value(runDir: string, dottedKey: string): CellValue {
    return this.of(runDir)?.get(dottedKey) as CellValue;
  }
}

function flatten(node: unknown, prefix: string, out: Map<string, unknown>): void {
  if (node !== null && typeof node === "object" && !Array.isArray(node)) {
    for (const [k, v] of Object.entries(node)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else if (prefix !== "") {
    out.set(prefix, node);
  }
}

/**
 * The settings (dotted keys, in config.yaml's order) in which configurations whose `shownKeys`
 * values agree differ from each other, read from each configuration's first run; none where a
 * run of such configurations has no config.yaml (the callers then tell them apart by config id).
 * `shownKeys` and the seed and `output.*` never count.
 */
export function settingsSettingApart(records: readonly RunRecord[], shownKeys: readonly string[], settings: RunSettings): string[] {
  const firstOfConfig = new Map<string, RunRecord>();
  for (const r of records) if (!firstOfConfig.has(r.meta.config_id)) firstOfConfig.set(r.meta.config_id, r);
  const shown = (r: RunRecord) => JSON.stringify(shownKeys.map((k) => (k in r.meta.params ? r.meta.params[k] : settings.value(r.dir, k)) ?? null));
  const alike = new Map<string, RunRecord[]>();
  for (const r of firstOfConfig.values()) alike.set(shown(r), [...(alike.get(shown(r)) ?? []), r]);
  const keys = new Set<string>();
  for (const group of alike.values()) {
    if (group.length < 2) continue;
    const flats = group.map((r) => settings.of(r.dir));
    if (flats.some((f) => f === undefined)) continue;
    const all = new Set(flats.flatMap((f) => [...f!.keys()]));
    for (const key of all) {
      if (IGNORED(key) || shownKeys.includes(key)) continue;
      if (new Set(flats.map((f) => JSON.stringify(f!.get(key) ?? null))).size > 1) keys.add(key);
    }
  }
  return [...keys];
}
