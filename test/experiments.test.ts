/**
 * The experiment files shipped in experiments/ work as their headers say: `sideways validate`
 * (every check `run` makes before training, for every run of a sweep) passes on each, so a key
 * renamed or a stricter check cannot leave a shipped experiment that fails at its first command;
 * and experiments/README.md lists each file.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";

/** Overrides a file needs on a CPU machine without datasets, and why. */
const ON_THIS_MACHINE: Record<string, string[]> = {
  // Written for one CUDA GPU; everything but the provider is checked on the CPU.
  "gpu-wide.yaml": ["runtime.provider=cpu"],
};
/** Files validate cannot check here. */
const ELSEWHERE: Record<string, string> = {
  "ucf101.yaml": "a template for a copy of UCF101; test/experiment-ucf101.test.ts runs it on a UCF101-layout copy of the fixture clips",
};

const FILES = readdirSync("experiments").filter((f) => f.endsWith(".yaml")).sort();

describe("experiments/: the shipped experiment files", function () {
  this.timeout(120_000);

  it("finds the files (the quickstart among them)", () => {
    expect(FILES).to.include("quickstart.yaml");
    for (const f of [...Object.keys(ON_THIS_MACHINE), ...Object.keys(ELSEWHERE)]) expect(FILES, f).to.include(f);
  });

  for (const file of FILES.filter((f) => !(f in ELSEWHERE))) {
    it(`sideways validate experiments/${file} passes${ON_THIS_MACHINE[file] ? ` (with ${ON_THIS_MACHINE[file].join(" ")})` : ""}`, async () => {
      const io = captureIo();
      expect(await main(["validate", join("experiments", file), ...(ON_THIS_MACHINE[file] ?? [])], io), io.stderr).to.equal(0);
      expect(io.stderr).to.match(/^ok: /m);
    });
  }

  it("experiments/README.md's table lists every file", () => {
    const readme = readFileSync("experiments/README.md", "utf8");
    for (const file of FILES) expect(readme, file).to.include(`| \`${file}\` |`);
  });
});
