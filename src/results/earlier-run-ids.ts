/**
 * Sweep runs keep the ids earlier versions gave them. Before run ids named a path by its file and
 * a list by its items with commas (spec/run-id.ts), a swept model file made folders such as
 * `model-..modelsresnet-mnist.yaml_seed-0_4d4031ae`. Renaming them would make a sweep run again
 * over such a folder train its finished runs anew, and leave `results collect` of its shards, its
 * sweep-plan.json and runs.csv naming one run two ways. So where the sweep's folder already knows
 * a run under its earlier id (a folder of that name, an entry of its sweep plan, a stopped
 * collect's leftover), the run keeps that id; a run it does not know gets the new one. Both ids
 * end in the same config hash, so this never mixes two configs.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { legacyRunId, runIdFor } from "../spec/run-id.js";
import type { PlannedRun } from "../spec/sweep-expand.js";
import { collectLeftoversIn } from "./collect-leftovers.js";
import { type RunMeta, readRunMeta } from "./run-dir.js";
import { readSweepPlan } from "./sweep-plan.js";

/** `runs` (planSweep's) with each run's earlier id where `root`, the sweep's folder, knows it by that id and not by its new one. */
export function keepEarlierRunIds(runs: readonly PlannedRun[], root: string): PlannedRun[] {
  const planned = new Set((readSweepPlan(root)?.runs ?? []).map((r) => r.run_id));
  const leftovers = new Set(collectLeftoversIn(root).map((l) => l.runId));
  const known = (id: string) => existsSync(join(root, id)) || planned.has(id) || leftovers.has(id);
  return runs.map((run) => {
    const earlier = legacyRunId(run.params, run.configHash);
    return earlier !== run.runId && !existsSync(join(root, run.runId)) && known(earlier) ? { ...run, runId: earlier } : run;
  });
}

/** The ids run `run` may have a folder under: its own, its earlier one and its new one (the same where its values' slugs did not change). */
export function runIdsOf(run: Pick<RunMeta, "run_id" | "params" | "config_hash">): string[] {
  return [...new Set([run.run_id, legacyRunId(run.params, run.config_hash), runIdFor(run.params, run.config_hash)])];
}

/**
 * The folder in `dir` holding run `meta` (found in folder `name` elsewhere: a shard's) under its
 * other id, its earlier one or its new one; null where there is none. `results collect` compares a
 * shard's run with it as with a folder of the same name: copied beside it, the run was listed twice.
 */
export function sameRunUnderOtherId(dir: string, name: string, meta: Pick<RunMeta, "params" | "config_hash">): string | null {
  for (const id of [legacyRunId(meta.params, meta.config_hash), runIdFor(meta.params, meta.config_hash)]) {
    if (id === name) continue;
    if (readRunMeta(join(dir, id))?.config_hash === meta.config_hash) return join(dir, id);
  }
  return null;
}
