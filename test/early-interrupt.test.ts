/**
 * A sweep's child run stopped while it starts (src/train/early-interrupt.ts): the SIGINT its sweep
 * sends (Ctrl-C, --fail-fast) before the trainer listens is kept, and the run stops before its
 * first step as an interrupted run (exit 130), instead of being lost and training to the end.
 */
import { expect } from "chai";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { FINAL_WEIGHTS_FILE } from "../src/results/run-dir.js";
import { listenForEarlyInterrupt, takeEarlyInterrupt } from "../src/train/early-interrupt.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const FIXTURES = resolve("test/fixtures/specs");

describe("a SIGINT before the trainer listens (a sweep's child starting)", function () {
  this.timeout(60_000);
  inFreshFolderEachTest("sideways-early-interrupt-", (dir) => {
    cpSync(join(FIXTURES, "good.yaml"), join(dir, "exp", "good.yaml"));
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
  });
  afterEach(() => takeEarlyInterrupt()); // never leave the listener behind

  it("is remembered only while listened for, and taken once", () => {
    expect(takeEarlyInterrupt(), "never listened").to.equal(false);
    const before = process.listenerCount("SIGINT");
    listenForEarlyInterrupt();
    expect(process.listenerCount("SIGINT")).to.equal(before + 1);
    process.emit("SIGINT", "SIGINT");
    // Remembered once; the listener is gone, so a second SIGINT aborts as the default does.
    expect(process.listenerCount("SIGINT"), "listening after the first").to.equal(before);
    expect(takeEarlyInterrupt()).to.equal(true);
    expect(takeEarlyInterrupt(), "taken already").to.equal(false);
  });

  it("stops the run before its first step: exit 130, summary interrupted after 0 steps, no final weights", async () => {
    listenForEarlyInterrupt();
    process.emit("SIGINT", "SIGINT"); // as if it came during Node's start or the run's set-up
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml"], io), io.stderr).to.equal(130);
    expect(io.stderr).to.include("interrupt: came during set-up");
    const [id] = readdirSync(join("results", "good"));
    const runDir = join("results", "good", id);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as { status: string; steps_done: number };
    expect(summary).to.include({ status: "interrupted", steps_done: 0 });
    expect(existsSync(join(runDir, FINAL_WEIGHTS_FILE)), "final weights").to.equal(false);
    expect(process.listenerCount("SIGINT"), "the trainer's listener is gone after the run").to.equal(0);
  });
});
