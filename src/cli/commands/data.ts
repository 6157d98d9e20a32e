import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { exportDataSample } from "../../data/export-sample.js";
import { InputError } from "../../errors.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import type { CliIo } from "../cli-io.js";

interface DataArgs {
  file: string;
  overrides: string[];
  out: string;
  clips: number;
}

export function dataCommand(io: CliIo): CommandModule<object, DataArgs> {
  return {
    command: "data <file> [overrides..]",
    describe: "Write the first training clips exactly as the trainer sees them (npy + contact sheet)",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides, e.g. data.frame_stride=2" })
        .option("out", { type: "string", demandOption: true, describe: "output directory" })
        .option("clips", { type: "number", default: 8, describe: "number of clips" })
        .example("$0 data exp.yaml --out sample/ --clips 4", "clips.npy, labels.npy, contact-sheet.png") as unknown as Argv<DataArgs>,
    handler: async (argv) => {
      if (!Number.isInteger(argv.clips) || argv.clips < 1) throw new InputError(`--clips: expected an integer >= 1, found ${argv.clips}`);
      const exp = loadExperiment(argv.file, argv.overrides);
      const ctx = { input: exp.model.input, classes: exp.model.classes, seed: exp.spec.seed, baseDir: exp.baseDir, cacheDir: join(exp.baseDir, ".cache", "sideways") };
      const { files } = await exportDataSample(exp.spec.data, ctx, resolve(argv.out), argv.clips);
      io.err(`wrote ${files.join(", ")}\n`);
    },
  };
}
