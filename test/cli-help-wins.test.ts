/**
 * --help wins over a bad option value, as yargs lets it win over an unknown option or a missing
 * argument: the command's help, exit 0, nothing on stderr and nothing written. The same lines
 * without --help are refused (exit 2), so each case is one a user could have typed while looking
 * up what the option takes.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { GOOD, SWEEP } from "./helpers/spec-fixtures.js";

describe("a bad option value with --help: the help wins", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-help-wins-", (d) => (dir = d));

  /** The command words whose help is expected, and a bad line of that command. */
  const cases: [string[], string[]][] = [
    [["bench"], ["bench", "--threads", "abc"]], // a whole number's coerce (whole-number.ts)
    [["bench"], ["bench", "--batch", "1", "--batch", "2"]], // one value given twice (main's middleware)
    [["sweep"], ["sweep", SWEEP, "--jobs", "abc"]],
    [["sweep"], ["sweep", SWEEP, "--dry-run=abc"]], // a flag given a value (option-values.ts)
    [["data"], ["data", GOOD, "--out"]], // an option without its value
    [["plot"], ["plot", "r", "--x-axis", "bogus"]], // yargs' choices: it already let help win
  ];
  for (const [command, bad] of cases) {
    for (const asked of [["--help"], ["-h"]]) {
      // --help at the end, or before the options, right after the command's word.
      const line = [bad[0], ...asked, ...bad.slice(1)];
      const shown = [...bad, ...asked].map((a) => (a.startsWith("/") ? a.split("/").pop() : a)).join(" ");
      it(`${shown}: ${command.join(" ")}'s help, exit 0`, async () => {
        const refused = captureIo();
        expect(await main(bad, refused), "the line without --help").to.equal(2);
        const plain = captureIo();
        expect(await main([...command, "--help"], plain, { helpWidth: 100 }), plain.stderr).to.equal(0);
        for (const args of [[...bad, ...asked], line]) {
          const io = captureIo();
          expect(await main(args, io, { helpWidth: 100 }), `${args.join(" ")}\n${io.stderr}`).to.equal(0);
          expect(io.stderr).to.equal("");
          expect(io.stdout).to.equal(plain.stdout);
        }
        expect(readdirSync(dir)).to.deep.equal([]);
      });
    }
  }

  it("a last word 'help' wins too (sideways bench --batch 0 help), but not as an option's value", async () => {
    const plain = captureIo();
    await main(["bench", "--help"], plain, { helpWidth: 100 });
    const io = captureIo();
    expect(await main(["bench", "--batch", "0", "help"], io, { helpWidth: 100 }), io.stderr).to.equal(0);
    expect(io.stdout).to.equal(plain.stdout);
    // `--threads abc help`: the list option takes both words, so yargs shows no help and the value is refused.
    const list = captureIo();
    expect(await main(["bench", "--threads", "abc", "help"], list)).to.equal(2);
    expect(list.stderr).to.equal("error: --threads: expected an integer >= 1, found 'abc' (see sideways bench --help)\n");
    const value = captureIo();
    expect(await main(["sweep", SWEEP, "--jobs", "abc", "--out", "help"], value)).to.equal(2);
    expect(value.stderr).to.match(/^error: --jobs: expected an integer >= 1, found 'abc'/);
  });

  it("--version wins as --help does: the version alone, exit 0", async () => {
    const plain = captureIo();
    expect(await main(["--version"], plain)).to.equal(0);
    const io = captureIo();
    expect(await main(["bench", "--threads", "abc", "--version"], io), io.stderr).to.equal(0);
    expect(io.stdout).to.equal(plain.stdout);
    expect(io.stderr).to.equal("");
  });
});
