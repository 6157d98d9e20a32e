/**
 * A stop (Ctrl-C, SIGTERM, a sweep's end: src/train/stop-signals.ts) before the last step leaves an
 * interrupted run with a resume checkpoint; one that comes during the last step leaves a completed
 * run, since nothing is left to do (as interrupted, its rerun found no step and wrote a summary
 * without its final metrics).
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { requestStop } from "../src/train/stop-signals.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");

/** A reporter that asks for a stop once `step` is done (inside that step, before its checkpoint). */
function stoppingAt(step: number): ProgressReporter {
  return { runStarted() {}, stepDone: (row: StepMetrics) => (row.step === step ? requestStop("sweep-gone") : undefined), evalDone() {}, runEnded() {}, log() {} };
}

describe("a stop during a run", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "sideways-stop-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const [at, expected] of [[1, "interrupted"], [3, "completed"]] as const) {
    it(`during step ${at} of 3: ${expected}`, async () => {
      // good.yaml: 3 steps, evaluated at the end.
      const exp = loadExperiment(GOOD, []);
      const runDir = join(dir, "run");
      const summary = await runExperiment(exp.spec, { specFile: GOOD, baseDir: exp.baseDir, runDir, runId: "r0", progress: stoppingAt(at) });
      expect(summary.status).to.equal(expected);
      expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).status).to.equal(expected);
      expect(existsSync(join(runDir, "resume.safetensors")), "resume checkpoint").to.equal(expected === "interrupted");
      expect(existsSync(join(runDir, "final.safetensors")), "final weights").to.equal(expected === "completed");
      if (expected === "completed") {
        expect(summary.message).to.equal(undefined);
        expect(summary.final_eval_clip_top1).to.be.a("number");
        expect(summary.final_train_loss).to.be.a("number");
      } else {
        expect(summary.message).to.equal("stopped by the end of its sweep (stdin closed)");
      }
    });
  }
});

describe("a stop signal while the run's directory is being locked", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "sideways-stop-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is heard (the run ends interrupted after the step it reaches), not left to SIGTERM's default action, which would end the process and leave the lock", async () => {
    const exp = loadExperiment(GOOD, []);
    const runDir = join(dir, "run");
    const logged: string[] = [];
    const progress: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log: (m: string) => void logged.push(m) };
    // With no listener at this moment, SIGTERM would end this test process.
    const prepareRunDir = () => void process.kill(process.pid, "SIGTERM");
    const summary = await runExperiment(exp.spec, { specFile: GOOD, baseDir: exp.baseDir, runDir, runId: "r0", progress, prepareRunDir });
    // The signal is dispatched at the next turn of the event loop: within the first step.
    expect(summary.status).to.equal("interrupted");
    expect(summary.steps_done).to.be.below(3);
    expect(summary.message).to.equal("stopped by SIGTERM");
    expect(logged.some((m) => m.startsWith("stopped by SIGTERM"))).to.equal(true);
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).status).to.equal("interrupted");
  });
});
