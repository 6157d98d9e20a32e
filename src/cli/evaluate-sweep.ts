/**
 * `sideways evaluate <sweep folder> [overrides] --out DIR`: every completed run of a sweep evaluated
 * again, each run's final.safetensors with its own config.yaml plus the overrides (the one-run
 * path, evaluate-one.ts), without training again (eval settings are part of a run's id, so changing
 * them in the sweep would train new runs). Written to DIR, never to the sweep's folders: a
 * `<run id>.json` per run (the one-run record), as soon as it is evaluated; then runs.csv
 * (src/results/evaluated-runs.ts) and the table, which `results table DIR` reads as a sweep's.
 * Resumable: a run whose JSON in DIR has the same settings and weights is not evaluated again, so
 * a Ctrl-C loses at most the run being evaluated.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { InputError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../results/atomic-write.js";
import { REPLACED_FOLDER, moveAside } from "../results/move-aside.js";
import { derivedTableFiles } from "../results/derived-tables.js";
import { NOT_EVALUATED, evaluatedRunsCsvText, evaluationChanceWarning, isEvaluationRunsCsv } from "../results/evaluated-runs.js";
import { tableMarkdown } from "../results/paper-table.js";
import { FINAL_WEIGHTS_FILE, RUN_META_FILE } from "../results/run-dir.js";
import { RUNS_CSV, type RunRecord, collectRuns } from "../results/runs-table.js";
import { SWEEP_PLAN_FILE } from "../results/sweep-plan.js";
import { defaultTableMetrics, writePaperTables } from "../results/sweep-report.js";
import { count, firstFew, tally } from "../util/count.js";
import type { CliIo } from "./cli-io.js";
import type { EvaluationRecord } from "../train/evaluate-weights.js";
import { evaluateLoaded, loadEvaluation, readWeightsOnce } from "./evaluate-one.js";
import { preflightEvaluations } from "./evaluation-preflight.js";
import { sameOverridesAsWritten, settingsHashes } from "./evaluation-settings.js";

export interface SweepEvaluationArgs {
  sweep: string;
  overrides: string[];
  out?: string;
  force: boolean;
  experiment?: string;
  json?: string;
  /** --per-class FILE: refused here (it is one run's file). */
  perClass?: string;
  /** --per-class-runs: each run's `<run id>-per-class.csv` in DIR. */
  perClassRuns?: boolean;
  /** Seconds between a run's progress lines (tests: 0, a line per batch). */
  progressEveryS?: number;
}

/** A run's --per-class CSV in DIR. */
export const perClassFileName = (runId: string) => `${runId}-per-class.csv`;

/** A folder holding run folders, or a sweep's runs.csv or sweep-plan.json, that is not itself a run's folder. */
export function isSweepFolder(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isDirectory() || existsSync(join(path, RUN_META_FILE))) return false;
  return existsSync(join(path, RUNS_CSV)) || existsSync(join(path, SWEEP_PLAN_FILE)) || collectRuns(path).length > 0;
}

export async function evaluateSweep(io: CliIo, a: SweepEvaluationArgs): Promise<void> {
  const sweepDir = resolve(a.sweep);
  if (a.out === undefined) throw new InputError(`evaluate: ${a.sweep} is a sweep's folder: give --out DIR, a folder for each run's JSON, runs.csv and the table (the sweep's folder is not written to)`, a.sweep);
  if (a.json !== undefined) throw new InputError(`evaluate: --json FILE is for one run; with a sweep's folder (${a.sweep}) each run's JSON goes to --out DIR`, a.sweep);
  if (a.experiment !== undefined) throw new InputError(`evaluate: --experiment is for one run; each run of a sweep's folder (${a.sweep}) is evaluated with its own config.yaml (give overrides to change its settings)`, a.sweep);
  if (a.perClass !== undefined)
    throw new InputError(`evaluate: --per-class FILE is for one run; with a sweep's folder (${a.sweep}) give --per-class-runs: each run's goes to --out DIR as <run id>-per-class.csv`, a.sweep);
  const perClass = a.perClassRuns ?? false;
  const outDir = resolve(a.out);
  checkOutFolder(sweepDir, outDir, a.out, a.sweep);

  const records = collectRuns(sweepDir);
  const completed = records.filter((r) => r.status === "completed");
  if (completed.length === 0)
    throw new InputError(`evaluate: ${a.sweep} has no completed run (${tally(records.map((r) => r.status)) || "no runs"}); nothing was evaluated or written`, a.sweep);
  // A completed run whose final weights were removed since (to save disk) is a row saying so.
  const missing = new Map(completed.filter((r) => !existsSync(join(r.dir, FINAL_WEIGHTS_FILE))).map((r) => [r.meta.run_id, `not evaluated again: its ${FINAL_WEIGHTS_FILE} was removed`]));
  // None left to evaluate is no result (exit 0 says done): refused before DIR is made, or an earlier evaluation's runs.csv there replaced by one of not_evaluated rows.
  if (missing.size === completed.length)
    throw new InputError(
      `evaluate: nothing to evaluate: every completed run of ${a.sweep} (${count(completed.length, "run")}) had its ${FINAL_WEIGHTS_FILE} removed (${firstFew(completed.map((r) => join(r.dir, FINAL_WEIGHTS_FILE)), 3)}); expected at least one completed run with its final weights; nothing was evaluated or written`,
      join(completed[0]!.dir, FINAL_WEIGHTS_FILE),
    );
  // Each run is evaluated with its own config.yaml (--experiment is for one run): one missing is named here, with what to do.
  const noConfig = completed.filter((r) => !missing.has(r.meta.run_id) && !existsSync(join(r.dir, "config.yaml")));
  if (noConfig.length > 0)
    throw new InputError(
      `evaluate: ${count(noConfig.length, "completed run")} of ${a.sweep} ${noConfig.length === 1 ? "has" : "have"} no config.yaml to say which model and data ${noConfig.length === 1 ? "it was" : "they were"} trained with (${firstFew(noConfig.map((r) => join(r.dir, "config.yaml")), 3)}); expected every run's folder to hold its config.yaml; nothing was evaluated or written (put it back, or evaluate such a run alone: sideways evaluate <run folder> --experiment FILE)`,
      join(noConfig[0]!.dir, "config.yaml"),
    );
  // Every run's experiment with the overrides is checked before any run is evaluated (a misspelt key, missing data).
  const loaded = completed.filter((r) => !missing.has(r.meta.run_id)).map((r) => ({ r, l: loadEvaluation(join(r.dir, FINAL_WEIGHTS_FILE), join(r.dir, "config.yaml"), a.overrides) }));
  const earlier = earlierRecords(outDir);
  const sameSettings = settingsComparer(records, a.overrides);
  const runIds = new Set(records.map((r) => r.meta.run_id));
  checkSameEvaluation(earlier, runIds, sameSettings, a);
  const strayTables = foreignTables(outDir);
  if (strayTables.length > 0 && !a.force)
    throw new InputError(`evaluate: --out ${a.out} holds ${strayTables.join(", ")} beside no runs.csv of an evaluation: files of something else, which this evaluation's table would replace; nothing was evaluated or written (choose another --out folder, or --force to move them to ${join(a.out, REPLACED_FOLDER)}/)`, outDir);
  // The provider and each run's data, as `run` checks them before it trains: DIR is not made if they fail.
  await preflightEvaluations(loaded.map(({ l }) => l));

  mkdirSync(outDir, { recursive: true });
  if (a.force) {
    // Records this evaluation will not rewrite (runs not in the sweep, or not evaluated now, of
    // other settings) would make every later plain rerun refuse DIR: moved aside, with their CSVs.
    const evaluatedNow = new Set(loaded.map(({ r }) => r.meta.run_id));
    const stale = [...earlier].filter(([id, before]) => before !== null && (!runIds.has(id) || (!evaluatedNow.has(id) && !sameSettings(id, before)))).map(([id]) => id);
    const names = stale.flatMap((id) => [`${id}.json`, perClassFileName(id)]).filter((n) => existsSync(join(outDir, n)));
    moveAside(outDir, names);
    if (names.length > 0) io.err(`note: moved ${count(names.length, "file")} of ${count(stale.length, "run")} not in ${a.sweep} or of other settings to ${join(a.out, REPLACED_FOLDER)}/ (--force): ${firstFew(names, 3)}\n`);
    moveAside(outDir, strayTables);
    if (strayTables.length > 0) io.err(`note: moved ${strayTables.join(", ")}, of no evaluation, to ${join(a.out, REPLACED_FOLDER)}/ (--force)\n`);
  }
  const evaluations = new Map<string, EvaluationRecord>();
  // A note (e.g. all clips used, fewer than eval.clips) holds for most runs alike: said once, when first met.
  const noted = new Set<string>();
  const noteOnce = (text: string) => {
    if (noted.has(text)) return;
    noted.add(text);
    io.err(`note: ${text}\n`);
  };
  const voice = { announce: false, note: noteOnce };
  for (const [i, { r, l }] of loaded.entries()) {
    const id = r.meta.run_id;
    const said = `evaluate: ${i + 1}/${count(loaded.length, "run")}: ${id} (${runLabel(r)})`;
    const before = earlier.get(id);
    // Read whole once: its digest decides whether to evaluate again; decoded only if evaluated.
    const read = readWeightsOnce(l);
    const digest = read.sha256;
    const sameBefore = before !== undefined && before !== null && sameSettings(id, before);
    const perClassFile = join(outDir, perClassFileName(id));
    const perClassMissing = perClass && !existsSync(perClassFile);
    if (sameBefore && before.weights_sha256 === digest && !perClassMissing) {
      evaluations.set(id, before);
      io.err(`${said}: already in ${a.out}, not evaluated again\n`);
      continue;
    }
    const runVoice = { ...voice, run: `run ${i + 1}/${loaded.length} (${id})`, progressEveryS: a.progressEveryS };
    const { record, perClassCsv } = await evaluateLoaded(io, l, read, runVoice);
    // Before the JSON: a run whose JSON is in DIR has its per-class CSV there too (when asked).
    if (perClass) writeFileAtomic(perClassFile, perClassCsv);
    else if (existsSync(perClassFile)) moveAside(outDir, [perClassFileName(id)]).forEach((n) => io.err(`note: ${id}: its per-class CSV, of the evaluation replaced, moved to ${join(a.out!, REPLACED_FOLDER, n)}\n`));
    writeJsonAtomic(join(outDir, `${id}.json`), record);
    evaluations.set(id, record);
    const why = !sameBefore ? "" : before.weights_sha256 !== digest ? ` (its weights changed since ${id}.json was written: evaluated again)` : ` (no ${perClassFileName(id)} in ${a.out}: evaluated again for it)`;
    io.err(`${said}: clip top-1 ${record.eval_clip_top1.toFixed(4)}${why}\n`);
  }
  for (const [id, why] of missing) io.err(`note: ${id}: ${why}; its row in ${RUNS_CSV} says ${NOT_EVALUATED}\n`);

  const classes = new Map(loaded.map(({ r, l }) => [r.meta.run_id, l.exp.model.classes]));
  // As a run warns of its last evaluation at chance: these figures are what runs.csv and the table now show.
  const atChance = [...evaluations].filter(([id, e]) => evaluationChanceWarning(e, classes.get(id)!) !== null).map(([id]) => id);
  if (atChance.length > 0) io.err(`warning: ${count(atChance.length, "run")} evaluated at chance, no better than a uniform guess (${firstFew(atChance, 3)}): ${RUNS_CSV}'s warnings say how\n`);
  const runsCsv = evaluatedRunsCsvText(records, evaluations, classes, missing, a.overrides);
  setAsideStaleTables(io, outDir, runsCsv, a.out);
  writeFileAtomic(join(outDir, RUNS_CSV), runsCsv);
  const notCompleted = records.filter((r) => r.status !== "completed");
  if (notCompleted.length > 0) io.err(`note: ${count(notCompleted.length, "run")} did not complete (${tally(notCompleted.map((r) => r.status))}): rows in ${RUNS_CSV} without figures\n`);
  const table = evaluations.size > 0 ? writePaperTables(outDir, defaultTableMetrics(outDir), outDir) : null;
  if (table !== null) io.out(tableMarkdown(table));
  const perClassSaid = perClass ? `, per-class CSVs (<run id>-per-class.csv)` : "";
  io.err(`wrote ${count(evaluations.size, "run JSON")} (<run id>.json)${perClassSaid}, ${RUNS_CSV}${table === null ? "" : ", table.csv, table.md, table.tex"} to ${a.out}\n`);
}

/**
 * `results table DIR --metric/--spread/--against`'s tables were computed from the runs.csv this
 * evaluation replaces: where its figures change, they would stand stale beside the new ones, so
 * they are moved to DIR/replaced/ (never deleted), saying so, before the new runs.csv is written.
 * They are not written again here: their options (digits among them) are not all in their names.
 */
function setAsideStaleTables(io: CliIo, outDir: string, runsCsv: string, given: string): void {
  const file = join(outDir, RUNS_CSV);
  if (!isEvaluationRunsCsv(file) || readFileSync(file, "utf8") === runsCsv) return;
  const names = derivedTableFiles(outDir);
  moveAside(outDir, names);
  if (names.length > 0)
    io.err(`note: ${RUNS_CSV}'s figures changed: moved ${count(names.length, "table file")} that results table wrote from the one replaced to ${join(given, REPLACED_FOLDER)}/: ${firstFew(names, 3)} (sideways results table ${given} with the same options writes them again)\n`);
}

/** "sideways, seed 1": which run of the sweep, for the progress lines. */
function runLabel(r: RunRecord): string {
  const swept = Object.entries(r.meta.params).filter(([k]) => k !== "seed" && k !== "train.method").map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [r.meta.method, ...swept, `seed ${r.meta.seed}`].join(", ");
}

/**
 * --out is never the sweep's folder or inside it (a sweep or `results collect` rewrites its
 * runs.csv and tables), nor a run's folder, nor another sweep's (its runs.csv would be replaced).
 */
function checkOutFolder(sweepDir: string, outDir: string, given: string, sweepGiven: string): void {
  const inside = relative(sweepDir, outDir);
  if (inside === "" || !inside.startsWith("..")) throw new InputError(`evaluate: --out ${given} is ${inside === "" ? "" : "inside "}the sweep's folder ${sweepGiven}; expected a folder outside it (e.g. ${sweepGiven.replace(/\/+$/, "")}-eval); nothing was evaluated or written`, outDir);
  if (!existsSync(outDir)) return;
  const runsCsv = join(outDir, RUNS_CSV);
  const ownRunsCsv = existsSync(runsCsv) && !isEvaluationRunsCsv(runsCsv);
  if (existsSync(join(outDir, RUN_META_FILE)) || collectRuns(outDir).length > 0 || ownRunsCsv)
    throw new InputError(`evaluate: --out ${given} is a run's or a sweep's folder; expected a folder of its own for the evaluation (its runs.csv would be replaced); nothing was evaluated or written`, outDir);
}

const TABLE_FILES = ["table.csv", "table.md", "table.tex"];

/**
 * The table files in DIR that no evaluation wrote (no evaluation's runs.csv beside them: a
 * paper's own table.tex, `results table`'s of something else), which writing the table would replace.
 */
function foreignTables(outDir: string): string[] {
  if (!existsSync(outDir) || isEvaluationRunsCsv(join(outDir, RUNS_CSV))) return [];
  return TABLE_FILES.filter((name) => existsSync(join(outDir, name)));
}

/** The <run id>.json records already in DIR by run id: null for a JSON that is not a record (read as absent: evaluated again). */
function earlierRecords(outDir: string): Map<string, EvaluationRecord | null> {
  const found = new Map<string, EvaluationRecord | null>();
  if (!existsSync(outDir)) return found;
  for (const name of readdirSync(outDir).filter((n) => n.endsWith(".json"))) {
    let record: EvaluationRecord | null = null;
    try {
      const parsed = JSON.parse(readFileSync(join(outDir, name), "utf8")) as EvaluationRecord;
      if (Array.isArray(parsed.overrides) && typeof parsed.eval_clip_top1 === "number") record = parsed;
    } catch {
      // not JSON: not a record this command wrote (those are written whole)
    }
    found.set(name.slice(0, -".json".length), record);
  }
  return found;
}

/**
 * Whether a run's earlier record is of the same settings as `overrides` give: its config.yaml with
 * either, compared as configHash compares runs (evaluation-settings.ts), else as written in any order.
 */
function settingsComparer(records: readonly RunRecord[], overrides: readonly string[]): (runId: string, before: EvaluationRecord) => boolean {
  const hashOf = settingsHashes();
  const configOf = new Map(records.map((r) => [r.meta.run_id, join(r.dir, "config.yaml")]));
  return (runId, before) => {
    const config = configOf.get(runId);
    const then = config === undefined ? null : hashOf(config, before.overrides);
    const now = config === undefined ? null : hashOf(config, overrides);
    return then !== null && now !== null ? then === now : sameOverridesAsWritten(before.overrides, overrides);
  };
}

/**
 * DIR holding records of other overrides, or of runs that are not the sweep's, holds another
 * evaluation: refused (exit 2, nothing written) unless --force, so that one table never mixes two.
 */
function checkSameEvaluation(earlier: Map<string, EvaluationRecord | null>, runIds: ReadonlySet<string>, sameSettings: (runId: string, before: EvaluationRecord) => boolean, a: SweepEvaluationArgs): void {
  if (a.force) return;
  const records = [...earlier].filter((e): e is [string, EvaluationRecord] => e[1] !== null);
  const otherOverrides = records.filter(([id, r]) => !sameSettings(id, r));
  const otherRuns = records.filter(([id]) => !runIds.has(id));
  if (otherOverrides.length === 0 && otherRuns.length === 0) return;
  const words = (o: string[]) => (o.length === 0 ? "none" : `'${o.join(" ")}'`);
  const said = [
    ...(otherOverrides.length > 0 ? [`${count(otherOverrides.length, "run")} evaluated with overrides ${[...new Set(otherOverrides.map(([, r]) => words(r.overrides)))].join(", ")} (here: ${words(a.overrides)})`] : []),
    ...(otherRuns.length > 0 ? [`${count(otherRuns.length, "run")} not in ${a.sweep} (${firstFew(otherRuns.map(([id]) => id), 3)})`] : []),
  ];
  throw new InputError(`evaluate: --out ${a.out} holds another evaluation: ${said.join("; ")}; nothing was evaluated or written (choose another --out folder, or --force to evaluate into it, replacing those runs' JSONs and moving those of other runs to ${join(a.out!, REPLACED_FOLDER)}/)`, resolve(a.out!));
}
