/** The Examples block of --help (src/cli/help-examples.ts), laid out by hand for a given width. */
import { expect } from "chai";
import { renderExamples, withExamples, wrapWords } from "../src/cli/help-examples.js";

describe("--help's Examples block", () => {
  const examples = [
    ["$0 run a.yaml", "train once"],
    ["$0 run a.yaml train.method=bp train.optimizer.lr=0.1", "override keys"],
    ["$0 doctor", "one line per check: ok or --, and why"],
  ] as const;

  it("puts a description beside a command that fits half the width, else on the next line, in the same column", () => {
    // 40 columns: commands of up to 20 characters fit; the column starts 2 + 19 + 2 = 23 in.
    const col = " ".repeat(23);
    expect(renderExamples(examples, "sideways", 40).split("\n")).to.deep.equal([
      "Examples:",
      "  sideways run a.yaml  train once",
      "  sideways run a.yaml train.method=bp train.optimizer.lr=0.1",
      `${col}override keys`,
      "  sideways doctor      one line per",
      `${col}check: ok or --,`,
      `${col}and why`,
    ]);
  });

  it("never breaks a command, however narrow the help", () => {
    // 20 columns: no command fits in 10; each description goes under its command, 4 in.
    expect(renderExamples(examples, "sideways", 20).split("\n")).to.deep.equal([
      "Examples:",
      "  sideways run a.yaml",
      "    train once",
      "  sideways run a.yaml train.method=bp train.optimizer.lr=0.1",
      "    override keys",
      "  sideways doctor",
      "    one line per",
      "    check: ok or --,",
      "    and why",
    ]);
  });

  it("shows a command without a description alone", () => {
    expect(renderExamples([["$0 doctor", ""]], "sideways", 80)).to.equal("Examples:\n  sideways doctor");
  });

  it("wraps words at spaces, a word longer than the width on a line of its own", () => {
    expect(wrapWords("a bb results/ucf101-sweep-3crop c", 6)).to.deep.equal(["a bb", "results/ucf101-sweep-3crop", "c"]);
    expect(wrapWords("", 6)).to.deep.equal([]);
  });

  it("goes after yargs' help, a blank line between; help without examples is left as it is", () => {
    expect(withExamples("Options:\n  --x\n\n", [["$0 doctor", "checks"]], "sideways", 80)).to.equal("Options:\n  --x\n\nExamples:\n  sideways doctor  checks");
    expect(withExamples("Options:\n  --x", [], "sideways", 80)).to.equal("Options:\n  --x");
  });
});
