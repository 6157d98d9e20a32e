/**
 * An option given without its value, with an empty one, or a flag given a value that is none of
 * true/false: exit 2 naming the option, and nothing written. Before, `data ... --out` wrote the
 * clips into the current folder, `sweep --jobs` took its default and `sweep --dry-run=abc` ran the
 * sweep; an override after `--` was dropped without a word.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { main, missingPositionalsInOurWords } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { FIXTURES, GOOD, SWEEP } from "./helpers/spec-fixtures.js";

describe("CLI options without a value", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-options-", (d) => (dir = d));

  const cases: [string[], string][] = [
    [["data", GOOD, "--out"], "error: --out: expected a value after it, found nothing (see sideways data --help)"],
    [["data", GOOD, "--out", ""], "error: --out: expected a value, found '' (see sideways data --help)"],
    [["data", GOOD, "--out="], "error: --out: expected a value, found nothing after '=' (see sideways data --help)"],
    // Blank is no value too: with "--out= " or "--out ' '" the clips went to a folder named ' '.
    [["data", GOOD, "--out= "], "error: --out: expected a value, found nothing after '=' (see sideways data --help)"],
    [["data", GOOD, "--out", " "], "error: --out: expected a value, found ' ' (see sideways data --help)"],
    [["data", GOOD, "--out", "--"], "error: --out: expected a value after it, found nothing (see sideways data --help)"],
    [["data", GOOD, "--out", "o", "--clips"], "error: --clips: expected a value after it, found nothing (see sideways data --help)"],
    [["export", join(FIXTURES, "models", "tiny.yaml"), "--out"], "error: --out: expected a value after it, found nothing (see sideways export --help)"],
    [["sweep", SWEEP, "--jobs"], "error: --jobs: expected a value after it, found nothing (see sideways sweep --help)"],
    [["sweep", SWEEP, "-j", "--quiet"], "error: -j: expected a value after it, found the option '--quiet' (see sideways sweep --help)"],
    [["sweep", SWEEP, "--dry-run=abc"], "error: --dry-run: expected no value (or =true, =false), found 'abc' (see sideways sweep --help)"],
    // yargs takes an option's camelCase name too; --dryRun=abc was read as false, so the sweep ran.
    [["sweep", SWEEP, "--dryRun=abc"], "error: --dryRun: expected no value (or =true, =false), found 'abc' (see sideways sweep --help)"],
    [["sweep", SWEEP, "--dry-run", "--shard", "-1/2"], "error: --shard: expected a value after it, found '-1/2', read as an option (if that is the value, write --shard=-1/2) (see sideways sweep --help)"],
    [["run", GOOD, "--quiet", "--", "train.steps=abc"], "error: --: expected nothing after it, found 'train.steps=abc' (sideways reads nothing after '--': give what follows it without '--') (see sideways run --help)"],
    // What yargs' parser does not take for a negative number it splits into short options ("Unknown arguments: 1, e").
    [["sweep", SWEEP, "--dry-run", "--shard", "-1e3"], "error: --shard: expected a value after it, found '-1e3', read as an option (if that is the value, write --shard=-1e3) (see sideways sweep --help)"],
    [["model", "summary", join(FIXTURES, "models", "tiny.yaml"), "--workers"], "error: --workers: expected a value after it, found nothing (see sideways model summary --help)"],
    // List options: given no item, bench ran its default thread counts, gpu install searched no extra folder.
    [["bench", "--threads", "--quick"], "error: --threads: expected one or more values after it, found the option '--quick' (see sideways bench --help)"],
    [["bench", "--quick", "--threads"], "error: --threads: expected one or more values after it, found nothing (see sideways bench --help)"],
    [["gpu", "install", "cuda13", "--dir", "d", "--cuda-lib-dir"], "error: --cuda-lib-dir: expected one or more values after it, found nothing (see sideways gpu --help)"],
    [["results", "table", "r", "--metric="], "error: --metric: expected one or more values, found nothing after '=' (see sideways results table --help)"],
    [["plot", "r", "--metric"], "error: --metric: expected one or more values after it, found nothing (see sideways plot --help)"],
  ];
  for (const [args, expected] of cases) {
    it(`${args.map((a) => (a.startsWith("/") ? a.split("/").pop() : a === "" ? "''" : a)).join(" ")}: exit 2, one line naming the option, nothing written`, async () => {
      const io = captureIo();
      expect(await main(args, io), io.stderr).to.equal(2);
      expect(io.stderr).to.equal(`${expected}\n`);
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  }

  it("still takes a negative number as a value, and =true / =false for a flag", async () => {
    const negative = captureIo();
    expect(await main(["sweep", SWEEP, "--jobs", "-1"], negative)).to.equal(2);
    expect(negative.stderr).to.equal("error: --jobs: expected an integer >= 1, found '-1' (see sideways sweep --help)\n");
    const threads = captureIo();
    expect(await main(["bench", "--threads", "-2", "1"], threads)).to.equal(2);
    expect(threads.stderr).to.match(/^error: --threads: expected an integer >= 1, found '-2'/);
    const io = captureIo();
    expect(await main(["validate", GOOD, "--print=false"], io), io.stderr).to.equal(0);
    expect(io.stdout).to.equal("");
  });

  it("takes a '--' that ends the line, with nothing after it", async () => {
    const io = captureIo();
    expect(await main(["validate", GOOD, "--"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/^ok: /);
  });
});

describe("yargs' own refusals, in the words of every other bad option", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-options-", (d) => (dir = d));

  const cases: [string[], string][] = [
    // Was "Invalid values:\n  Argument: x-axis, Given: "bogus", Choices: "step", "wall_s"".
    [["plot", "r", "-x", "bogus"], "error: --x-axis: expected step or wall_s, found 'bogus' (see sideways plot --help)"],
    [["bench", "--peer", "tensorflow", "--provider", "tpu"], "error: --peer: expected torch, found 'tensorflow'; --provider: expected cpu, cuda or webgpu, found 'tpu' (see sideways bench --help)"],
    [["gpu", "fly"], "error: gpu: expected install or probe, found 'fly' (see sideways gpu --help)"],
    [["gpu"], "error: gpu: expected <action>, found nothing (see sideways gpu --help)"],
    // Was "Not enough non-option arguments: got 0, need at least 1".
    [["run"], "error: run: expected <file>, found nothing (see sideways run --help)"],
    [["results", "table"], "error: results table: expected <dir>, found nothing (see sideways results table --help)"],
    // Was "Missing required argument: out".
    [["export", join(FIXTURES, "models", "tiny.yaml")], "error: export: expected --out, found nothing (see sideways export --help)"],
  ];
  it("refuses them when only parsing too (test/docs-commands.test.ts), as a misspelt doc line", async () => {
    const io = captureIo();
    expect(await main(["gpu", "instal", "cuda13"], io, { parseOnly: true })).to.equal(2);
    expect(io.stderr).to.equal("error: gpu: expected install or probe, found 'instal' (see sideways gpu --help)\n");
  });
  for (const [args, expected] of cases) {
    it(`${args.map((a) => (a.startsWith("/") ? a.split("/").pop() : a)).join(" ")}: exit 2, one line`, async () => {
      const io = captureIo();
      expect(await main(args, io), io.stderr).to.equal(2);
      expect(io.stderr).to.equal(`${expected}\n`);
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  }
});

describe("missingPositionalsInOurWords", () => {
  // No command has two required positionals or a subcommand a required option yet; these pin the wording they will get.
  it("names only the positionals not given, and every required option", () => {
    const command = { command: "pair <left> <right> [rest..]", describe: "", handler: () => {} };
    expect(missingPositionalsInOurWords("Not enough non-option arguments: got 1, need at least 2", command, "x pair")).to.equal("x pair: expected <right>, found nothing");
    expect(missingPositionalsInOurWords("Not enough non-option arguments: got 0, need at least 2", command, "x pair")).to.equal("x pair: expected <left> and <right>, found nothing");
    expect(missingPositionalsInOurWords("Missing required arguments: out, dir", undefined, "gpu install")).to.equal("gpu install: expected --out and --dir, found nothing");
  });
});
