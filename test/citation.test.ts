/**
 * CITATION.cff (how to cite the software) must name the version and license package.json
 * releases, and LICENSE must hold that license's text: a version bump or a license change that
 * forgets one of the three fails here instead of in a reader's bibliography.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parse } from "yaml";

interface Citation {
  "cff-version": string;
  title: string;
  version: string;
  license: string;
  authors: unknown[];
  references: { title: string; year: number }[];
}

describe("CITATION.cff and LICENSE", () => {
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string; license: string };
  const citation = parse(readFileSync("CITATION.cff", "utf8")) as Citation;

  it("cites the version and license package.json releases", () => {
    expect(citation["cff-version"]).to.equal("1.2.0");
    expect(citation.version).to.equal(pkg.version);
    expect(citation.license).to.equal(pkg.license);
    expect(citation.authors).to.have.length.greaterThan(0);
  });

  it("references the Sideways paper", () => {
    expect(citation.references.map((r) => [r.title, r.year])).to.deep.include(["Sideways: Depth-Parallel Training of Video Models", 2020]);
  });

  it("LICENSE is the text of package.json's license", () => {
    // Only Apache-2.0 is recognised: another license in package.json must bring its text and this check.
    expect(pkg.license).to.equal("Apache-2.0");
    const text = readFileSync("LICENSE", "utf8");
    expect(text).to.match(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(text).to.include("END OF TERMS AND CONDITIONS");
  });
});
