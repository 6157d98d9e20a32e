/**
 * `sideways model summary FILE...`: a model's blocks, shapes, parameters, FLOPs and stage plan;
 * each FILE is a model file or an experiment file (its model, inline or a file, with overrides
 * applied). Several files (`models/*.yaml`) get one summary each.
 */
import type { Argv, CommandModule } from "yargs";
import { SpecError } from "../../errors.js";
import { stateEntries } from "../../model/checkpoint.js";
import { loadModelFile } from "../../model/load-model.js";
import type { Model } from "../../model/model.js";
import { modelSummaryText } from "../../model/summary.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { isOverrideText } from "../../spec/overrides.js";
import { resolveWorkerCount } from "../../train/create-executor.js";
import { readYamlFile } from "../../spec/yaml-file.js";
import type { CliIo } from "../cli-io.js";
import { type AnyCommand, type ParentCommand, commandNames, withSubcommands } from "../subcommands.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

interface SummaryArgs {
  file: string;
  /** More files, and overrides (`key=value`, `~key`). */
  rest: string[];
  workers?: number;
  tensors: boolean;
}

/**
 * The model of a model file, or of an experiment file (whose model may be inline: ucf101.yaml),
 * with the stages an experiment's runtime.workers would give it.
 */
function modelOf(file: string, overrides: string[]): { model: Model; workers?: number } {
  const doc = readYamlFile(file, "file");
  const isExperiment = typeof doc === "object" && doc !== null && !("layers" in doc) && "model" in doc;
  if (!isExperiment && overrides.length > 0) throw new SpecError(`${file}: overrides (${overrides.join(" ")}) apply to experiment files; this is a model file (give the overrides with experiment files only)`, file);
  if (!isExperiment) return { model: loadModelFile(file) };
  // Only the model is needed: the data need not be at hand (ucf101.yaml's /data/UCF-101).
  const { model, spec } = loadExperiment(file, overrides, { checkRunInputs: false });
  return { model, workers: resolveWorkerCount(spec.runtime.workers, model) };
}

function summaryCommand(io: CliIo): CommandModule<object, SummaryArgs> & HelpExamples {
  return {
    command: "summary <file> [rest..]",
    describe: "Per block: layers, output shape, parameters, forward+backward FLOPs per frame; and the stage plan",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "model YAML, or experiment YAML (its model)" })
        .positional("rest", { type: "string", array: true, default: [], describe: "more files (one summary each), and key=value overrides for experiment files, e.g. runtime.workers=4" })
        .option("workers", { coerce: wholeNumber("--workers", 1), describe: "depth-parallel workers to plan stages for (default: an experiment's runtime.workers, else 1)" })
        .option("tensors", { type: "boolean", default: false, describe: "also list the tensors its checkpoints hold (name, shape, dtype), as PyTorch's state_dict names them" }) as unknown as Argv<SummaryArgs>,
    examples: [
      ["$0 model summary models/resnet-112.yaml --workers 4", "blocks and a 4-stage plan"],
      ["$0 model summary models/*.yaml", "every model of the zoo"],
      ["$0 model summary models/resnet-mnist.yaml --tensors", "and the tensors of its checkpoints"],
      ["$0 model summary experiments/ucf101.yaml", "the experiment's (inline) model"],
    ],
    handler: (argv) => {
      const overrides = argv.rest.filter(isOverrideText);
      const files = [argv.file, ...argv.rest.filter((a) => !isOverrideText(a))];
      // Every file is read before anything is printed: a bad one is exit 2 with no partial output.
      const texts = files.map((file) => {
        const { model, workers } = modelOf(file, overrides);
        const summary = modelSummaryText(model, argv.workers ?? workers ?? 1);
        if (!argv.tensors) return summary;
        const entries = stateEntries(model);
        return `${summary}checkpoint tensors (${entries.length}):\n${entries.map((t) => `  ${t.name} [${t.shape.join(", ")}] ${t.dtype}\n`).join("")}`;
      });
      io.out(texts.join("\n"));
    },
  };
}

export function modelCommand(io: CliIo): ParentCommand {
  const subcommands = [summaryCommand(io)] as AnyCommand[];
  return {
    command: "model",
    describe: "Inspect model files (summary)",
    subcommands,
    builder: (y: Argv) => withSubcommands(y, subcommands).demandCommand(1, `a model subcommand is required (${commandNames(subcommands).join(", ")})`),
    handler: () => {},
  };
}
