/**
 * The `sideways` command line. Every command validates its input completely before creating
 * anything on disk; errors become exit statuses in exit-codes.ts.
 */
import yargs, { type MiddlewareFunction } from "yargs";
import { InputError } from "../errors.js";
import { listed } from "../util/count.js";
import { type CliIo, processIo } from "./cli-io.js";
import { benchCommand } from "./commands/bench.js";
import { dataCommand } from "./commands/data.js";
import { doctorCommand } from "./commands/doctor.js";
import { evaluateCommand } from "./commands/evaluate.js";
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
import { sidewaysVersion } from "../results/provenance.js";
import { type AnyCommand, commandName, commandNames, isParentCommand } from "./subcommands.js";
import { type KnownOptions, optionValueProblem } from "./option-values.js";
import { unknownOptionHint } from "./unknown-option.js";
import { didYouMean } from "../spec/did-you-mean.js";
import { type HelpExample, withExamples } from "./help-examples.js";
import { asksForHelpOrVersion } from "./help-or-version.js";

/** A bad command line (unknown option, missing argument). */
export class UsageError extends InputError {}

/** The program's name in usage lines and examples. */
const PROGRAM = "sideways";

/** `sideways --help`'s examples (each command's are in its module). */
const EXAMPLES: readonly HelpExample[] = [
  ["$0 run experiments/quickstart.yaml", "train once: the README's main job"],
  ["$0 run experiments/quickstart.yaml train.steps=50", "overrides after the file"],
  ["$0 sweep experiments/bp-vs-sideways.yaml --jobs 2", "run a sweep"],
  ["$0 results table results/bp-vs-sideways", "mean ± std over seeds"],
];

/** Thrown after the command line has passed every check, when main() is asked only to parse it. */
class ParsedOnly extends Error {}

/**
 * Runs the command line `args`. With `parseOnly`, it stops once yargs and our option checks have
 * accepted it, before any command runs (0), or says why not (2): test/docs-commands.test.ts checks
 * the command lines the docs show that way. `helpWidth`: the columns `--help` fills (default: the
 * terminal's, at most 110).
 */
export async function main(args: readonly string[], io: CliIo = processIo(), { parseOnly = false, helpWidth = Math.min(110, process.stdout.columns ?? 110) } = {}): Promise<number> {
  const commands: AnyCommand[] = [
    runCommand(io),
    sweepCommand(io),
    validateCommand(io),
    scheduleCommand(io),
    evaluateCommand(io),
    exportCommand(io),
    modelCommand(io),
    dataCommand(io),
    benchCommand(),
    resultsCommand(io),
    plotCommand(io),
    gpuCommand(io),
    doctorCommand(io),
  ] as AnyCommand[];
  // A usage error points at the help of the command it was given to, where that is one of ours,
  // with its subcommand where it has them (`sideways results table --help`).
  const words = args.filter((a) => !a.startsWith("-"));
  const given = commands.find((c) => commandName(c) === words[0]);
  // A subcommand follows its command directly (`results table`); a word after an option is that option's value (`bench --threads abc`).
  const next = args[args.indexOf(words[0]) + 1];
  // Only a real subcommand: `doctor extra` and `model sumary` have no help of their own.
  const subcommands = given !== undefined && isParentCommand(given) ? commandNames(given.subcommands) : [];
  const sub = next === words[1] && subcommands.includes(next ?? "") ? ` ${next}` : "";
  const help = given !== undefined ? `sideways ${words[0]}${sub} --help` : "sideways --help";
  // The module that was run, for yargs' messages about its positionals.
  const usedCommand = given !== undefined && sub !== "" && isParentCommand(given) ? given.subcommands.find((c) => commandName(c) === next) : given;
  const commandWords = `${words[0]}${sub}`;
  /** The options of the command being run, as the middleware below finds them (for `fail`). */
  let commandOptions: KnownOptions | undefined;
  /** Whether yargs shows the help or version instead of running the command (help-or-version.ts): then no option value is refused. */
  let showingHelpOrVersion = false;
  const version = sidewaysVersion() ?? "unknown";
  const parser = yargs([...args])
    .scriptName(PROGRAM)
    // Our package.json's version: yargs' own guess reads the package.json above the node_modules
    // that holds yargs, which in an installed copy is the user's project.
    .version(version)
    .usage("$0 <command> [options]\n\nTrain video models with Sideways or backprop; sweeps, results tables and plots.");
  for (const c of commands) parser.command(c);
  parser
    // An option of one value given twice (`--out a ... --out b`) reaches yargs as a list, which
    // the handlers would take for a path (a TypeError, "BUG"); say which one was meant instead.
    // yargs passes its instance too (untyped): the options of the command being run.
    .middleware(((argv: Record<string, unknown>, y: { getOptions(): KnownOptions }) => {
      const options = y.getOptions();
      commandOptions = options;
      // Ours runs before the options' coerce functions (whole-number.ts), whose errors reach fail below.
      showingHelpOrVersion = asksForHelpOrVersion(args, argv);
      if (showingHelpOrVersion) return;
      const problem = optionValueProblem(args, options);
      if (problem !== undefined) throw new UsageError(`${problem} (see ${help})`);
      const lists = new Set(options.array);
      for (const [key, value] of Object.entries(argv)) {
        if (key === "_" || key === "$0" || !Array.isArray(value) || lists.has(key) || !(key in options.key)) continue;
        const given = value.map((v) => `'${String(v)}'`).join(", ");
        throw new UsageError(`${key.length === 1 ? "-" : "--"}${key} given ${value.length} times (${given}); expected it once (see ${help})`);
      }
    }) as unknown as MiddlewareFunction, true)
    .demandCommand(1, "a command is required (sideways --help lists them)")
    .recommendCommands()
    .strict()
    // Whole-number options have no yargs type (it would show them as [string] or, as numbers, turn
    // "abc" into NaN before wholeNumber could name it); without number parsing "0x10" and "1e1"
    // reach wholeNumber as typed and are refused, not taken as 16 and 10.
    .parserConfiguration({ "parse-positional-numbers": false, "parse-numbers": false })
    .help()
    .alias("h", "help")
    .wrap(helpWidth)
    .exitProcess(false)
    .fail((message, err) => {
      // yargs wraps what an option's coerce throws (src/cli/whole-number.ts) in its own YError.
      if (err !== undefined && err !== null && err.name !== "YError") throw err;
      // Help wins (help-or-version.ts): yargs has the help or version ready for the parse callback below.
      if (showingHelpOrVersion) return;
      // `model list`, `results tabel`: yargs would call the word an unknown argument.
      if (subcommands.length > 0 && sub === "" && next !== undefined && next === words[1]) {
        const meant = didYouMean(next, subcommands);
        throw new UsageError(`'${next}' is not a ${words[0]} subcommand (expected ${subcommands.join(" or ")}${meant ? `; did you mean ${meant}?` : ""}) (see ${help})`);
      }
      const said = unknownOptionHint(missingPositionalsInOurWords(choicesInOurWords(err?.message ?? message, usedCommand, commandWords), usedCommand, commandWords), args, commandOptions);
      throw new UsageError(said.includes("--help") ? said : `${said} (see ${help})`);
    });
  // After validation, before the command's handler.
  if (parseOnly)
    parser.middleware(() => {
      throw new ParsedOnly();
    });
  try {
    // With a callback yargs hands over what it would print (--help, --version) instead of printing
    // it, so the help gets its Examples block (help-examples.ts) and goes to io.out.
    let printed = "";
    await parser.parseAsync([...args], {}, (_err, _argv, output) => {
      printed = output;
    });
    // What yargs hands over is the version, completions for the shell, or else its help: asked
    // for by --help or -h, or by a last word `help` (`sideways help`, `results table help`), which
    // sets no help option in argv.
    const helpShown = printed !== version && !args.includes("--get-yargs-completions");
    const examples = given === undefined ? EXAMPLES : usedCommand?.examples;
    if (printed !== "") io.out(`${helpShown ? withExamples(printed, examples, PROGRAM, helpWidth) : printed}\n`);
    return io.exitCode;
  } catch (err) {
    if (err instanceof ParsedOnly) return 0;
    io.err(errorText(err) + "\n");
    return exitCodeFor(err);
  }
}

/**
 * yargs' refusal of a value outside an option's choices ("Invalid values:\n  Argument: x-axis,
 * Given: "bogus", Choices: "step", "wall_s"") in the words of every other bad option:
 * `--x-axis: expected step or wall_s, found 'bogus'`; a positional of `command` is named by its
 * command's words (`gpu: expected install or probe, found 'fly'`).
 */
export function choicesInOurWords(said: string, command?: AnyCommand, words = ""): string {
  const lines = [...said.matchAll(/Argument: ([\w-]+), Given: "((?:[^"\\]|\\.)*)", Choices: (.*)$/gm)];
  if (!said.startsWith("Invalid values:") || lines.length === 0) return said;
  return lines
    .map(([, name, given, choices]) => {
      const names = [...choices.matchAll(/"([^"]*)"/g)].map((c) => c[1]!);
      const expected = listed(names, "or");
      const positional = new RegExp(`[<[]${name}(\\.\\.)?[>\\]]`).test(String(command?.command ?? ""));
      return `${positional ? words : `--${name}`}: expected ${expected}, found '${given}'`;
    })
    .join("; ");
}

/**
 * yargs' "Not enough non-option arguments: got 0, need at least 1" and "Missing required argument:
 * out" as what is missing: `run: expected <file>, found nothing`, `export: expected --out, found
 * nothing`, the positionals' names read from the command's own yargs string.
 */
export function missingPositionalsInOurWords(said: string, command: AnyCommand | undefined, words: string): string {
  const options = /^Missing required arguments?: (.+)$/.exec(said);
  if (options !== null) return `${words}: expected ${options[1].split(", ").map((o) => `--${o}`).join(" and ")}, found nothing`;
  const m = /^Not enough non-option arguments: got (\d+), need at least \d+$/.exec(said);
  if (m === null || command === undefined) return said;
  const required = String(command.command).match(/<[^>]+>/g) ?? [];
  const missing = required.slice(Number(m[1]));
  if (missing.length === 0) return said;
  return `${words}: expected ${missing.join(" and ")}, found nothing`;
}
