/**
 * A relative experiment or model path that is not found names where it was looked for, and the
 * file of that name sideways ships where there is one: a user running from another folder (or with
 * sideways installed from npm) who typed the README's `models/small-cnn.yaml` learns where it is.
 */
import { expect } from "chai";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpecError } from "../src/errors.js";
import { readYamlFile } from "../src/spec/yaml-file.js";

describe("a YAML file not found", () => {
  // The repository root: mocha runs from it (package.json's test script), where models/ is.
  const repo = process.cwd();
  let elsewhere = "";
  beforeEach(() => {
    elsewhere = realpathSync(mkdtempSync(join(tmpdir(), "sideways-elsewhere-")));
    process.chdir(elsewhere);
  });
  afterEach(() => {
    process.chdir(repo);
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const messageOf = (file: string): string => {
    try {
      readYamlFile(file, "file");
    } catch (err) {
      expect(err).to.be.instanceOf(SpecError);
      return (err as Error).message;
    }
    throw new Error(`${file} was read`);
  };

  it("a relative path sideways ships: where it was looked for, and sideways' own", () => {
    expect(messageOf("models/small-cnn.yaml")).to.equal(
      `file models/small-cnn.yaml does not exist or cannot be read (ENOENT; looked for ${join(elsewhere, "models/small-cnn.yaml")}: a relative path is from the current folder; sideways' own is ${join(repo, "models/small-cnn.yaml")})`,
    );
  });

  it("a relative path sideways does not ship: where it was looked for only", () => {
    expect(messageOf("models/no-such-model.yaml")).to.equal(
      `file models/no-such-model.yaml does not exist or cannot be read (ENOENT; looked for ${join(elsewhere, "models/no-such-model.yaml")}: a relative path is from the current folder)`,
    );
  });

  it("an absolute path: the code alone", () => {
    expect(messageOf(join(elsewhere, "none.yaml"))).to.equal(`file ${join(elsewhere, "none.yaml")} does not exist or cannot be read (ENOENT)`);
  });
});
