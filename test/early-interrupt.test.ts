/**
 * A sweep's child run stopped while it starts (src/train/early-interrupt.ts): the stop signal its
 * sweep sends (Ctrl-C, SIGTERM; --fail-fast's line on stdin) before the trainer listens is kept, and the run stops
 * before its first step as an interrupted run (exit 130), instead of being lost and training to
 * the end. Later stop signals are caught and ignored (the same stop can reach a child twice).
 */
import { expect } from "chai";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { FINAL_WEIGHTS_FILE } from "../src/results/run-dir.js";
import { listenForEarlyInterrupt, stopListeningForEarlyInterrupt, takeEarlyInterrupt } from "../src/train/early-interrupt.js";
import { requestStop, STOP_SIGNALS } from "../src/train/stop-signals.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const FIXTURES = resolve("test/fixtures/specs");
const listeners = () => STOP_SIGNALS.map((s) => process.listenerCount(s));

describe("a stop signal before the trainer listens (a sweep's child starting)", function () {
  this.timeout(60_000);
  inFreshFolderEachTest("sideways-early-interrupt-", (dir) => {
    cpSync(join(FIXTURES, "good.yaml"), join(dir, "exp", "good.yaml"));
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
  });
  afterEach(() => stopListeningForEarlyInterrupt()); // never leave the listener behind

  it("the first stop is remembered until taken, later stop signals are caught and ignored", () => {
    expect(takeEarlyInterrupt(), "never listened").to.equal(null);
    const before = listeners();
    listenForEarlyInterrupt();
    expect(listeners()).to.deep.equal(before.map((n) => n + 1));
    process.emit("SIGTERM", "SIGTERM");
    process.emit("SIGINT", "SIGINT");
    // Still listening: a second signal does not act as by default (which would end the process).
    expect(listeners(), "listening after the first").to.deep.equal(before.map((n) => n + 1));
    expect(takeEarlyInterrupt(), "the first one").to.equal("SIGTERM");
    expect(takeEarlyInterrupt(), "taken already").to.equal(null);
    requestStop("sweep-gone"); // a child's sweep died (src/cli/commands/run.ts)
    expect(takeEarlyInterrupt()).to.equal("sweep-gone");
    stopListeningForEarlyInterrupt();
    expect(listeners()).to.deep.equal(before);
  });

  it("stops the run before its first step: exit 130, summary interrupted after 0 steps, naming the signal, no final weights", async () => {
    listenForEarlyInterrupt();
    const before = listeners();
    process.emit("SIGTERM", "SIGTERM"); // as if it came during Node's start or the run's set-up
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml"], io), io.stderr).to.equal(130);
    expect(io.stderr).to.include("stopped by SIGTERM during set-up");
    const [id] = readdirSync(join("results", "good"));
    const runDir = join("results", "good", id);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as { status: string; steps_done: number };
    expect(summary).to.include({ status: "interrupted", steps_done: 0, message: "stopped by SIGTERM" });
    expect(existsSync(join(runDir, FINAL_WEIGHTS_FILE)), "final weights").to.equal(false);
    expect(listeners(), "the trainer's listeners are gone after the run").to.deep.equal(before);
  });
});
