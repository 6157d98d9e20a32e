/**
 * SIDEWAYS_FAILPOINT=step:wait:N:FILE (src/util/failpoint.ts), which the stop tests use to hold a
 * run mid-training: off unless named, it holds only the call that did update N, until FILE exists
 * or the run takes a stop.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stepWaitFailpoint } from "../src/util/failpoint.js";
import { withEnv } from "./helpers/env.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

/** Whether `p` is still pending after the hook has had several polls' time to end. */
async function stillPending(p: Promise<void>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  return !settled;
}

describe("SIDEWAYS_FAILPOINT=step:wait:N:FILE", () => {
  let dir: string;
  freshFolderEachTest("sideways-failpoint-", (d) => (dir = d));
  // A wait a broken hook never ends would keep mocha's process alive: each ends with its test.
  let testEnded = false;
  beforeEach(() => (testEnded = false));
  afterEach(() => (testEnded = true));

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
