/**
 * Whether yargs answers a command line with the help or the version instead of running the
 * command: `--help` or `-h`, a last word `help` (`sideways bench help`; yargs takes it for --help
 * unless an option took it as its value, `--out help`), or `--version`. Then that answer wins over
 * a bad option value, as it already did over an unknown option or a missing argument (yargs skips
 * its validation): `sideways bench --threads abc --help` prints the help and exits 0, the yargs
 * convention; the value is checked when the command runs.
 */
export function asksForHelpOrVersion(args: readonly string[], argv: Record<string, unknown>): boolean {
  if (argv.help === true || argv.version === true) return true;
  if (args[args.length - 1] !== "help") return false;
  const tookIt = (v: unknown) => v === "help" || (Array.isArray(v) && v.includes("help"));
  return !Object.entries(argv).some(([key, value]) => key !== "_" && key !== "$0" && tookIt(value));
}
