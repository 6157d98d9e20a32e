/**
 * What a run trained with, from its config.yaml (every run writes its fully resolved config there),
 * as dotted keys: how runs.csv, the paper table and the plots' legends say what sets runs apart
 * beyond the sweep's swept values. Two cases need it: a run in a sweep's folder that was not one of
 * the sweep's (a single `sideways run` with `output.dir` there), and runs of two sweeps of one
 * experiment gathered in one folder that differ in a setting neither swept (`train.steps=60` and
 * `train.steps=200`): without it their rows and lines read the same but for a hash.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { CellValue } from "./csv-text.js";
import { ABSENT_AS, appliesTo } from "../spec/absent-as.js";
import { outsideConfiguration } from "../spec/resolved-config.js";
import type { RunRecord } from "./runs-table.js";

/**
 * At most this many settings become columns or legend entries; where the ones shown still do not
 * tell configurations apart, the table adds the config id (src/results/paper-table.ts).
 */
const MAX_SETTINGS = 4;

/**
 * Each config.yaml parsed once per process (runs.csv is regenerated after every run of a sweep),
 * kept while its size and modification time stay the same.
 */
const parsed = new Map<string, { stamp: string; flat: Map<string, unknown> }>();

/** A run folder's config.yaml as dotted keys to values (list items by index: `model.layers.3.out_channels`). */
export function readSettings(runDir: string): Map<string, unknown> | undefined {
  const file = join(runDir, "config.yaml");
  try {
    const s = statSync(file);
    const stamp = `${s.size}:${s.mtimeMs}`;
    const cached = parsed.get(file);
    if (cached?.stamp === stamp) return cached.flat;
    const flat = flatSettings(parseYaml(readFileSync(file, "utf8")));
    parsed.set(file, { stamp, flat });
    return flat;
  } catch {
    return undefined; // no config.yaml (written by an older version, or a run that failed first)
  }
}

/**
 * A config as dotted keys to values. A key whose absence is one written value (absent-as.ts) and
 * that the config.yaml lacks (a run written without it, or by a version before it) reads as that
 * value: in runs.csv and the table, not a blank beside runs that set it.
 */
function flatSettings(config: unknown): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  flatten(config, "", flat);
  for (const e of ABSENT_AS) {
    const key = `${e.section}.${e.key}`;
    const present = e.section === "train" ? flat.has("train.method") : flat.has("data.kind") && appliesTo(e, flat.get("data.kind") as string);
    if (!flat.has(key) && present) flat.set(key, e.value);
  }
  return flat;
}

function flatten(node: unknown, prefix: string, out: Map<string, unknown>): void {
  if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else if (prefix !== "") {
    out.set(prefix, node);
  }
}

/**
 * The settings of the runs in `records`: each configuration's (config_id's) are those of its first
 * run with a readable config.yaml, for all its runs, since runs of one configuration differ only
 * in their seed; for a configuration none of whose runs has started, those its sweep planned
 * (sweep-plan.json), so that its rows say which sweep's they are.
 */
export class RunSettings {
  private readonly byConfig = new Map<string, Map<string, unknown> | undefined>();
  /** Each configuration's run folders, in the records' order. */
  private readonly dirs = new Map<string, string[]>();
  /** Each configuration's first planned config (a run without a folder). */
  private readonly planned = new Map<string, unknown>();

  constructor(records: readonly RunRecord[]) {
    for (const r of records) {
      this.dirs.set(r.meta.config_id, [...(this.dirs.get(r.meta.config_id) ?? []), r.dir]);
      if (r.plannedConfig !== undefined && !this.planned.has(r.meta.config_id)) this.planned.set(r.meta.config_id, r.plannedConfig);
    }
  }

  /** The configuration's settings; undefined where none of its runs has a readable config.yaml or a planned config. */
  of(configId: string): Map<string, unknown> | undefined {
    if (!this.byConfig.has(configId)) {
      let found: Map<string, unknown> | undefined;
      for (const dir of this.dirs.get(configId) ?? []) if ((found = readSettings(dir)) !== undefined) break;
      if (found === undefined && this.planned.has(configId)) found = flatSettings(this.planned.get(configId));
      this.byConfig.set(configId, found);
    }
    return this.byConfig.get(configId);
  }

  /** One setting of a run's configuration: a value, or undefined where it or every config.yaml is missing. */
  value(r: RunRecord, dottedKey: string): CellValue {
    return this.of(r.meta.config_id)?.get(dottedKey) as CellValue;
  }
}

/**
 * The settings (dotted keys, in config.yaml's order, at most MAX_SETTINGS) in which configurations
 * whose `shownKeys` values agree differ from each other; none where a configuration of such a
 * group has no config.yaml at all (the callers then tell them apart by config id). `shownKeys`
 * and the keys outsideConfiguration names never count.
 */
export function settingsSettingApart(records: readonly RunRecord[], shownKeys: readonly string[], settings: RunSettings): string[] {
  const firstOfConfig = new Map<string, RunRecord>();
  for (const r of records) if (!firstOfConfig.has(r.meta.config_id)) firstOfConfig.set(r.meta.config_id, r);
  const shown = (r: RunRecord) => JSON.stringify(shownKeys.map((k) => (k in r.meta.params ? r.meta.params[k] : settings.value(r, k)) ?? null));
  const alike = new Map<string, string[]>();
  for (const r of firstOfConfig.values()) alike.set(shown(r), [...(alike.get(shown(r)) ?? []), r.meta.config_id]);
  const keys = new Set<string>();
  for (const ids of alike.values()) {
    if (ids.length < 2) continue;
    const flats = ids.map((id) => settings.of(id));
    if (flats.some((f) => f === undefined)) continue;
    for (const key of new Set(flats.flatMap((f) => [...f!.keys()]))) {
      if (outsideConfiguration(key) || shownKeys.includes(key)) continue;
      if (new Set(flats.map((f) => JSON.stringify(f!.get(key) ?? null))).size > 1) keys.add(key);
    }
  }
  return [...keys].slice(0, MAX_SETTINGS);
}
