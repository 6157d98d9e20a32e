/** shellWord (src/cli/commands/sweep.ts): the words of the command a stopped sweep prints to finish it. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { shellWord } from "../src/cli/commands/sweep.js";

describe("shellWord", () => {
  it("leaves plain words as they are and quotes the rest so that a POSIX shell reads each back as one word", () => {
    expect(shellWord("train.optimizer.lr=0.1")).to.equal("train.optimizer.lr=0.1");
    expect(shellWord("experiments/bp-vs-sideways.yaml")).to.equal("experiments/bp-vs-sideways.yaml");
    const tricky = ["sweep.grid={train.method: [bp, sideways]}", "~data.frame_stride", "data.root=my videos", "name=it's", "$HOME", "a;b", "*", ""];
    for (const word of tricky) expect(shellWord(word), word).to.match(/^'.*'$/s);
    // Read back by sh itself, each word ended by a NUL: the same words.
    const r = spawnSync("sh", ["-c", `printf '%s\\0' ${tricky.map(shellWord).join(" ")}`], { encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.split("\0").slice(0, -1)).to.deep.equal(tricky);
  });
});
