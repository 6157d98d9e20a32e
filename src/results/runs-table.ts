/**
 * results/<experiment>/runs.csv: one row per run directory, and per run the sweep planned that has
 * none (sweep-plan.json), regenerated from the run directories (run-meta.json + summary.json)
 * under a lock and replaced atomically, so concurrent sweep processes, shards and killed processes
 * can never leave it half-written or with duplicate rows.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { RunSummary } from "../train/run-types.js";
import { writeFileAtomic } from "./atomic-write.js";
import { type CellValue, csvText } from "./csv-text.js";
import { withLock } from "./file-lock.js";
import { type RunMeta, RUN_META_FILE, SUMMARY_FILE, UNREADABLE_RUN_META, UNREADABLE_SUMMARY, UNREADABLE_WEIGHTS, isRunInProgress, lastAttempt, readRunMeta, readSummary, unreadableJson } from "./run-dir.js";
import { RunSettings, readSettings, settingsSettingApart } from "./run-settings.js";
import { absentPlannedRuns, readSweepPlan } from "./sweep-plan.js";
import { isCollectLeftover } from "./collect-leftovers.js";
import { runIdsOf } from "./earlier-run-ids.js";
import { runKey } from "../spec/run-id.js";
import { NOT_COPIED, notCopiedMessage, notCopiedRecordOf, pruneNotCopied, readNotCopied } from "./not-copied.js";

export const RUNS_CSV = "runs.csv";

export interface RunRecord {
  dir: string;
  meta: RunMeta;
  summary: RunSummary | null;
  /** summary status, or "running" / "interrupted" when there is no summary; "not_started" / "other_shard" for a planned run without a folder (sweep-plan.ts), "not_copied" for one a collect did not copy from a shard (not-copied.ts) */
  status: string;
  /** the step its last attempt got to (run-dir.ts lastAttempt); null when unknown */
  stepsDone: number | null;
  /** runs.csv's message where it is not the summary's: why an unreadable_weights run's final weights are not whole, or that run-meta.json is not JSON */
  message?: string;
  /** a planned run without a folder: the resolved config its sweep planned (sweep-plan.ts), standing in for its config.yaml */
  plannedConfig?: unknown;
}

/** Columns after the swept parameters; the parameters sit between config_id and seed. */
export const RESULT_COLUMNS = [
  "seed",
  "method",
  "status",
  "steps_done",
  "final_train_loss",
  "final_eval_loss",
  "final_eval_clip_top1",
  "final_eval_frame_top1",
  "best_eval_clip_top1",
  "wall_s",
  "frames_per_s",
  "data_wait_share",
  "message",
  // Last, so that the columns before them keep their places in scripts that cut by position.
  "eval_on_train",
  "warnings",
  // Video-level top-1 where evaluation clips come several to a video (video-folder data); blank elsewhere.
  "final_eval_video_top1",
  "best_eval_video_top1",
  // The step of the best evaluation (summary.json; by video top-1 where there is one): where best.safetensors is, with output.keep_best.
  "best_eval_step",
  // Top-5 of the last evaluation, with more than 5 classes (blank with fewer, and in older summaries); video top-5 on video-folder data.
  "final_eval_clip_top5",
  "final_eval_video_top5",
  // Top-5 of the best evaluation (the one best_eval_step names), as summary.json has them.
  "best_eval_clip_top5",
  "best_eval_video_top5",
] as const;
export const ID_COLUMNS = ["run_id", "config_id"] as const;
/**
 * The last column of the runs.csv that `sideways evaluate <sweep folder> --out DIR` writes (never a
 * sweep's own): the overrides its final_eval_* figures were evaluated with, space-separated ("" for
 * none). Not a setting of the paper table; the table's note names them (src/results/paper-table.ts).
 */
export const EVAL_OVERRIDES_COLUMN = "eval_overrides";
/** The result columns a paper table can average over seeds (the rest say which run and how it ended). */
export const METRIC_COLUMNS = RESULT_COLUMNS.filter((c) => !["seed", "method", "status", "message", "eval_on_train", "warnings", "best_eval_step"].includes(c));

export { UNREADABLE_RUN_META, UNREADABLE_SUMMARY, UNREADABLE_WEIGHTS };

/**
 * Where `results collect` moves a target's run folder that a shard's completed copy replaces
 * (src/cli/commands/results.ts): inside the experiment's folder, beside its runs, never read as one.
 */
export const COLLECT_REPLACED_DIR = "collect-replaced";

/**
 * The experiment folders (holding runs) directly inside `dir`, as `given` followed by their names:
 * where a command was given the results folder above them, its message names the folders meant.
 * An experiment's collect-replaced/ holds run folders too, but is no experiment: a folder whose
 * runs were all moved or deleted is not pointed to the damaged copies kept there.
 */
export function experimentFoldersIn(dir: string, given: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== COLLECT_REPLACED_DIR && collectRuns(join(dir, e.name)).length > 0)
    .map((e) => join(given, e.name));
}

export function collectRuns(root: string): RunRecord[] {
  if (!existsSync(root)) return [];
  const records: RunRecord[] = [];
  /** Run folders whose run-meta.json is there but is not JSON: rows too, whether a sweep planned them or not. */
  const unreadableMeta: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    // A collect's temporary folder holds a copy of a run's record, but is no run (collect-leftovers.ts).
    if (!entry.isDirectory() || isCollectLeftover(entry.name)) continue;
    const dir = join(root, entry.name);
    const meta = readRunMeta(dir);
    if (!meta) {
      if (unreadableJson(join(dir, RUN_META_FILE))) unreadableMeta.push(entry.name);
      continue;
    }
    const summary = readSummary(dir);
    // A run training now (a retry, a resumed run) still has its last attempt's summary: it is
    // running. One killed outright has no summary of its own attempt: its checkpoint says (lastAttempt).
    const attempt = lastAttempt(dir);
    // A summary.json that cannot be read is said as such, not taken for an interrupted run's missing one.
    const status = isRunInProgress(dir) ? "running" : summary === null && unreadableJson(join(dir, SUMMARY_FILE)) ? UNREADABLE_SUMMARY : (attempt?.status ?? "interrupted");
    records.push({ dir, meta, summary, status, stepsDone: attempt?.steps ?? null, ...(status === UNREADABLE_WEIGHTS && attempt?.damage !== undefined ? { message: attempt.damage } : {}) });
  }
  // The sweep's planned runs that have no folder (src/results/sweep-plan.ts) are rows too.
  // A planned run whose folder's run-meta.json cannot be read is there, not unstarted; it is said as such.
  const planned = new Set<string>();
  const plan = readSweepPlan(root);
  // One a collect found in a shard and did not copy ran there: it is said as such, with collect's reason.
  const notCopied = readNotCopied(root);
  for (const { entry, status } of absentPlannedRuns(plan, records.map((r) => r.meta))) {
    const { config, ...plannedMeta } = entry;
    // Its folder may have its other id (earlier-run-ids.ts): a run-meta.json that cannot be read
    // there is this run's (its hash is in the name), one row under the folder's name, not two.
    const unreadableId = runIdsOf(entry).find((id) => unreadableJson(join(root, id, RUN_META_FILE)));
    const meta = unreadableId === undefined ? plannedMeta : { ...plannedMeta, run_id: unreadableId };
    const dir = join(root, meta.run_id);
    planned.add(meta.run_id);
    const unreadable = unreadableId !== undefined;
    const notCopiedRecord = notCopiedRecordOf(notCopied, entry);
    const said = unreadable
      ? { status: UNREADABLE_RUN_META, message: UNREADABLE_RUN_META_MESSAGE }
      : notCopiedRecord !== undefined
        ? { status: NOT_COPIED, message: notCopiedMessage(notCopiedRecord) }
        : { status };
    records.push({ dir, meta, summary: null, stepsDone: null, ...said, ...(config === undefined ? {} : { plannedConfig: config }) });
  }
  // One no sweep planned (a `sideways run`'s folder, a plan since replaced) is a row too, named by
  // its folder: its config id is in the unreadable file (blank); seed and method come from its
  // config.yaml where that can be read.
  for (const name of unreadableMeta.filter((n) => !planned.has(n))) {
    const config = readSettings(join(root, name));
    const seed = config?.get("seed");
    const method = config?.get("train.method");
    const meta: RunMeta = {
      run_id: name, config_id: "", config_hash: "", experiment: "", index: Number.MAX_SAFE_INTEGER, params: {},
      seed: (typeof seed === "number" ? seed : null) as number, method: typeof method === "string" ? method : "",
    };
    records.push({ dir: join(root, name), meta, summary: null, status: UNREADABLE_RUN_META, stepsDone: null, message: UNREADABLE_RUN_META_MESSAGE });
  }
  // A run the last sweep planned takes its place in that plan: a sweep grown by rows (a zip row
  // added) would otherwise put its new runs among the old by the indexes they had in each plan.
  // One under its other id than the plan's (earlier-run-ids.ts) is found by its config hash.
  const planIndex = new Map((plan?.runs ?? []).map((e) => [e.run_id, e.index]));
  const planIndexByKey = new Map((plan?.runs ?? []).map((e) => [runKey(e), e.index]));
  return sweepOrder(records, (r) => planIndex.get(r.meta.run_id) ?? planIndexByKey.get(runKey(r.meta)) ?? r.meta.index);
}

/**
 * Records in sweep order, those of the same swept values side by side: two sweeps gathered in one
 * folder (the same grid at another learning rate) number their runs from 0 each, and by index alone
 * their configurations would interleave in runs.csv and the paper table. Each swept-values group
 * takes the place of its lowest index; runs without swept values (`sideways run`'s, unreadable
 * ones) keep their own. `indexOf`: a run's place in its sweep (the last plan's where it has one).
 */
function sweepOrder(records: RunRecord[], indexOf: (r: RunRecord) => number): RunRecord[] {
  const sweptValues = (r: RunRecord) => {
    const { seed: _seed, ...rest } = r.meta.params;
    return Object.keys(rest).length === 0 ? null : JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  const lowest = (m: Map<string, number>, key: string, index: number) => m.set(key, Math.min(m.get(key) ?? Infinity, index));
  const groupFirst = new Map<string, number>();
  const configFirst = new Map<string, number>();
  for (const r of records) {
    const key = sweptValues(r);
    if (key !== null) lowest(groupFirst, key, indexOf(r));
    lowest(configFirst, r.meta.config_id, indexOf(r));
  }
  const keyed = records.map((r) => {
    const key = sweptValues(r);
    return { r, key: key ?? "", place: key === null ? indexOf(r) : groupFirst.get(key)!, configPlace: configFirst.get(r.meta.config_id)! };
  });
  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  // Configurations whose lowest indexes tie (two sweeps gathered here number from 0) go in the order
  // of the settings that set them apart (train.steps 80 before 300), not of their config ids' hashes.
  const settings = new RunSettings(records);
  const apart = settingsSettingApart(records, paramColumns(records), settings);
  const bySettings = (a: RunRecord, b: RunRecord) => {
    for (const key of apart) {
      const [x, y] = [settings.value(a, key), settings.value(b, key)];
      const order = typeof x === "number" && typeof y === "number" ? x - y : text(JSON.stringify(x ?? null), JSON.stringify(y ?? null));
      if (order !== 0) return order;
    }
    return 0;
  };
  // Groups, and the configurations within one, are kept whole where their lowest indexes tie.
  keyed.sort((a, b) => a.place - b.place || text(a.key, b.key) || a.configPlace - b.configPlace || bySettings(a.r, b.r) || text(a.r.meta.config_id, b.r.meta.config_id) || indexOf(a.r) - indexOf(b.r) || text(a.r.meta.run_id, b.r.meta.run_id));
  return keyed.map((k) => k.r);
}

/** runs.csv's message for an unreadable_run_meta row, planned by a sweep or not. */
const UNREADABLE_RUN_META_MESSAGE = `${RUN_META_FILE} is not JSON`;

/** Swept parameter names in order of first appearance (seed has its own column). */
export function paramColumns(records: readonly RunRecord[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.meta.params)) if (k !== "seed") keys.add(k);
  return [...keys];
}

/** The columns runsCsvText writes for `records`, without writing them. */
export function runsCsvColumns(records: readonly RunRecord[]): string[] {
  return [...ID_COLUMNS, ...paramAndSettingColumns(records, new RunSettings(records)), ...RESULT_COLUMNS];
}

/** The swept keys, then the settings that set configurations with the same swept values apart. */
function paramAndSettingColumns(records: readonly RunRecord[], settings: RunSettings): string[] {
  const swept = paramColumns(records);
  return [...swept, ...settingsSettingApart(records, swept, settings)];
}

/**
 * runs.csv's text. A swept key's cell of a run that was not one of the sweep's comes from its
 * config.yaml, so its row says what it trained with instead of an empty cell; configurations
 * whose swept values agree get a column for each setting that sets them apart (src/results/run-settings.ts).
 */
export function runsCsvText(records: readonly RunRecord[], extraColumns: Record<string, (r: RunRecord) => CellValue> = {}): string {
  const settings = new RunSettings(records);
  const params = paramAndSettingColumns(records, settings);
  const columns = [...ID_COLUMNS, ...params, ...RESULT_COLUMNS, ...Object.keys(extraColumns)];
  const rows = records.map((r) => {
    const s = r.summary;
    const row: Record<string, CellValue> = {
      run_id: r.meta.run_id,
      config_id: r.meta.config_id,
      seed: r.meta.seed,
      // Also in the train.method column where the method is swept: kept both, since the table and
      // --against read the swept key's column and scripts read this one (docs/RESULT-FILES.md).
      method: r.meta.method,
      status: r.status,
      steps_done: r.stepsDone,
      final_train_loss: s?.final_train_loss,
      final_eval_loss: s?.final_eval_loss,
      final_eval_clip_top1: s?.final_eval_clip_top1,
      final_eval_frame_top1: s?.final_eval_frame_top1,
      best_eval_clip_top1: s?.best_eval_clip_top1,
      wall_s: s?.wall_s,
      frames_per_s: s?.frames_per_s,
      data_wait_share: s?.data_wait_share,
      message: r.message ?? s?.message,
      // 1: the eval metrics are on the training clips (as eval.csv says it).
      eval_on_train: s === null || s.eval_on_train === undefined ? null : s.eval_on_train ? 1 : 0,
      // What a reader must know about a completed run (summary.json warnings), one after another.
      warnings: s?.warnings?.join("; "),
      final_eval_video_top1: s?.final_eval_video_top1,
      best_eval_video_top1: s?.best_eval_video_top1,
      best_eval_step: s?.best_eval_step,
      final_eval_clip_top5: s?.final_eval_clip_top5,
      final_eval_video_top5: s?.final_eval_video_top5,
      best_eval_clip_top5: s?.best_eval_clip_top5,
      best_eval_video_top5: s?.best_eval_video_top5,
    };
    for (const p of params) row[p] = p in r.meta.params ? (r.meta.params[p] as CellValue) : settings.value(r, p);
    for (const [name, cell] of Object.entries(extraColumns)) row[name] = cell(r);
    return row;
  });
  return csvText(columns, rows);
}

/**
 * runs.csv written anew from root's run folders, as `results table` and `plot --against-setting`
 * read it, after `check` has seen the columns it will have (a metric or setting asked for that it
 * would not have is refused before anything is written). A folder without run folders (`evaluate
 * --out`'s) keeps its runs.csv as it is.
 */
export async function refreshRunsCsv(root: string, check: (columns: string[]) => void): Promise<void> {
  const records = collectRuns(root);
  if (records.length === 0) return;
  check(runsCsvColumns(records));
  await writeRunsCsv(root);
}

/** Regenerates root/runs.csv from the run directories; returns the runs it lists. */
export async function writeRunsCsv(root: string): Promise<RunRecord[]> {
  mkdirSync(root, { recursive: true });
  // A run a collect did not copy that has a folder now (copied or trained since) is no longer one.
  await pruneNotCopied(root);
  return withLock(join(root, `${RUNS_CSV}.lock`), () => {
    const records = collectRuns(root);
    writeFileAtomic(join(root, RUNS_CSV), runsCsvText(records));
    return records;
  });
}
