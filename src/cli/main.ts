/**
 * The `sideways` command line. Every command validates its input completely before creating
 * anything on disk; errors become exit statuses in exit-codes.ts.
 */
import yargs from "yargs";
import { InputError } from "../errors.js";
import { type CliIo, processIo } from "./cli-io.js";
import { benchCommand } from "./commands/bench.js";
import { dataCommand } from "./commands/data.js";
import { doctorCommand } from "./commands/doctor.js";
import { exportCommand } from "./commands/export.js";
import { gpuCommand } from "./commands/gpu.js";
import { modelCommand } from "./commands/model.js";
import { plotCommand } from "./commands/plot.js";
import { resultsCommand } from "./commands/results.js";
import { runCommand } from "./commands/run.js";
import { scheduleCommand } from "./commands/schedule.js";
import { sweepCommand } from "./commands/sweep.js";
import { validateCommand } from "./commands/validate.js";
import { errorText, exitCodeFor } from "./exit-codes.js";

/** A bad command line (unknown option, missing argument). */
export class UsageError extends InputError {}

export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const parser = yargs([...args])
    .scriptName("sideways")
    .usage("$0 <command> [options]\n\nTrain video models with Sideways or backprop; sweeps, results tables and plots.")
    .command(runCommand(io))
    .command(sweepCommand(io))
    .command(validateCommand(io))
    .command(scheduleCommand(io))
    .command(exportCommand(io))
    .command(modelCommand(io))
    .command(dataCommand(io))
    .command(benchCommand())
    .command(resultsCommand(io))
    .command(plotCommand(io))
    .command(gpuCommand(io))
    .command(doctorCommand(io))
    .demandCommand(1, "a command is required (sideways --help lists them)")
    .recommendCommands()
    .strict()
    .parserConfiguration({ "parse-positional-numbers": false })
    .example("$0 run experiments/quickstart.yaml train.steps=100", "train once")
    .example("$0 sweep experiments/bp-vs-sideways.yaml --jobs 2", "run a sweep")
    .example("$0 results table results/bp-vs-sideways", "mean ± std over seeds")
    .help()
    .alias("h", "help")
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new UsageError(message.includes("--help") ? message : `${message} (see sideways --help)`);
    });
  try {
    await parser.parseAsync();
    return io.exitCode;
  } catch (err) {
    io.err(errorText(err) + "\n");
    return exitCodeFor(err);
  }
}
