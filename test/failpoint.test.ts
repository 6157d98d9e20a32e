/**
 * SIDEWAYS_FAILPOINT (src/util/failpoint.ts), the stop and failure tests' hooks: step:wait:N:FILE,
 * which holds a run mid-training (off unless named, it holds only the call that did update N, until
 * FILE exists or the run takes a stop), and several hooks in one value, separated by ';'.
 */
import { expect } from "chai";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { failpointNumbers, parseFailpoints, stepWaitFailpoint } from "../src/util/failpoint.js";
import { withEnv } from "./helpers/env.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

/** Whether `p` is still pending after the hook has had several polls' time to end. */
async function stillPending(p: Promise<void>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  return !settled;
}

describe("SIDEWAYS_FAILPOINT", () => {
  let dir: string;
  freshFolderEachTest("sideways-failpoint-", (d) => (dir = d));
  // A wait a broken hook never ends would keep mocha's process alive: each ends with its test.
  let testEnded = false;
  beforeEach(() => (testEnded = false));
  afterEach(() => (testEnded = true));

  describe("step:wait:N:FILE", () => {
    it("is off unless the variable names it", async () => {
      await withEnv({ SIDEWAYS_FAILPOINT: undefined }, () => expect(stepWaitFailpoint()).to.equal(null));
      await withEnv({ SIDEWAYS_FAILPOINT: "stop:hold:10" }, () => expect(stepWaitFailpoint()).to.equal(null));
    });

    it("holds the call that did update N (alone, or inside a longer call) until FILE exists; other calls go on", async () => {
      const file = join(dir, "go");
      const wait = await withEnv({ SIDEWAYS_FAILPOINT: `step:wait:3:${file}` }, () => stepWaitFailpoint());
      const never = () => testEnded;
      // Before and after N (a run resumed past N does not wait).
      await wait!(2, 2, never);
      await wait!(4, 5, never);
      const held = wait!(3, 3, never);
      const heldInCall = wait!(2, 4, never);
      expect(await stillPending(held), "update 3").to.equal(true);
      expect(await stillPending(heldInCall), "a call of updates 2-4").to.equal(true);
      writeFileSync(file, "");
      await Promise.all([held, heldInCall]);
    });

    it("ends when the run takes a stop, without FILE", async () => {
      const wait = await withEnv({ SIDEWAYS_FAILPOINT: `step:wait:1:${join(dir, "never-made")}` }, () => stepWaitFailpoint());
      let stopped = false;
      const held = wait!(1, 1, () => stopped || testEnded);
      expect(await stillPending(held)).to.equal(true);
      stopped = true;
      await held;
    });
  });

  describe("several hooks in one value", () => {

    it("each single hook means what it did alone; unset or empty, none", () => {
      expect(parseFailpoints("block:2:call:3")).to.deep.equal(new Map([["block:K:call:N", ["2", "3"]]]));
      expect(parseFailpoints("stop:hold:5000")).to.deep.equal(new Map([["stop:hold:MS", ["5000"]]]));
      // FILE is the rest of the hook, ':' and all (a Windows path).
      expect(parseFailpoints("step:wait:10:C:\\tmp\\go")).to.deep.equal(new Map([["step:wait:N:FILE", ["10", "C:\\tmp\\go"]]]));
      expect(parseFailpoints("").size).to.equal(0);
    });

    it("hooks separated by ';' are each on, in any order", async () => {
      const file = join(dir, "go");
      for (const value of [`stop:hold:5000;step:wait:3:${file}`, `step:wait:3:${file};stop:hold:5000;block:1:call:2`]) {
        await withEnv({ SIDEWAYS_FAILPOINT: value }, async () => {
          expect(failpointNumbers("stop:hold:MS"), value).to.deep.equal([5000]);
          expect(failpointNumbers("block:K:call:N"), value).to.deep.equal(value.includes("block") ? [1, 2] : null);
          // The wait reads FILE without the hooks after it: it ends when FILE, not "FILE;stop:hold:5000", exists.
          const wait = stepWaitFailpoint()!;
          const held = wait(3, 3, () => testEnded);
          expect(await stillPending(held), value).to.equal(true);
          writeFileSync(file, "");
          // (Not `await held`: a wait for the wrong file would last until the test's timeout.)
          expect(await stillPending(held), `${value}: still held once FILE exists`).to.equal(false);
          rmSync(file);
        });
      }
    });

    it("refuses a value it cannot read as hooks, naming the part: a FILE holding ';', a typo, an empty part, a kind twice", () => {
      const refused = (value: string, ...parts: string[]) => {
        let message = "";
        try {
          parseFailpoints(value);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message, value).to.include(`SIDEWAYS_FAILPOINT=${JSON.stringify(value)}: `);
        for (const p of parts) expect(message, value).to.include(p);
      };
      const noHook = "is not a test hook (expected block:K:call:N, stop:hold:MS, step:wait:N:FILE, several separated by ';' (which a FILE therefore cannot contain))";
      // Not the file "/tmp/a;b": "b" is no hook.
      refused("step:wait:3:/tmp/a;b", `"b" ${noHook}`);
      refused("stop:hold:10;step:wait:3:/tmp/a;b.txt", `"b.txt" ${noHook}`);
      refused("stop:hold:5s", `"stop:hold:5s" ${noHook}`);
      refused("stop:hold:10;", `"" ${noHook}`);
      refused("stop:hold:10;stop:hold:20", "names stop:hold:MS twice");
    });

    it("a run's hooks are read through the same check: a bad value throws rather than leaving the hooks off", async () => {
      await withEnv({ SIDEWAYS_FAILPOINT: "stop:hold:10;step:wait:3:/tmp/a;b" }, () => {
        expect(() => stepWaitFailpoint()).to.throw(/"b" is not a test hook/);
        expect(() => failpointNumbers("stop:hold:MS")).to.throw(/"b" is not a test hook/);
      });
    });
  });
});
