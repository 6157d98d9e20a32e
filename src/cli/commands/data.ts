import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import type { DataSpec } from "../../data/data-spec.js";
import { exportDataSample, sampleFiles, SHEET_MAX_CLIPS, SHEET_MAX_FRAMES } from "../../data/export-sample.js";
import { shortVideoNote } from "../../data/source.js";
import { frameCacheRoot } from "../../data/video/frame-cache.js";
import { InputError, nameExperimentFile } from "../../errors.js";
import { loadExperiment } from "../../spec/load-experiment.js";
import type { CliIo } from "../cli-io.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

interface DataArgs {
  file: string;
  overrides: string[];
  out: string;
  clips: number;
  force: boolean;
}

export function dataCommand(io: CliIo): CommandModule<object, DataArgs> & HelpExamples {
  return {
    command: "data <file> [overrides..]",
    describe: "Write the first training clips exactly as the trainer sees them (npy + contact sheet)",
    builder: (y: Argv) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "experiment YAML file" })
        .positional("overrides", { type: "string", array: true, default: [], describe: "key=value overrides, e.g. data.frame_stride=2" })
        .option("out", { type: "string", demandOption: true, describe: "output directory" })
        .option("clips", { default: 8, coerce: wholeNumber("--clips", 1), describe: `number of clips (the contact sheet shows the first ${SHEET_MAX_CLIPS}, at most ${SHEET_MAX_FRAMES} frames each)` })
        .option("force", { type: "boolean", default: false, describe: "replace clips.npy, labels.npy, contact-sheet.png and classes.txt already in --out" }) as unknown as Argv<DataArgs>,
    examples: [
      ["$0 data exp.yaml --out sample/ --clips 4", "clips.npy, labels.npy, contact-sheet.png, and classes.txt where the data names its classes"],
    ],
    handler: async (argv) => {
      const exp = loadExperiment(argv.file, argv.overrides);
      const outDir = resolve(argv.out);
      if (!argv.force) refuseToReplace(outDir, argv.out, exp.spec.data, exp.baseDir);
      const ctx = { input: exp.model.input, classes: exp.model.classes, seed: exp.spec.seed, baseDir: exp.baseDir, cacheDir: frameCacheRoot() };
      // Only training clips are written: npy data without held-out clips needs no choice of
      // evaluation set here (a run does: data.eval_on_train), and its training clips are the same.
      const data = exp.spec.data.kind === "npy" && exp.spec.data.eval_clips === undefined ? { ...exp.spec.data, eval_on_train: true } : exp.spec.data;
      const { files, skipped, short, repeated, sheetNote } = await exportDataSample(data, ctx, outDir, argv.clips).catch((err: unknown) => {
        nameExperimentFile(err, exp.file, exp.overrides); // as `run` says its data errors
        throw err;
      });
      // As a run logs them: clips of a skipped file come from another video of its class instead.
      for (const s of skipped) io.err(`skipped unreadable file ${s.file}: ${s.reason}\n`);
      for (const v of short) io.err(`${shortVideoNote(v)}\n`);
      if (repeated !== null) io.err(`warning: ${repeated}\n`);
      io.err(`wrote ${files.join(", ")}\n`);
      if (sheetNote !== null) io.err(`note: ${sheetNote}\n`);
    },
  };
}

/**
 * The sample's files keep the names npy data conventionally has (clips.npy, labels.npy), so --out
 * pointed at a data folder (this experiment's own, or another's) would replace a data set with a
 * few preprocessed clips: existing files are never replaced without --force, and nothing is written.
 */
/** `given` is --out as typed, so the message names the folder the user wrote (not a path relative to here, such as ../../tmp/x). */
function refuseToReplace(outDir: string, given: string, data: DataSpec, baseDir: string): void {
  const existing = sampleFiles(outDir).filter((f) => existsSync(f));
  if (existing.length === 0) return;
  const own = new Map<string, string>();
  if (data.kind === "npy") {
    // A class_names file named classes.txt in --out is this experiment's names, not an earlier sample's.
    const names = typeof data.class_names === "string" ? { class_names: data.class_names } : {};
    const keys = { clips: data.clips, labels: data.labels, eval_clips: data.eval_clips, eval_labels: data.eval_labels, ...names };
    for (const [key, path] of Object.entries(keys)) if (path) own.set(resolve(baseDir, path), `data.${key}`);
  }
  const named = existing.map((f) => (own.has(f) ? `${basename(f)} (this experiment's ${own.get(f)})` : basename(f)));
  throw new InputError(
    `--out ${given}: ${named.join(", ")} already exist${existing.length === 1 ? "s" : ""} there; ` +
      "nothing was written (choose another --out, or --force to replace them)",
    outDir,
  );
}
