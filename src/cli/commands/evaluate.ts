import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InputError } from "../../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../../results/atomic-write.js";
import { runWeightsFile } from "../../results/run-weights.js";
import { fileInPath } from "../../util/file-in-path.js";
import type { CliIo } from "../cli-io.js";
import { evaluateLoaded, evaluationText, loadEvaluation, readWeightsOnce } from "../evaluate-one.js";
import { evaluateSweep, isSweepFolder } from "../evaluate-sweep.js";
import type { HelpExamples } from "../help-examples.js";

interface EvaluateArgs {
  weights: string;
  overrides: string[];
  experiment?: string;
  json?: string;
  "per-class"?: string;
  "per-class-runs": boolean;
  force: boolean;
  out?: string;
}

export function evaluateCommand(io: CliIo): CommandModule<object, EvaluateArgs> & HelpExamples {
  return {
    command: "evaluate <weights> [overrides..]",
    describe: "Evaluate trained weights (a run's folder, a safetensors file, or every run of a sweep's folder) on an experiment's evaluation set, as a run's evaluations do",
    builder: (y: Argv) =>
      y
        .positional("weights", { type: "string", demandOption: true, describe: "a run's folder (its final.safetensors, else resume.safetensors), a weights file (e.g. best.safetensors), or a sweep's folder (with --out)" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides of the experiment, e.g. eval.clips=1000 data.eval_crops=3" })
        .option("experiment", { type: "string", describe: "the experiment whose model, data and eval keys to use (default: the config.yaml beside the weights, the run's own)" })
        .option("json", { type: "string", describe: "also write the figures, the weights and the settings to this JSON file (eval.csv's column names)" })
        .option("per-class", { type: "string", describe: "also write one row per class to this CSV: class, class_name, clips, clip_top1 (video folders: videos, video_top1), and the clip-level confusion matrix's row, predicted_<k>" })
        .option("per-class-runs", { type: "boolean", default: false, describe: "with a sweep's folder: also write each run's --per-class CSV to --out as <run id>-per-class.csv" })
        .option("out", { type: "string", describe: "with a sweep's folder: where to write each run's JSON (<run id>.json), runs.csv and the table (never the sweep's folder)" })
        .option("force", { type: "boolean", default: false, describe: "replace the --json and --per-class files if they exist; with a sweep, evaluate into an --out folder holding another evaluation" }) as unknown as Argv<EvaluateArgs>,
    examples: [
      ["$0 evaluate results/ucf101/<run id>/ data.eval_crops=3 eval.clips=11349", "the run's final weights on every UCF101 test video (split 1), 3 crops each"],
      ["$0 evaluate results/ucf101-sweep/ data.eval_crops=3 eval.clips=11349 --out results/ucf101-sweep-3crop", "every completed run of a sweep, its runs.csv and table of the new figures in the --out folder"],
      ["$0 evaluate results/quickstart/<run id>/best.safetensors --json best-eval.json", "the best evaluation's weights again, written as JSON"],
    ],
    handler: async (argv) => {
      const perClass = argv["per-class"];
      if (isSweepFolder(argv.weights)) return evaluateSweep(io, { sweep: argv.weights, overrides: argv.overrides, out: argv.out, force: argv.force, experiment: argv.experiment, json: argv.json, perClass, perClassRuns: argv["per-class-runs"] });
      if (argv.out !== undefined) throw new InputError(`evaluate: --out DIR is for a sweep's folder (one holding run folders and runs.csv); ${argv.weights} is not one: give --json FILE for one run's figures`, argv.weights);
      const weightsFile = runWeightsFile(argv.weights, "evaluate:");
      const configFile = argv.experiment ?? join(dirname(weightsFile), "config.yaml");
      const loaded = loadEvaluation(weightsFile, configFile, argv.overrides);
      if (argv["per-class-runs"]) throw new InputError(`evaluate: --per-class-runs is for a sweep's folder; ${argv.weights} is not one: give --per-class FILE.csv for one run's per-class figures`, argv.weights);
      const jsonFile = outputFile("--json", argv.json, argv.force);
      const perClassFile = outputFile("--per-class", perClass, argv.force);
      for (const [option, file] of [["--json", jsonFile], ["--per-class", perClassFile]] as const) {
        const input = file === null ? undefined : sameFile(file, [weightsFile, configFile]);
        if (input !== undefined) throw new InputError(`evaluate: ${option} ${option === "--json" ? argv.json : perClass} is ${input}, which this evaluation reads; expected another file (--force replaces only earlier outputs); nothing was evaluated or written`, file!);
      }
      if (jsonFile !== null && jsonFile === perClassFile) throw new InputError(`evaluate: --json and --per-class name the same file, ${argv.json}; expected two files; nothing was evaluated or written`, jsonFile);
      const { record, perClassCsv } = await evaluateLoaded(io, loaded, readWeightsOnce(loaded));
      io.out(evaluationText(record));
      if (jsonFile !== null) {
        writeJsonAtomic(jsonFile, record);
        io.err(`wrote ${argv.json}\n`);
      }
      if (perClassFile !== null) {
        writeFileAtomic(perClassFile, perClassCsv);
        io.err(`wrote ${perClass}\n`);
      }
    },
  };
}


/**
 * The absolute path of an output file's option, refused (before anything is evaluated) where it
 * exists and --force is not given, or is a folder (--force or not: it cannot be replaced by a file,
 * and the write would fail only after an evaluation that may take hours).
 */
function outputFile(option: string, given: string | undefined, force: boolean): string | null {
  if (given === undefined) return null;
  const file = resolve(given);
  if (existsSync(file) && statSync(file).isDirectory())
    throw new InputError(`evaluate: ${option} ${given} is a folder; expected a file to write (e.g. ${join(given, option === "--json" ? "eval.json" : "per-class.csv")}); nothing was evaluated or written`, file);
  const blocking = fileInPath(dirname(file));
  if (blocking !== null) throw new InputError(`evaluate: ${option} ${given}: ${blocking} is a file, not a folder; expected a path whose folders can hold the file; nothing was evaluated or written`, blocking);
  if (existsSync(file) && !force) throw new InputError(`evaluate: ${option} ${given} already exists; nothing was evaluated or written (choose another file, or --force to replace it)`, file);
  return file;
}

/** The one of `inputs` that `file` is (by real path, so a link or another spelling counts), else undefined. */
function sameFile(file: string, inputs: string[]): string | undefined {
  if (!existsSync(file)) return undefined;
  const real = realpathSync(file);
  return inputs.find((input) => existsSync(input) && realpathSync(input) === real);
}
