/**
 * Which experiments (their `name:`) a results folder holds runs of: the run folders directly in it
 * (their run-meta.json's `experiment`) and its sweep-plan.json (a shard's plan counts even where the
 * shard started no run). The name is no part of a run id (resolved-config.ts), so runs of two
 * experiments written into one folder (one `output.dir` given to both) share ids where their
 * settings are equal, and one runs.csv and table either way: `run`, `sweep` and `validate` refuse
 * an experiment whose folder holds another's runs (otherExperimentsNote), `results collect` a
 * merge of folders of two experiments.
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { readRunMeta } from "./run-dir.js";
import { SWEEP_PLAN_FILE, readSweepPlan } from "./sweep-plan.js";
import { count, firstFew, listed } from "../util/count.js";

/** Each experiment name found in `dir`, with where: the run folders that name it, and whether the sweep plan does. */
export interface FolderExperiment {
  name: string;
  runs: string[];
  plan: boolean;
}

/** The experiments of `dir`'s run folders and sweep plan, in the order found; none where `dir` does not exist. */
export function experimentsInFolder(dir: string): FolderExperiment[] {
  const found = new Map<string, FolderExperiment>();
  const of = (name: string) => found.get(name) ?? found.set(name, { name, runs: [], plan: false }).get(name)!;
  if (!existsSync(dir)) return [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const meta = e.isDirectory() ? readRunMeta(join(dir, e.name)) : null;
    if (meta !== null && typeof meta.experiment === "string") of(meta.experiment).runs.push(e.name);
  }
  const plan = readSweepPlan(dir);
  if (plan !== null && typeof plan.experiment === "string") of(plan.experiment).plan = true;
  return [...found.values()];
}

/** "sweep-plan.json; 2 run folders: a, b": where a name was found. */
function where(e: FolderExperiment): string {
  const runs = e.runs.length === 0 ? [] : [`${count(e.runs.length, "run folder")}: ${firstFew(e.runs, 3)}`];
  return [...(e.plan ? [SWEEP_PLAN_FILE] : []), ...runs].join("; ");
}

/**
 * What `run`, `sweep` and `validate` say where the folder an experiment named `name` writes into
 * (`root`) holds runs or a sweep plan of experiments of other names, or null where it holds none.
 * The same experiment run again, with other settings too, is not this: its runs are rightly
 * gathered in one table (a column per setting that differs).
 */
export function otherExperimentsNote(root: string, name: string): string | null {
  const others = experimentsInFolder(root).filter((e) => e.name !== name);
  if (others.length === 0) return null;
  const named = listed(others.map((e) => `'${e.name}' (${where(e)})`), "and");
  const one = others.length === 1;
  // A folder beside it, not in it: one experiment's folder inside another's would be listed among its runs' folders.
  const beside = join(dirname(root), name) === root ? `${root}-${name}` : join(dirname(root), name);
  const renamed = one ? `; if this experiment is '${others[0]!.name}' renamed and is to go on with its runs, give name=${others[0]!.name}` : "";
  return (
    `output.dir ${root} holds the runs of ${one ? "experiment" : "experiments"} ${named}, and this experiment is '${name}': ` +
    "the name is no part of a run id, so runs of the same settings would share ids (one taken for the other's, as completed) and all would be gathered into one runs.csv and table, " +
    `and a sweep would relabel ${SWEEP_PLAN_FILE}. output.dir is one experiment's folder, not a folder of experiments: give this experiment one of its own (output.dir=${beside}, or no output.dir: results/${name})${renamed}`
  );
}
