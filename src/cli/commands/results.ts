import { cpSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError } from "../../errors.js";
import { tableMarkdown } from "../../results/paper-table.js";
import { writePaperTables } from "../../results/sweep-report.js";
import { RUN_META_FILE, readSummary } from "../../results/run-dir.js";
import { RUNS_CSV, collectRuns, writeRunsCsv } from "../../results/runs-table.js";
import type { CliIo } from "../cli-io.js";

interface CollectArgs {
  dir: string;
  from: string[];
}

interface TableArgs {
  dir: string;
  metric: string[];
  digits: number;
  out?: string;
}

/** Copies run directories from `from` into `dir`, never replacing a completed run with a lesser one. */
export function mergeRunDirs(from: string, dir: string): number {
  if (!existsSync(from)) throw new InputError(`results collect: ${from} does not exist`);
  let copied = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    if (!entry.isDirectory() || !existsSync(join(src, RUN_META_FILE))) continue;
    const dst = join(dir, entry.name);
    if (readSummary(dst)?.status === "completed" || readSummary(src) === null) continue;
    cpSync(src, dst, { recursive: true, force: true });
    copied++;
  }
  return copied;
}

function collectCommand(io: CliIo): CommandModule<object, CollectArgs> {
  return {
    command: "collect <dir> [from..]",
    describe: "Regenerate DIR/runs.csv from its run directories, first copying in runs from other shard directories",
    builder: (y: Argv) =>
      y
        .positional("dir", { type: "string", demandOption: true, describe: "results directory of an experiment" })
        .positional("from", { type: "string", array: true, default: [], describe: "shard result directories to merge in" })
        .example("$0 results collect results/exp", "rebuild runs.csv")
        .example("$0 results collect results/exp shard0/results/exp shard1/results/exp", "merge shards run on separate disks") as unknown as Argv<CollectArgs>,
    handler: async (argv) => {
      const dir = resolve(argv.dir);
      if (!existsSync(dir) && argv.from.length === 0) throw new InputError(`results collect: ${argv.dir} does not exist`);
      const copied = argv.from.reduce((n, f) => n + mergeRunDirs(resolve(f), dir), 0);
      const runs = await writeRunsCsv(dir);
      const byStatus = new Map<string, number>();
      for (const r of runs) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      io.err(`${join(argv.dir, RUNS_CSV)}: ${runs.length} runs (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(", ") || "none"})${argv.from.length ? `, ${copied} copied in` : ""}\n`);
    },
  };
}

function tableCommand(io: CliIo): CommandModule<object, TableArgs> {
  return {
    command: "table <dir>",
    describe: "Mean, standard deviation and count over seeds per configuration: table.csv, table.md, table.tex",
    builder: (y: Argv) =>
      y
        .positional("dir", { type: "string", demandOption: true, describe: "results directory holding runs.csv" })
        .option("metric", { type: "string", array: true, default: ["final_eval_clip_top1"], describe: "runs.csv columns (eval_clip_top1 = final_eval_clip_top1)" })
        .option("digits", { type: "number", default: 3, describe: "decimals in the Markdown and LaTeX tables" })
        .option("out", { type: "string", describe: "where to write the tables (default: DIR)" })
        .example("$0 results table results/exp --metric eval_clip_top1 --metric wall_s", "two metrics") as unknown as Argv<TableArgs>,
    handler: async (argv) => {
      const dir = resolve(argv.dir);
      if (collectRuns(dir).length > 0) await writeRunsCsv(dir);
      const runsCsv = join(dir, RUNS_CSV);
      if (!existsSync(runsCsv)) throw new InputError(`results table: ${runsCsv} does not exist (run a sweep, or 'sideways results collect')`);
      const table = writePaperTables(dir, argv.metric, resolve(argv.out ?? argv.dir), argv.digits);
      io.out(tableMarkdown(table, argv.digits));
      io.err(`wrote table.csv, table.md, table.tex to ${argv.out ?? argv.dir}\n`);
    },
  };
}

export function resultsCommand(io: CliIo): CommandModule {
  return {
    command: "results <command>",
    describe: "Merge shards into runs.csv; build the paper table",
    builder: (y: Argv) => y.command(collectCommand(io)).command(tableCommand(io)).demandCommand(1),
    handler: () => undefined,
  };
}
