/**
 * yargs' "Unknown arguments: x-axs, xAxs" names a misspelt option twice (yargs adds its camelCase
 * form) and says nothing of what was meant. Said here once per word, and where the word was given
 * as an option (`--x-axs`) and one of the command's options is close, with a did-you-mean, as a
 * misspelt experiment key is answered.
 */
import { didYouMean, editDistance } from "../spec/did-you-mean.js";
import type { KnownOptions } from "./option-values.js";

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Options another command has that a user reaches for here: where to find what they do. */
const ELSEWHERE: Readonly<Record<string, string>> = {
  "dry-run": "for a dry run: `sideways validate FILE` makes every check run makes without training; `sideways sweep FILE --dry-run` lists a sweep's runs",
  jobs: "runs in parallel are a sweep's: `sideways sweep FILE --jobs N`; `runtime.workers=N` spreads one run's blocks over N threads",
};

/** ELSEWHERE's entry for `word`, also where it is misspelt (`--dryrun`, `--dry_run`: one edit away). */
function elsewhereHint(word: string): string | undefined {
  const near = Object.keys(ELSEWHERE).find((name) => editDistance(word.toLowerCase(), name) <= 1);
  return near === undefined ? undefined : ELSEWHERE[near];
}

export function unknownOptionHint(said: string, args: readonly string[], options: KnownOptions | undefined): string {
  const m = /^Unknown arguments?: (.+)$/.exec(said);
  if (m === null) return said;
  const listed = m[1].split(", ");
  const words = listed.filter((w) => !listed.some((other) => other !== w && other.includes("-") && camelCase(other) === w));
  const given = new Set(args.map((a) => /^--?([^=]+)/.exec(a)?.[1]).filter((n): n is string => n !== undefined));
  // The options as --help lists them: kebab-case, no one-letter aliases, not --version.
  const names = Object.keys(options?.key ?? {}).filter((k) => k.length > 1 && !/[A-Z]/.test(k) && k !== "version");
  const described = words.map((word) => {
    const meant = given.has(word) ? didYouMean(word, names) : undefined;
    if (meant !== undefined) return `${word} (did you mean --${meant}?)`;
    const elsewhere = given.has(word) ? elsewhereHint(word) : undefined;
    return elsewhere !== undefined ? `${word} (${elsewhere})` : word;
  });
  return `Unknown argument${words.length === 1 ? "" : "s"}: ${described.join(", ")}`;
}
