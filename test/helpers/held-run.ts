/**
 * A short run that a test holds midway (SIDEWAYS_FAILPOINT=step:wait:HOLD_AT:<file>, src/util/failpoint.ts):
 * its experiment, shared by the tests of two runs at once (run-concurrent) and of a lock taken over
 * while a run trains (run-lock-taken-over). It checkpoints at step 5 and evaluates at step 10, so a
 * run held after step HOLD_AT has a resume checkpoint and no evaluation yet.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

export const STEPS = 20;
/** The step after which a held run waits: after the checkpoint of step 5, before the evaluation of step 10. */
export const HOLD_AT = 7;

/** How a child process of `sideways` ended. */
export interface Finished { code: number | null; stderr: string }

/** dir/exp.yaml: a one-conv Sideways model on shapes, STEPS steps, its runs in dir/run. */
export function writeHeldRunExperiment(dir: string, name: string): void {
  writeFileSync(join(dir, "exp.yaml"), stringify({
    name,
    model: {
      name: `${name}-cnn`,
      input: { channels: 1, height: 16, width: 16 },
      classes: 3,
      layers: [
        { type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1 },
        { type: "relu" },
        { type: "global_avg_pool" },
        { type: "linear", out_features: 3 },
      ],
    },
    data: { kind: "shapes", clip_length: 4 },
    train: { method: "sideways", batch_size: 4, steps: STEPS, checkpoint_every: 5, optimizer: { kind: "adam", lr: 0.01 } },
    eval: { every: 10, clips: 4 },
    output: { dir: "run" },
  }));
}
