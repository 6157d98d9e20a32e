/** The one rule for paths users write (src/util/user-path.ts), against the home folder and cwd of the test. */
import { expect } from "chai";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError } from "../src/errors.js";
import { resolveUserPath } from "../src/util/user-path.js";

describe("paths users write", () => {
  it("~ and ~/x are the home folder; relative paths are relative to the base; absolute ones stay", () => {
    expect(resolveUserPath("/base", "~")).to.equal(homedir());
    expect(resolveUserPath("/base", "~/runs/a")).to.equal(join(homedir(), "runs", "a"));
    expect(resolveUserPath("/base", "runs/a")).to.equal("/base/runs/a");
    expect(resolveUserPath("/base", "./~")).to.equal("/base/~");
    expect(resolveUserPath("/base", "/abs/x")).to.equal("/abs/x");
  });

  it("~name/ is refused with what to write instead (it would be a folder named ~name)", () => {
    expect(() => resolveUserPath("/base", "~root/x")).to.throw(InputError, /path '~root\/x': ~name\/ is not expanded .*write the absolute path/);
    expect(() => resolveUserPath("/base", "~x")).to.throw(InputError);
  });
});
