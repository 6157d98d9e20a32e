/** `sideways model summary FILE`: a model file's blocks, shapes, parameters, FLOPs and stage plan. */
import type { Argv, CommandModule } from "yargs";
import { SpecError } from "../../errors.js";
import { loadModelFile } from "../../model/load-model.js";
import { modelSummaryText } from "../../model/summary.js";
import type { CliIo } from "../cli-io.js";

interface SummaryArgs {
  file: string;
  workers: number;
}

function summaryCommand(io: CliIo): CommandModule<object, SummaryArgs> {
  return {
    command: "summary <file>",
    describe: "Per block: layers, output shape, parameters, forward+backward FLOPs per frame; and the stage plan",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "model YAML" })
        .option("workers", { type: "number", default: 1, describe: "depth-parallel workers to plan stages for" })
        .example("$0 model summary models/resnet-112.yaml --workers 4", "blocks and a 4-stage plan") as unknown as Argv<SummaryArgs>,
    handler: (argv) => {
      if (!Number.isInteger(argv.workers) || argv.workers < 1) throw new SpecError(`--workers: expected a positive integer, found ${argv.workers}`);
      io.out(modelSummaryText(loadModelFile(argv.file), argv.workers));
    },
  };
}

export function modelCommand(io: CliIo): CommandModule {
  return {
    command: "model <command>",
    describe: "Inspect model files (summary)",
    builder: (y: Argv) => y.command(summaryCommand(io)).demandCommand(1, "a model subcommand is required (summary)"),
    handler: () => {},
  };
}
