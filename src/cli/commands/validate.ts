import type { Argv, CommandModule } from "yargs";
import { dirname, join } from "node:path";
import { checkNoOtherRun } from "../../results/run-dir.js";
import { keepEarlierRunIds } from "../../results/earlier-run-ids.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import { planSweep } from "../../spec/sweep-expand.js";
import type { CliIo } from "../cli-io.js";
import { ineffectiveSettings, ineffectiveSettingsOfRuns, seedDependentEvaluation } from "../../spec/setting-notes.js";
import { preflightRuns, printedFinding } from "../preflight.js";
import { checkRootOfThisExperiment, experimentRoot, placeSingleRun } from "../run-one.js";
import { count } from "../../util/count.js";
import { printedConfigText } from "../../spec/printed-config.js";
import type { HelpExamples } from "../help-examples.js";

interface ValidateArgs {
  file: string;
  overrides: string[];
  print: boolean;
  "allow-warnings": boolean;
}

export function validateCommand(io: CliIo): CommandModule<object, ValidateArgs> & HelpExamples {
  return {
    command: "validate <file> [overrides..]",
    describe: "Make every check `run` makes before training (schema, files, model shapes, data against the model, checkpoint, provider, clip length; every sweep run), without training",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides" })
        .option("print", { type: "boolean", default: false, describe: "print the fully resolved config (defaults filled in)" })
        .option("allow-warnings", { type: "boolean", default: false, describe: "accept clips too short for Sideways to reach every block (an error otherwise)" }) as unknown as Argv<ValidateArgs>,
    examples: [
      ["$0 validate exp.yaml", "exit status 0 if valid, 2 with the problems listed if not"],
      ["$0 validate exp.yaml train.steps=10 --print", "show the config a run would use"],
    ],
    handler: async (argv) => {
      const exp = loadExperiment(argv.file, argv.overrides);
      const runs = exp.spec.sweep === null ? null : planSweep(exp);
      const warnings = await preflightRuns(runs ?? [{ spec: exp.spec, model: exp.model }], exp.baseDir, exp, argv["allow-warnings"]);
      // The folders the runs would write into must not hold other runs (run stops there with exit 2).
      if (runs === null) {
        const place = placeSingleRun(exp);
        checkRootOfThisExperiment(exp, dirname(place.runDir));
        checkNoOtherRun(place.runDir, place.meta);
      } else {
        const root = experimentRoot(exp);
        checkRootOfThisExperiment(exp, root);
        for (const r of keepEarlierRunIds(runs, root)) checkNoOtherRun(join(root, r.runId), { run_id: r.runId, config_hash: r.configHash });
      }
      // Printed once every check passed: `validate --print > config.yaml` writes no config a run would refuse.
      if (argv.print) io.out(printedConfigText(exp.spec, exp.baseDir));
      for (const w of warnings) io.err(`${printedFinding(argv.file, w)}\n`);
      const notes = runs === null ? ineffectiveSettings(exp.spec, exp.model, exp.raw) : [...ineffectiveSettingsOfRuns(runs), seedDependentEvaluation(runs.map((r) => r.spec))];
      for (const n of notes) if (n !== null) io.err(`note: ${argv.file}: ${n}\n`);
      io.err(`ok: ${argv.file} (model ${exp.model.name}: ${count(exp.model.layers.length, "layer")}, ${count(exp.model.blocks.length, "block")}${runs ? `; sweep of ${count(runs.length, "run")}` : ""})\n`);
    },
  };
}
