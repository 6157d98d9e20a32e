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
import { scriptCommandLines, shellWords } from "./helpers/shell-words.js";

const DOCS = ["README.md", "experiments/README.md", ...readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

/** `sideways` or `node bin/sideways.js`, at the start of a line or after a shell word such as `taskset -c 0` or `&&`. */
const COMMAND = /(?:^|[\s;&(])(?:sideways|node bin\/sideways\.js) ([a-z].*)$/;

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
 * The `sideways ...` spans in the docs' prose: often a reference to a command (`sideways run`) or
 * an option (`bench --peer`), or with placeholders (`--device-id N`, `[--peer-upload]`), which are
 * filled in here. Each must parse, or lack only its file, folder or an option's value.
 */
const PLACEHOLDERS: Record<string, string> = { N: "1", K: "2", B: "8", P: "cpu", FILE: "f.yaml", DIR: "d", D: "d" };
function inlineCommands(file: string): { args: string[]; text: string }[] {
  return [...readFileSync(file, "utf8").matchAll(/`(?:sideways|node bin\/sideways\.js) ([a-z][^`]*)`/g)].map((m) => ({
    text: m[1]!.replace(/\s+/g, " "),
    args: shellWords(m[1]!.replace(/\s+/g, " ")).map((w) => PLACEHOLDERS[w] ?? w.replace(/^\[(--[a-z-]+)\]$/, "$1")),
  }));
}

describe("command spans in the docs' prose", () => {
  const all = DOCS.flatMap((file) => inlineCommands(file).map((c) => ({ file, ...c })));
  it("finds them", () => expect(all.length).to.be.greaterThan(50));
  for (const { file, text, args } of all) {
    it(`${file}: \`sideways ${text.slice(0, 80)}\``, async () => {
      const io = captureIo();
      const code = await main(args, io, { parseOnly: true });
      // A reference to a command or an option leaves out what follows it; nothing else may be wrong.
      if (code !== 0) expect(io.stderr, text).to.match(/, found nothing \(see sideways /);
    });
  }
});

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
