/**
 * Resumable runs: a run killed (SIGKILL) or interrupted (SIGINT, SIGTERM) after a resume checkpoint, then
 * started again with the same config, ends with weights bit-identical to an uninterrupted run and
 * with exactly one metrics row per step. Adam (and AdamW) is used because its state (moments, step counts)
 * must survive the checkpoint for that to hold; a batch_norm layer because its running statistics
 * (buffers, in final.safetensors) must too. Sideways runs through the executor and the
 * TypeScript optimizer; BP and Sideways with runtime.device_step through the device step, whose
 * weights and optimizer state live with onnxruntime and are brought back for each checkpoint.
 */
import { expect } from "chai";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { parseSafetensors } from "../src/model/safetensors.js";
import { runFolderIn } from "./helpers/run-folder.js";
import { freshFolderForAllTests, tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));
const STEPS = 120;

/** The two ways a step's weights are kept: on the host (Sideways here) or by the device step. */
const VARIANTS = [
  { label: "sideways", train: { method: "sideways" }, runtime: {} },
  { label: "bp, device step", train: { method: "bp" }, runtime: { device_step: true } },
  { label: "sideways, device step", train: { method: "sideways" }, runtime: { device_step: true } },
  // Calls of 4 steps and 1 (checkpoints every 5): a stop lands after a whole call, never inside one.
  { label: "bp, device step, 4 steps a call", train: { method: "bp" }, runtime: { device_step: true, steps_per_call: 4 } },
  // AdamW keeps Adam's state (moments, step counts); its decay must resume at the same rate too,
  // so its rate changes every step (a linear schedule after a warm-up the first checkpoint, at step
  // 5, falls inside): a resumed attempt whose first step took another step's rate ends elsewhere.
  { label: "sideways, adamw", train: { method: "sideways", optimizer: { kind: "adamw", lr: 0.01, weight_decay: 0.1 }, schedule: { kind: "linear", warmup_steps: 10 } }, runtime: {} },
  { label: "bp, device step, adamw", train: { method: "bp", optimizer: { kind: "adamw", lr: 0.01, weight_decay: 0.1 }, schedule: { kind: "linear", warmup_steps: 10 } }, runtime: { device_step: true } },
] as const;
type Variant = (typeof VARIANTS)[number];

function writeExperiment(dir: string, variant: Variant): string {
  const file = join(dir, "exp.yaml");
  writeFileSync(
    file,
    stringify({
      name: "resume",
      model: {
        name: "resume-cnn",
        input: { channels: 1, height: 24, width: 24 },
        classes: 4,
        layers: [
          { type: "conv2d", out_channels: 8, kernel: 3, padding: 1 },
          { type: "relu" },
          { type: "conv2d", out_channels: 8, kernel: 3, stride: 2, padding: 1 },
          // Running statistics (buffers) must survive the resume checkpoint too.
          { type: "batch_norm" },
          { type: "relu" },
          { type: "global_avg_pool" },
          { type: "linear", out_features: 4 },
        ],
      },
      data: { kind: "shapes", clip_length: 6 },
      train: { optimizer: { kind: "adam", lr: 0.01 }, ...variant.train, batch_size: 8, steps: STEPS, checkpoint_every: 5 },
      runtime: variant.runtime,
      eval: { every: 40, clips: 8 },
      output: { dir: "run" },
    }),
  );
  return file;
}

function runToEnd(dir: string): void {
  const r = spawnSync(process.execPath, [cli, "run", "exp.yaml", "--quiet"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).to.equal(0);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => child.on("exit", (code) => res(code)));
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function resumeStep(runDir: string): number {
  const file = join(runDir, "resume.safetensors");
  return Number(parseSafetensors(new Uint8Array(readFileSync(file)), file).metadata?.step);
}

function metricsRows(dir: string): string[][] {
  return readFileSync(join(runFolderIn(join(dir, "run")), "metrics.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
}

function stepsLogged(dir: string): number[] {
  return metricsRows(dir).slice(1).map((cells) => Number(cells[0]));
}

/** metrics.csv's lr column, a row per step: the schedule's rate at each step. */
function ratesLogged(dir: string): string[] {
  const [header, ...rows] = metricsRows(dir);
  const at = header!.indexOf("lr");
  return rows.map((cells) => cells[at]!);
}

for (const variant of VARIANTS) describe(`resumable runs (CLI, child processes): ${variant.label}`, function () {
  this.timeout(120_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();
  let reference: Buffer;
  let refDir = "";
  freshFolderForAllTests("sideways-resume-ref-", (d) => (refDir = d));

  before(() => {
    writeExperiment(refDir, variant);
    runToEnd(refDir);
    reference = readFileSync(join(runFolderIn(join(refDir, "run")), "final.safetensors"));
    expect(existsSync(join(runFolderIn(join(refDir, "run")), "resume.safetensors")), "a completed run keeps no resume checkpoint").to.equal(false);
  });

  // SIGTERM: what Slurm (scancel, time limit, preemption) and Kubernetes (eviction) send first.
  for (const signal of ["SIGKILL", "SIGINT", "SIGTERM"] as const) {
    const stops = signal !== "SIGKILL";
    it(`${signal} after a checkpoint, then run again: bit-identical final weights, one metrics row per step`, async () => {
      const dir = tempFolder(`sideways-resume-${signal}-`);
      writeExperiment(dir, variant);
      const child = spawn(process.execPath, [cli, "run", "exp.yaml", "--quiet"], { cwd: dir, stdio: "ignore" });
      const code = exited(child);
      await waitFor(() => existsSync(join(runFolderIn(join(dir, "run")), "resume.safetensors")), "the first resume checkpoint");
      child.kill(signal);
      // A stop signal ends `run` with 130 (128 + SIGINT, as for the sweep), so `run x && next` stops.
      expect(await code).to.equal(stops ? 130 : null);
      const runDir = runFolderIn(join(dir, "run"));
      const summaryPath = join(runDir, "summary.json");
      const stopped = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, "utf8")) : { status: "none" };
      // The interruption must have happened mid-run for this test to mean anything.
      expect(stopped.status).to.equal(stops ? "interrupted" : "none");
      if (stops) {
        expect(stopped.message).to.equal(`stopped by ${signal === "SIGINT" ? "SIGINT (Ctrl-C)" : signal}`);
        // The stop wrote its own resume checkpoint, at the step it stopped after.
        expect(resumeStep(runDir)).to.equal(stopped.steps_done);
        // With 4 steps a call (calls of steps 1-4 and 5, 6-9 and 10, ...: a checkpoint every 5),
        // only after a whole call: the weights are those of a call's last step.
        if ("steps_per_call" in variant.runtime) expect(stopped.steps_done % 5, `stopped after step ${stopped.steps_done}`).to.be.oneOf([0, 4]);
      }
      expect(stepsLogged(dir).length).to.be.lessThan(STEPS);
      // A stopped run released its lock; a killed one could not (the next run finds its holder dead).
      expect(existsSync(`${runDir}.lock`), "lock left").to.equal(!stops);
      // A file the stopped attempt skipped (skip_bad_files; the shapes data has none, so one is
      // written in) stays listed: the resumed attempt may never read it again.
      const earlierSkip = { file: "/videos/B/truncated.mp4", reason: "cannot decode video" };
      if (stops) writeFileSync(summaryPath, JSON.stringify({ ...stopped, skipped_files: [earlierSkip] }));

      runToEnd(dir);
      const summary = JSON.parse(readFileSync(summaryPath, "utf8"));
      expect(summary.status).to.equal("completed");
      expect(summary.skipped_files).to.deep.equal(stops ? [earlierSkip] : []);
      // One execution record per attempt that wrote a summary: a killed attempt wrote none.
      expect(summary.execution).to.have.length(stops ? 2 : 1);
      expect(readFileSync(join(runFolderIn(join(dir, "run")), "final.safetensors")).equals(reference)).to.equal(true);
      expect(stepsLogged(dir)).to.deep.equal(Array.from({ length: STEPS }, (_, i) => i + 1));
      // The resumed attempt's steps took the uninterrupted run's rates, from its first step on.
      expect(ratesLogged(dir)).to.deep.equal(ratesLogged(refDir));
    });
  }
});

describe("an interrupted run whose npy files changed since it started (CLI, child processes)", function () {
  this.timeout(120_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();
  /** A fresh folder with exp.yaml and 16 clips in d/; data(n, true) writes n other clips over them. */
  const npyExperiment = (prefix: string) => {
    const dir = tempFolder(prefix);
    const file = writeExperiment(dir, VARIANTS[0]);
    const data = (clips: number, force: boolean) => {
      const r = spawnSync(process.execPath, [cli, "data", file, "--out", "d", "--clips", String(clips), ...(force ? ["--force"] : [])], { cwd: dir, encoding: "utf8" });
      expect(r.status, r.stderr).to.equal(0);
    };
    data(16, false);
    return { dir, data };
  };
  /** Starts the command, stops it with SIGINT after its first resume checkpoint; the run's folder and run-meta.json then. */
  const interruptAfterCheckpoint = async (dir: string, args: string[]) => {
    const child = spawn(process.execPath, [cli, ...args, "--quiet"], { cwd: dir, stdio: "ignore" });
    const code = exited(child);
    await waitFor(() => existsSync(join(dir, "run")) && runFoldersWithResume(join(dir, "run")), "the first resume checkpoint");
    child.kill("SIGINT");
    expect(await code).to.equal(130);
    const runDir = runFolderIn(join(dir, "run"));
    return { runDir, meta: readFileSync(join(runDir, "run-meta.json"), "utf8") };
  };

  it("is not resumed: exit 2 naming the file, its checkpoint and recorded stamps kept; --force trains it again from step 0", async () => {
    const { dir, data } = npyExperiment("sideways-resume-data-");
    const npy = `data={kind: npy, clips: d/clips.npy, labels: d/labels.npy, eval_on_train: true, clip_length: 6}`;
    const { runDir, meta } = await interruptAfterCheckpoint(dir, ["run", "exp.yaml", npy]);
    const checkpoint = readFileSync(join(runDir, "resume.safetensors"));

    data(24, true);
    const refused = spawnSync(process.execPath, [cli, "run", "exp.yaml", npy], { cwd: dir, encoding: "utf8" });
    expect(refused.status, refused.stderr).to.equal(2);
    expect(refused.stderr).to.match(/this interrupted run would resume from its checkpoint, but its data files changed since it started \(.*clips\.npy is \d+ bytes, was \d+/);
    expect(readFileSync(join(runDir, "run-meta.json"), "utf8"), "the stamps of the files it trained on").to.equal(meta);
    expect(readFileSync(join(runDir, "resume.safetensors")).equals(checkpoint)).to.equal(true);

    const forced = spawnSync(process.execPath, [cli, "run", "exp.yaml", npy, "--force", "--quiet"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(forced.status, forced.stderr).to.equal(0);
    expect(stepsLogged(dir)).to.deep.equal(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")).execution, "one attempt, from step 0").to.have.length(1);
  });

  it("in a sweep: refused before any run starts (exit 2), --dry-run says so, and removing the folder as the message says trains it from step 0", async () => {
    const { dir, data } = npyExperiment("sideways-resume-data-sweep-");
    const args = ["exp.yaml", "data={kind: npy, clips: d/clips.npy, labels: d/labels.npy, eval_on_train: true, clip_length: 6}", "sweep={seeds: [0]}"];
    const { runDir, meta } = await interruptAfterCheckpoint(dir, ["sweep", ...args]);

    data(24, true);
    const planned = spawnSync(process.execPath, [cli, "sweep", ...args, "--dry-run"], { cwd: dir, encoding: "utf8" });
    expect(planned.status, planned.stderr).to.equal(0);
    expect(planned.stdout).to.match(/interrupted@\d+ \(its data files changed since: the sweep refuses to resume it\)/);
    const refused = spawnSync(process.execPath, [cli, "sweep", ...args], { cwd: dir, encoding: "utf8" });
    expect(refused.status, refused.stderr).to.equal(2);
    const advice = /1 interrupted run would resume from its checkpoint, but its data files changed since it started, so one run would train on two datasets: \S+ \(.*clips\.npy is \d+ bytes, was \d+.*\)\. Put the files back to resume; to train it again from step 0 on these files, remove its folder first \(rm -r (\S+)\)/.exec(refused.stderr);
    expect(advice, refused.stderr).to.not.equal(null);
    expect(readFileSync(join(runDir, "run-meta.json"), "utf8"), "nothing started").to.equal(meta);

    rmSync(advice![1], { recursive: true });
    const again = spawnSync(process.execPath, [cli, "sweep", ...args, "--quiet"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(again.status, again.stderr).to.equal(0);
    expect(stepsLogged(dir)).to.deep.equal(Array.from({ length: STEPS }, (_, i) => i + 1));
  });
});

/** Whether some run folder under `root` holds a resume checkpoint yet. */
function runFoldersWithResume(root: string): boolean {
  return readdirSync(root).some((d) => existsSync(join(root, d, "resume.safetensors")));
}
