/**
 * A run stopped where its schedule turns and run again (in-process, runExperiment): AdamW after a
 * warm-up of 2 updates, then multistep [1, 3], gamma 0.5, over 6 updates. Stopped after update 2,
 * the resumed attempt starts with the first update after warm-up; stopped after update 3, with the
 * update at milestone 1. Either way the final weights equal the uninterrupted run's bit for bit and
 * metrics.csv's lr column is the schedule's rate at every step. For
 *  - Sideways on the host path (executor and TypeScript AdamW);
 *  - BP's device step (rate and AdamW's decay factor fed to the graph per step; state read back
 *    for the resume checkpoint);
 *  - Sideways with in-clip updates (train.update_every: 2): each block counts its own steps, for
 *    the schedule and for Adam's bias correction, so the checkpoint holds step counts that differ
 *    between blocks, and a resumed attempt must take up each block's rates where it stopped.
 * test/resume.test.ts kills and stops CLI runs with a linear schedule; this adds the turns of a
 * multistep one and in-clip updates, which nothing else resumes.
 */
import { expect } from "chai";
import { join } from "node:path";
import { readCheckpoint, writeCheckpoint } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import { readCsv } from "../src/results/csv-read.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { configHash } from "../src/spec/resolved-config.js";
import { runExperiment } from "../src/train/run-experiment.js";
import type { ProgressReporter, StepMetrics } from "../src/train/run-types.js";
import { RESUME_FILE, readResumeCheckpoint } from "../src/train/resume-checkpoint.js";
import { requestStop } from "../src/train/stop-signals.js";
import { fourBlockSpec } from "./helpers/tiny-models.js";
import { freshFolderForAllTests } from "./helpers/temp-folder.js";

const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };
const BASE = 0.01;
const STEPS = 6;
const SCHEDULE = { kind: "multistep", milestones: [1, 3], gamma: 0.5, warmup_steps: 2 };
/** Updates 0-5: warm-up base/2, base; then u = 0 at base, u = 1 and 2 at base/2, u = 3 at base/4. */
const RATES = [0.5, 1, 1, 0.5, 0.5, 0.25].map((f) => f * BASE);

const VARIANTS = [
  { label: "sideways, host path", train: { method: "sideways" }, runtime: { device_step: false } },
  { label: "bp, device step", train: { method: "bp" }, runtime: { device_step: true } },
  { label: "sideways, update_every 2 (in-clip updates)", train: { method: "sideways", update_every: 2 }, runtime: { device_step: false } },
] as const;

describe("a run stopped where its schedule turns, then run again (AdamW, warm-up then multistep)", function () {
  this.timeout(300_000);
  let dir = "";
  freshFolderForAllTests("sideways-schedule-resume-", (d) => (dir = d));
  const model = resolveModel(fourBlockSpec, "four-block");
  let runs = 0;

  function specOf(variant: (typeof VARIANTS)[number]): ExperimentSpec {
    return ExperimentSpec.parse({
      name: "schedule-resume",
      model: fourBlockSpec,
      // 7 frames: Sideways' 2L-1 for 4 blocks (the device step needs it).
      data: { kind: "shapes", clip_length: 7 },
      train: { ...variant.train, batch_size: 2, steps: STEPS, optimizer: { kind: "adamw", lr: BASE, weight_decay: 0.1 }, schedule: SCHEDULE, init_checkpoint: "init.safetensors", checkpoint_every: 0 },
      runtime: variant.runtime,
      eval: { every: 0, clips: 2 },
    });
  }

  async function run(spec: ExperimentSpec, runDir: string, progress = silent) {
    if (runs++ === 0) writeCheckpoint(join(dir, "init.safetensors"), model, initWeights(model, 5));
    return runExperiment(spec, { specFile: null, baseDir: dir, runDir, runId: `r${runs}`, progress, resume: true, configHash: configHash(spec, model, dir) });
  }

  for (const variant of VARIANTS) {
    describe(variant.label, () => {
      const spec = specOf(variant);
      let uninterrupted = "";
      before(async () => {
        uninterrupted = join(dir, `${variant.label} uninterrupted`);
        expect((await run(spec, uninterrupted)).status).to.equal("completed");
      });

      for (const [stopAfter, where] of [[2, "the warm-up's last update"], [3, "the update before milestone 1"]] as const) {
        it(`stopped after ${where} (step ${stopAfter}): bit-identical final weights, the schedule's rate in every lr cell`, async () => {
          const runDir = join(dir, `${variant.label} stopped at ${stopAfter}`);
          const stopping: ProgressReporter = { ...silent, stepDone: (row: StepMetrics) => (row.step === stopAfter ? requestStop("sweep-gone") : undefined) };
          const stopped = await run(spec, runDir, stopping);
          expect(stopped.status).to.equal("interrupted");
          expect(stopped.steps_done).to.equal(stopAfter);
          if ("update_every" in variant.train) {
            // Blocks step different numbers of times per clip batch: their Adam step counts differ.
            const state = readResumeCheckpoint(join(runDir, RESUME_FILE), model).optimizer;
            const counts = new Set([...state].filter(([n]) => n.endsWith("/step")).map(([, v]) => v[0]));
            expect(counts.size, "distinct Adam step counts in the checkpoint").to.be.above(1);
          }
          expect((await run(spec, runDir)).status).to.equal("completed");

          const rows = readCsv(join(runDir, "metrics.csv")).rows;
          expect(rows.map((r) => Number(r.step))).to.deep.equal([1, 2, 3, 4, 5, 6]);
          // 1e-15: base * a power of 2, computed in float64 by both sides.
          rows.forEach((r, s) => expect(Number(r.lr), `lr of step ${s + 1}`).to.be.closeTo(RATES[s]!, 1e-15));
          expect(readCsv(join(runDir, "metrics.csv")).rows.map((r) => r.lr)).to.deep.equal(readCsv(join(uninterrupted, "metrics.csv")).rows.map((r) => r.lr));
          const [got, want] = [readCheckpoint(join(runDir, "final.safetensors"), model), readCheckpoint(join(uninterrupted, "final.safetensors"), model)];
          for (const p of model.params) expect(Buffer.from(got.get(p.name)!.buffer).equals(Buffer.from(want.get(p.name)!.buffer)), p.name).to.equal(true);
        });
      }
    });
  }
});
