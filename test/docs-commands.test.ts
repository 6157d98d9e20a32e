/**
 * Every command line the docs show in a code block (`sideways ...` or `node bin/sideways.js ...`)
 * names a real command with options it takes, so that an option renamed or removed, or a stricter
 * check of the command line, cannot leave an example in README.md or docs/ that fails as written.
 * The lines are only parsed (main's parseOnly): their files need not exist, and nothing runs.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";

const DOCS = ["README.md", "experiments/README.md", ...readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

/** `sideways` or `node bin/sideways.js`, at the start of a line or after a shell word such as `taskset -c 0` or `&&`. */
const COMMAND = /(?:^|[\s;&(])(?:sideways|node bin\/sideways\.js) ([a-z].*)$/;

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

/** Each code-block line of `file` that runs the CLI, with its line number. */
function commandLines(file: string): { line: number; text: string; args: string[] }[] {
  const found: { line: number; text: string; args: string[] }[] = [];
  let inBlock = false;
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, i) => {
      if (text.trimStart().startsWith("```")) inBlock = !inBlock;
      const m = inBlock ? COMMAND.exec(text) : null;
      if (m !== null) found.push({ line: i + 1, text: text.trim(), args: shellWords(m[1]) });
    });
  return found;
}

describe("command lines in the docs", () => {
  it("splits a shell line as the docs write them", () => {
    expect(shellWords("run exp.yaml '~data.frame_stride' train.steps=100     # a comment")).to.deep.equal(["run", "exp.yaml", "~data.frame_stride", "train.steps=100"]);
    expect(shellWords("export --checkpoint results/q/<run id>/final.safetensors --out d/ && ls")).to.deep.equal(["export", "--checkpoint", "results/q/<run id>/final.safetensors", "--out", "d/"]);
    expect(shellWords('run "a b.yaml" x=1; echo')).to.deep.equal(["run", "a b.yaml", "x=1"]);
    expect(shellWords('bench --rounds 1 > "out/log" 2>&1')).to.deep.equal(["bench", "--rounds", "1"]);
    expect(shellWords("bench --rounds 1 2>&1 | tail")).to.deep.equal(["bench", "--rounds", "1"]);
  });

  const all = DOCS.flatMap((file) => commandLines(file).map((c) => ({ file, ...c })));
  it("finds the docs' command lines (README.md's first among them)", () => {
    expect(all.length).to.be.greaterThan(40);
    expect(all[0]).to.include({ file: "README.md" });
    expect(all[0]!.args).to.deep.equal(["run", "experiments/quickstart.yaml"]);
  });

  for (const { file, line, text, args } of all) {
    it(`${file}:${line}: ${args.join(" ").slice(0, 90)}`, async () => {
      const io = captureIo();
      expect(await main(args, io, { parseOnly: true }), `${text}\n${io.stderr}`).to.equal(0);
      expect(io.stderr).to.equal("");
    });
  }

  it("a line with an option the command does not take is refused (the check can fail)", async () => {
    const io = captureIo();
    expect(await main(shellWords("results table results/x --metrics wall_s"), io, { parseOnly: true })).to.equal(2);
    expect(io.stderr).to.include("Unknown argument: metrics");
  });
});

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

describe("command lines in the scripts", () => {
  it("sets a line's variables as the script does", () => {
    const script = ['OUT=${OUT:-out}', 'for k in ${KS:-2 4}; do', '  for up in "" --peer-upload; do', '    node bin/sideways.js bench --pixel-clips $up \\', '      --steps-per-call "$k" --json "$OUT/k$k${up:+-up}.json" > "$OUT/log" 2>&1', "  done", "done"].join("\n");
    expect(scriptCommandLines(script).map((c) => c.args.join(" "))).to.deep.equal([
      "bench --pixel-clips --steps-per-call 2 --json out/k2.json",
      "bench --pixel-clips --peer-upload --steps-per-call 2 --json out/k2-up.json",
      "bench --pixel-clips --steps-per-call 4 --json out/k4.json",
      "bench --pixel-clips --peer-upload --steps-per-call 4 --json out/k4-up.json",
    ]);
  });

  // A renamed option would otherwise show only on a lent GPU machine, in the GPU check's time.
  const scripts = readdirSync("scripts").filter((f) => f.endsWith(".sh"));
  const all = scripts.flatMap((file) => scriptCommandLines(readFileSync(join("scripts", file), "utf8")).map((c) => ({ file, ...c })));
  it("finds the GPU check's command lines", () => {
    expect(all.filter((c) => c.file === "gpu-check.sh").length).to.be.greaterThan(15);
  });
  for (const { file, line, args } of all) {
    it(`scripts/${file}:${line}: ${args.join(" ").slice(0, 90)}`, async () => {
      const io = captureIo();
      expect(await main(args, io, { parseOnly: true }), io.stderr).to.equal(0);
      expect(io.stderr).to.equal("");
    });
  }
});
