import { resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { loadModelFile } from "../../model/load-model.js";
import { exportModel } from "../../model/export.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { readYamlFile } from "../../spec/yaml-file.js";
import type { CliIo } from "../cli-io.js";

interface ExportArgs {
  file: string;
  overrides: string[];
  out: string;
}

export function exportCommand(io: CliIo): CommandModule<object, ExportArgs> {
  return {
    command: "export <file> [overrides..]",
    describe: "Write a model's block graphs (ONNX) and a manifest, from a model file or an experiment file",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "model YAML (has layers:) or experiment YAML" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides (experiment files)" })
        .option("out", { type: "string", demandOption: true, describe: "output directory" })
        .example("$0 export models/small-cnn.yaml --out exported/", "ONNX graphs of every block") as unknown as Argv<ExportArgs>,
    handler: (argv) => {
      const doc = readYamlFile(argv.file, "file");
      const isModelFile = typeof doc === "object" && doc !== null && "layers" in doc;
      const model = isModelFile ? loadModelFile(argv.file) : loadExperiment(argv.file, argv.overrides).model;
      const { files } = exportModel(model, resolve(argv.out));
      io.err(`wrote ${files.length} files to ${argv.out}\n`);
    },
  };
}
