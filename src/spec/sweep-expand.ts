/**
 * Sweep expansion: a pure function from a `sweep:` section to the list of parameter assignments,
 * then a plan of validated runs with deterministic ids.
 *
 * Order: grid (cartesian product, first key slowest) x zip rows x random samples x seeds.
 *   grid: { a: [1, 2, 3], b: [10, 20] }            -> 6 runs: a=1 b=10, a=1 b=20, a=2 b=10, ...
 *   grid: { a: [1, 2] }, zip: { b: [3, 4], c: [5, 6] } -> a=1 b=3 c=5, a=1 b=4 c=6, a=2 b=3 c=5, a=2 b=4 c=6
 *   ... seeds: [0, 1]                               -> each of those twice, with seed=0 and seed=1
 * Random samples come from their own PRNG seeded by `random.seed`, so they are the same every time.
 */
import { SpecError } from "../errors.js";
import type { Model } from "../model/model.js";
import { Rng } from "../util/rng.js";
import type { RandomParam, SweepSpec } from "./sweep-spec.js";
import { ExperimentSpec } from "./experiment-spec.js";
import { type LoadedExperiment, checkExperimentFiles, validateExperiment } from "./load-experiment.js";
import { type Override, cloneRaw, setKeys } from "./overrides.js";
import { configHash, replicateId } from "./resolved-config.js";
import { runIdFor } from "./run-id.js";
import { schemaAtPath } from "./schema-path.js";

export type Params = Record<string, unknown>;

function product(lists: Params[][]): Params[] {
  return lists.reduce<Params[]>((acc, list) => acc.flatMap((a) => list.map((b) => ({ ...a, ...b }))), [{}]);
}

function sample(p: RandomParam, next: () => number): unknown {
  switch (p.dist) {
    case "uniform":
      return p.low + (p.high - p.low) * next();
    case "log_uniform":
      return Math.exp(Math.log(p.low) + (Math.log(p.high) - Math.log(p.low)) * next());
    case "int_uniform":
      return p.low + Math.floor((p.high - p.low + 1) * next());
    case "choice":
      return p.values[Math.floor(p.values.length * next())];
  }
}

/** The parameter assignment of every run, in order. */
export function expandSweep(sweep: SweepSpec): Params[] {
  const grid = Object.entries(sweep.grid).map(([k, values]) => values.map((v) => ({ [k]: v })));
  const zipKeys = Object.keys(sweep.zip);
  const zipLength = zipKeys.length ? sweep.zip[zipKeys[0]].length : 0;
  const zipRows = zipKeys.length ? Array.from({ length: zipLength }, (_, i) => Object.fromEntries(zipKeys.map((k) => [k, sweep.zip[k][i]]))) : [{}];
  let randomRows: Params[] = [{}];
  if (sweep.random) {
    const rng = new Rng(sweep.random.seed).fork("sweep.random");
    const next = () => rng.next();
    const entries = Object.entries(sweep.random.params);
    randomRows = Array.from({ length: sweep.random.n }, () => Object.fromEntries(entries.map(([k, p]) => [k, sample(p, next)])));
  }
  const seeds = sweep.seeds === null ? null : typeof sweep.seeds === "number" ? Array.from({ length: sweep.seeds }, (_, i) => i) : sweep.seeds;
  const seedRows = seeds === null ? [{}] : seeds.map((seed) => ({ seed }));
  return product([...grid, zipRows, randomRows, seedRows]);
}

/** Keys a sweep may not vary: they say where and how the sweep itself runs. */
const FIXED_PREFIXES = ["name", "output", "sweep"];

/**
 * A run's swept values by the part of the sweep they come from, as an error names them:
 * "sweep.grid: train.optimizer.lr=0.1, train.batch_size=\"x\"; seed=1".
 */
function sweptValues(sweep: SweepSpec, params: Params): string {
  return sweepSections(sweep)
    .map(([section, keys]) => [section, keys.filter((k) => k in params).map((k) => `${k}=${JSON.stringify(params[k])}`)] as const)
    .filter(([, values]) => values.length > 0)
    .map(([section, values]) => (section === "seeds" ? values.join(", ") : `sweep.${section}: ${values.join(", ")}`))
    .join("; ");
}

/** Each part of the sweep (under `sweep.`) with the keys it sets, in expandSweep's order. */
function sweepSections(sweep: SweepSpec): [string, string[]][] {
  const sections: [string, string[]][] = [
    ["grid", Object.keys(sweep.grid)],
    ["zip", Object.keys(sweep.zip)],
    ["random.params", Object.keys(sweep.random?.params ?? {})],
  ];
  if (sweep.seeds !== null) sections.push(["seeds", ["seed"]]);
  return sections;
}

/**
 * The keys the sweep sets (grid, zip, random; not the seed) that no override sets: what a table of
 * the base configuration (`sideways schedule`) still takes from the file rather than from a run.
 * An override of a key, of a mapping above it or of a key inside it counts as setting it.
 */
export function sweptKeysNotOverridden(sweep: SweepSpec, overrides: readonly Pick<Override, "keys">[]): string[] {
  const set = overrides.map((o) => o.keys.join("."));
  return sweptKeys(sweep).filter((key) => !set.some((o) => keysOverlap(o, key)));
}

/** The keys the sweep sets in grid, zip and random (not the seed), in expandSweep's order. */
export function sweptKeys(sweep: SweepSpec): string[] {
  return sweepSections(sweep)
    .filter(([section]) => section !== "seeds")
    .flatMap(([, keys]) => keys);
}

/** Whether setting dotted key `a` sets `b` or part of it: the same key, or one inside the other (train and train.method). */
export function keysOverlap(a: string, b: string): boolean {
  return `${a}.`.startsWith(`${b}.`) || `${b}.`.startsWith(`${a}.`);
}

/** Structural checks the schema cannot express: known keys, no key swept twice (nor inside another swept key), equal zip lengths. */
export function checkSweepKeys(sweep: SweepSpec, raw: unknown, file: string): void {
  const seen = new Map<string, string>();
  for (const [section, keys] of sweepSections(sweep)) {
    for (const key of keys) {
      const where = `${file}: sweep.${section}${section === "seeds" ? "" : `.${key}`}`;
      if (FIXED_PREFIXES.some((p) => key === p || key.startsWith(`${p}.`)))
        throw new SpecError(`${where}: '${key}' cannot be swept (name, output and sweep are fixed for a whole sweep)`, file, `sweep.${section}`);
      const at = schemaAtPath(ExperimentSpec, key.split("."), raw);
      if (!at.ok) throw new SpecError(`${where}: ${at.message}`, file, `sweep.${section}.${key}`);
      const before = seen.get(key);
      if (before) throw new SpecError(`${where}: '${key}' is already swept in sweep.${before}; sweep each key in one place`, file, `sweep.${section}.${key}`);
      // A mapping and a key inside it (train and train.method): one run's value of the mapping
      // would replace the other's value of the key, and the run id would still name both.
      const nested = [...seen].find(([k]) => keysOverlap(k, key));
      if (nested)
        throw new SpecError(`${where}: '${key}' and '${nested[0]}' (swept in sweep.${nested[1]}) are one inside the other, so one's values would overwrite the other's; sweep each key in one place (the inner key's values inside the mapping's)`, file, `sweep.${section}.${key}`);
      seen.set(key, section);
    }
  }
  const zipLengths = Object.entries(sweep.zip).map(([k, v]) => `${k} (${v.length})`);
  if (new Set(Object.values(sweep.zip).map((v) => v.length)).size > 1)
    throw new SpecError(`${file}: sweep.zip: lists varied together must have the same length, found ${zipLengths.join(", ")}`, file, "sweep.zip");
}

/**
 * A command-line override of a key the sweep sets is refused: each run's swept value replaces it,
 * so `sweep exp.yaml train.method=bp` would still train every method the grid lists. (Hydra lets
 * such an override win; here the sweep's section says what runs, and narrowing it is one override
 * away: sweep.grid.train.method=[bp].) A key under a swept mapping, or a mapping value holding a
 * swept key, is the same case.
 */
export function checkOverridesNotSwept(sweep: SweepSpec, exp: Pick<LoadedExperiment, "file" | "raw" | "parsedOverrides">): void {
  const swept = sweepSections(sweep).flatMap(([section, keys]) =>
    keys.map((key) => {
      const at = schemaAtPath(ExperimentSpec, key.split("."), exp.raw);
      return { section, key, keys: at.ok ? at.keys : key.split(".") };
    }),
  );
  for (const o of exp.parsedOverrides) {
    const text = o.text;
    if (o.keys[0] === "sweep") continue;
    for (const s of swept) {
      const within = startsWith(o.keys, s.keys);
      const holds = !within && !o.remove && startsWith(s.keys, o.keys) && hasPath(o.value, s.keys.slice(o.keys.length));
      if (!within && !holds) continue;
      const whole = o.keys.length > s.keys.length ? " (the whole mapping)" : "";
      const what = holds ? `this value's ${s.key} would be replaced` : o.remove ? "removing it would change nothing" : "this value would never be used";
      // A list's other items can be set one by one; a mapping's keys, split out, would keep keys
      // of the file's mapping that the whole value dropped (and its kind's checks with them).
      const item = s.keys.length === o.keys.length + 1 ? s.keys[o.keys.length] : null;
      const instead = holds && Array.isArray(o.value) && item !== null ? keptApart(o.keys, o.value, item) : o.remove ? "Leave this override out" : narrowing(s.section, s.key, text, o.keys.length === s.keys.length);
      throw new SpecError(`${exp.file}: override '${text}': sweep.${s.section} sets ${s.key}${whole} in every run of the sweep, so ${what}. ${instead}`, exp.file, `sweep.${s.section}`);
    }
  }
}

const startsWith = (keys: readonly string[], prefix: readonly string[]) => prefix.length <= keys.length && prefix.every((k, i) => keys[i] === k);

function hasPath(value: unknown, keys: readonly string[]): boolean {
  let node = value;
  for (const k of keys) {
    const has = Array.isArray(node) ? /^\d+$/.test(k) && Number(k) < node.length : typeof node === "object" && node !== null && k in node;
    if (!has) return false;
    node = (node as Record<string, unknown>)[k];
  }
  return true;
}

/**
 * For a list value whose item `swept` the sweep sets: its other items as overrides of their own
 * (`train.optimizer.betas=[0.5,0.99]` with beta1 swept: `train.optimizer.betas.1=0.99`).
 */
function keptApart(keys: readonly string[], list: readonly unknown[], swept: string): string {
  const others = list.flatMap((item, i) => (String(i) === swept ? [] : [`${[...keys, i].join(".")}=${overrideValue(item)}`]));
  return others.length === 0 ? "Leave it to the sweep" : `To set the rest, give each as an override of its own: ${others.join(" ")}`;
}

/** A value as override text that parses back to it: a plain scalar as typed, anything else as JSON (which YAML reads). */
function overrideValue(v: unknown): string {
  if (v === null) return "";
  if ((typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(v) && !["true", "false", "null", "yes", "no", "on", "off"].includes(v.toLowerCase())) || typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** How to run fewer of the sweep's values instead: its own list overridden, or a single run. */
function narrowing(section: string, key: string, text: string, sameKey: boolean): string {
  const value = text.slice(text.indexOf("=") + 1);
  const single = "or use 'sideways run' for one configuration";
  if (sameKey && section === "seeds") return `To run that seed alone, override the sweep's: sweep.seeds=[${value}]; ${single}`;
  if (sameKey && section === "grid") return `To narrow the sweep to that value, override its list: sweep.grid.${key}=[${value}]; ${single}`;
  return `Change sweep.${section} in the file or as an override of its own, ${single}`;
}

export interface PlannedRun {
  index: number;
  /** Which run of the sweep, and its swept values, for messages: "sweep run 1 (sweep.grid: lr=0.1)". */
  context: string;
  runId: string;
  configId: string;
  params: Params;
  /** The run's experiment before defaults (the file, overrides and swept values), as LoadedExperiment.raw. */
  raw: unknown;
  spec: ExperimentSpec;
  model: Model;
  configHash: string;
}

/**
 * A grid crosses every value of each key with the other keys' and the zip's rows, so two keys that
 * constrain each other (weight stashing is for pipelined-bp only) make runs no one meant. Where a
 * run is invalid in a key so crossed and another run of the sweep is valid with that very value,
 * the combination is what fails: say how to list only the wanted combinations.
 */
function gridHint(err: unknown, sweep: SweepSpec, params: Params, all: readonly Params[], rawFor: (p: Params) => unknown): void {
  if (!(err instanceof SpecError) || err.keyPath === undefined) return;
  const key = err.keyPath;
  // Crossed: a grid key with another grid key or the zip's rows, or a zip key with a grid.
  const [grid, zip] = [Object.keys(sweep.grid), Object.keys(sweep.zip)];
  if (!((grid.includes(key) && grid.length + zip.length >= 2) || (zip.includes(key) && grid.length >= 1))) return;
  const value = JSON.stringify(params[key]);
  if (all.some((p) => p !== params && JSON.stringify(p[key]) === value && ExperimentSpec.safeParse(rawFor(p)).success))
    err.message += `\n(sweep.grid crosses each of its values with every other swept value, and ${key}=${value} is valid in other runs of the sweep; to run only some combinations, list them as rows of sweep.zip instead, as experiments/rules-study.yaml does)`;
}

/**
 * Every run of the experiment's sweep, each validated in full (a bad value anywhere in the grid
 * fails before anything runs). A run's id is its swept parameters and the hash of its fully
 * resolved config, so changing any setting (swept or not) gives other ids.
 */
export function planSweep(exp: LoadedExperiment): PlannedRun[] {
  const sweep = exp.spec.sweep;
  if (sweep === null) throw new SpecError(`${exp.file}: sweep: the file has no sweep section (use 'sideways run' for a single run)`, exp.file, "sweep");
  // `sweep: {}` (or a grid emptied by an override) would be one run under a sweep's name: as
  // likely a mistake as no section at all.
  if (sweepSections(sweep).every(([, keys]) => keys.length === 0))
    throw new SpecError(`${exp.file}: sweep: the sweep section sets no key (expected keys in sweep.grid, sweep.zip or sweep.random.params, or sweep.seeds; use 'sideways run' for a single run)`, exp.file, "sweep");
  checkSweepKeys(sweep, exp.raw, exp.file);
  checkOverridesNotSwept(sweep, exp);
  const checkedModels = new Map<string, Model>();
  const rawFor = (params: Params) => {
    const raw = cloneRaw({ ...exp.raw, sweep: null });
    for (const [key, value] of Object.entries(params)) {
      const at = schemaAtPath(ExperimentSpec, key.split("."), raw);
      if (!at.ok) throw new Error(`BUG: sweep key ${key} passed checkSweepKeys but not schemaAtPath`);
      setKeys(raw, { text: `sweep ${key}`, keys: at.keys, value }, ExperimentSpec);
    }
    return raw;
  };
  const all = expandSweep(sweep);
  const runs = all.map((params, index) => {
    const raw = rawFor(params);
    const context = `sweep run ${index} (${sweptValues(sweep, params)})`;
    let spec: ExperimentSpec;
    try {
      spec = validateExperiment(raw, exp.file, `${exp.file}: ${context}`);
    } catch (err) {
      gridHint(err, sweep, params, all, rawFor);
      throw err;
    }
    // Files are checked (and the model loaded) once per distinct model/data/checkpoint combination.
    const fileKey = JSON.stringify([spec.model, spec.data, spec.train.init_checkpoint]);
    let model = checkedModels.get(fileKey);
    if (model === undefined) {
      model = checkExperimentFiles(spec, exp.baseDir, exp.file);
      checkedModels.set(fileKey, model);
    }
    const hash = configHash(spec, model, exp.baseDir);
    return { index, context, runId: runIdFor(params, hash), configId: replicateId(spec, model, exp.baseDir), params, raw, spec, model, configHash: hash };
  });
  // Two runs of one config would share a folder: the second would find the first's and skip, and
  // the sweep would count one run twice. A value listed twice (or a zip or random draw that
  // repeats one) is what makes them. Found by run id, not config hash: runs that differ only in a
  // key the hash leaves out (data.workers, swept for wall time) share a hash and are rightly two
  // runs. So one file under two names (a symlink) is two runs of one config (docs/SWEEPS.md).
  const first = new Map<string, PlannedRun>();
  for (const r of runs) {
    const earlier = first.get(r.runId);
    if (earlier !== undefined) {
      const said = (p: PlannedRun) => `run ${p.index} (${Object.entries(p.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
      throw new SpecError(`${exp.file}: sweep: ${said(r)} is the same run as ${said(earlier)} (run id ${r.runId}); expected each run once: ${sweep.random ? "a value listed twice, or random draws that repeat (a choice of few values: use grid)" : "is a value listed twice?"}`, exp.file, "sweep");
    }
    first.set(r.runId, r);
  }
  return runs;
}
