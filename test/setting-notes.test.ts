/** Settings that change nothing in their configuration are said as notes by validate, run, sweep and schedule, never as errors. */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { blockLearningRates } from "../src/optim/schedule.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { printedConfigText } from "../src/spec/printed-config.js";
import { configHash } from "../src/spec/resolved-config.js";
import { ineffectiveSettings, ineffectiveSettingsOfRuns, seedDependentEvaluation } from "../src/spec/setting-notes.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");
const SWEEP = resolve("test/fixtures/specs/sweep-good.yaml");
// A video folder with UCF101 split files; loaded without its data, which this machine lacks.
const UCF101 = resolve("experiments/ucf101.yaml");
const notesOf = (...overrides: string[]) => {
  const exp = loadExperiment(GOOD, overrides);
  return ineffectiveSettings(exp.spec, exp.model);
};

/**
 * Each block's optimizer steps per clip batch, counted in `sideways schedule`'s table: the stretches
 * between "update" rules in which the block's column holds a backward (B...).
 */
async function stepsPerClipOfTable(file: string, overrides: string[]): Promise<number[]> {
  const io = captureIo();
  expect(await main(["schedule", file, ...overrides], io), io.stderr).to.equal(0);
  const lines = io.stdout.split("\n");
  const header = lines.findIndex((l) => /^tick {2}block 0/.test(l));
  const blocks = lines[header].split(/ {2,}/).length - 1;
  const steps = new Array<number>(blocks).fill(0);
  let backward = new Array<boolean>(blocks).fill(false);
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") break;
    if (line.startsWith("----")) {
      backward.forEach((b, k) => (steps[k] += b ? 1 : 0));
      backward = backward.map(() => false);
      continue;
    }
    line.trim().split(/ {2,}/).slice(1).forEach((cell, k) => (backward[k] ||= /\bB\d/.test(cell)));
  }
  return steps;
}

/** The notes on a schedule point no block reaches, without those on points some blocks miss. */
const noBlockNotes = (notes: string[]) => notes.filter((n) => !/ but not by blocks? \d/.test(n));

describe("ineffective settings", function () {
  this.timeout(60_000);

  it("weight stashing is a note with updates once per clip batch and nothing with in-clip updates", () => {
    const [note, ...rest] = notesOf("train.method=pipelined-bp", "train.weight_stashing=true");
    expect(rest).to.deep.equal([]);
    expect(note).to.match(/^train\.weight_stashing: true changes nothing with train\.update_every: clip/);
    expect(notesOf("train.method=pipelined-bp", "train.weight_stashing=true", "train.update_every=2")).to.deep.equal([]);
    expect(notesOf("train.method=pipelined-bp", "train.weight_stashing=false")).to.deep.equal([]);
  });

  it("in-clip updates no more often than once per clip batch are a note naming update_every: clip", () => {
    // good.yaml: models/tiny.yaml (L = 2) on 4-frame clips: Sideways takes T = 4 ticks a clip
    // batch, pipelined-bp T + 2L - 2 = 6 (it drains its pipeline; sideways.md).
    for (const [method, ticks] of [["sideways", 4], ["pipelined-bp", 6]] as const) {
      expect(notesOf(`train.method=${method}`, `train.update_every=${ticks}`), method).to.deep.equal([
        `train.update_every: ${ticks} is at least the ${ticks} ticks of a clip batch under ${method}, so each block steps once per clip batch, after its last tick: the rule of train.update_every: clip (equal up to float32 rounding, under another run id, by the slower in-clip path); update_every: clip says so`,
      ]);
      expect(notesOf(`train.method=${method}`, `train.update_every=${ticks - 1}`), `${method}: a step inside the clip batch`).to.deep.equal([]);
    }
    // Without the model the number of ticks is unknown: no note rather than a wrong one.
    expect(ineffectiveSettings(loadExperiment(GOOD, ["train.update_every=6"]).spec)).to.deep.equal([]);
  });

  it("a GPU index is a note on the CPU provider and nothing on CUDA", () => {
    expect(notesOf("runtime.device_id=[0,1]")).to.deep.equal(["runtime.device_id: [0,1] changes nothing with runtime.provider: cpu (it places sessions on GPUs: runtime.provider cuda)"]);
    expect(notesOf("runtime.device_id=0")).to.deep.equal([]);
    // Loading a spec opens no session, so the CUDA case needs no CUDA build.
    expect(notesOf("runtime.provider=cuda", "runtime.device_id=1")).to.deep.equal([]);
  });

  it("a warm-up as long as the run, and a cosine floor above the learning rate, are notes", () => {
    // good.yaml: 3 steps at lr 0.05.
    expect(notesOf("train.schedule={kind: constant, warmup_steps: 4}")).to.deep.equal([
      "train.schedule.warmup_steps: 4 with train.steps: 3: the run ends inside its warm-up (lr * (s + 1) / warmup_steps at update s), so the learning rate never reaches train.optimizer.lr (0.05; it ends at 3/4 of it)",
    ]);
    // A warm-up as long as the run reaches the learning rate at its last update.
    expect(notesOf("train.schedule={kind: constant, warmup_steps: 3}")).to.deep.equal([]);
    expect(notesOf("train.schedule={kind: cosine, min_lr: 1}")).to.deep.equal(["train.schedule.min_lr: 1 is above train.optimizer.lr: 0.05: the cosine schedule raises the learning rate towards min_lr"]);
    expect(notesOf("train.schedule={kind: cosine, min_lr: 0.01}")).to.deep.equal([]);
    expect(notesOf("train.schedule={kind: linear, end_lr: 1}")).to.deep.equal(["train.schedule.end_lr: 1 is above train.optimizer.lr: 0.05: the linear schedule raises the learning rate towards end_lr"]);
    expect(notesOf("train.schedule={kind: linear, end_lr: 0.05}")).to.deep.equal([]);
  });

  it("multistep milestones no block reaches with in-clip updates are a note naming them and the most steps a block takes", () => {
    // good.yaml: 3 steps; with train.update_every: 1 block 0 steps 2 times a clip batch, block 1 3
    // times (sideways schedule), so block 1 takes 9 steps, 0 to 8.
    const schedule = (milestones: number[], warmup = 0) => `train.schedule={kind: multistep, milestones: [${milestones.join(", ")}], gamma: 0.5, warmup_steps: ${warmup}}`;
    expect(noBlockNotes(notesOf("train.update_every=1", schedule([7, 8, 9, 20])))).to.deep.equal([
      "train.schedule.milestones: 9, 20 are reached by no block, so they never lower the learning rate: with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), and the most any block takes is 9 (block 1: 3 per clip batch x train.steps 3); `sideways schedule` shows each block's steps per clip batch and in the run",
    ]);
    // What the run's schedule does (optim/schedule.ts): block 1's last step is at milestone 8's rate, block 0's before milestone 7.
    const spec = loadExperiment(GOOD, ["train.update_every=1", schedule([7, 8, 9, 20])]).spec;
    const lastRates = blockLearningRates(spec.train.schedule, 0.05, 2, 3, [2, 3]).map((r) => r.at(-1));
    expect(lastRates).to.deep.equal([0.05, 0.05 * 0.25]);
    // Milestone 7 is above every step of block 0 but reached by block 1: not this note (the
    // uneven-schedule test below has the note on blocks that miss it).
    expect(noBlockNotes(notesOf("train.update_every=1", schedule([7, 8])))).to.deep.equal([]);
    // Milestones count the steps after warm-up: 2 steps of it leave block 1 steps 0 to 6 after it.
    expect(noBlockNotes(notesOf("train.update_every=1", schedule([6, 7], 2)))).to.deep.equal([
      "train.schedule.milestones: 7 is reached by no block, so it never lowers the learning rate: with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), and the most any block takes is 9 (block 1: 3 per clip batch x train.steps 3, 7 after its train.schedule.warmup_steps 2); `sideways schedule` shows each block's steps per clip batch and in the run",
    ]);
    // Without the model the steps per clip batch are unknown: no note rather than a wrong one.
    expect(ineffectiveSettings(loadExperiment(GOOD, ["train.update_every=1", schedule([20])]).spec)).to.deep.equal([]);
  });

  it("with in-clip updates, a warm-up no block finishes is a note naming it and the most steps a block takes", () => {
    // good.yaml: 3 steps at lr 0.05; with train.update_every: 1 block 0 takes 6 steps, block 1 9.
    const warmup = (w: number) => `train.schedule={kind: constant, warmup_steps: ${w}}`;
    expect(notesOf("train.update_every=1", warmup(10))).to.deep.equal([
      "train.schedule.warmup_steps: 10 is finished by no block, so the learning rate never reaches train.optimizer.lr (0.05; lr * (s + 1) / warmup_steps at a block's step s, so the furthest block ends at 9/10 of it): with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), and the most any block takes is 9 (block 1: 3 per clip batch x train.steps 3); `sideways schedule` shows each block's steps per clip batch and in the run",
    ]);
    // What the run's schedule does: block 1's last step ends a 9-step warm-up at lr, not a 10-step one.
    const lastRate = (w: number) => blockLearningRates(loadExperiment(GOOD, ["train.update_every=1", warmup(w)]).spec.train.schedule, 0.05, 2, 3, [2, 3])[1].at(-1);
    expect(lastRate(9)).to.equal(0.05);
    expect(lastRate(10)).to.be.below(0.05);
    expect(noBlockNotes(notesOf("train.update_every=1", warmup(9)))).to.deep.equal([]);
    // Longer than train.steps, which the note with update_every: clip compares with, but block 1 finishes it.
    expect(notesOf("train.update_every=1", warmup(4))).to.deep.equal([]);
    expect(ineffectiveSettings(loadExperiment(GOOD, ["train.update_every=1", warmup(10)]).spec)).to.deep.equal([]);
  });

  it("a step_size no update reaches is a note; with in-clip updates one no block reaches, naming the most steps a block takes", () => {
    const step = (size: number, warmup = 0) => `train.schedule={kind: step, step_size: ${size}, gamma: 0.5, warmup_steps: ${warmup}}`;
    // update_every: clip: 3 updates, 0 to 2, so the first drop, at update step_size after warm-up, needs a step_size of 2 or less.
    expect(notesOf(step(3))).to.deep.equal([
      "train.schedule.step_size: 3 is reached by no update, so the learning rate stays train.optimizer.lr (0.05) after warm-up, as with kind constant: it is lr * gamma ^ floor(u / step_size) at update u after warm-up, and train.steps 3 leaves updates 0 to 2",
    ]);
    expect(notesOf(step(2))).to.deep.equal([]);
    expect(notesOf(step(1, 2))).to.deep.equal([
      "train.schedule.step_size: 1 is reached by no update, so the learning rate stays train.optimizer.lr (0.05) after warm-up, as with kind constant: it is lr * gamma ^ floor(u / step_size) at update u after warm-up, and train.steps 3 - train.schedule.warmup_steps 2 leaves update 0 alone",
    ]);
    // In-clip updates: block 1 takes 9 steps, 0 to 8; step_size 8 is reached by its last step alone.
    expect(notesOf("train.update_every=1", step(9))).to.deep.equal([
      "train.schedule.step_size: 9 is reached by no block, so the learning rate stays train.optimizer.lr (0.05) after warm-up, as with kind constant (lr * gamma ^ floor(u / step_size) at a block's step u after warm-up): with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), and the most any block takes is 9 (block 1: 3 per clip batch x train.steps 3); `sideways schedule` shows each block's steps per clip batch and in the run",
    ]);
    const lastRates = (size: number) => blockLearningRates(loadExperiment(GOOD, ["train.update_every=1", step(size)]).spec.train.schedule, 0.05, 2, 3, [2, 3]).map((r) => r.at(-1));
    expect(lastRates(8)).to.deep.equal([0.05, 0.025]);
    expect(lastRates(9)).to.deep.equal([0.05, 0.05]);
    expect(noBlockNotes(notesOf("train.update_every=1", step(8)))).to.deep.equal([]);
    // A step_size of 3, which no update of a per-clip run reaches, is reached by both blocks here.
    expect(notesOf("train.update_every=1", step(3))).to.deep.equal([]);
    expect(notesOf("train.update_every=1", step(7, 2))).to.deep.equal([
      "train.schedule.step_size: 7 is reached by no block, so the learning rate stays train.optimizer.lr (0.05) after warm-up, as with kind constant (lr * gamma ^ floor(u / step_size) at a block's step u after warm-up): with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), and the most any block takes is 9 (block 1: 3 per clip batch x train.steps 3, 7 after its train.schedule.warmup_steps 2); `sideways schedule` shows each block's steps per clip batch and in the run",
    ]);
    expect(ineffectiveSettings(loadExperiment(GOOD, ["train.update_every=1", step(9)]).spec)).to.deep.equal([]);
  });

  it("with in-clip updates, a warm-up, step_size or milestone some blocks reach and others do not is a note naming the blocks, their steps and their last rates", async () => {
    // Each block's steps per clip batch counted from `sideways schedule`'s table, not from the
    // analysis the notes use; each block's last rate from the formulas of optim/schedule.ts.
    const perClip = await stepsPerClipOfTable(GOOD, ["train.update_every=1"]);
    expect(perClip, "good.yaml's table").to.deep.equal([2, 3]);
    const [n0, n1] = perClip.map((s) => 3 * s); // train.steps 3
    const lr = 0.05;
    const rate = (x: number) => String(Number(x.toPrecision(4)));
    const TAIL =
      "; with train.update_every: 1 each block counts its own steps (train.steps x its steps per clip batch), so a block with fewer steps per clip batch gets less far through the schedule; `sideways schedule` shows each block's steps per clip batch and in the run";

    // Warm-up 9: block 1's last step, s = 8, is at lr * 9/9; block 0's, s = n0 - 1, at lr * n0/9.
    expect(notesOf("train.update_every=1", "train.schedule={kind: constant, warmup_steps: 9}")).to.deep.equal([
      `train.schedule.warmup_steps: 9 is finished by block 1 but not by block 0, so the learning rate of block 0 never reaches train.optimizer.lr (0.05; lr * (s + 1) / warmup_steps at a block's step s): block 0 takes ${n0} steps (${perClip[0]} per clip batch x train.steps 3), the last at lr ${rate((lr * n0) / 9)} (${n0}/9 of train.optimizer.lr); block 1 takes ${n1} steps (${perClip[1]} per clip batch x train.steps 3), the last at lr ${rate(lr)}${TAIL}`,
    ]);
    // step_size 8, gamma 0.5: block 1's last step u = n1 - 1 = 8 is lowered once; block 0's, u = 5, never.
    expect(notesOf("train.update_every=1", "train.schedule={kind: step, step_size: 8, gamma: 0.5}")).to.deep.equal([
      `train.schedule.step_size: 8 is reached by block 1 but not by block 0, so the learning rate of block 0 is never lowered after warm-up while the others' is (lr * gamma ^ floor(u / step_size) at a block's step u after warm-up): block 0 takes ${n0} steps (${perClip[0]} per clip batch x train.steps 3), the last at lr ${rate(lr * 0.5 ** Math.floor((n0 - 1) / 8))}; block 1 takes ${n1} steps (${perClip[1]} per clip batch x train.steps 3), the last at lr ${rate(lr * 0.5 ** Math.floor((n1 - 1) / 8))}${TAIL}`,
    ]);
    // Milestones 7 and 8 after a warm-up of 1: block 1's steps after it are 0 to n1 - 2 = 7, so it
    // reaches 7 and not 8 (8 is then reached by no block: the note of the test above); block 0's are 0 to 4.
    const withWarmup = notesOf("train.update_every=1", "train.schedule={kind: multistep, milestones: [4, 7, 8], gamma: 0.5, warmup_steps: 1}");
    const lowered = (n: number) => lr * 0.5 ** [4, 7, 8].filter((m) => m <= n - 1 - 1).length;
    expect(withWarmup).to.have.length(2);
    expect(withWarmup[0]).to.match(/^train\.schedule\.milestones: 8 is reached by no block/);
    expect(withWarmup[1]).to.equal(
      `train.schedule.milestones: 7 is reached by block 1 but not by block 0, so it lowers the learning rate of some blocks and not of others (lr * gamma ^ (number of milestones m <= u) at a block's step u after warm-up): block 0 takes ${n0} steps (${perClip[0]} per clip batch x train.steps 3, ${n0 - 1} after train.schedule.warmup_steps 1), the last at lr ${rate(lowered(n0))}; block 1 takes ${n1} steps (${perClip[1]} per clip batch x train.steps 3, ${n1 - 1} after train.schedule.warmup_steps 1), the last at lr ${rate(lowered(n1))}${TAIL}`,
    );
    // The same rates as the run's schedule gives each block's last step in the last clip batch.
    const spec = loadExperiment(GOOD, ["train.update_every=1", "train.schedule={kind: multistep, milestones: [4, 7, 8], gamma: 0.5, warmup_steps: 1}"]).spec;
    expect(blockLearningRates(spec.train.schedule, lr, 2, 3, perClip).map((r) => r.at(-1))).to.deep.equal([lowered(n0), lowered(n1)]);

    // Every block reaches the point (block 0's last step, s = 5, ends a 6-step warm-up at lr, and
    // is u = 5 after it): no such note, and none at all.
    for (const schedule of ["{kind: constant, warmup_steps: 6}", "{kind: step, step_size: 5}", "{kind: multistep, milestones: [2, 5]}", "{kind: cosine, warmup_steps: 4}"]) {
      expect(notesOf("train.update_every=1", `train.schedule=${schedule}`), schedule).to.deep.equal([]);
    }
  });

  it("the note on blocks that miss a warm-up groups blocks of equal steps and leaves out blocks that never step", async () => {
    // quickstart (4 blocks, 1500 steps, lr 0.003) on 5-frame clips: blocks 0 and 1 get no gradient.
    const QUICKSTART = resolve("experiments/quickstart.yaml");
    const overrides = ["train.update_every=1", "data.clip_length=5", "train.schedule={kind: constant, warmup_steps: 2000}"];
    const perClip = await stepsPerClipOfTable(QUICKSTART, overrides);
    expect(perClip.slice(0, 2), "blocks 0 and 1 never step").to.deep.equal([0, 0]);
    const [n2, n3] = perClip.slice(2).map((s) => 1500 * s);
    expect(n2 < 2000 && n3 >= 2000, `block 2 takes ${n2}, block 3 ${n3}`).to.equal(true);
    const exp = loadExperiment(QUICKSTART, overrides);
    const notes = ineffectiveSettings(exp.spec, exp.model);
    expect(notes).to.have.length(1);
    expect(notes[0]).to.contain(`is finished by block 3 but not by block 2, so the learning rate of block 2 never reaches`);
    expect(notes[0]).to.contain(`block 2 takes ${n2} steps (${perClip[2]} per clip batch x train.steps 1500), the last at lr ${Number(((0.003 * n2) / 2000).toPrecision(4))} (${n2}/2000 of train.optimizer.lr); block 3 takes ${n3} steps`);
    expect(notes[0]).to.not.match(/block [01]\b/);

    // update_every 2 on 7-frame clips: blocks 1 and 2 step as often, and are said together.
    const grouped = ["train.update_every=2", "train.schedule={kind: constant, warmup_steps: 4000}"];
    const per = await stepsPerClipOfTable(QUICKSTART, grouped);
    expect(per[1], "blocks 1 and 2 step as often").to.equal(per[2]);
    const ex = loadExperiment(QUICKSTART, grouped);
    const [note] = ineffectiveSettings(ex.spec, ex.model);
    const short = per.flatMap((s, k) => (1500 * s < 4000 ? [k] : []));
    expect(short, "blocks 0 to 2 end inside the warm-up").to.deep.equal([0, 1, 2]);
    expect(note).to.contain("is finished by block 3 but not by blocks 0, 1 and 2, so the learning rate of blocks 0, 1 and 2 never reaches");
    expect(note).to.contain(`; blocks 1 and 2 take ${1500 * per[1]} steps (${per[1]} per clip batch x train.steps 1500), the last at lr`);
  });

  it("a sweep says each note once, with the share of runs it applies to", () => {
    const specs = ["clip", "2"].map((every) => ({ spec: loadExperiment(GOOD, ["train.method=pipelined-bp", "train.weight_stashing=true", `train.update_every=${every}`]).spec }));
    const [note, ...rest] = ineffectiveSettingsOfRuns([...specs, specs[0]]);
    expect(rest).to.deep.equal([]);
    expect(note).to.match(/^train\.weight_stashing: .* \(2 of 3 runs\)$/);
    expect(ineffectiveSettingsOfRuns([specs[0], specs[0]])[0]).to.not.match(/ of \d+ runs\)$/);
  });

  it("a sweep over seeds of synthetic data without data.eval_seed is told its evaluation clips differ by seed", () => {
    const specs = (overrides: string[], seeds: number[]) => seeds.map((seed) => loadExperiment(GOOD, [...overrides, `seed=${seed}`]).spec);
    expect(seedDependentEvaluation(specs([], [0, 1]))).to.match(/each seed is evaluated on clips of its own .* data\.eval_seed: N/);
    expect(seedDependentEvaluation(specs(["data.eval_seed=0"], [0, 1]))).to.equal(null);
    expect(seedDependentEvaluation(specs([], [0, 0]))).to.equal(null);
    // npy data: fixed evaluation clips, unless shuffle_frames orders their frames by the seed.
    const npy = "data={kind: npy, clips: c.npy, labels: l.npy, eval_on_train: true, clip_length: 4}";
    const npySpecs = (extra: string[], seeds: number[]) => seeds.map((seed) => loadExperiment(GOOD, [npy, ...extra, `seed=${seed}`], { checkRunInputs: false }).spec);
    expect(seedDependentEvaluation(npySpecs([], [0, 1]))).to.equal(null);
    expect(seedDependentEvaluation(npySpecs(["data.shuffle_frames=true"], [0, 1]))).to.match(/each seed is evaluated on clips of its own/);
    expect(ineffectiveSettings(npySpecs(["data.eval_seed=3"], [0])[0])).to.deep.equal(["data.eval_seed changes nothing for npy data without data.shuffle_frames (its evaluation clips come from files, not from a seed)"]);
    expect(ineffectiveSettings(npySpecs(["data.eval_seed=3", "data.shuffle_frames=true"], [0])[0])).to.deep.equal([]);
  });

  it("a video folder's eval_fraction beside split files: a note where written, a comment in `validate --print` whose saved config is the same run", () => {
    const ucf = (...overrides: string[]) => loadExperiment(UCF101, overrides, { checkRunInputs: false });
    const notes = (...overrides: string[]) => {
      const exp = ucf(...overrides);
      return ineffectiveSettings(exp.spec, exp.model, exp.raw);
    };
    const NOTE = "data.eval_fraction: 0.2 changes nothing with data.split (the ucf101 split files choose the evaluation videos; eval_fraction holds videos out only without split files)";
    // Not written: the default is in every video-folder run, so no note.
    expect(notes()).to.deep.equal([]);
    // Written, even at the default, or another value: a note.
    expect(notes("data.eval_fraction=0.2")).to.deep.equal([NOTE]);
    expect(notes("data.eval_fraction=0.5")).to.deep.equal([NOTE.replace("0.2", "0.5")]);
    // Without split files it holds videos out.
    expect(notes("data.split=null", "data.eval_fraction=0.5")).to.deep.equal([]);
    // A sweep's run carries what was written, so a sweep says it too.
    const run = ucf("data.eval_fraction=0.2");
    expect(ineffectiveSettingsOfRuns([{ spec: run.spec, model: run.model, raw: run.raw }])).to.deep.equal([NOTE]);

    // `validate --print`: at the default a comment, saved and loaded the same run id; another
    // value stays (it is in the run id) with a comment on its line.
    const dir = mkdtempSync(join(tmpdir(), "sideways-printed-"));
    try {
      const printedRuns = (...overrides: string[]) => {
        const exp = ucf(...overrides);
        const text = printedConfigText(exp.spec, exp.baseDir);
        const saved = join(dir, "printed.yaml");
        writeFileSync(saved, text);
        const again = loadExperiment(saved, [], { checkRunInputs: false });
        expect(configHash(again.spec, again.model, again.baseDir), text).to.equal(configHash(exp.spec, exp.model, exp.baseDir));
        return text;
      };
      const atDefault = printedRuns();
      expect(atDefault).to.match(/^ {2}# eval_fraction: no effect with split \(the ucf101 split files choose the evaluation videos\)$/m).and.not.match(/^ {2}eval_fraction:/m);
      expect(printedRuns("data.eval_fraction=0.5")).to.match(/^ {2}eval_fraction: 0\.5 # no effect with split /m).and.not.match(/# eval_fraction:/);
      expect(printedRuns("data.split=null")).to.match(/^ {2}eval_fraction: 0\.2$/m).and.not.match(/no effect with split/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("on the command line", () => {
    let dir: string;
    inFreshFolderEachTest("sideways-notes-", (d) => (dir = d));

    it("validate prints the note naming the file and still exits 0", async () => {
      const io = captureIo();
      expect(await main(["validate", GOOD, "train.method=pipelined-bp", "train.weight_stashing=true"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.contain(`note: ${GOOD}: train.weight_stashing: true changes nothing`);
      const plain = captureIo();
      expect(await main(["validate", GOOD], plain)).to.equal(0);
      expect(plain.stderr).to.not.contain("note:");
    });

    it("sweep --dry-run says a note of some runs with their count; --quiet says none", async () => {
      const overrides = ["sweep.grid={train.update_every: [clip, 2]}", "train.method=pipelined-bp", "train.weight_stashing=true"];
      const io = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides, "--dry-run"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.match(/note: .*train\.weight_stashing: true changes nothing .* \(2 of 4 runs\)/);
      expect(io.stderr).to.contain("each seed is evaluated on clips of its own");
      const quiet = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides, "--dry-run", "--quiet"], quiet)).to.equal(0);
      expect(quiet.stderr).to.not.contain("note:");
      expect(readdirSync(dir)).to.deep.equal([]);
    });

    it("sweep says its notes when it will train runs, not again when called on a sweep whose runs are all over", async () => {
      const overrides = ["sweep.grid.train.method=[bp]", "train.steps=2", "output.dir=out"];
      const NOTE = "each seed is evaluated on clips of its own";
      const first = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides], first), first.stderr).to.equal(0);
      expect(first.stderr).to.contain(`note: ${SWEEP}: ${NOTE}`);
      // Every run completed: this call only writes runs.csv and the report again.
      const again = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides], again), again.stderr).to.equal(0);
      expect(again.stderr).to.contain("results: ").and.not.contain(NOTE);
      // A --dry-run is a plan to read: it says them whatever the runs' states.
      const dry = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides, "--dry-run"], dry), dry.stderr).to.equal(0);
      expect(dry.stderr).to.contain(NOTE);
      // One run left to train (its folder removed): said again.
      rmSync(join(dir, "out", readdirSync(join(dir, "out")).find((f) => f.includes("_seed-1_"))!), { recursive: true });
      const resumed = captureIo();
      expect(await main(["sweep", SWEEP, ...overrides], resumed), resumed.stderr).to.equal(0);
      expect(resumed.stderr).to.contain(`note: ${SWEEP}: ${NOTE}`);
    });

    it("schedule says a video folder's eval_fraction written beside split files changes nothing", async () => {
      const io = captureIo();
      expect(await main(["schedule", UCF101, "data.eval_fraction=0.3"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.contain(`note: ${UCF101}: data.eval_fraction: 0.3 changes nothing with data.split`);
      const plain = captureIo();
      expect(await main(["schedule", UCF101], plain), plain.stderr).to.equal(0);
      expect(plain.stderr).to.not.contain("eval_fraction");
    });

    it("schedule prints it beside the table", async () => {
      const io = captureIo();
      expect(await main(["schedule", GOOD, "train.method=pipelined-bp", "train.weight_stashing=true"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.contain(`note: ${GOOD}: train.weight_stashing: true changes nothing`);
      expect(io.stdout).to.contain("weight stashing on");
    });

    it("validate and run print the note on milestones no block reaches with in-clip updates", async () => {
      const overrides = ["train.update_every=1", "train.schedule={kind: multistep, milestones: [20]}"];
      for (const command of ["validate", "run"]) {
        const io = captureIo();
        expect(await main([command, GOOD, ...overrides], io), io.stderr).to.equal(0);
        expect(io.stderr, command).to.contain(`note: ${GOOD}: train.schedule.milestones: 20 is reached by no block`);
      }
    });

    it("validate, run and schedule print the note on a block that ends inside a warm-up another finishes", async () => {
      const overrides = ["train.update_every=1", "train.schedule={kind: constant, warmup_steps: 9}"];
      for (const command of ["validate", "run", "schedule"]) {
        const io = captureIo();
        expect(await main([command, GOOD, ...overrides], io), io.stderr).to.equal(0);
        expect(io.stderr, command).to.contain(`note: ${GOOD}: train.schedule.warmup_steps: 9 is finished by block 1 but not by block 0`);
      }
    });

    it("run prints the note before training", async () => {
      const io = captureIo();
      expect(await main(["run", GOOD, "runtime.device_id=2"], io), io.stderr).to.equal(0);
      expect(io.stderr).to.contain(`note: ${GOOD}: runtime.device_id: 2 changes nothing with runtime.provider: cpu`);
    });
  });
});
