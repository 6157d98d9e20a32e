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
    // A comment starts a word; the separators end the command wherever they stand.
    if (!angle && ((c === "#" && word === null) || c === ";" || c === "|" || (c === "&" && line[i + 1] === "&"))) break;
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
