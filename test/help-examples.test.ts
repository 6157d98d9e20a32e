/**
 * Every `--help` example a command shows (`examples: [["$0 ...", "..."]]` in src/cli) parses as a
 * command line, as test/docs-commands.test.ts checks the docs' lines: an option renamed or a check
 * made stricter cannot leave a help example that fails as written. Only parsed (main's parseOnly):
 * the files need not exist and nothing runs. And each is shown whole on one line of its command's
 * `--help`, at 80 and 110 columns, so a user can copy it.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { shellWords } from "./helpers/shell-words.js";

/** The .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** A shell variable an example leaves to the user's environment, given a value a user's would have. */
const ENVIRONMENT: Record<string, string> = { $SLURM_ARRAY_TASK_ID: "0" };

const examples = sources("src/cli").flatMap((file) =>
  // An entry of an `examples` list (src/cli/help-examples.ts): ["$0 command", "description"].
  [...readFileSync(file, "utf8").matchAll(/\[\s*(["`])\$0 ([^"`]*)\1\s*,/g)]
    // A template literal with a substitution is built at run time: not a literal line to check here.
    .filter((m) => !m[2]!.includes("${"))
    .map((m) => ({ file, text: m[2]!, args: shellWords(m[2]!).map((w) => w.replace(/\$[A-Z_]+/g, (v) => ENVIRONMENT[v] ?? v)) })),
);

describe("the commands' --help examples", () => {
  it("finds them (every command has some)", () => {
    expect(examples.length).to.be.greaterThan(40);
    const commands = new Set(examples.map((e) => e.args[0]));
    for (const c of ["run", "sweep", "validate", "schedule", "evaluate", "export", "model", "data", "bench", "results", "plot", "gpu", "doctor"]) expect(commands, c).to.include(c);
  });

  for (const { file, text, args } of examples) {
    it(`${file}: ${text.slice(0, 90)}`, async () => {
      const io = captureIo();
      expect(await main(args, io, { parseOnly: true }), `${text}\n${io.stderr}`).to.equal(0);
      expect(io.stderr).to.equal("");
    });
  }

  for (const width of [80, 110])
    it(`shows each whole on one line of its command's --help at ${width} columns`, async () => {
      for (const { file, text, args } of examples) {
        // The example's own command line with --help: the help of the command it is an example of.
        const asked = file.endsWith("main.ts") ? ["--help"] : [...args, "--help"];
        const io = captureIo();
        expect(await main(asked, io, { helpWidth: width }), io.stderr).to.equal(0);
        const lines = io.stdout.split("\n").map((l) => l.trim());
        const command = `sideways ${text}`;
        // The command alone, or with its description after at least two spaces.
        expect(lines.some((l) => l === command || l.startsWith(`${command}  `)), `${asked.join(" ")} at ${width}:\n${io.stdout}`).to.equal(true);
      }
    });

  // yargs also shows help for a last word `help`, which sets no --help in argv: the same help,
  // Examples block included, as --help.
  for (const words of [[], ["run"], ["results", "table"], ["model", "summary"]])
    it(`sideways ${[...words, "help"].join(" ")} shows what --help shows, with the examples`, async () => {
      const [byWord, byOption] = [captureIo(), captureIo()];
      expect(await main([...words, "help"], byWord, { helpWidth: 110 }), byWord.stderr).to.equal(0);
      expect(await main([...words, "--help"], byOption, { helpWidth: 110 }), byOption.stderr).to.equal(0);
      expect(byOption.stdout).to.include("\nExamples:\n");
      expect(byWord.stdout).to.equal(byOption.stdout);
    });

  it("--version prints the package's version alone, to stdout", async () => {
    const io = captureIo();
    expect(await main(["--version"], io), io.stderr).to.equal(0);
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(io.stdout).to.equal(`${version}\n`);
  });
});
