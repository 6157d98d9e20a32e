/**
 * Commands with subcommands (`results collect`, `model summary`): the parent carries its
 * subcommand modules, so yargs, the "subcommand is required" message and main.ts's pointer to a
 * subcommand's help all read the names from the modules themselves.
 */
import type { Argv, CommandModule } from "yargs";
import type { HelpExamples } from "./help-examples.js";

/** A command module whatever its arguments (each subcommand has its own), with its --help examples. */
export type AnyCommand = CommandModule<object, never> & HelpExamples;

export interface ParentCommand extends CommandModule {
  subcommands: AnyCommand[];
}

/** A command's name: the first word of its yargs `command` string ("collect <dir> [from..]" -> "collect"). */
export function commandName(command: AnyCommand): string {
  return String(command.command).split(" ")[0];
}

export function commandNames(commands: readonly AnyCommand[]): string[] {
  return commands.map(commandName);
}

export function withSubcommands(y: Argv, subcommands: readonly AnyCommand[]): Argv {
  return subcommands.reduce((argv, sub) => argv.command(sub), y);
}

export function isParentCommand(command: AnyCommand): command is AnyCommand & ParentCommand {
  return Array.isArray((command as Partial<ParentCommand>).subcommands);
}
