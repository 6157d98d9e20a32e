/**
 * Options whose value is missing or is no value at all, found in the command line as typed.
 * yargs takes `--out` at the end of the line (or `--out ""`) for the empty path, which is the
 * current folder, so `data ... --out` wrote clips there; an option of a whole number given no value
 * (`--jobs`) silently took its default; `--dry-run=abc` was taken for false, so the sweep ran;
 * and `--shard -1/2` read "-1/2" as short options ("Unknown argument: 1").
 */

/** What yargs' getOptions() says about the options of the command being run (the keys used here). */
export interface KnownOptions {
  key: Record<string, unknown>;
  boolean: string[];
  count?: string[];
  array: string[];
  alias: Record<string, string[]>;
}

/**
 * A negative number, which yargs takes as an option's value (`--jobs -1`), not as options: its
 * parser's own pattern, so that what it splits into short options (`-1e3`: -1 -e -3) is told here.
 */
const NEGATIVE_NUMBER = /^-([0-9]+(\.[0-9]+)?|\.[0-9]+)$/;

/**
 * The first problem with an option's value in `args`, said as `--out: expected a value, found
 * nothing`, or undefined. Only options the command knows are checked (unknown ones are yargs'
 * "Unknown argument"); anything after `--` is a problem too.
 */
export function optionValueProblem(args: readonly string[], options: KnownOptions): string | undefined {
  const canonical = canonicalNames(options);
  const isFlag = (key: string) => options.boolean.includes(key) || (options.count ?? []).includes(key);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // yargs would leave what follows `--` out of the command's arguments: an override there was dropped, unsaid.
    if (arg === "--") return i + 1 < args.length ? `--: expected nothing after it, found ${args.slice(i + 1).map((a) => `'${a}'`).join(" ")} (sideways reads nothing after '--': give what follows it without '--')` : undefined;
    const m = /^(--?)([^=]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || NEGATIVE_NUMBER.test(arg)) continue;
    const [, dashes, name, inline] = m;
    // `-jx` is two short options; only a lone one (`-j`) is checked.
    if (dashes === "-" && name.length !== 1) continue;
    const key = canonical.get(name);
    if (key === undefined) continue;
    const typed = `${dashes}${name}`;
    if (isFlag(key)) {
      if (inline !== undefined && !["true", "false"].includes(inline)) return `${typed}: expected no value (or =true, =false), found '${inline}'`;
      continue;
    }
    // A list option given no item took its default (`bench --threads` ran 1 and 2 threads, `gpu
    // install --cuda-lib-dir` searched no extra folder) or, as `results table --metric`, [].
    const problem = missingValue(typed, options.array.includes(key) ? "one or more values" : "a value", inline, args[i + 1]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Why `typed` (an option that takes `expected`) has no value, given its `=value` and the word after it; undefined when it has one. */
function missingValue(typed: string, expected: string, inline: string | undefined, next: string | undefined): string | undefined {
  if (inline !== undefined) return inline.trim() === "" ? `${typed}: expected ${expected}, found nothing after '='` : undefined;
  if (next === undefined || next === "--") return `${typed}: expected ${expected} after it, found nothing`;
  if (next.trim() === "") return `${typed}: expected ${expected}, found '${next}'`;
  if (next.startsWith("--")) return `${typed}: expected ${expected} after it, found the option '${next}'`;
  if (next.startsWith("-") && !NEGATIVE_NUMBER.test(next)) return `${typed}: expected ${expected} after it, found '${next}', read as an option (if that is the value, write ${typed}=${next})`;
  return undefined;
}

/** Every name an option is given by (its key, aliases, camelCase form) -> its key. */
function canonicalNames(options: KnownOptions): Map<string, string> {
  const names = new Map<string, string>();
  for (const key of Object.keys(options.key)) {
    names.set(key, key);
    names.set(key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), key);
    for (const alias of options.alias[key] ?? []) names.set(alias, key);
  }
  return names;
}
