import type { Argv, CommandModule } from "yargs";
import { stringify } from "yaml";
import { loadExperiment } from "../../spec/load-experiment.js";
import { planSweep } from "../../spec/sweep-expand.js";
import { clipLengthWarning } from "../../train/sideways-stage.js";
import type { CliIo } from "../cli-io.js";

interface ValidateArgs {
  file: string;
  overrides: string[];
  print: boolean;
}

export function validateCommand(io: CliIo): CommandModule<object, ValidateArgs> {
  return {
    command: "validate <file> [overrides..]",
    describe: "Check an experiment file (schema, files, model shapes, every sweep run) without running it",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides" })
        .option("print", { type: "boolean", default: false, describe: "print the fully resolved config (defaults filled in)" })
        .example("$0 validate exp.yaml", "exit status 0 if valid, 2 with the problems listed if not")
        .example("$0 validate exp.yaml train.steps=10 --print", "show the config a run would use") as unknown as Argv<ValidateArgs>,
    handler: (argv) => {
      const exp = loadExperiment(argv.file, argv.overrides);
      const runs = exp.spec.sweep === null ? null : planSweep(exp);
      if (argv.print) io.out(stringify(exp.spec));
      const warning = exp.spec.train.method === "sideways" ? clipLengthWarning(exp.model.blocks.length, exp.spec.data.clip_length) : null;
      if (warning) io.err(`${argv.file}: ${warning}\n`);
      io.err(`ok: ${argv.file} (model ${exp.model.name}: ${exp.model.layers.length} layers, ${exp.model.blocks.length} blocks${runs ? `; sweep of ${runs.length} runs` : ""})\n`);
    },
  };
}
