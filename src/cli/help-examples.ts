/**
 * The Examples block of `--help`, laid out here rather than by yargs: yargs caps its command column
 * at half the wrap width and breaks a longer command at a space onto a second line, so a user
 * copying that line got half a command. Here a command is never broken (one longer than the
 * terminal is wrapped by the terminal alone); its description sits beside it where the command
 * fits the column, else on the line below, in the same column.
 */

/** A command line shown in `--help` (`$0` stands for the program's name) and what it does. */
export type HelpExample = readonly [command: string, description: string];

/** A command module (or the program itself) with the examples its `--help` shows. */
export interface HelpExamples {
  examples?: readonly HelpExample[];
}

/** yargs' own layout: two spaces before a command, at least two between it and its description. */
const INDENT = 2;
const GAP = 2;

/**
 * "Examples:" and one entry per example, for a help `width` columns wide: the commands whole, the
 * descriptions word-wrapped in one column that starts after the longest command that fits in half
 * the width (yargs' cap).
 */
export function renderExamples(examples: readonly HelpExample[], scriptName: string, width: number): string {
  const commands = examples.map(([command]) => command.replace(/\$0/g, scriptName));
  const fitting = commands.map((c) => c.length).filter((n) => n <= Math.floor(width / 2));
  const column = INDENT + Math.max(0, ...fitting) + GAP;
  const lines = ["Examples:"];
  for (const [i, command] of commands.entries()) {
    const description = wrapWords(examples[i]![1], Math.max(1, width - column)).map((l) => " ".repeat(column) + l);
    const beside = INDENT + command.length + GAP <= column;
    if (beside && description.length > 0) description[0] = (" ".repeat(INDENT) + command).padEnd(column) + description[0]!.trimStart();
    else lines.push(" ".repeat(INDENT) + command);
    lines.push(...description);
  }
  return lines.join("\n");
}

/** `text` in lines of at most `width` characters, broken at spaces (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** yargs' help text with the Examples block after it (where yargs puts its own). */
export function withExamples(help: string, examples: readonly HelpExample[] | undefined, scriptName: string, width: number): string {
  if (examples === undefined || examples.length === 0) return help;
  return `${help.replace(/\s*$/, "")}\n\n${renderExamples(examples, scriptName, width)}`;
}
