/** The CLI in-process: validate --print, sweep --dry-run, run twice (skip), collect from shard dirs, progress output. */
import { expect } from "chai";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { main } from "../src/cli/main.js";
import { divergedWithoutNaN } from "../src/train/run-experiment.js";
import { ProgressBoard, RATE_WINDOW_S, addStep, windowRate } from "../src/cli/progress.js";
import type { RunSummary } from "../src/train/run-types.js";
import { readCsv } from "../src/results/csv-read.js";
import { captureIo } from "./helpers/capture-io.js";
import { withEnv } from "./helpers/env.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { boardOnFakeClock } from "./helpers/progress-board.js";
import { FIXTURES, GOOD, SWEEP } from "./helpers/spec-fixtures.js";
import { firstFew } from "../src/util/count.js";
import { tryLock } from "../src/results/file-lock.js";
import { runLockPath } from "../src/results/run-dir.js";
import { RESUME_FILE } from "../src/train/resume-checkpoint.js";
import { RESUME_FORMAT } from "../src/model/checkpoint.js";
import { serializeSafetensors } from "../src/model/safetensors.js";

describe("CLI commands", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  inFreshFolderEachTest("sideways-cli-", (d) => (dir = d));

  it("validate --print shows the resolved config with defaults and overrides, creating nothing", async () => {
    const io = captureIo();
    expect(await main(["validate", GOOD, "train.optimizer.lr=0.2", "--print"], io)).to.equal(0);
    const printed = parse(io.stdout);
    expect(printed.train.optimizer).to.deep.equal({ kind: "sgd", lr: 0.2, momentum: 0.9, nesterov: false, weight_decay: 0 });
    expect(printed.runtime.provider).to.equal("cpu");
    expect(readdirSync(dir)).to.deep.equal([]);
    // AdamW's defaults are torch.optim.AdamW's, weight decay 0.01 among them.
    const adamw = captureIo();
    expect(await main(["validate", GOOD, "train.optimizer={kind: adamw}", "--print"], adamw), adamw.stderr).to.equal(0);
    expect(parse(adamw.stdout).train.optimizer).to.deep.equal({ kind: "adamw", lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01 });
    // A config that a later check refuses (Sideways on 1-frame clips, without --allow-warnings) is not printed.
    const refused = captureIo();
    expect(await main(["validate", GOOD, "train.method=sideways", "data.clip_length=1", "--print"], refused), refused.stderr).to.equal(2);
    expect(refused.stdout).to.equal("");
    expect(refused.stderr).to.include("data.clip_length");
    // Nor is one whose run folder holds a record that cannot be read (run would stop there with exit 2).
    expect(await main(["run", GOOD], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    writeFileSync(join(dir, "results", "good", id!, "run-meta.json"), "{");
    const taken = captureIo();
    expect(await main(["validate", GOOD, "--print"], taken), taken.stderr).to.equal(2);
    expect(taken.stdout).to.equal("");
    expect(taken.stderr).to.include("run-meta.json cannot be read");
  });

  it("validate --print shows a multistep or linear schedule with its defaults filled in (gamma 0.1, end_lr 0)", async () => {
    for (const [schedule, expected] of [
      ["{kind: multistep, milestones: [1, 2]}", { kind: "multistep", warmup_steps: 0, milestones: [1, 2], gamma: 0.1 }],
      ["{kind: linear, warmup_steps: 1}", { kind: "linear", warmup_steps: 1, end_lr: 0 }],
    ] as const) {
      const io = captureIo();
      expect(await main(["validate", GOOD, `train.schedule=${schedule}`, "--print"], io), io.stderr).to.equal(0);
      expect(parse(io.stdout).train.schedule).to.deep.equal(expected);
    }
  });

  it("validate --print shows the optional keys at their defaults (or, where no written value is their absence, as comments), and the printed file is the same run, or sweep, as the original", async () => {
    const model = `model=${join(FIXTURES, "models", "tiny.yaml")}`;
    const printed = async (file: string, ...o: string[]) => {
      const io = captureIo();
      expect(await main(["validate", file, model, ...o, "--print"], io), io.stderr).to.equal(0);
      return io.stdout;
    };
    const text = await printed(GOOD);
    const config = parse(text);
    expect(config.train.label_smoothing).to.equal(0);
    expect(config.train.accumulate).to.equal(1);
    expect(config.output.keep_best).to.equal(false);
    expect(config.data.workers).to.equal(0);
    for (const key of ["eval_seed", "augment", "train_clips", "grad_clip_norm"]) expect(text).to.match(new RegExp(`^ +# ${key}: unset \\(`, "m"));
    // Set keys are shown as set, without a comment.
    const set = await printed(GOOD, "data.augment.pad_crop=2", "train.grad_clip_norm=1");
    expect(parse(set).data.augment).to.deep.equal({ flip: false, pad_crop: 2 });
    expect(set).to.not.include("# augment").and.not.include("# grad_clip_norm");
    // Not where the key is refused (in-clip updates): the printed comment would invite an exit 2.
    expect(await printed(GOOD, "train.update_every=2")).to.not.include("grad_clip_norm");
    // Saved and run: the run of the original, found completed.
    expect(await main(["run", GOOD, model, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    writeFileSync(join(dir, "printed.yaml"), text);
    const again = captureIo();
    expect(await main(["run", join(dir, "printed.yaml")], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include(`${id}: already completed`);
    expect(readdirSync(join(dir, "results", "good"))).to.deep.equal([id]);
    // A sweep's printed file plans the same run ids.
    writeFileSync(join(dir, "printed-sweep.yaml"), await printed(SWEEP));
    const ids = async (file: string, ...o: string[]) => {
      const io = captureIo();
      expect(await main(["sweep", file, ...o, "--dry-run"], io), io.stderr).to.equal(0);
      return io.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/)[1]);
    };
    const planned = await ids(SWEEP, model);
    expect(planned).to.have.length(4);
    expect(await ids(join(dir, "printed-sweep.yaml"))).to.deep.equal(planned);
    // A key the sweep sets is set in every run: no "unset" comment for it.
    expect(await printed(SWEEP)).to.include("# augment: unset");
    expect(await printed(SWEEP, "sweep.grid.data.augment.pad_crop=[0, 2]")).to.not.include("# augment");
    // Nor where the sweep sets the whole section: each run's data is the sweep's value, whose augment the comment would misreport.
    const wholeData = await printed(SWEEP, "sweep.zip.data=[{kind: shapes, clip_length: 4}, {kind: shapes, clip_length: 4, augment: {flip: true}}]");
    expect(wholeData).to.not.include("# augment").and.not.include("# eval_seed").and.not.include("# train_clips");
    expect(wholeData).to.include("# grad_clip_norm: unset");
    const wholeTrain = await printed(SWEEP, "sweep.grid={}", "sweep.zip.train=[{method: bp, batch_size: 2, steps: 3, optimizer: {kind: sgd, lr: 0.05}}]");
    expect(wholeTrain).to.not.include("# grad_clip_norm");
    expect(wholeTrain).to.include("# augment: unset");
  });

  it("validate --print > FILE saved in another folder is the same run, or sweep: the file's relative paths are printed absolute (a sweep's values as written: run ids name them)", async () => {
    mkdirSync(join(dir, "exp", "models"), { recursive: true });
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
    writeFileSync(join(dir, "exp", "models", "tiny4.yaml"), readFileSync(join(FIXTURES, "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const base = readFileSync(GOOD, "utf8");
    writeFileSync(join(dir, "exp", "one.yaml"), base);
    writeFileSync(join(dir, "exp", "swept.yaml"), `${base}sweep: { grid: { train.method: [bp, sideways] }, seeds: [0, 1] }\n`);
    writeFileSync(join(dir, "exp", "swept-models.yaml"), `${base}sweep: { grid: { model: [models/tiny.yaml, models/tiny4.yaml] } }\n`);
    const print = async (file: string) => {
      const io = captureIo();
      expect(await main(["validate", file, "--print"], io), io.stderr).to.equal(0);
      return io.stdout;
    };
    const text = await print(join("exp", "one.yaml"));
    expect(parse(text).model).to.equal(join(dir, "exp", "models", "tiny.yaml"));
    writeFileSync(join(dir, "printed.yaml"), text);
    expect(await main(["run", join("exp", "one.yaml"), "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const again = captureIo();
    expect(await main(["run", "printed.yaml"], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include(`${id}: already completed`);
    const ids = async (file: string) => {
      const io = captureIo();
      expect(await main(["sweep", file, "--dry-run"], io), io.stderr).to.equal(0);
      return io.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/)[1]);
    };
    writeFileSync(join(dir, "printed-sweep.yaml"), await print(join("exp", "swept.yaml")));
    const planned = await ids(join("exp", "swept.yaml"));
    expect(planned).to.have.length(4);
    expect(await ids("printed-sweep.yaml")).to.deep.equal(planned);
    // Swept paths stay relative to the original file: saved beside it, its ids are the original's.
    const models = await print(join("exp", "swept-models.yaml"));
    expect(parse(models).sweep.grid.model).to.deep.equal(["models/tiny.yaml", "models/tiny4.yaml"]);
    writeFileSync(join(dir, "exp", "printed-models.yaml"), models);
    expect(await ids(join("exp", "printed-models.yaml"))).to.deep.equal(await ids(join("exp", "swept-models.yaml")));
  });

  it("sweep --dry-run lists every run with id, status and parameters; --shard selects i mod n", async () => {
    const io = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run"], io)).to.equal(0);
    const lines = io.stdout.trim().split("\n");
    expect(lines[0]).to.match(/^4 runs of 4/);
    expect(lines[1]).to.match(/^ +0 +method-bp_seed-0_[0-9a-f]{8} +todo +train.method="bp" seed=0$/);
    const shard = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run", "--shard", "1/2"], shard)).to.equal(0);
    expect(shard.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/)[0])).to.deep.equal(["1", "3"]);
    expect(await main(["sweep", SWEEP, "--shard", "2/2"], captureIo())).to.equal(2);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("sweep --dry-run says how an unfinished run's earlier attempt ended, and at which step", async () => {
    expect(await main(["sweep", SWEEP, "--quiet"], captureIo())).to.equal(0);
    const root = join(dir, "results", "sweep-good");
    const [first, second] = readdirSync(root).filter((d) => d.startsWith("method-")).sort();
    // As a run stopped at step 2 and one that met a NaN at step 1 leave their summaries.
    for (const [id, status, steps] of [[first, "interrupted", 2], [second, "nan_loss", 1]] as const) {
      const file = join(root, id!, "summary.json");
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), status, steps_done: steps }));
    }
    const io = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run"], io)).to.equal(0);
    const statuses = Object.fromEntries(io.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/).slice(1, 3)));
    expect(statuses[first!]).to.equal("interrupted@2");
    expect(statuses[second!]).to.equal("nan_loss@1");
    expect(Object.values(statuses).filter((s) => s === "completed")).to.have.length(2);
  });

  it("sweep --dry-run: a run killed outright (no summary.json of its own) is interrupted at its resume checkpoint's step", async () => {
    expect(await main(["sweep", SWEEP, "--quiet"], captureIo())).to.equal(0);
    const root = join(dir, "results", "sweep-good");
    const runs = readdirSync(root).filter((d) => d.startsWith("method-")).sort();
    // A resume checkpoint's header is all the listing reads: one with no tensors stands for it.
    const checkpointAt = (id: string, step: number) =>
      writeFileSync(join(root, id, RESUME_FILE), serializeSafetensors({ tensors: new Map(), metadata: { format: RESUME_FORMAT, step: String(step) } }));
    const summaryOf = (id: string) => join(root, id, "summary.json");
    // Killed after its checkpoint of step 3; killed before its first checkpoint; and a resumed run
    // (its first attempt's summary says interrupted at step 2) killed after a checkpoint of step 5.
    rmSync(summaryOf(runs[0]!));
    checkpointAt(runs[0]!, 3);
    rmSync(summaryOf(runs[1]!));
    writeFileSync(summaryOf(runs[2]!), JSON.stringify({ ...JSON.parse(readFileSync(summaryOf(runs[2]!), "utf8")), status: "interrupted", steps_done: 2 }));
    checkpointAt(runs[2]!, 5);
    const io = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run"], io)).to.equal(0);
    const statuses = Object.fromEntries(io.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/ +/).slice(1, 3)));
    expect([runs[0], runs[1], runs[2], runs[3]].map((id) => statuses[id!])).to.deep.equal(["interrupted@3", "interrupted@0", "interrupted@5", "completed"]);
  });

  it("run: results/<name>/<config hash>/, and a second run of the same config is skipped", async () => {
    const first = captureIo();
    expect(await main(["run", GOOD, "--quiet"], first), first.stderr).to.equal(0);
    const runDirs = readdirSync(join(dir, "results", "good"));
    expect(runDirs).to.have.length(1);
    expect(readdirSync(join(dir, "results", "good", runDirs[0]))).to.include.members(["run-meta.json", "summary.json", "metrics.csv", "config.yaml"]);
    const second = captureIo();
    expect(await main(["run", GOOD], second)).to.equal(0);
    expect(second.stderr).to.include("already completed");
    expect(await main(["run", GOOD, "seed=1", "--quiet"], captureIo())).to.equal(0);
    expect(readdirSync(join(dir, "results", "good"))).to.have.length(2);
  });

  it("~/ in a path of the experiment (model, output.dir) is the home folder, not a folder named ~", async () => {
    const home = join(dir, "home");
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(home, "m", "tiny.yaml"));
    const io = captureIo();
    await withEnv({ HOME: home }, async () => expect(await main(["run", GOOD, "model=~/m/tiny.yaml", "output.dir=~/out", "--quiet"], io), io.stderr).to.equal(0));
    expect(readdirSync(join(home, "out"))).to.have.length(1);
    expect(existsSync(join(dir, "~"))).to.equal(false);
  });

  it("a usage error points at the help of the command given; results and model without a subcommand name theirs", async () => {
    const said = async (...args: string[]) => {
      const io = captureIo();
      expect(await main(args, io), args.join(" ")).to.equal(2);
      return io.stderr.trim();
    };
    // An option of another command: where to find what it does.
    expect(await said("run", GOOD, "--dry-run")).to.equal("error: Unknown argument: dry-run (for a dry run: `sideways validate FILE` makes every check run makes without training; `sideways sweep FILE --dry-run` lists a sweep's runs) (see sideways run --help)");
    // Misspelt as well (one edit away), on a command that has no close option of its own.
    expect(await said("validate", GOOD, "--dryrun")).to.equal("error: Unknown argument: dryrun (for a dry run: `sideways validate FILE` makes every check run makes without training; `sideways sweep FILE --dry-run` lists a sweep's runs) (see sideways validate --help)");
    expect(await said("run", GOOD, "--dry_run")).to.match(/^error: Unknown argument: dry_run \(for a dry run: /);
    expect(await said("run", GOOD, "--jobs", "2")).to.equal("error: Unknown argument: jobs (runs in parallel are a sweep's: `sideways sweep FILE --jobs N`; `runtime.workers=N` spreads one run's blocks over N threads) (see sideways run --help)");
    // A misspelt option is named once (not also in yargs' camelCase) with the option meant.
    expect(await said("sweep", GOOD, "--dryrun", "--jbos", "2")).to.equal("error: Unknown arguments: dryrun (did you mean --dry-run?), jbos (did you mean --jobs?) (see sideways sweep --help)");
    expect(await said("plot", dir, "--x-axs", "wall_s")).to.equal("error: Unknown argument: x-axs (did you mean --x-axis?) (see sideways plot --help)");
    expect(await said("model", "summary", "x.yaml", "--worker", "2")).to.match(/^error: Unknown argument: worker \(did you mean --workers\?\)/);
    // A word given as no option gets no option suggested.
    expect(await said("doctor", "quiet")).to.equal("error: Unknown argument: quiet (see sideways doctor --help)");
    expect(await said("results")).to.equal("error: a results subcommand is required: collect or table (sideways results --help)");
    expect(await said("model")).to.equal("error: a model subcommand is required (summary) (see sideways model --help)");
    // A word that is no subcommand is named as such, with the subcommands (not "Unknown argument").
    expect(await said("model", "list")).to.equal("error: 'list' is not a model subcommand (expected summary) (see sideways model --help)");
    expect(await said("results", "tabel", "x")).to.equal("error: 'tabel' is not a results subcommand (expected collect or table; did you mean table?) (see sideways results --help)");
    expect(await said("gpu")).to.match(/\(see sideways gpu --help\)$/);
    // A word that is no subcommand is not one in the help named: that help does not exist.
    expect(await said("doctor", "extra")).to.match(/\(see sideways doctor --help\)$/);
    expect(await said("model", "sumary", "x.yaml")).to.match(/\(see sideways model --help\)$/);
    expect(await said("model", "summary", "x.yaml", "--bogus")).to.match(/\(see sideways model summary --help\)$/);
    expect(await said("--bogus")).to.equal("error: a command is required (sideways --help lists them)");
    expect(await said("results", "table", ".", "--digits", "x")).to.match(/\(see sideways results table --help\)$/);
    // Whole-number flags say what was typed (yargs' number type made it NaN), and bench refuses a batch of 0.
    expect(await said("sweep", GOOD, "--jobs", "abc")).to.equal("error: --jobs: expected an integer >= 1, found 'abc' (see sideways sweep --help)");
    expect(await said("bench", "--step", "--batch", "0")).to.equal("error: --batch: expected an integer >= 1, found '0' (see sideways bench --help)");
    expect(await said("data", GOOD, "--clips", "2.5", "--out", "x")).to.equal("error: --clips: expected an integer >= 1, found '2.5' (see sideways data --help)");
    // As typed: not read as hexadecimal or exponent notation first.
    expect(await said("bench", "--step", "--threads", "1", "abc")).to.equal("error: --threads: expected an integer >= 1, found 'abc' (see sideways bench --help)");
    expect(await said("sweep", GOOD, "--jobs", "0x10")).to.equal("error: --jobs: expected an integer >= 1, found '0x10' (see sideways sweep --help)");
    expect(await said("data", GOOD, "--clips=1e1", "--out", "x")).to.equal("error: --clips: expected an integer >= 1, found '1e1' (see sideways data --help)");
    // The hidden option a sweep passes its runs (a NaN would have reached the cores-per-run note).
    expect(await said("run", GOOD, "--sweep-jobs", "abc")).to.equal("error: --sweep-jobs: expected an integer >= 1, found 'abc' (see sideways run --help)");
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("an option of one value given twice is a usage error naming it and both values, before anything is written", async () => {
    const said = async (...args: string[]) => {
      const io = captureIo();
      expect(await main(args, io), args.join(" ")).to.equal(2);
      expect(io.stderr).not.to.include("BUG");
      return io.stderr.trim();
    };
    // A path option given twice reached path.resolve as a list (a TypeError, "BUG").
    expect(await said("data", GOOD, "--out", "a", "--out", "b")).to.equal("error: --out given 2 times ('a', 'b'); expected it once (see sideways data --help)");
    expect(await said("export", join(FIXTURES, "models", "tiny.yaml"), "--out", "a", "--out", "b")).to.match(/^error: --out given 2 times \('a', 'b'\)/);
    expect(await said("plot", ".", "--out", "a", "--out", "b")).to.match(/^error: --out given 2 times/);
    expect(await said("results", "table", ".", "--out", "a", "--out", "b")).to.match(/^error: --out given 2 times .*\(see sideways results table --help\)$/);
    // An alias counts as the option itself, named by its long name.
    expect(await said("sweep", SWEEP, "-j", "2", "--jobs", "3", "--dry-run")).to.equal("error: --jobs given 2 times ('2', '3'); expected it once (see sideways sweep --help)");
    expect(await said("plot", ".", "-x", "step", "-x", "wall_s")).to.match(/^error: --x-axis given 2 times/);
    expect(readdirSync(dir)).to.deep.equal([]);
    // Options that take lists still do.
    expect(await main(["validate", GOOD, "train.steps=2", "seed=1"], captureIo())).to.equal(0);
  });

  it("a run started again after an attempt that left no resume checkpoint says from which step it starts over", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const [runId] = readdirSync(join(dir, "results", "good"));
    // As a killed attempt leaves it: metrics.csv with its 3 steps, no summary, no resume checkpoint.
    rmSync(join(dir, "results", "good", runId, "summary.json"));
    const again = captureIo();
    expect(await main(["run", GOOD], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include("an earlier attempt of this run reached step 3 and left no resume checkpoint");
    // A completed run, or one resumed from its checkpoint, says nothing of the kind.
    const third = captureIo();
    expect(await main(["run", GOOD], third)).to.equal(0);
    expect(third.stderr).to.include("already completed").and.not.include("earlier attempt");
  });

  it("a resume checkpoint cut short is exit 2 saying how to go on: delete it, or --force", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const [runId] = readdirSync(join(dir, "results", "good"));
    const runDir = join(dir, "results", "good", runId);
    // As an interrupted attempt leaves it, but the checkpoint lost its end (a full disk).
    rmSync(join(runDir, "summary.json"));
    writeFileSync(join(runDir, RESUME_FILE), serializeSafetensors({ tensors: new Map(), metadata: { format: RESUME_FORMAT, step: "2" } }).subarray(0, 20));
    const io = captureIo();
    expect(await main(["run", GOOD], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include(`${join(runDir, RESUME_FILE)}: not a valid safetensors file`).and.include(`the run cannot resume from it: delete ${join(runDir, RESUME_FILE)} to train the run again from step 0`);
    expect(existsSync(join(runDir, "final.safetensors"))).to.equal(true);
    rmSync(join(runDir, RESUME_FILE));
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
  });

  it("results collect merges run dirs from shard directories and results table writes three formats", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "merged"), { recursive: true });
    const io = captureIo();
    expect(await main(["results", "collect", "merged", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("4 runs (4 completed), 2 copied in");
    expect(readCsv(join(dir, "merged", "runs.csv")).rows).to.have.length(4);
    // collect refreshes the sweep's own table and curves: they were shard a's (one seed per
    // method, n=1) and now cover the runs of both shards (two seeds per method).
    const collected = readFileSync(join(dir, "merged", "table.md"), "utf8");
    expect(collected).to.match(/\| bp \| .*\(n=2\)/).and.to.match(/\| sideways \| .*\(n=2\)/).and.not.include("(n=1)");
    expect(readCsv(join(dir, "merged", "table.csv")).rows).to.have.length(2);
    expect(readFileSync(join(dir, "merged", "loss.svg"), "utf8")).not.to.equal(readFileSync(join(dir, "a", "loss.svg"), "utf8"));
    expect(io.stderr).to.include("wrote table.csv, table.md, table.tex, loss.svg");
    const table = captureIo();
    expect(await main(["results", "table", "merged"], table)).to.equal(0);
    for (const f of ["table.csv", "table.md", "table.tex"]) expect(existsSync(join(dir, "merged", f)), f).to.equal(true);
    // frames/s as a whole number, seconds with one decimal, accuracies with three.
    expect(table.stdout).to.match(/\| bp \| [0-9.]+ ± [0-9.]+ \(n=2\) \| .* \| [0-9]+ ± [0-9]+ \(n=2\) \| [0-9]+\.[0-9] ± [0-9]+\.[0-9] \(n=2\) \|/);
    const fullTable = readFileSync(join(dir, "merged", "table.md"), "utf8");
    const one = captureIo();
    expect(await main(["results", "table", "merged", "--metric", "final_train_loss"], one)).to.equal(0);
    expect(one.stdout).to.match(/\| bp \| [0-9.]+ ± [0-9.]+ \(n=2\) \|$/m);
    // A table of other metrics gets its own files; the sweep's full table stays as it was.
    for (const f of ["table-final_train_loss.csv", "table-final_train_loss.md", "table-final_train_loss.tex"]) expect(existsSync(join(dir, "merged", f)), f).to.equal(true);
    expect(readFileSync(join(dir, "merged", "table.md"), "utf8")).to.equal(fullTable);
    // One metric asked for twice (its short name, then its name) is one column, and named once in the files' name.
    expect(await main(["results", "table", "merged", "--metric", "train_loss", "--metric", "final_train_loss"], captureIo())).to.equal(0);
    expect(readdirSync(join(dir, "merged")).filter((f) => f.startsWith("table-train_loss"))).to.deep.equal(["table-train_loss.csv", "table-train_loss.md", "table-train_loss.tex"]);
    // Another ± gets its own files too: mean ± the 95% confidence interval's half-width, t(0.975, 1)
    // = 12.7062047361747 (published tables; n = 2 seeds) x std / sqrt(2), from the CSV's std column.
    const ci = captureIo();
    expect(await main(["results", "table", "merged", "--spread", "ci95"], ci), ci.stderr).to.equal(0);
    expect(ci.stderr).to.include("wrote table-ci95.csv, table-ci95.md, table-ci95.tex");
    expect(readFileSync(join(dir, "merged", "table.md"), "utf8")).to.equal(fullTable);
    for (const row of readCsv(join(dir, "merged", "table-ci95.csv")).rows) {
      const [std, half] = [Number(row.final_train_loss_std), Number(row.final_train_loss_ci95)];
      expect(std).to.be.greaterThan(0);
      expect(half).to.be.closeTo((12.7062047361747 * std) / Math.SQRT2, 1e-9 * half);
    }
    expect(readFileSync(join(dir, "merged", "table-ci95.md"), "utf8")).to.include("mean ± half-width of the mean's 95% confidence interval");
    expect(await main(["results", "table", "merged", "--metric", "final_train_loss", "--spread", "sem"], captureIo())).to.equal(0);
    expect(existsSync(join(dir, "merged", "table-final_train_loss-sem.md"))).to.equal(true);
    const bad = captureIo();
    expect(await main(["results", "table", "merged", "--spread", "95"], bad)).to.equal(2);
    expect(bad.stderr).to.include("--spread").and.include("std, sem or ci95");
  });

  it("runs.csv and the table list the sweep's planned runs that have no folder: another shard's, and one never started", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    const rowsOf = (folder: string) => readCsv(join(dir, folder, "runs.csv")).rows;
    const statusById = (folder: string) => Object.fromEntries(rowsOf(folder).map((r) => [r.run_id, r.status]));
    // Shard 0 of 2 wrote the whole plan: its runs completed, shard 1's are rows that say whose they are.
    expect(Object.values(statusById("a")).sort()).to.deep.equal(["completed", "completed", "other_shard", "other_shard"]);
    const other = rowsOf("a").find((r) => r.status === "other_shard")!;
    expect(other.method).to.be.oneOf(["bp", "sideways"]);
    expect(other.config_id).to.be.a("string").and.not.equal("");
    // Each configuration (method) has a completed run and one of the other shard: the table counts it.
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.match(/\| bp \| .*\(n=1\) .*\| 1 other_shard \|/);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    // A run of shard 0 that never started (its task died first): no folder, but shard 0 was given it.
    const [lost] = Object.keys(statusById("a")).filter((id) => statusById("a")[id] === "completed");
    rmSync(join(dir, "a", lost!), { recursive: true });
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(statusById("a")[lost!]).to.equal("not_started");
    expect(Object.values(statusById("a")).filter((s) => s === "completed")).to.have.length(3);
    expect(io.stderr).to.match(/4 runs \((3 completed, 1 not_started|1 not_started, 3 completed)\), 2 copied in/).and.include("note: 1 planned run never started (runs.csv: not_started): run the sweep, or its shard, again");
    // Running shard 0 again starts it; the folder then has every run of the sweep.
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(Object.values(statusById("a"))).to.deep.equal(["completed", "completed", "completed", "completed"]);
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).not.to.include("not_completed");
  });

  it("a run folder whose summary.json or run-meta.json is not JSON is listed as such, not as interrupted or never started", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const ids = readCsv(join(dir, "a", "runs.csv")).rows.map((r) => String(r.run_id));
    // Cut short (a full disk, an edit by hand): the first two runs lose the end of a record each.
    const cut = (file: string) => writeFileSync(file, readFileSync(file, "utf8").slice(0, 20));
    cut(join(dir, "a", ids[0], "summary.json"));
    cut(join(dir, "a", ids[1], "run-meta.json"));
    const io = captureIo();
    expect(await main(["results", "collect", "a"], io), io.stderr).to.equal(0);
    const rows = readCsv(join(dir, "a", "runs.csv")).rows;
    // One row each: the planned run whose run-meta.json is cut is not listed again as a folder no sweep planned.
    expect(rows).to.have.length(4);
    const status = Object.fromEntries(rows.map((r) => [r.run_id, r.status]));
    expect(status).to.deep.equal({ [ids[0]]: "unreadable_summary", [ids[1]]: "unreadable_run_meta", [ids[2]]: "completed", [ids[3]]: "completed" });
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.match(/1 unreadable_(summary|run_meta) \|/);
    // --dry-run says it too (the sweep itself refuses to start over that folder).
    const listed = captureIo();
    expect(await main(["sweep", SWEEP, "--dry-run", "output.dir=a"], listed), listed.stderr).to.equal(0);
    expect(listed.stdout.split("\n").find((l) => l.includes(ids[1]))).to.match(/ unreadable_run_meta /);
    expect(listed.stdout.split("\n").find((l) => l.includes(ids[0]))).to.match(/ unreadable_summary /);
    // The sweep refuses to train over an unreadable summary (it would delete the folder and whatever it holds), before any run.
    const finalWeights = join(dir, "a", ids[0], "final.safetensors");
    const before = readFileSync(finalWeights);
    rmSync(join(dir, "a", ids[1]), { recursive: true });
    const again = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], again)).to.equal(2);
    expect(again.stderr).to.include(`${join(dir, "a", ids[0], "summary.json")} cannot be read`).and.include("nothing was written");
    expect(readFileSync(finalWeights)).to.deep.equal(before);
    expect(existsSync(join(dir, "a", ids[1]))).to.equal(false);
  });

  it("a second sweep into the folder: a configuration none of whose runs started still shows the setting that sets it apart", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    // Shard 0 of 2 with one seed runs bp alone: sideways at 2 steps is planned, with no folder at all.
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "sweep.seeds=[0]", "train.steps=2", "output.dir=a"], captureIo())).to.equal(0);
    const rows = readCsv(join(dir, "a", "runs.csv")).rows;
    const unstarted = rows.filter((r) => r.status === "other_shard");
    expect(unstarted.map((r) => r.method)).to.deep.equal(["sideways"]);
    // Before, its train.steps cell was blank: the table's row could not say which sweep's it was.
    expect(unstarted[0]!["train.steps"]).to.equal(2);
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.match(/\| sideways \| 2 \| .*\| 1 other_shard \|/);
    // With two seeds, the plan holds each configuration's config once (its first run), and both of
    // the unstarted configuration's runs still say their setting.
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/4", "sweep.seeds=[0, 1]", "train.steps=4", "output.dir=a"], captureIo())).to.equal(0);
    const plan = JSON.parse(readFileSync(join(dir, "a", "sweep-plan.json"), "utf8")) as { runs: { config_id: string; config?: unknown }[] };
    expect(plan.runs).to.have.length(4);
    expect(plan.runs.filter((r) => r.config !== undefined).map((r) => r.config_id)).to.deep.equal([...new Set(plan.runs.map((r) => r.config_id))]);
    const later = readCsv(join(dir, "a", "runs.csv")).rows.filter((r) => r.status === "other_shard");
    expect(later.length).to.be.at.least(2);
    for (const r of later) expect(r["train.steps"], String(r.run_id)).to.equal(4);
  });

  it("results collect: a shard folder planning other runs (the sweep file changed) keeps the target's plan, with a note", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b", "train.steps=2"], captureIo())).to.equal(0);
    const planBefore = readFileSync(join(dir, "a", "sweep-plan.json"), "utf8");
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/note: .*b\/sweep-plan\.json plans other runs than .*a\/sweep-plan\.json \(another sweep file or other overrides, or a later sweep into this folder\): its runs were collected, its plan was not, so runs\.csv does not list its runs that never started/);
    expect(readFileSync(join(dir, "a", "sweep-plan.json"), "utf8")).to.equal(planBefore);
    // b's two runs are in; a's plan still counts shard 1's runs of a's sweep as another shard's.
    expect(readCsv(join(dir, "a", "runs.csv")).rows.map((r) => r.status).sort()).to.deep.equal(["completed", "completed", "completed", "completed", "other_shard", "other_shard"]);
  });

  it("results collect reports every run it does not copy, and a conflict (same id, other config) exits 2 touching nothing", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const ids = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    // b's first run claims another config under the same id (as runs of an older version could).
    const metaPath = join(dir, "b", ids[0], "run-meta.json");
    writeFileSync(metaPath, JSON.stringify({ ...JSON.parse(readFileSync(metaPath, "utf8")), config_hash: "0badf00d" }));
    const before = readFileSync(join(dir, "a", ids[0], "run-meta.json"), "utf8");
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include(`${ids[0]}: CONFLICT`).and.include("0badf00d").and.include("0 copied in, 3 already present, 1 not copied");
    expect(readFileSync(join(dir, "a", ids[0], "run-meta.json"), "utf8")).to.equal(before);
  });

  it("results collect: a shard's run it does not copy is not_copied in runs.csv with collect's reason, after later runs.csv rewrites too, until it is collected", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    // In the target, a folder that is no run holds the shard's run id: a conflict, not copied.
    mkdirSync(join(dir, "a", id!));
    writeFileSync(join(dir, "a", id!, "notes.txt"), "mine");
    const rowOf = () => readCsv(join(dir, "a", "runs.csv")).rows.find((r) => r.run_id === id)!;
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(2);
    const line = `${id}: ${join(dir, "a", id!)} exists and is not a run folder; not copied`;
    expect(io.stderr).to.include(line);
    // It ran (completed) in the shard: not a run to start, and its row says where it is and why.
    expect(rowOf()).to.include({ status: "not_copied", message: `not copied from ${join(dir, "b")} by results collect: ${line}` });
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.include("1 not_copied").and.include("not_copied: a run results collect found in a shard and did not copy here");
    // runs.csv is regenerated from the folders later: it still says so.
    expect(await main(["results", "table", "a"], captureIo())).to.equal(0);
    expect(await main(["results", "collect", "a"], captureIo())).to.equal(0);
    expect(rowOf().status).to.equal("not_copied");
    // Nothing here to draw: plot says where the not_copied run is, not that its metrics are empty.
    for (const other of readdirSync(join(dir, "a")).filter((d) => existsSync(join(dir, "a", d, "run-meta.json")))) rmSync(join(dir, "a", other), { recursive: true });
    const plotted = captureIo();
    expect(await main(["plot", "a"], plotted)).to.equal(2);
    expect(plotted.stderr).to.include("plot: no run in a has started here (").and.include("1 not_copied").and.include("each not_copied run's message says in which shard folder it ran");
    // Resolved: the folder in the way deleted, the shard collected again.
    rmSync(join(dir, "a", id!), { recursive: true });
    const again = captureIo();
    expect(await main(["results", "collect", "a", "b"], again), again.stderr).to.equal(0);
    expect(rowOf()).to.include({ status: "completed" });
    expect(existsSync(join(dir, "a", "collect-not-copied.json")), "no record left of a run now copied").to.equal(false);
  });

  it("results collect leaves a run a process holds, keeps the attempt further along, and replaces a folder whole", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [held, behind, ahead] = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    const setSummary = (folder: string, id: string, status: string, steps: number) => {
      const path = join(dir, folder, id, "summary.json");
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), status, steps_done: steps }));
    };
    // held: interrupted in a, completed in b, but a process holds a's (a sweep training it again).
    setSummary("a", held, "interrupted", 1);
    // behind: b's copy stopped earlier than a's.
    setSummary("a", behind, "interrupted", 2);
    setSummary("b", behind, "interrupted", 1);
    // ahead: b's copy completed; a's attempt left a file that b's folder lacks.
    setSummary("a", ahead, "interrupted", 1);
    writeFileSync(join(dir, "a", ahead, "resume.safetensors"), "stale");
    const release = tryLock(runLockPath(join(dir, "a", held)), Number.POSITIVE_INFINITY)!;
    const io = captureIo();
    try {
      expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    } finally {
      release();
    }
    expect(io.stderr).to.include(`${held}: ${join(dir, "a", held)} is running in another process (pid ${process.pid}`);
    expect(io.stderr).to.include(`${behind}: ${join(dir, "b", behind)} is interrupted at step 1, ${join(dir, "a", behind)} is interrupted at step 2; kept the one further along`);
    expect(io.stderr).to.include("1 copied in, 1 already present, 2 not copied");
    const status = (id: string) => JSON.parse(readFileSync(join(dir, "a", id, "summary.json"), "utf8")).status;
    expect([status(held), status(behind), status(ahead)]).to.deep.equal(["interrupted", "interrupted", "completed"]);
    expect(existsSync(join(dir, "a", ahead, "resume.safetensors")), "the copy replaced the folder whole").to.equal(false);
    expect(readdirSync(join(dir, "a")).filter((d) => /\.(collect|replaced)-\d+$/.test(d)), "no folder left from the swap").to.deep.equal([]);
  });

  it("results collect after one killed between its renames: the temporary folders left are said, not read as runs or copied, and kept", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [moved, kept] = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    // Killed after moving a's folder out and before moving the copy in: the run has no folder in a.
    renameSync(join(dir, "a", moved!), join(dir, "a", `${moved}.replaced-99999`));
    cpSync(join(dir, "b", moved!), join(dir, "a", `${moved}.collect-99999`), { recursive: true });
    // And one a shard holds (a collect into it that was stopped): not copied under that name.
    cpSync(join(dir, "b", kept!), join(dir, "b", `${kept}.collect-88888`), { recursive: true });
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`note: ${join("a", `${moved}.collect-99999`)} is a copy of run ${moved} that a results collect (pid 99999) was putting in place`);
    expect(io.stderr).to.include(`note: ${join("a", `${moved}.replaced-99999`)} is the folder of run ${moved}`).and.include(`note: ${join("b", `${kept}.collect-88888`)} is a copy`);
    // The run is collected again from the shard, once: not a second row (the table would count its seed twice).
    const ids = readCsv(join(dir, "a", "runs.csv")).rows.map((r) => String(r.run_id));
    expect(ids.filter((id) => id === moved)).to.have.length(1);
    expect(ids).to.have.length(4);
    expect(existsSync(join(dir, "a", moved!, "final.safetensors"))).to.equal(true);
    expect(existsSync(join(dir, "a", `${kept}.collect-88888`))).to.equal(false);
    // Nothing is deleted unasked.
    expect(existsSync(join(dir, "a", `${moved}.replaced-99999`, "run-meta.json"))).to.equal(true);
    expect(existsSync(join(dir, "a", `${moved}.collect-99999`, "run-meta.json"))).to.equal(true);
    // Collected without the shard, the run whose folder is in the leftover is not_started in runs.csv, but
    // collect does not say to train it again: its note says to move the folder back.
    rmSync(join(dir, "a", moved!), { recursive: true });
    const alone = captureIo();
    expect(await main(["results", "collect", "a"], alone), alone.stderr).to.equal(0);
    expect(readCsv(join(dir, "a", "runs.csv")).rows.find((r) => r.run_id === moved)?.status).to.equal("not_started");
    expect(alone.stderr).to.include(`has no folder: collect from its shard again, or move it back (mv ${join("a", `${moved}.replaced-99999`)} ${join("a", moved!)})`);
    expect(alone.stderr).to.not.include("never started");
  });

  it("sweep and --dry-run over a run whose only folder is a stopped collect's leftover: named with what to do, and not trained again (exit 2, nothing started)", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const [moved, copied] = readdirSync(join(dir, "a")).filter((d) => existsSync(join(dir, "a", d, "run-meta.json")));
    // A collect killed between its renames: the completed run is only in .replaced-<pid>.
    renameSync(join(dir, "a", moved!), join(dir, "a", `${moved}.replaced-99999`));
    // Killed while copying a run that had no folder: only a (maybe partial) copy.
    renameSync(join(dir, "a", copied!), join(dir, "a", `${copied}.collect-88888`));
    const root = join(dir, "a");
    const listed = captureIo();
    expect(await main(["sweep", SWEEP, "output.dir=a", "--dry-run"], listed), listed.stderr).to.equal(0);
    expect(listed.stderr).to.include(`note: ${join(root, `${moved}.replaced-99999`)} is the folder of run ${moved}`);
    expect(listed.stderr).to.include(`or move it back (mv ${join(root, `${moved}.replaced-99999`)} ${join(root, moved!)})`);
    expect(listed.stderr).to.include(`note: ${join(root, `${copied}.collect-88888`)} is a copy of run ${copied}`);
    for (const id of [moved, copied]) expect(listed.stdout.split("\n").find((l) => l.includes(id!))).to.include("the sweep refuses to start it");
    expect(listed.stdout.split("\n").filter((l) => l.includes("refuses to start"))).to.have.length(2);
    const io = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include("2 runs of the sweep").and.include("nothing was started").and.include(`mv ${join(root, `${moved}.replaced-99999`)} ${join(root, moved!)}`);
    for (const id of [moved, copied]) expect(existsSync(join(root, id!)), `${id} not trained again`).to.equal(false);
    expect(existsSync(join(root, `${moved}.replaced-99999`, "final.safetensors"))).to.equal(true);
    // Moved back, the run is completed again: the sweep goes on with the other.
    renameSync(join(root, `${moved}.replaced-99999`), join(root, moved!));
    rmSync(join(root, `${copied}.collect-88888`), { recursive: true });
    const again = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], again), again.stderr).to.equal(0);
    expect(readCsv(join(root, "runs.csv")).rows.map((r) => r.status)).to.deep.equal(["completed", "completed", "completed", "completed"]);
  });

  it("results collect whose pid a stopped collect had (pids repeat in containers): the folders that collect left under that pid are neither deleted nor in the way of a swap halfway", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [moved, other] = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    // Killed between its renames: the run's folder is only in .replaced-<pid>, which is this process's pid.
    renameSync(join(dir, "a", moved!), join(dir, "a", `${moved}.replaced-${process.pid}`));
    // And one whose old folder was being deleted when it was killed, the run in place but behind the shard's copy.
    cpSync(join(dir, "a", other!), join(dir, "a", `${other}.replaced-${process.pid}`), { recursive: true });
    rmSync(join(dir, "a", other!, "final.safetensors"));
    const summary = join(dir, "a", other!, "summary.json");
    writeFileSync(summary, JSON.stringify({ ...JSON.parse(readFileSync(summary, "utf8")), status: "interrupted" }));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.not.include("BUG");
    for (const id of [moved, other]) {
      expect(io.stderr).to.include(`${id}: ${join(dir, "a", `${id}.replaced-${process.pid}`)} is in the way`);
      expect(existsSync(join(dir, "a", `${id}.replaced-${process.pid}`, "run-meta.json")), id).to.equal(true);
    }
    expect(existsSync(join(dir, "a", moved!)), "not collected while its folder is in the way").to.equal(false);
  });

  it("results collect: a run killed outright (no summary.json) counts by its resume checkpoint's step; one killed before its first is not copied", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [killed, early] = readdirSync(join(dir, "b")).filter((d) => existsSync(join(dir, "b", d, "run-meta.json")));
    const setSummary = (folder: string, id: string, status: string, steps: number) => {
      const path = join(dir, folder, id, "summary.json");
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), status, steps_done: steps }));
    };
    // killed: a's copy interrupted at step 1; b's resumed from there and was killed after its checkpoint of step 2.
    setSummary("a", killed, "interrupted", 1);
    setSummary("b", killed, "interrupted", 1);
    writeFileSync(join(dir, "b", killed, RESUME_FILE), serializeSafetensors({ tensors: new Map(), metadata: { format: RESUME_FORMAT, step: "2" } }));
    // early: a's copy interrupted at step 1; b's killed before any checkpoint, its summary gone.
    setSummary("a", early, "interrupted", 1);
    rmSync(join(dir, "b", early, "summary.json"));
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b"], io), io.stderr).to.equal(0);
    expect(existsSync(join(dir, "a", killed, RESUME_FILE)), "b's attempt, further along, was copied in").to.equal(true);
    // runs.csv says where it got to as collect did, not its first attempt's summary.
    expect(readCsv(join(dir, "a", "runs.csv")).rows.find((r) => r.run_id === killed)).to.include({ status: "interrupted", steps_done: 2 });
    expect(io.stderr).to.include(`${early}: ${join(dir, "b", early)} was stopped before its first resume checkpoint (no summary.json): nothing to resume from; not copied`);
    expect(io.stderr).to.include("1 copied in, 2 already present, 1 not copied");
  });

  it("a sweep shard whose plan replaces sweep-plan.json of other runs (another file or other overrides into the same folder) warns, even with --quiet; shards of one sweep do not", async () => {
    const plan = "sweep-plan.json planned 4 runs other than this sweep's 4 (another sweep file or other overrides, or the file changed since): replaced by this sweep's plan. Shards writing into one folder must be given the same file and overrides";
    const first = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], first), first.stderr).to.equal(0);
    const same = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=a"], same), same.stderr).to.equal(0);
    expect(first.stderr + same.stderr).not.to.include("sweep-plan.json planned");
    // Before, this shard replaced the plan without a word: runs split by another plan's indices.
    const other = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=a", "train.steps=2"], other), other.stderr).to.equal(0);
    expect(other.stderr).to.include(`warning: ${join(dir, "a", plan)}`);
  });

  it("a shard of another count than the shards before it (0/2, then 1/3 alone) warns, even with --quiet, naming both counts and the runs left to no shard; one of the same count, or into a plan an earlier version wrote, does not", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    const planFile = join(dir, "a", "sweep-plan.json");
    const plan = JSON.parse(readFileSync(planFile, "utf8")) as { shard_count?: number; runs: Array<{ index: number; run_id: string }> };
    expect(plan.shard_count).to.equal(2);
    const idOf = (index: number) => plan.runs.find((r) => r.index === index)!.run_id;
    // Before, this exited 0 without a word: run 3 (0/2 had 0 and 2, 1/3 has 1) was left to shard 0/3 alone.
    const other = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/3", "output.dir=a"], other), other.stderr).to.equal(0);
    expect(other.stderr).to.include(`warning: ${planFile} was written by shards of 2 (--shard i/2), this sweep is shard 1/3: a shard runs the runs whose index is i mod n, so shards of 2 and of 3 split the runs differently`);
    expect(other.stderr).to.include(`1 run of the plan was given to no shard writing here (runs.csv: other_shard) and is not this shard's: ${idOf(3)}; of 3 shards only 0/3 would run it`);
    const status = Object.fromEntries(readCsv(join(dir, "a", "runs.csv")).rows.map((r) => [r.run_id, r.status]));
    expect(status[idOf(3)]).to.equal("other_shard");
    // The count is now 3: shard 2/3 (its one run completed by 0/2) says nothing.
    const same = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "2/3", "output.dir=a"], same), same.stderr).to.equal(0);
    expect(same.stderr).not.to.include("was written by shards of");
    // A plan without the count (an earlier version's): no warning, as before.
    const { shard_count: _, ...older } = JSON.parse(readFileSync(planFile, "utf8")) as Record<string, unknown>;
    writeFileSync(planFile, JSON.stringify(older));
    const fromOlder = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], fromOlder), fromOlder.stderr).to.equal(0);
    expect(fromOlder.stderr).not.to.include("was written by shards of");
    expect(JSON.parse(readFileSync(planFile, "utf8")).shard_count).to.equal(2);
  });

  it("results collect of shards of two counts (0/2, then 1/3) warns naming both counts, each plan, and the runs given to none with the shards that would run them, or that none is left out; shards of one count do not", async () => {
    for (const [shard, out] of [["0/2", "s0of2"], ["1/2", "s1of2"], ["1/3", "s1of3"], ["0/3", "s0of3"]])
      expect(await main(["sweep", SWEEP, "--quiet", "--shard", shard!, `output.dir=${out}`], captureIo())).to.equal(0);
    const plan = JSON.parse(readFileSync(join(dir, "s0of2", "sweep-plan.json"), "utf8")) as { runs: Array<{ index: number; run_id: string }> };
    const idOf = (index: number) => plan.runs.find((r) => r.index === index)!.run_id;
    const head = (target: string, threes: string) =>
      `warning: the sweep plans merged into ${join(target, "sweep-plan.json")} were written by shards of 2 (--shard i/2: ${join("s0of2", "sweep-plan.json")}) and 3 (--shard i/3: ${threes}): a shard runs the runs whose index is i mod n, so shards of 2 and of 3 split the runs differently`;
    // Before, collect kept the last shard's count without a word: run 3 (0/2 ran 0 and 2, 1/3 ran 1) was only an other_shard row.
    const mixed = captureIo();
    expect(await main(["results", "collect", "a", "s0of2", "s1of3"], mixed), mixed.stderr).to.equal(0);
    expect(mixed.stderr).to.include(`${head("a", join("s1of3", "sweep-plan.json"))}. 1 run of the plan was given to none of these shards (runs.csv: other_shard): ${idOf(3)}; of 2 shards only 1/2, of 3 shards only 0/3 would run it`);
    expect(Object.fromEntries(readCsv(join(dir, "a", "runs.csv")).rows.map((r) => [r.run_id, r.status]))[idOf(3)]).to.equal("other_shard");
    // Every run given to one of them: the counts still differ, and it says none is left out.
    const whole = captureIo();
    expect(await main(["results", "collect", "b", "s0of2", "s1of3", "s0of3"], whole), whole.stderr).to.equal(0);
    expect(whole.stderr).to.include(`${head("b", `${join("s1of3", "sweep-plan.json")}, ${join("s0of3", "sweep-plan.json")}`)}; every run of the plan was given to one of these shards, so none is left out`);
    // Shards of one count: nothing to say.
    const same = captureIo();
    expect(await main(["results", "collect", "c", "s0of2", "s1of2"], same), same.stderr).to.equal(0);
    expect(same.stderr).not.to.include("were written by shards of");
    // Three counts: each named in the rule, not the first two alone.
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "3/4", "output.dir=s3of4"], captureIo())).to.equal(0);
    const three = captureIo();
    expect(await main(["results", "collect", "d", "s0of2", "s1of3", "s3of4"], three), three.stderr).to.equal(0);
    expect(three.stderr).to.include(
      `and 4 (--shard i/4: ${join("s3of4", "sweep-plan.json")}): a shard runs the runs whose index is i mod n, so shards of 2, 3 and 4 split the runs differently; every run of the plan was given to one of these shards, so none is left out`,
    );
    // Into a folder a shard of 2 wrote itself: its own plan's count is compared too.
    const into = captureIo();
    expect(await main(["results", "collect", "s0of2", "s1of3"], into), into.stderr).to.equal(0);
    expect(into.stderr).to.include(`the sweep plans merged into ${join("s0of2", "sweep-plan.json")} were written by shards of 2 (--shard i/2: ${join("s0of2", "sweep-plan.json")}) and 3`);
  });

  it("an experiment of another name given the output.dir of another's runs: sweep, run and validate exit 2 naming both, nothing written (--dry-run warns); the same experiment again, or under name=<its name>, runs", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    // The sweep file under another name, otherwise the same (its model by absolute path: the copy is elsewhere).
    const other = join(dir, "other.yaml");
    writeFileSync(other, readFileSync(SWEEP, "utf8").replace(/^name: sweep-good$/m, "name: other-study").replace("model: models/tiny.yaml", `model: ${join(FIXTURES, "models", "tiny.yaml")}`));
    const folder = join(dir, "a");
    const snapshot = () => JSON.stringify(readdirSync(folder).sort().map((f) => [f, statSync(join(folder, f)).isFile() ? readFileSync(join(folder, f), "utf8") : readdirSync(join(folder, f)).sort()]));
    const before = snapshot();
    const head = `${other} with override 'output.dir=a': output.dir ${folder} holds the runs of experiment 'sweep-good' (sweep-plan.json; 4 run folders: `;
    const advice = `output.dir is one experiment's folder, not a folder of experiments: give this experiment one of its own (output.dir=${join(dir, "other-study")}, or no output.dir: results/other-study); if this experiment is 'sweep-good' renamed and is to go on with its runs, give name=sweep-good`;
    // Before, the same settings: exit 0, every run 'skipped' as completed (the other experiment's)
    // and sweep-plan.json relabelled, after which `results collect a` refused the folder; other
    // settings too: exit 0, both experiments' runs in one runs.csv and table.
    for (const cmd of [["sweep", other], ["sweep", other, "train.steps=2"], ["run", other], ["validate", other]]) {
      const io = captureIo();
      expect(await main([...cmd, "--quiet", "output.dir=a"].filter((a) => !(cmd[0] === "validate" && a === "--quiet")), io), `${cmd.join(" ")}: ${io.stderr}`).to.equal(2);
      expect(io.stderr).to.include(head);
      expect(io.stderr).to.include(`and this experiment is 'other-study': the name is no part of a run id`);
      expect(io.stderr).to.include(`${advice}; nothing was written`);
      expect(snapshot(), cmd.join(" ")).to.equal(before);
    }
    const dry = captureIo();
    expect(await main(["sweep", other, "--dry-run", "output.dir=a"], dry), dry.stderr).to.equal(0);
    expect(dry.stderr).to.include(`warning: ${head}`);
    expect(dry.stderr).to.include(`${advice}; the sweep refuses to start`);
    // Legitimate: the same experiment with other settings (a configuration of its own in the table),
    // and the renamed file given the folder's name.
    const again = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a", "train.steps=2"], again), again.stderr).to.equal(0);
    expect(again.stderr).not.to.include("holds the runs of experiment");
    const renamed = captureIo();
    expect(await main(["sweep", other, "--quiet", "output.dir=a", "name=sweep-good"], renamed), renamed.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(join(folder, "sweep-plan.json"), "utf8")).experiment).to.equal("sweep-good");
    const collect = captureIo();
    expect(await main(["results", "collect", "a"], collect), collect.stderr).to.equal(0);
  });

  it("results collect of folders holding runs of different experiments: exit 2 naming each, nothing copied", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", "output.dir=b"], captureIo())).to.equal(0);
    // A shard folder given by mistake: a run of the experiment 'good', not of the sweep's.
    expect(await main(["run", GOOD, "--quiet", "output.dir=c"], captureIo())).to.equal(0);
    const before = readdirSync(join(dir, "a")).sort();
    const table = readFileSync(join(dir, "a", "table.md"), "utf8");
    const io = captureIo();
    // The good shard first: it must not be copied before the bad one is found.
    expect(await main(["results", "collect", "a", "b", "c"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include("results collect: the folders hold runs of 2 experiments (a: 'sweep-good'; b: 'sweep-good'; c: 'good'); expected one experiment's runs; nothing was copied");
    expect(readdirSync(join(dir, "a")).sort()).to.deep.equal(before);
    expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.equal(table);
  });

  it("results table and collect: a bad --digits, an unknown or empty --metric, a run's folder or a missing shard folder is exit 2 and changes nothing", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const files = readdirSync(join(dir, "a")).sort();
    const table = readFileSync(join(dir, "a", "table.csv"), "utf8");
    // runs.csv is not even written anew (with the same text) before a refusal.
    const runsCsv = join(dir, "a", "runs.csv");
    utimesSync(runsCsv, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const runsCsvTime = statSync(runsCsv).mtimeMs;
    for (const [args, message] of [
      [["--metric", "eval_clip_top"], "--metric eval_clip_top: no such column in runs.csv (did you mean 'final_eval_clip_top1'?)"],
      [["--metric", "seed"], "--metric seed: that runs.csv column is not a metric"],
      [["--digits", "-1"], "--digits: expected an integer from 0 to 20, found '-1'"],
      [["--digits", "1.5"], "--digits: expected an integer from 0 to 20, found '1.5'"],
      [["--digits", "abc"], "--digits: expected an integer from 0 to 20, found 'abc'"],
      [["--metric"], "--metric: expected one or more values after it, found nothing"],
    ] as const) {
      const io = captureIo();
      expect(await main(["results", "table", "a", ...args], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include(message).and.not.include("BUG");
      expect(statSync(runsCsv).mtimeMs, args.join(" ")).to.equal(runsCsvTime);
    }
    // One run's folder given for the experiment's: named as such, nothing written into it.
    const [runId] = files.filter((f) => existsSync(join(dir, "a", f, "run-meta.json")));
    const runFiles = readdirSync(join(dir, "a", runId)).sort();
    for (const command of ["table", "collect"]) {
      const io = captureIo();
      expect(await main(["results", command, join("a", runId)], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include(`is one run's folder (it has run-meta.json); give the experiment's folder that holds the runs: sideways results ${command} a`);
      expect(readdirSync(join(dir, "a", runId)).sort()).to.deep.equal(runFiles);
    }
    // b holds one run a lacks; the missing shard folder named after it stops the merge before b is copied.
    cpSync(join(dir, "a"), join(dir, "b"), { recursive: true });
    const [onlyInB] = files.filter((f) => existsSync(join(dir, "a", f, "run-meta.json")));
    rmSync(join(dir, "a", onlyInB), { recursive: true });
    const io = captureIo();
    expect(await main(["results", "collect", "a", "b", "missing"], io)).to.equal(2);
    expect(io.stderr).to.include("missing does not exist; nothing was copied");
    expect(existsSync(join(dir, "a", onlyInB))).to.equal(false);
    expect(readdirSync(join(dir, "a")).sort()).to.deep.equal(files.filter((f) => f !== onlyInB));
    expect(readFileSync(join(dir, "a", "table.csv"), "utf8")).to.equal(table);
  });

  it("plot, results table and results collect given the experiment file for its results folder are exit 2 naming the folder, nothing written", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const before = readdirSync(join(dir, "results", "good")).sort();
    for (const command of [["plot"], ["results", "table"], ["results", "collect"]]) {
      const io = captureIo();
      expect(await main([...command, GOOD], io), io.stderr).to.equal(2);
      const name = command.join(" ");
      expect(io.stderr).to.include(`${name}: ${GOOD} is a file, not a results folder`).and.include(`that experiment file's results are in results/good: sideways ${name} results/good`);
      expect(io.stderr).not.to.include("ENOTDIR");
    }
    // A shard that is a file is named before anything is copied; a file that is no experiment gets no folder named.
    const shard = captureIo();
    expect(await main(["results", "collect", join("results", "good"), GOOD], shard), shard.stderr).to.equal(2);
    expect(shard.stderr).to.include(`results collect: ${GOOD} is a file, not a results folder`);
    writeFileSync("notes.txt", "x");
    const plain = captureIo();
    expect(await main(["plot", "notes.txt"], plain), plain.stderr).to.equal(2);
    expect(plain.stderr).to.include("plot: notes.txt is a file, not a results folder").and.not.include("that experiment file's");
    expect(readdirSync(join(dir, "results", "good")).sort()).to.deep.equal(before);
  });

  it("results collect of a folder holding no runs (the results folder above the experiments') is exit 2 naming the experiment folders, nothing written", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const before = readdirSync(join(dir, "results")).sort();
    const io = captureIo();
    expect(await main(["results", "collect", "results"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include("results collect: results holds no runs").and.include(`it holds experiment folders: ${join("results", "good")} (sideways results collect ${join("results", "good")})`);
    expect(readdirSync(join(dir, "results")).sort()).to.deep.equal(before);
    // The experiment's own folder collects as before.
    expect(await main(["results", "collect", join("results", "good")], captureIo())).to.equal(0);
    expect(existsSync(join(dir, "results", "good", "runs.csv"))).to.equal(true);
  });

  it("results collect: a shard folder holding no runs (the folder above the shard's experiment folder, one run's folder, an empty one) or a target above the experiments' is exit 2 naming what to give, nothing copied", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "0/2", "output.dir=a"], captureIo())).to.equal(0);
    // Shard 1 on another disk, at the default place results/<experiment> under its own folder.
    expect(await main(["sweep", SWEEP, "--quiet", "--shard", "1/2", `output.dir=${join("shard1", "results", "sweep-good")}`], captureIo())).to.equal(0);
    mkdirSync("empty");
    const before = readdirSync(join(dir, "a")).sort();
    const table = readFileSync(join(dir, "a", "table.md"), "utf8");
    const [runInShard] = readdirSync(join("shard1", "results", "sweep-good")).filter((f) => existsSync(join("shard1", "results", "sweep-good", f, "run-meta.json")));
    const shard = join("shard1", "results", "sweep-good");
    // Before, each said "0 copied in", rewrote a's table over its own runs alone, and exit 0.
    for (const [from, message] of [
      [join("shard1", "results"), `results collect: ${join("shard1", "results")} holds no runs (expected a shard's experiment folder: run folders with run-meta.json, or a sweep's sweep-plan.json); nothing was copied; it holds experiment folders: ${shard} (sideways results collect a ${shard})`],
      [join(shard, runInShard!), `results collect: ${join(shard, runInShard!)} is one run's folder (it has run-meta.json); give the shard's experiment folder that holds the runs: sideways results collect a ${shard}`],
      ["empty", "results collect: empty holds no runs (expected a shard's experiment folder"],
    ] as const) {
      const io = captureIo();
      expect(await main(["results", "collect", "a", from], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include(message);
      expect(readdirSync(join(dir, "a")).sort(), from).to.deep.equal(before);
      expect(readFileSync(join(dir, "a", "table.md"), "utf8")).to.equal(table);
    }
    // The folder above the experiments' as the target: the shard's runs would land beside a/.
    const above = captureIo();
    expect(await main(["results", "collect", ".", shard], above), above.stderr).to.equal(2);
    expect(above.stderr).to.include(`results collect: . holds no runs but experiment folders, so it is not an experiment's results folder to merge shards into; nothing was copied; it holds experiment folders: `).and.include(`(sideways results collect a ${shard})`);
    expect(readdirSync(dir).filter((f) => f.startsWith("sweep-good") || existsSync(join(dir, f, "run-meta.json")))).to.deep.equal([]);
    // The shard's experiment folder merges.
    const io = captureIo();
    expect(await main(["results", "collect", "a", shard], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("2 copied in");
  });

  it("an experiment folder whose only run folders are in collect-replaced/ holds no runs: collect and table do not point to collect-replaced/ as an experiment folder", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const good = join(dir, "results", "good");
    const [id] = readdirSync(good);
    // What `results collect` leaves where a shard's completed copy replaced a damaged run, and the run was then deleted.
    mkdirSync(join(good, "collect-replaced"));
    renameSync(join(good, id!), join(good, "collect-replaced", id!));
    const collect = captureIo();
    expect(await main(["results", "collect", join("results", "good")], collect)).to.equal(2);
    expect(collect.stderr).to.include(`results collect: ${join("results", "good")} holds no runs`).and.not.include("collect-replaced");
    const table = captureIo();
    expect(await main(["results", "table", join("results", "good")], table)).to.equal(2);
    expect(table.stderr).to.include("runs.csv does not exist (run a sweep").and.not.include("collect-replaced");
  });

  it("results table and plot of the results folder above the experiments' name the experiment folders; of a missing folder, say it is missing", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const before = readdirSync(join(dir, "results")).sort();
    const good = join("results", "good");
    // Before, table said "results/runs.csv does not exist (run a sweep...)" and plot "no runs in results", though a sweep had run.
    const table = captureIo();
    expect(await main(["results", "table", "results"], table)).to.equal(2);
    expect(table.stderr).to.include(`it holds experiment folders: ${good} (sideways results table ${good})`).and.not.include("run a sweep");
    const plot = captureIo();
    expect(await main(["plot", "results"], plot)).to.equal(2);
    expect(plot.stderr).to.include("plot: no runs in results").and.include(`it holds experiment folders: ${good} (sideways plot ${good})`);
    expect(readdirSync(join(dir, "results")).sort()).to.deep.equal(before);
    // A typo'd folder is named as missing, not as a folder without runs.csv or runs.
    const missingTable = captureIo();
    expect(await main(["results", "table", "results/god"], missingTable)).to.equal(2);
    expect(missingTable.stderr).to.include("results table: results/god does not exist").and.not.include("runs.csv");
    const missingPlot = captureIo();
    expect(await main(["plot", "results/god"], missingPlot)).to.equal(2);
    expect(missingPlot.stderr).to.include("plot: results/god does not exist");
    expect(existsSync(join(dir, "results", "god"))).to.equal(false);
  });

  it("plot: --metric adds a figure and its CSV; a broken metrics.csv, an unknown --metric or runs with no rows yet are exit 2 and change no figure", async () => {
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], captureIo())).to.equal(0);
    const io = captureIo();
    // The folder after the metric, and the metric named twice: one figure.
    expect(await main(["plot", "--metric", "eval_loss", "a", "--metric", "eval_loss"], io), io.stderr).to.equal(0);
    expect(io.stderr.match(/eval_loss\.svg/g)).to.have.length(1);
    for (const f of ["loss.svg", "loss.csv", "clip_accuracy.csv", "eval_loss.svg", "eval_loss.csv"]) expect(existsSync(join(dir, "a", f)), f).to.equal(true);
    expect(io.stderr).to.include(`${join("a", "eval_loss.svg")} (2 lines; points in eval_loss.csv)`);
    // The x axis by its long name (which --help shows) and by `--x`, as the docs write it.
    for (const flag of ["--x-axis", "--x"]) {
      rmSync(join(dir, "a", "eval_loss_vs_time.svg"), { force: true });
      expect(await main(["plot", "a", "--metric", "eval_loss", flag, "wall_s"], captureIo())).to.equal(0);
      expect(existsSync(join(dir, "a", "eval_loss_vs_time.svg")), flag).to.equal(true);
    }
    // Another band: files of their own, the sweep's figures left as they were.
    const lossSvg = readFileSync(join(dir, "a", "loss.svg"), "utf8");
    const sem = captureIo();
    expect(await main(["plot", "a", "--spread", "sem", "--metric", "eval_loss"], sem), sem.stderr).to.equal(0);
    expect(sem.stderr).to.include(`${join("a", "loss-sem.svg")} (2 lines; points in loss-sem.csv)`).and.include("eval_loss-sem.svg");
    expect(readFileSync(join(dir, "a", "loss-sem.svg"), "utf8")).to.include("band: ± standard error of the mean");
    expect(readFileSync(join(dir, "a", "loss.svg"), "utf8")).to.equal(lossSvg);
    const figures = () => Object.fromEntries(readdirSync(join(dir, "a")).filter((f) => /\.(svg|csv)$/.test(f)).map((f) => [f, readFileSync(join(dir, "a", f), "utf8")]));
    const before = figures();
    // --x-axis sets the --metric figures' axis: alone it drew the usual figures and ignored it.
    const alone = captureIo();
    expect(await main(["plot", "a", "--x-axis", "wall_s"], alone), alone.stderr).to.equal(2);
    expect(alone.stderr).to.include("plot: --x-axis wall_s sets the x axis of the --metric figures, and no --metric was given");
    expect(figures()).to.deep.equal(before);
    const unknown = captureIo();
    expect(await main(["plot", "a", "--metric", "eval_clip_top"], unknown), unknown.stderr).to.equal(2);
    expect(unknown.stderr).to.include("plot --metric eval_clip_top: no run's metrics.csv or eval.csv has that column (did you mean 'eval_clip_top1'?)");
    // Top-5 of a 3-class model: its column is empty; the message says why, and no figure changes.
    const top5 = captureIo();
    expect(await main(["plot", "a", "--metric", "eval_clip_top5"], top5), top5.stderr).to.equal(2);
    expect(top5.stderr).to.include("plot --metric eval_clip_top5: no run's eval.csv has a row with a value of it (top-5 is measured only with more than 5 classes (with 5 or fewer it would be 1)");
    expect(figures()).to.deep.equal(before);
    // The table of it: dashes, and under them why.
    const table = captureIo();
    expect(await main(["results", "table", "a", "--metric", "eval_clip_top5", "--out", "top5-table"], table), table.stderr).to.equal(0);
    expect(table.stdout).to.include("final_eval_clip_top5: – in every row with completed runs, as none of those runs has it (runs.csv's cells are blank): top-5 is measured only with more than 5 classes");
    const [runId] = readdirSync(join(dir, "a")).filter((f) => existsSync(join(dir, "a", f, "run-meta.json")));
    const metrics = join("a", runId, "metrics.csv");
    // A copy cut short: the last row loses its cells.
    writeFileSync(metrics, readFileSync(metrics, "utf8").replace(/\n[^\n]*\n$/, "\n2,2.3"));
    const cut = captureIo();
    expect(await main(["plot", "a"], cut), cut.stderr).to.equal(2);
    expect(cut.stderr).to.match(new RegExp(`metrics\\.csv: line \\d+ has 2 cells, the header has \\d+`)).and.not.include("BUG");
    // The sweep again (every run done): the broken file costs its report, not its exit status.
    const again = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "output.dir=a"], again), again.stderr).to.equal(0);
    expect(again.stderr).to.match(/warning: the table, curves and figures were not written: .*metrics\.csv: line \d+ has 2 cells.*; once the file is mended, `sideways results collect .*a` writes them/);
    expect(figures()).to.deep.equal(before);
    // Runs that logged nothing yet: nothing to draw is an error, not a silent exit 0.
    for (const f of readdirSync(join(dir, "a"))) {
      if (!existsSync(join(dir, "a", f, "run-meta.json"))) continue;
      for (const csv of ["metrics.csv", "eval.csv"]) {
        const path = join(dir, "a", f, csv);
        if (existsSync(path)) writeFileSync(path, readFileSync(path, "utf8").split("\n")[0] + "\n");
      }
    }
    const empty = captureIo();
    expect(await main(["plot", "a", "--out", "empty"], empty), empty.stderr).to.equal(2);
    expect(empty.stderr).to.include("plot: nothing to draw in a: its runs' metrics.csv and eval.csv have no rows yet");
  });

  it("plot draws the completed runs and names the runs it left out, with their status", async () => {
    const args = ["sweep.grid={train.optimizer.lr: [1e30, 0.05]}", "sweep.seeds=[0]", "train.steps=4", "output.dir=p", "--quiet"];
    expect(await main(["sweep", SWEEP, ...args], captureIo()), "a run stopped at a non-finite loss").to.equal(3);
    const [diverged] = readCsv(join(dir, "p", "runs.csv")).rows.filter((r) => r.status === "nan_loss").map((r) => r.run_id);
    const io = captureIo();
    expect(await main(["plot", "p"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include(`${join("p", "loss.svg")} (1 line;`).and.include(`note: the curves are of the 1 completed run; 1 run not drawn (1 nan_loss: ${diverged})`);
    // The figure says it too, for whoever sees only the figure; the sweep's own figures did already.
    for (const svg of [join(dir, "p", "loss.svg"), join(dir, "p", "clip_accuracy.svg")]) expect(readFileSync(svg, "utf8"), svg).to.include("not drawn: 1 run that did not complete (1 nan_loss; runs.csv says why)");
    // No run completed: the curves are of what there is, and the note says so.
    const unfinished = captureIo();
    expect(await main(["plot", join("p", String(diverged)), "--out", "u"], unfinished), unfinished.stderr).to.equal(0);
    expect(unfinished.stderr).to.include("note: no run has completed; the curves are of an unfinished run (1 nan_loss), up to the step it reached");
    expect(firstFew(["a", "b", "c"], 2)).to.equal("a, b and 1 more");
    expect(firstFew(["a", "b"], 2)).to.equal("a, b");
    const completedOnly = captureIo();
    rmSync(join(dir, "p", String(diverged)), { recursive: true });
    // A planned run without a folder (sweep-plan.json) is named too; without a plan, every run is drawn.
    expect(await main(["plot", "p"], completedOnly), completedOnly.stderr).to.equal(0);
    expect(completedOnly.stderr).to.include(`1 run not drawn (1 not_started: ${diverged})`);
    rmSync(join(dir, "p", "sweep-plan.json"));
    const noPlan = captureIo();
    expect(await main(["plot", "p"], noPlan), noPlan.stderr).to.equal(0);
    expect(noPlan.stderr).to.not.include("note:");
  });

  it("sweep --fail-fast stops at the first run that diverges: exit 3, its nan_loss recorded in runs.csv", async () => {
    const io = captureIo();
    // lr 1e30 makes the loss non-finite at step 2 (the child exits 3); the sweep stops there.
    expect(await main(["sweep", SWEEP, "train.optimizer.lr=1e30", "train.steps=20", "--fail-fast"], io), io.stderr).to.equal(3);
    // The runs it kept from starting are counted as runs.csv lists them; the divergence is why it ended (exit 3).
    expect(io.stderr).to.include("--fail-fast: stopping").and.include("1 run(s) stopped at a non-finite loss").and.include("3 not started (not_started in runs.csv)").and.not.include("failed (");
    // The run's error is said once, in the sweep's line with its stderr, not in its "nan_loss after" line too.
    expect(io.stderr.split("stopping the run before the update"), io.stderr).to.have.length(2);
    const { rows } = readCsv(join(dir, "results", "sweep-good", "runs.csv"));
    // The runs it never started are rows that say so (sweep-plan.json).
    expect(rows.map((r) => r.status)).to.deep.equal(["nan_loss", "not_started", "not_started", "not_started"]);
    // No completed run: results table says so (exit 2) rather than writing a table of no rows.
    const table = captureIo();
    expect(await main(["results", "table", join("results", "sweep-good")], table)).to.equal(2);
    expect(table.stderr).to.include("runs.csv has no completed run (4 runs: 1 nan_loss, 3 not_started)");
    expect(existsSync(join(dir, "results", "sweep-good", "table.md"))).to.equal(false);
    // plot draws the diverged run, the only one there is, and does not call it completed.
    const plotted = captureIo();
    expect(await main(["plot", join("results", "sweep-good")], plotted), plotted.stderr).to.equal(0);
    expect(plotted.stderr).to.include("note: the curves are of the 1 unfinished run; 3 runs not drawn (3 not_started:").and.not.include("completed run");
  });

  it("sweep --fail-fast with 2 jobs stops the other run as Ctrl-C does: counted interrupted with a resume checkpoint, not failed; exit 3 as with 1 job", async () => {
    const io = captureIo();
    // One run's loss is NaN at step 2 (lr 1e30); the other (lr 1e-3, 100000 steps) is still
    // running then, whether its trainer has started or not, so --fail-fast must stop it.
    const args = ["sweep.grid.train.optimizer.lr=[1e30,0.001]", "sweep.grid.train.method=[bp]", "sweep.seeds=[0]", "train.steps=100000", "--jobs", "2", "--fail-fast"];
    // Exit 3, the divergence that ended the sweep, whether the other run was stopped or kept from starting.
    expect(await main(["sweep", SWEEP, ...args], io), io.stderr).to.equal(3);
    expect(io.stderr, io.stderr).to.include("1 run(s) stopped at a non-finite loss").and.not.include("run(s) failed").and.not.include("SIGTERM");
    // Where the other run was training, its stop line says what would abort it without a checkpoint
    // (--fail-fast sent no signal, so the sweep takes two; naming no SIGTERM, which it never got).
    // Stopped during its set-up it says "during set-up: ending before the next step", and the
    // sweep's closing lines repeat "stopped by ..." as its record: neither is that line.
    for (const line of io.stderr.split("\n").filter((l) => l.includes("stopped by its sweep's --fail-fast") && l.includes(": saving a resume checkpoint after this step")))
      expect(line).to.include("(two stop signals to the sweep, the second a Ctrl-C, abort the run without one)");
    const { rows } = readCsv(join(dir, "results", "sweep-good", "runs.csv"));
    // The stopped run is interrupted if it had made its folder when the signal came, else
    // not_started; the sweep's count says the same as runs.csv.
    expect(rows.map((r) => r.status).filter((st) => st !== "interrupted" && st !== "not_started"), `${JSON.stringify(rows)}\n${io.stderr}`).to.deep.equal(["nan_loss"]);
    const stopped = rows.find((r) => r.status !== "nan_loss")!;
    expect(io.stderr, io.stderr).to.include(stopped.status === "interrupted" ? "1 interrupted (each resumes" : "1 not started (not_started in runs.csv)");
    // Its record names --fail-fast, not a Ctrl-C nobody pressed.
    if (stopped.status === "interrupted") {
      const summary = JSON.parse(readFileSync(join(dir, "results", "sweep-good", String(stopped.run_id), "summary.json"), "utf8")) as { message: string };
      expect(summary.message).to.equal("stopped by its sweep's --fail-fast (another run failed or diverged)");
    }
  });

  it("Sideways on clips too short for every block to learn: the sweep trains it, and summary.json and runs.csv's warnings say so", async () => {
    const io = captureIo();
    expect(await main(["sweep", SWEEP, "data.clip_length=1", "sweep.grid.train.method=[sideways, bp]", "sweep.seeds=[0]", "train.steps=2", "--quiet"], io), io.stderr).to.equal(0);
    const { columns, rows } = readCsv(join(dir, "results", "sweep-good", "runs.csv"));
    expect(columns.slice(-8)).to.deep.equal(["warnings", "final_eval_video_top1", "best_eval_video_top1", "best_eval_step", "final_eval_clip_top5", "final_eval_video_top5", "best_eval_clip_top5", "best_eval_video_top5"]);
    const warning = (method: string) => rows.find((r) => r.method === method)?.warnings;
    expect(warning("sideways")).to.match(/^with 1-frame clips and 2 blocks, Sideways never sends a gradient to blocks 0, 1/);
    // BP learns from any clip length: no warning.
    expect(warning("bp")).to.equal(null);
  });

  it("a run whose loss blows up without a NaN completes with a warning in its output and summary.json; a run that learns has none", async () => {
    const io = captureIo();
    expect(await main(["run", GOOD, "train.optimizer={kind: sgd, lr: 1000000}"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.match(/warning: the last training loss, .* is .*x ln\(3\), a uniform guess's: the run diverged/);
    const [id] = readdirSync(join(dir, "results", "good"));
    const summary = JSON.parse(readFileSync(join(dir, "results", "good", id!, "summary.json"), "utf8"));
    expect(summary.status).to.equal("completed");
    expect(summary.warnings).to.have.length(1);
    const fine = captureIo();
    expect(await main(["run", GOOD, "output.dir=fine"], fine), fine.stderr).to.equal(0);
    expect(fine.stderr).to.not.include("warning");
    const [fineId] = readdirSync(join(dir, "fine"));
    expect(JSON.parse(readFileSync(join(dir, "fine", fineId!, "summary.json"), "utf8")).warnings).to.equal(undefined);
    // The rule's edge: 10x ln(classes), the mean loss of a model that gives the true class 1/classes^10.
    expect(divergedWithoutNaN(10 * Math.log(3) * 0.999, 3)).to.equal(null);
    expect(divergedWithoutNaN(10 * Math.log(3) * 1.001, 3)).to.be.a("string");
    expect(divergedWithoutNaN(null, 3)).to.equal(null);
  });

  it("a run that diverged is final, as a completed one is: the sweep run again leaves it (exit 3, not retrained), run says so, --force trains it again", async () => {
    const args = ["sweep.grid.train.optimizer.lr=[1e30,0.001]", "sweep.grid.train.method=[bp]", "sweep.seeds=[0]", "train.steps=20"];
    const first = captureIo();
    expect(await main(["sweep", SWEEP, ...args], first), first.stderr).to.equal(3);
    expect(first.stderr).to.include("1 run(s) stopped at a non-finite loss").and.not.include("run the sweep again");
    const root = join(dir, "results", "sweep-good");
    const diverged = readdirSync(root).find((d) => d.includes("_lr-1e") && !d.endsWith(".lock"))!;
    const summaryPath = join(root, diverged, "summary.json");
    const before = readFileSync(summaryPath, "utf8");
    expect(JSON.parse(before).status).to.equal("nan_loss");
    const metricsBefore = statSync(join(root, diverged, "metrics.csv")).mtimeMs;

    const again = captureIo();
    expect(await main(["sweep", SWEEP, ...args], again), again.stderr).to.equal(3);
    expect(again.stderr).to.include(`${diverged}: stopped at a non-finite loss in an earlier attempt (nan_loss); not run again (--force does)`);
    expect(readFileSync(summaryPath, "utf8")).to.equal(before);
    expect(statSync(join(root, diverged, "metrics.csv")).mtimeMs).to.equal(metricsBefore);

    const runIo = captureIo();
    expect(await main(["run", join(root, diverged, "config.yaml")], runIo)).to.equal(3);
    expect(runIo.stderr).to.include("stopped at a non-finite loss in an earlier attempt").and.include("--force runs it again");
    expect(readFileSync(summaryPath, "utf8")).to.equal(before);

    const forced = captureIo();
    expect(await main(["sweep", SWEEP, ...args, "--force"], forced), forced.stderr).to.equal(3);
    expect(statSync(join(root, diverged, "metrics.csv")).mtimeMs).to.not.equal(metricsBefore);
  });

  it("progress: an evaluation with top-5 (more than 5 classes) says it after each level's top-1", () => {
    let text = "";
    const board = new ProgressBoard("plain", (t) => (text += t));
    const r = board.reporter("run-a");
    r.runStarted({ runId: "run-a", totalSteps: 4, method: "bp", description: "bp on tiny" });
    r.evalDone({ step: 2, eval_loss: 0.4, eval_clip_top1: 0.5, eval_frame_top1: 0.25, eval_clips: 8, eval_clip_top5: 0.875, eval_video_top1: 0.5, eval_videos: 4, eval_video_top5: 1 });
    board.finish();
    expect(text).to.include("run-a: eval at step 2: loss 0.4000, clip top-1 0.500, top-5 0.875, frame top-1 0.250, video top-1 0.500, top-5 1.000 (4 videos)");
  });

  it("progress: plain lines off a terminal, bars redrawn in place on one, nothing when quiet", () => {
    const texts: Record<string, string> = { plain: "", tty: "", quiet: "" };
    for (const mode of ["plain", "tty", "quiet"] as const) {
      const board = new ProgressBoard(mode, (t) => (texts[mode] += t));
      board.setCounts({ total: 2, done: 0, failed: 0, diverged: 0, interrupted: 0, skipped: 0 });
      const r = board.reporter("run-a");
      r.runStarted({ runId: "run-a", totalSteps: 4, method: "bp", description: "bp on tiny" });
      r.stepDone({ step: 2, total_steps: 4, train_loss: 0.5, lr: 0.1, wall_s: 1, step_s: 0.5, frames_per_s: 100, data_wait_s: 0 });
      r.evalDone({ step: 2, eval_loss: 0.4, eval_clip_top1: 0.75, eval_frame_top1: 0.7, eval_clips: 8 });
      r.runEnded({ status: "completed", run_id: "run-a", method: "bp", steps_done: 4, wall_s: 2, frames_per_s: 100, data_wait_share: 0, final_train_loss: 0.3, final_eval_loss: 0.4, final_eval_clip_top1: 0.75, final_eval_frame_top1: 0.7, best_eval_clip_top1: 0.75, eval_on_train: false, skipped_files: [] });
      board.finish();
    }
    expect(texts.plain).to.include("run-a: eval at step 2: loss 0.4000, clip top-1 0.750").and.include("run-a: completed after 4 steps");
    expect(texts.plain).not.to.include("\x1b[");
    // Without top-5 (5 classes or fewer) the eval line says none.
    expect(texts.plain).not.to.include("top-5");
    expect(texts.tty).to.include("\x1b[").and.include("░").and.include("sweep: 0/2");
    expect(texts.quiet).to.equal("");
  });

  it("progress: a sweep's ETA, from the runs completed from their first step, the running runs' own ETAs and --jobs; off a terminal, a line each time a run ends", () => {
    const { board, out, clock } = boardOnFakeClock("plain");
    const counts = { total: 5, done: 0, failed: 0, diverged: 0, interrupted: 0, skipped: 0 };
    board.setCounts(counts, 2);
    const step = (r: ReturnType<ProgressBoard["reporter"]>, s: number) => r.stepDone({ step: s, total_steps: 10, train_loss: 1, lr: 0.1, wall_s: 1, step_s: 1, frames_per_s: 1, data_wait_s: 0 });
    const completed = { status: "completed", method: "bp", steps_done: 10, wall_s: 60, frames_per_s: 1, data_wait_share: 0, final_train_loss: 0.3, final_eval_loss: 0.4, final_eval_clip_top1: 0.75, final_eval_frame_top1: 0.7, best_eval_clip_top1: 0.75, eval_on_train: false, skipped_files: [] } satisfies Omit<RunSummary, "run_id">;
    // A resumed run (its first step here is 6) completes first: no run has been timed whole yet.
    const resumed = board.reporter("resumed");
    resumed.runStarted({ runId: "resumed", totalSteps: 10, method: "bp", description: "bp on tiny" });
    for (let s = 6; s <= 10; s++) step(resumed, s);
    resumed.runEnded({ ...completed, run_id: "resumed" });
    board.setCounts({ ...counts, done: 1 }, 2);
    expect(board.sweepEta()).to.equal(null);
    expect(out.text).to.include("sweep: 1/5 (1 done, 0 failed, 0 skipped), 0 running\n");
    // a: 10 steps in 60 s. c: 5 of 10 steps in 60 s, so 60 s left.
    const [a, c] = ["a", "c"].map((id) => board.reporter(id));
    for (const [r, id] of [[a, "a"], [c, "c"]] as const) r!.runStarted({ runId: id, totalSteps: 10, method: "bp", description: "bp on tiny" });
    for (let s = 1; s <= 10; s++) {
      clock.ms += 6000;
      step(a!, s);
      if (s <= 5) step(c!, s);
    }
    a!.runEnded({ ...completed, run_id: "a" });
    board.setCounts({ ...counts, done: 2 }, 2);
    // 2 runs not started at a's 60 s, and c's 60 s left, two at a time: 90 s.
    expect(board.sweepEta()).to.equal(90);
    expect(out.text).to.include("sweep: 2/5 (2 done, 0 failed, 0 skipped), 1 running, ETA 1:30\n");
    // With one run at a time, they follow each other: 180 s.
    board.setCounts({ ...counts, done: 2 }, 1);
    expect(board.sweepEta()).to.equal(180);
  });

  it("progress: a run whose process ended without saying how (killed, or crashed in native code) is no longer counted running", () => {
    let text = "";
    const board = new ProgressBoard("plain", (s) => (text += s));
    board.setCounts({ total: 2, done: 0, failed: 0, diverged: 0, interrupted: 0, skipped: 0 });
    board.reporter("killed").runStarted({ runId: "killed", totalSteps: 4, method: "bp", description: "bp on tiny" });
    board.runGone("killed");
    board.setCounts({ total: 2, done: 0, failed: 1, diverged: 0, interrupted: 0, skipped: 0 });
    expect(text).to.include("sweep: 1/2 (0 done, 1 failed, 0 skipped), 0 running\n");
  });

  it("progress: a resumed run's ETA is at the pace of its steps in this process, not over the steps of earlier attempts", () => {
    const { board, out, clock } = boardOnFakeClock("plain");
    const r = board.reporter("resumed");
    r.runStarted({ runId: "resumed", totalSteps: 1000, method: "bp", description: "bp on tiny" });
    // Resumed at step 500: ten steps of 1 s, the last after the plain line's 10 s.
    for (let s = 501; s <= 510; s++) {
      clock.ms += 1000;
      r.stepDone({ step: s, total_steps: 1000, train_loss: 1, lr: 0.1, wall_s: 1, step_s: 1, frames_per_s: 1, data_wait_s: 0 });
    }
    // 490 steps left at 1 s each (not 10 s / 510 steps x 490).
    expect(out.text).to.include("resumed: step 510/1000").and.include("ETA 8:10");
  });

  it("progress: an interrupted run is counted once, as interrupted, not also as failed", () => {
    let text = "";
    const board = new ProgressBoard("plain", (t) => (text += t));
    board.setCounts({ total: 4, done: 1, failed: 0, diverged: 0, interrupted: 2, skipped: 0 });
    board.finish();
    expect(text).to.equal("sweep: 3/4 (1 done, 0 failed, 2 interrupted, 0 skipped), 0 running\n");
    text = "";
    board.setCounts({ total: 4, done: 1, failed: 0, diverged: 1, interrupted: 0, skipped: 1 });
    board.finish();
    expect(text).to.equal("sweep: 3/4 (1 done, 0 failed, 1 diverged, 1 skipped), 0 running\n");
  });

  it("progress: a sweep stopped early (Ctrl-C) says its counter once off a terminal, and its last counter has no ETA", () => {
    const { board, out, clock } = boardOnFakeClock("plain");
    const counts = { total: 4, done: 0, failed: 0, diverged: 0, interrupted: 0, skipped: 0 };
    board.setCounts(counts, 1);
    const a = board.reporter("a");
    a.runStarted({ runId: "a", totalSteps: 2, method: "bp", description: "bp on tiny" });
    for (let s = 1; s <= 2; s++) {
      clock.ms += 1000;
      a.stepDone({ step: s, total_steps: 2, train_loss: 1, lr: 0.1, wall_s: 1, step_s: 1, frames_per_s: 1, data_wait_s: 0 });
    }
    a.runEnded({ status: "completed", run_id: "a", method: "bp", steps_done: 2, wall_s: 2, frames_per_s: 1, data_wait_share: 0, final_train_loss: 0.3, final_eval_loss: 0.4, final_eval_clip_top1: 0.75, final_eval_frame_top1: 0.7, best_eval_clip_top1: 0.75, eval_on_train: false, skipped_files: [] });
    board.setCounts({ ...counts, done: 1 }, 1);
    // The second run is stopped by Ctrl-C: the line printed as it ends, then the sweep finishes.
    board.setCounts({ ...counts, done: 1, interrupted: 1 }, 1);
    board.finish();
    expect(out.text.match(/sweep: 2\/4 /g) ?? []).to.have.length(1);
    expect(out.text).to.include("sweep: 2/4 (1 done, 0 failed, 1 interrupted, 0 skipped), 0 running, ETA");
    // On a terminal the counter that stays is the last one, without an ETA.
    const { board: bars, out: tty } = boardOnFakeClock("tty", clock);
    bars.setCounts({ ...counts, done: 1 }, 1);
    const b = bars.reporter("b");
    b.runStarted({ runId: "b", totalSteps: 2, method: "bp", description: "bp on tiny" });
    b.runEnded({ status: "completed", run_id: "b", method: "bp", steps_done: 2, wall_s: 2, frames_per_s: 1, data_wait_share: 0, final_train_loss: 0.3, final_eval_loss: 0.4, final_eval_clip_top1: 0.75, final_eval_frame_top1: 0.7, best_eval_clip_top1: 0.75, eval_on_train: false, skipped_files: [] });
    bars.setCounts({ ...counts, done: 1, interrupted: 1 }, 1);
    tty.text = "";
    bars.finish();
    expect(tty.text).to.match(/sweep: 2\/4 \(1 done, 0 failed, 1 interrupted, 0 skipped\), 0 running\n$/);
  });

  it("the start line names data-parallel replicas as replicas and depth-parallel stages as stages", async () => {
    const replicas = captureIo();
    expect(await main(["run", GOOD, "runtime.replicas=2"], replicas), replicas.stderr).to.equal(0);
    expect(replicas.stderr).to.match(/started, sideways on tiny \(2 blocks, 2 data-parallel replicas\)/);
    const stages = captureIo();
    expect(await main(["run", GOOD, "runtime.workers=2"], stages), stages.stderr).to.equal(0);
    expect(stages.stderr).to.match(/started, sideways on tiny \(2 blocks, 2 depth-parallel stages\)/);
  });

  it("a value that does not exist is an empty CSV cell, never 'nan' (clips too short for the loss: no train_loss, no cosines)", async () => {
    // 1-frame clips through 2 blocks: Sideways never takes a loss, and no block gets a gradient.
    const io = captureIo();
    expect(await main(["run", GOOD, "data.clip_length=1", "diagnostics.every=1", "--quiet"], io), io.stderr).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const { rows } = readCsv(join(dir, "results", "good", id, "metrics.csv"));
    expect(rows).to.have.length(3);
    for (const r of rows) {
      // readCsv reads an empty cell as null and "nan" as NaN.
      expect(r.train_loss, "train_loss").to.equal(null);
      expect([r.cos_b0, r.cos_b1], "cos_b*").to.deep.equal([null, null]);
      expect(Object.values(r).some((v) => typeof v === "number" && Number.isNaN(v)), JSON.stringify(r)).to.equal(false);
    }
    expect(JSON.parse(readFileSync(join(dir, "results", "good", id, "summary.json"), "utf8")).final_train_loss).to.equal(null);
  });

  it("eval.clips larger than an npy evaluation set is said at the start; no note when it fits", async () => {
    expect(await main(["data", GOOD, "--out", "d", "--clips", "6"], captureIo())).to.equal(0);
    const npy = `data={kind: npy, clips: ${join(dir, "d", "clips.npy")}, labels: ${join(dir, "d", "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    const io = captureIo();
    expect(await main(["run", GOOD, npy, "eval.clips=256"], io), io.stderr).to.equal(0);
    expect(io.stderr).to.include("eval.clips is 256, but the evaluation set has 6 clips");
    const [id] = readdirSync(join(dir, "results", "good"));
    expect(readCsv(join(dir, "results", "good", id, "eval.csv")).rows.map((r) => r.eval_clips)).to.deep.equal([6]);
    const fits = captureIo();
    expect(await main(["run", GOOD, npy, "eval.clips=6"], fits), fits.stderr).to.equal(0);
    expect(fits.stderr).to.not.include("eval.clips is");
  });

  it("--quiet prints no progress or notes but keeps warnings: a run and a sweep on clips too short for Sideways' lower block say so", async () => {
    // models/tiny.yaml has 2 blocks: 2-frame clips leave block 0 without a gradient (2L-1 = 3).
    const run = captureIo();
    expect(await main(["run", GOOD, "--quiet", "train.method=sideways", "data.clip_length=2", "train.steps=2"], run), run.stderr).to.equal(0);
    expect(run.stderr).to.include("warning: with 2-frame clips and 2 blocks, Sideways never sends a gradient to block 0");
    expect(run.stderr).not.to.match(/completed after|step \d|started/);
    const sweep = captureIo();
    expect(await main(["sweep", SWEEP, "--quiet", "sweep.grid.train.method=[sideways]", "data.clip_length=2", "train.steps=2", "sweep.seeds=[0]", "output.dir=q"], sweep), sweep.stderr).to.equal(0);
    expect(sweep.stderr).to.include("warning: with 2-frame clips and 2 blocks").and.not.include("results:");
  });

  it("a completed run whose npy files were regenerated at the same path is still found, with a warning naming the file; --force trains on the new one", async () => {
    expect(await main(["data", GOOD, "--out", "d", "--clips", "6"], captureIo())).to.equal(0);
    const clips = join(dir, "d", "clips.npy");
    const npy = `data={kind: npy, clips: ${clips}, labels: ${join(dir, "d", "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    expect(await main(["run", GOOD, npy, "--quiet"], captureIo())).to.equal(0);
    const quiet = captureIo();
    expect(await main(["run", GOOD, npy], quiet), quiet.stderr).to.equal(0);
    expect(quiet.stderr).to.include("already completed").and.not.include("warning:");
    // The same bytes written again (a copy to scratch): a new modification time, the same file.
    const bytes = readFileSync(clips);
    writeFileSync(clips, bytes);
    utimesSync(clips, new Date(), new Date(Date.now() + 60_000));
    const copied = captureIo();
    expect(await main(["run", GOOD, npy], copied), copied.stderr).to.equal(0);
    expect(copied.stderr).to.include("already completed").and.not.include("warning:");
    // One byte of a pixel changed in place: the same size, other contents.
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(clips, bytes);
    utimesSync(clips, new Date(), new Date(Date.now() + 120_000));
    const edited = captureIo();
    expect(await main(["run", GOOD, npy], edited), edited.stderr).to.equal(0);
    expect(edited.stderr).to.match(/warning: .* completed on data files that have changed since \(.*clips\.npy was modified at \S+ with other contents, after the run read it\)/);
    // Other clips under the same path (8 instead of 6): the id is the same, the files are not.
    expect(await main(["data", GOOD, "--out", "d", "--clips", "8", "--force"], captureIo())).to.equal(0);
    const again = captureIo();
    expect(await main(["run", GOOD, npy], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include("already completed").and.match(/warning: .* completed on data files that have changed since \(.*clips\.npy is \d+ bytes, was \d+/);
    const sweep = captureIo();
    expect(await main(["sweep", SWEEP, npy, "sweep.grid.train.method=[bp]", "sweep.seeds=[0]"], sweep), sweep.stderr).to.equal(0);
    expect(await main(["sweep", SWEEP, npy, "sweep.grid.train.method=[bp]", "sweep.seeds=[0]"], sweep), sweep.stderr).to.equal(0);
    // (Its 3-step run warns that it is at chance: no warning of the data is what this checks.)
    expect(sweep.stderr).to.not.include("completed on data files that have changed");
    expect(await main(["data", GOOD, "--out", "d", "--clips", "6", "--force"], captureIo())).to.equal(0);
    const stale = captureIo();
    expect(await main(["sweep", SWEEP, npy, "sweep.grid.train.method=[bp]", "sweep.seeds=[0]"], stale), stale.stderr).to.equal(0);
    expect(stale.stderr).to.match(/warning: .* completed on data files that have changed since/);
    const forced = captureIo();
    expect(await main(["run", GOOD, npy, "--force"], forced), forced.stderr).to.equal(0);
    const after = captureIo();
    expect(await main(["run", GOOD, npy], after), after.stderr).to.equal(0);
    expect(after.stderr).to.include("already completed").and.not.include("warning:");
  });

  it("a copied run folder's config.yaml trained elsewhere warns when the data at its paths are not the files that run read", async () => {
    expect(await main(["data", GOOD, "--out", "d", "--clips", "6"], captureIo())).to.equal(0);
    const clips = join(dir, "d", "clips.npy");
    const npy = `data={kind: npy, clips: ${clips}, labels: ${join(dir, "d", "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    expect(await main(["run", GOOD, npy, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    cpSync(join(dir, "results", "good", id), join(dir, "copy", id), { recursive: true });
    const config = join(dir, "copy", id, "config.yaml");
    const same = captureIo();
    expect(await main(["run", config, "output.dir=again1"], same), same.stderr).to.equal(0);
    // (Its 3-step run warns that it is at chance: no warning of the data is what this checks.)
    expect(same.stderr).to.not.include("whose data files differ");
    expect(existsSync(join(dir, "again1", id, "final.safetensors"))).to.equal(true);
    // Other clips at the same path (a colleague's machine): the same id, other files.
    expect(await main(["data", GOOD, "--out", "d", "--clips", "8", "--force"], captureIo())).to.equal(0);
    const other = captureIo();
    expect(await main(["run", config, "output.dir=again2"], other), other.stderr).to.equal(0);
    expect(existsSync(join(dir, "again2", id, "final.safetensors"))).to.equal(true);
    expect(other.stderr).to.match(/warning: .*config\.yaml is the config of the run in .*, whose data files differ from the files here \(.*clips\.npy is \d+ bytes, was \d+/);
  });

  it("every experiment and model file named in --help exists", () => {
    const bin = resolve(cwd, "bin/sideways.js");
    const named = new Set<string>();
    for (const command of ["", "run", "sweep", "validate", "export", "data", "bench", "results collect", "results table", "plot", "model summary", "gpu probe"]) {
      const r = spawnSync(process.execPath, [bin, ...command.split(" ").filter(Boolean), "--help"], { cwd, encoding: "utf8" });
      expect(r.status, `${command} --help: ${r.stderr}`).to.equal(0);
      for (const m of r.stdout.matchAll(/\b(?:experiments|models)\/[A-Za-z0-9_-]+\.yaml\b/g)) named.add(m[0]);
      // Whole-number options are not shown as [string] (they once had yargs' string type).
      for (const flag of ["--jobs", "--clips", "--digits", "--workers", "--rounds", "--batch"])
        expect(r.stdout.split("\n").find((l) => l.includes(`${flag} `)) ?? "", `${command} ${flag}`).to.not.include("[string]");
      // Every option is shown by a long name (yargs shows a one-letter option as `-x` alone).
      expect(r.stdout.split("\n").filter((l) => /^\s+-[A-Za-z]\s/.test(l)), `${command} --help`).to.deep.equal([]);
    }
    expect(named.size).to.be.greaterThan(2);
    for (const f of named) expect(existsSync(resolve(cwd, f)), f).to.equal(true);
  });

  it("progress: frames/s over the last RATE_WINDOW_S seconds of steps, not one step's; eval accuracy labelled with its step", () => {
    const recent: { frames: number; seconds: number }[] = [];
    // A fast step, a slow one (waiting for data), a fast one: one step's rate would swing 1000 -> 100 -> 1000.
    addStep(recent, 500, 0.5);
    addStep(recent, 100, 1);
    addStep(recent, 500, 0.5);
    expect(windowRate(recent)).to.equal(1100 / 2);
    // Steps older than the window drop out, but the window always keeps the newest step.
    addStep(recent, 4000, RATE_WINDOW_S);
    expect(recent).to.have.length(1);
    expect(windowRate(recent)).to.equal(4000 / RATE_WINDOW_S);
    expect(windowRate([])).to.equal(null);

    let text = "";
    const board = new ProgressBoard("tty", (t) => (text += t));
    const r = board.reporter("run-b");
    r.runStarted({ runId: "run-b", totalSteps: 4, method: "bp", description: "bp on tiny" });
    r.evalDone({ step: 2, eval_loss: 0.4, eval_clip_top1: 0.75, eval_frame_top1: 0.7, eval_clips: 8 });
    board.message("redraw");
    expect(text).to.include("eval top-1 0.750 @ step 2").and.not.include(" acc ");
  });
});
