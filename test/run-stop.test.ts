/**
 * A stop (Ctrl-C, SIGTERM, a sweep's end: src/train/stop-signals.ts) before the last step leaves an
 * interrupted run with a resume checkpoint; one that comes during the last step leaves a completed
 * run, since nothing is left to do (as interrupted, its rerun found no step and wrote a summary
 * without its final metrics).
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { EXIT_INTERRUPTED } from "../src/cli/exit-codes.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { configHash } from "../src/spec/resolved-config.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { FAIL_FAST_STOP_LINE, requestStop } from "../src/train/stop-signals.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");

/** A reporter that asks for a stop once `step` is done (inside that step, before its checkpoint). */
function stoppingAt(step: number): ProgressReporter {
  return { runStarted() {}, stepDone: (row: StepMetrics) => (row.step === step ? requestStop("sweep-gone") : undefined), evalDone() {}, runEnded() {}, log() {}, warn() {} };
}

describe("a stop during a run", function () {
  this.timeout(60_000);
  let dir: string;
  freshFolderEachTest("sideways-stop-", (d) => (dir = d));

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
  freshFolderEachTest("sideways-stop-", (d) => (dir = d));

  it("is heard (the run ends interrupted after the step it reaches), not left to SIGTERM's default action, which would end the process and leave the lock", async () => {
    const exp = loadExperiment(GOOD, []);
    const runDir = join(dir, "run");
    const logged: string[] = [];
    const progress: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log: (m: string) => void logged.push(m), warn: (m: string) => void logged.push(`warning: ${m}`) };
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

describe("a sweep's run in its own process (run --child)", function () {
  this.timeout(120_000);
  let dir: string;
  let child: ChildProcess | undefined;
  // A run the line failed to stop would wait at its hold past a failed test. Registered first, so
  // that it runs before the folder is removed.
  afterEach(() => child?.kill("SIGKILL"));
  const STEPS = 20;
  // The run waits after this step until it is stopped (SIDEWAYS_FAILPOINT=step:wait,
  // src/util/failpoint.ts; its release file is never made): the stop line lands mid-run however
  // fast the run trains.
  const HOLD_AT = 4;
  freshFolderEachTest("sideways-stop-", (d) => (dir = d));

  // The sweep's --fail-fast reaches a running child only as this line on its stdin
  // (src/cli/sweep-runner.ts); the sweep tests cannot tell whether the child had started.
  it("stops at the fail-fast line on its stdin, split across writes, and not at another line: interrupted, its summary naming --fail-fast", async () => {
    const overrides = ["sweep=null", `train.steps=${STEPS}`];
    const exp = loadExperiment(GOOD, overrides, { oneValuePerKey: false });
    const runId = configHash(exp.spec, exp.model, exp.baseDir);
    const runDir = join(dir, runId);
    const meta = JSON.stringify({ index: 0, params: {}, config_id: "c0ffee00" });
    const proc = spawn(process.execPath, [resolve("bin/sideways.js"), "run", GOOD, ...overrides, "--child", "--run-id", runId, "--run-dir", runDir, "--sweep-meta", meta], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SIDEWAYS_FAILPOINT: `step:wait:${HOLD_AT}:${join(dir, "never-made")}` } });
    child = proc;
    let stderr = "";
    proc.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const steps: number[] = [];
    let pending = "";
    const stepsSeen = (n: number) =>
      new Promise<void>((done) => {
        const check = () => steps.length >= n && (proc.stdout.off("data", check), done());
        proc.stdout.on("data", check);
        check();
      });
    proc.stdout.setEncoding("utf8").on("data", (s: string) => {
      const lines = (pending + s).split("\n");
      pending = lines.pop()!;
      for (const l of lines) {
        const e = JSON.parse(l) as { event: string; m?: { step: number } };
        if (e.event === "stepDone") steps.push(e.m!.step);
      }
    });
    const exited = new Promise<number | null>((done) => proc.on("close", (code) => done(code)));
    // Another line, and the stop line's first half, before the run's first step (the child reads
    // its stdin from its start): the run goes on, to its hold.
    const before = steps.length;
    proc.stdin.write(`stop: something else\n${FAIL_FAST_STOP_LINE.slice(0, 5)}`);
    // (A run that took either as a stop ends first, short of its hold: the checks below say so.)
    proc.stdin.on("error", () => {});
    await Promise.race([stepsSeen(HOLD_AT), exited]);
    proc.stdin.write(`${FAIL_FAST_STOP_LINE.slice(5)}\n`);
    expect(await exited, stderr).to.equal(EXIT_INTERRUPTED);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as { status: string; message: string; steps_done: number };
    expect(summary.status).to.equal("interrupted");
    expect(summary.message).to.equal("stopped by its sweep's --fail-fast (another run failed or diverged)");
    expect(summary.steps_done).to.be.at.least(before + 3).and.below(STEPS);
    expect(existsSync(join(runDir, "resume.safetensors")), "resume checkpoint").to.equal(true);
  });
});
