/**
 * Every bad experiment file in test/fixtures/specs/ must fail with exit status 2, a message that
 * names the file and the key path (each fixture's "# expect:" line), and nothing on disk.
 * A fixture's "# command:" line picks the command (default: run).
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { main } from "../src/cli/main.js";
import { formatIssues } from "../src/spec/spec-issues.js";
import { captureIo } from "./helpers/capture-io.js";

const FIXTURES = resolve("test/fixtures/specs");
const GOOD = new Set(["good.yaml", "sweep-good.yaml"]);

/** Runs the CLI in-process inside a fresh empty directory. */
async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "sideways-cli-"));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return await fn(dir);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}

function header(text: string, key: string): string | undefined {
  return text.split("\n").find((l) => l.startsWith(`# ${key}: `))?.slice(key.length + 4);
}

describe("bad experiment files (test/fixtures/specs)", function () {
  this.timeout(20_000);
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml") && !GOOD.has(f));

  it("has at least 30 of them", () => expect(files.length).to.be.at.least(30));

  for (const name of files) {
    it(`${name}: exit 2, names the key path or file, creates nothing`, async () => {
      const path = join(FIXTURES, name);
      const text = readFileSync(path, "utf8");
      const expected = header(text, "expect") ?? "the file is empty";
      const command = header(text, "command") ?? "run";
      await inTempDir(async (dir) => {
        const io = captureIo();
        const code = await main([command, path], io);
        expect(io.stderr, io.stderr).to.include(expected);
        expect(io.stderr).to.include(name.replace(/\.yaml$/, ""));
        expect(io.stderr).not.to.match(/BUG|\n\s+at /);
        expect(io.stderr, "a value said once").not.to.match(/(found [^\n]+), \1/);
        expect(code).to.equal(2);
        expect(readdirSync(dir)).to.deep.equal([]);
      });
    });
  }

  it("an integer beyond the safe range: one line with the key's own bound (not also zod's safe-integer bound)", async () => {
    await inTempDir(async () => {
      const io = captureIo();
      expect(await main(["validate", join(FIXTURES, "good.yaml"), "seed=99999999999999999"], io)).to.equal(2);
      expect(io.stderr.trim().split("\n")).to.deep.equal(["error: override 'seed=99999999999999999': seed: expected an integer from 0 to 2147483647, found 100000000000000000"]);
    });
  });

  it("a missing experiment file: exit 2, names the file", async () => {
    await inTempDir(async (dir) => {
      const io = captureIo();
      expect(await main(["run", join(FIXTURES, "no-such-file.yaml")], io)).to.equal(2);
      expect(io.stderr).to.include("no-such-file.yaml does not exist");
      expect(existsSync(join(dir, "results"))).to.equal(false);
    });
  });

  // A value of the wrong kind on the command line is the override's fault, not the file's: the
  // message names the override, the key and what was expected (zod's own wording never shows).
  const badOverrides: [string, string][] = [
    ["model=[]", "override 'model=[]': model: expected a string or a mapping, found an empty list"],
    ["model=", "override 'model=': model: expected a string or a mapping, found null"],
    ["data=[]", "override 'data=[]': data: expected a mapping, found an empty list"],
    ["train.steps=[]", "override 'train.steps=[]': train.steps: expected an integer >= 1, found an empty list"],
    ["seed=[1]", "override 'seed=[1]': seed: expected an integer from 0 to 2147483647, found [1] (1 item)"],
    ["train.method=[]", "override 'train.method=[]': train.method: expected one of sideways | bp | pipelined-bp | gpipe, found an empty list"],
    ["sweep.seeds=[]", "override 'sweep.seeds=[]': sweep.seeds: expected a non-empty list of seeds (integers from 0 to 2147483647), or how many (an integer from 1 to 10000: seeds 0 to n-1), found an empty list"],
    // Three alternatives read as a list ("true or false or auto" before).
    ["runtime.device_step=maybe", "override 'runtime.device_step=maybe': runtime.device_step: expected true, false or auto, found 'maybe'"],
    ["sweep.seeds=0", "override 'sweep.seeds=0': sweep.seeds: expected a non-empty list of seeds (integers from 0 to 2147483647), or how many (an integer from 1 to 10000: seeds 0 to n-1), found 0"],
    ["sweep.grid.train.method=[]", "override 'sweep.grid.train.method=[]': sweep.grid.train.method: expected a list of at least 1 item, found an empty list"],
    ["sweep.grid=[]", "override 'sweep.grid=[]': sweep.grid: expected a mapping, found an empty list"],
    // A kind picks a branch, so the whole-file check lists every kind; its line names the override.
    ["data.kind=[]", "good.yaml with override 'data.kind=[]': data.kind: expected moving-mnist | shapes | npy | video-folder, found an empty list"],
    ["train.optimizer.kind=sgdd", "good.yaml with override 'train.optimizer.kind=sgdd': train.optimizer.kind: expected sgd | adam | adamw, found 'sgdd' (did you mean 'sgd'?)"],
    // A key that takes a name or a number: the name is said beside the number's bound, and a near miss of the name gets a suggestion.
    ["train.update_every=0", "override 'train.update_every=0': train.update_every: expected clip or an integer >= 1, found 0"],
    ["train.bp_frames_per_pass=0", "override 'train.bp_frames_per_pass=0': train.bp_frames_per_pass: expected all | auto or an integer >= 1, found 0"],
    ["train.update_every=clips", "override 'train.update_every=clips': train.update_every: expected clip or an integer >= 1, found 'clips' (did you mean 'clip'?)"],
    // A word where an integer (or a name) belongs says the integer's range too, as 0 and 1.5 do
    // (it was "a number or auto", "a number": no range, and no "integer").
    ["runtime.workers=abc", "override 'runtime.workers=abc': runtime.workers: expected auto or an integer from 1 to 256, found 'abc'"],
    ["runtime.workers=", "override 'runtime.workers=': runtime.workers: expected auto or an integer from 1 to 256, found null"],
    ["train.bp_frames_per_pass=abc", "override 'train.bp_frames_per_pass=abc': train.bp_frames_per_pass: expected all | auto or an integer >= 1, found 'abc'"],
    ["runtime.replicas=abc", "override 'runtime.replicas=abc': runtime.replicas: expected an integer from 1 to 256, found 'abc'"],
    ["sweep.seeds=abc", "override 'sweep.seeds=abc': sweep.seeds: expected a non-empty list of seeds (integers from 0 to 2147483647), or how many (an integer from 1 to 10000: seeds 0 to n-1), found 'abc'"],
    // runtime.device_id: one expectation for a negative, a fractional, a non-number and an empty list
    // (they were "a number >= 0", "an integer or a list", "a number or a list", "a list of at least 1 item").
    ...["-1", "1.5", "abc", "[]"].map((v): [string, string] => [
      `runtime.device_id=${v}`,
      `override 'runtime.device_id=${v}': runtime.device_id: expected an integer >= 0, or a non-empty list of them (depth-parallel stage s runs on item s mod its length), found ${v === "abc" ? "'abc'" : v === "[]" ? "an empty list" : v}`,
    ]),
    // An integer key says its range, the same for a value below it, above it, and between two integers.
    ...["0", "65", "1.5"].map((v): [string, string] => [`runtime.steps_per_call=${v}`, `override 'runtime.steps_per_call=${v}': runtime.steps_per_call: expected an integer from 1 to 64, found ${v}`]),
    ["train.update_every=2.5", "override 'train.update_every=2.5': train.update_every: expected clip or an integer >= 1, found 2.5"],
    ["runtime.workers=1.5", "override 'runtime.workers=1.5': runtime.workers: expected auto or an integer from 1 to 256, found 1.5"],
    ["runtime.device_id=[0,-1]", "override 'runtime.device_id=[0,-1]': runtime.device_id.1: expected an integer >= 0, found -1"],
    ["runtime.device_id=[0,1.5]", "override 'runtime.device_id=[0,1.5]': runtime.device_id.1: expected an integer >= 0, found 1.5"],
    // A valid kind whose branch rejects the file's other keys: the line about them names the override too.
    ["train.optimizer.kind=adam", "good.yaml with override 'train.optimizer.kind=adam': train.optimizer: unknown key 'momentum' (a key of kind sgd, not adam); valid keys: kind, lr, betas, eps, weight_decay"],
  ];
  it("a mistake in the file is the file's, whatever overrides set beside it (the line names no override)", async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, "typo.yaml");
      writeFileSync(file, readFileSync(join(FIXTURES, "good.yaml"), "utf8").replace("steps: 3", "stepz: 3").replace("models/tiny.yaml", join(FIXTURES, "models", "tiny.yaml")));
      const io = captureIo();
      expect(await main(["validate", file, "train.steps=5", "train.optimizer.lr=0.1"], io)).to.equal(2);
      expect(io.stderr.trim()).to.match(new RegExp(`^error: ${file.replace(/[.*+?^$()|[\]\\]/g, "\\$&")}: train: unknown key 'stepz'`));
    });
  });

  for (const [override, expected] of badOverrides) {
    it(`command-line override ${override}: exit 2, names the key and what was expected, creates nothing`, async () => {
      await inTempDir(async (dir) => {
        const io = captureIo();
        expect(await main(["run", join(FIXTURES, "good.yaml"), override], io), io.stderr).to.equal(2);
        expect(io.stderr.trimEnd().split("\n"), io.stderr).to.have.length(1);
        expect(io.stderr, io.stderr).to.match(/^error: /).and.include(`${expected}\n`);
        expect(readdirSync(dir)).to.deep.equal([]);
      });
    });
  }

  it("an unknown command-line option: exit 2", async () => {
    const io = captureIo();
    expect(await main(["run", join(FIXTURES, "good.yaml"), "--bogus"], io)).to.equal(2);
    expect(io.stderr).to.include("bogus");
  });
});

describe("formatIssues: a union with an integer branch and no description", () => {
  // sweep.seeds has a description now, which says every bad value's expectation; a union without
  // one is still told the integer's range (a number) or each branch (another value).
  const schema = z.strictObject({ n: z.union([z.array(z.number()), z.number().int().min(1)]) });
  const said = (n: unknown) => {
    const parsed = schema.safeParse({ n });
    expect(parsed.success).to.equal(false);
    return formatIssues(parsed.error!.issues, { n }, "f.yaml", schema);
  };

  it("a number no branch takes is told the integer's range; another value each branch", () => {
    expect(said(1.5)).to.deep.equal(["f.yaml: n: expected an integer >= 1, found 1.5"]);
    expect(said(true)).to.deep.equal(["f.yaml: n: expected a list or an integer >= 1, found true"]);
  });
});
