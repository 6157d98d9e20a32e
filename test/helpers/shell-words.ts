/** Shell command lines as the docs and scripts write them, split into a CLI's arguments (test/docs-commands.test.ts). */

/**
 * A shell line's words after the command: up to a comment, `&&`, `|` or `;`, split at spaces
 * outside quotes; a placeholder such as `<run id>` is one word. Written here rather than taken from
 * a shell-parsing package: the docs' lines use only quotes, comments and these separators.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  let angle = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      else word += c;
      continue;
    }
    // A comment or a redirection starts a word; the separators end the command wherever they stand.
    const redirection = c === ">" || /^\d>/.test(line.slice(i, i + 2));
    if (!angle && (((c === "#" || redirection) && word === null) || c === ";" || c === "|" || (c === "&" && line[i + 1] === "&"))) break;
    if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === " " && !angle) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      if (c === "<") angle = true;
      if (c === ">") angle = false;
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/**
 * The scripts' command lines with their shell variables set as the scripts set them: each value of
 * a `for` loop's list (with its variable's default), `${VAR:-default}` and `VAR=${VAR:-default}` as
 * the default, `${VAR:+word}` as word when VAR is set, "$@" as no argument, and any other variable
 * as "1".
 */
export function scriptCommandLines(text: string): { line: number; args: string[] }[] {
  const lines = text.split("\n");
  const defaults = new Map<string, string>();
  const loops = new Map<string, string[]>();
  for (const l of lines) {
    const set = /^\s*([A-Za-z_]+)=\$\{\1:-([^}]*)\}\s*$/.exec(l);
    if (set !== null) defaults.set(set[1]!, set[2]!);
    const loop = /\bfor ([a-z_]+) in (.*); do/.exec(l);
    if (loop !== null) {
      const list = loop[2]!.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
      loops.set(loop[1]!, [...list.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!));
    }
  }
  const found: { line: number; args: string[] }[] = [];
  lines.forEach((l, i) => {
    const at = l.indexOf("node bin/sideways.js ");
    if (at < 0 || l.trimStart().startsWith("#")) return;
    let command = l.slice(at + "node bin/sideways.js ".length);
    for (let j = i; lines[j]!.endsWith("\\"); j++) command = command.replace(/\\$/, "") + " " + lines[j + 1]!.trim();
    const used = [...loops.keys()].filter((v) => new RegExp(`\\$\\{?${v}\\b`).test(command));
    // Every combination of the loop values the line uses.
    let envs: Map<string, string>[] = [new Map(defaults)];
    for (const v of used) envs = envs.flatMap((env) => loops.get(v)!.map((value) => new Map([...env, [v, value]])));
    for (const env of envs) {
      const expanded = command
        // The script's own arguments: none.
        .replace(/"\$@"/g, "")
        .replace(/\$\{([A-Za-z_0-9]+):\+([^}]*)\}/g, (_, v: string, word: string) => ((env.get(v) ?? "1") !== "" ? word : ""))
        .replace(/\$\{([A-Za-z_0-9]+):-([^}]*)\}/g, (_, v: string, d: string) => env.get(v) ?? d)
        .replace(/\$\{?([A-Za-z_0-9]+)\}?/g, (_, v: string) => env.get(v) ?? "1");
      found.push({ line: i + 1, args: shellWords(expanded) });
    }
  });
  return found;
}
