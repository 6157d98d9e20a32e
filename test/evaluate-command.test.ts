/**
 * `sideways evaluate`: trained weights on an experiment's evaluation set, as a run evaluates. The
 * independent reference is the run itself: a run's final evaluation (eval.csv's last row) is of its
 * final weights, and keep_best's best.safetensors holds the weights of its best row, so evaluating
 * those files must give those rows exactly (same clips, graphs and arithmetic: no tolerance).
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { evaluateSweep } from "../src/cli/evaluate-sweep.js";
import { RESUME_FORMAT } from "../src/model/checkpoint.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import { parseSafetensors, serializeSafetensors } from "../src/model/safetensors.js";
import { readCsv } from "../src/results/csv-read.js";
import { evaluationChanceWarning } from "../src/results/evaluated-runs.js";
import { chanceLevelWarning } from "../src/train/chance-level.js";
import type { EvaluationRecord } from "../src/train/evaluate-weights.js";
import { captureIo } from "./helpers/capture-io.js";
import { writeNpyRunInputs } from "./helpers/npy-run-inputs.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { fourBlockSpec, randomClips } from "./helpers/tiny-models.js";

const FIXTURES = resolve("test/fixtures/specs");

/** Each test in a fresh folder (the current directory) holding good.yaml and its model file; `use` gets the folder. */
function inFolderWithGoodExperiment(prefix: string, use: (dir: string) => void): void {
  let dir = "";
  inFreshFolderEachTest(prefix, (d) => {
    dir = d;
    use(d);
  });
  beforeEach(() => {
    cpSync(join(FIXTURES, "good.yaml"), join(dir, "good.yaml"));
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "models", "tiny.yaml"));
  });
}

describe("sideways evaluate", function () {
  this.timeout(120_000);
  let dir = "";
  inFolderWithGoodExperiment("sideways-evaluate-", (d) => (dir = d));

  /** Trains good.yaml with `overrides`; its run folder. */
  const train = async (...overrides: string[]) => {
    const io = captureIo();
    expect(await main(["run", "good.yaml", "eval.clips=16", ...overrides, "--quiet"], io), io.stderr).to.equal(0);
    const root = join(dir, "results", "good");
    const folders = readdirSync(root).filter((d) => existsSync(join(root, d, "final.safetensors")));
    return join(root, folders.at(-1)!);
  };
  const evaluate = async (...args: string[]) => {
    const io = captureIo();
    const status = await main(["evaluate", ...args], io);
    return { status, io, record: () => JSON.parse(readFileSync(join(dir, "e.json"), "utf8")) as EvaluationRecord };
  };
  const evalRows = (runDir: string) => readCsv(join(runDir, "eval.csv")).rows;

  it("a run's folder: its final weights give its last eval.csv row exactly, with the run id and step; overrides change the evaluation set", async () => {
    const runDir = await train("train.steps=6", "train.optimizer.lr=0.5");
    const last = evalRows(runDir).at(-1)!;
    expect(last.step).to.equal(6);
    const { status, io, record } = await evaluate(runDir, "--json", "e.json");
    expect(status, io.stderr).to.equal(0);
    const r = record();
    expect([r.eval_loss, r.eval_clip_top1, r.eval_frame_top1, r.eval_clips]).to.deep.equal([last.eval_loss, last.eval_clip_top1, last.eval_frame_top1, last.eval_clips]);
    expect(r).to.include({ weights: join(runDir, "final.safetensors"), weights_step: 6, run_id: runDir.split("/").at(-1), experiment: join(runDir, "config.yaml"), provider: "cpu", eval_on_train: false });
    expect(r.weights_sha256, "the SHA-256 of the file's bytes").to.equal(createHash("sha256").update(readFileSync(join(runDir, "final.safetensors"))).digest("hex"));
    expect(io.stdout).to.match(/^weights +.*final\.safetensors \(run \w+, step 6\)\nclips +16\nloss +\d\.\d{4}\nclip top-1 +\d\.\d{4}\nframe top-1 +\d\.\d{4}\n$/);
    expect(io.stderr).to.include("wrote e.json");

    const fewer = await evaluate(runDir, "eval.clips=8", "--json", "e.json", "--force");
    expect(fewer.status, fewer.io.stderr).to.equal(0);
    expect(fewer.record()).to.include({ eval_clips: 8 });
    expect(fewer.record().overrides).to.deep.equal(["eval.clips=8"]);
  });

  it("best.safetensors gives the eval.csv row of its step (a weights file, not the folder)", async () => {
    const runDir = await train("train.steps=8", "train.optimizer.lr=0.5", "eval.every=1", "output.keep_best=true");
    const { status, io, record } = await evaluate(join(runDir, "best.safetensors"), "--json", "e.json");
    expect(status, io.stderr).to.equal(0);
    const r = record();
    const row = evalRows(runDir).find((x) => x.step === r.weights_step)!;
    expect(row, `eval.csv has a row of step ${r.weights_step}`).to.not.equal(undefined);
    expect([r.eval_loss, r.eval_clip_top1]).to.deep.equal([row.eval_loss, row.eval_clip_top1]);
  });

  it("a run's resume.safetensors (metadata: its config hash, no run id) gets the run id of the run-meta.json beside it of that hash; else null", async () => {
    const runDir = await train("train.steps=4");
    const id = runDir.split("/").at(-1)!;
    const { config_hash } = JSON.parse(readFileSync(join(runDir, "run-meta.json"), "utf8")) as { config_hash: string };
    const { tensors } = parseSafetensors(readFileSync(join(runDir, "final.safetensors")), "final");
    const resumeOf = (hash: string) => serializeSafetensors({ tensors, metadata: { format: RESUME_FORMAT, step: "2", config_hash: hash } });
    // As an interrupted run leaves its folder: resume.safetensors, no final weights or summary.
    rmSync(join(runDir, "final.safetensors"));
    rmSync(join(runDir, "summary.json"));
    writeFileSync(join(runDir, "resume.safetensors"), resumeOf(config_hash));
    const own = await evaluate(runDir, "--json", "e.json");
    expect(own.status, own.io.stderr).to.equal(0);
    expect(own.record()).to.include({ run_id: id, weights_step: 2 });
    expect(own.io.stdout).to.include(`(run ${id}, step 2)`);

    writeFileSync(join(runDir, "resume.safetensors"), resumeOf("another-configuration"));
    const other = await evaluate(runDir, "--json", "e.json", "--force");
    expect(other.status, other.io.stderr).to.equal(0);
    expect(other.record(), "a checkpoint of another configuration is not taken for this run's").to.include({ run_id: null });
    mkdirSync("elsewhere");
    writeFileSync(join("elsewhere", "resume.safetensors"), resumeOf(config_hash));
    const alone = await evaluate(join("elsewhere", "resume.safetensors"), "--experiment", join(runDir, "config.yaml"), "--json", "e.json", "--force");
    expect(alone.status, alone.io.stderr).to.equal(0);
    expect(alone.record(), "no run-meta.json beside it").to.include({ run_id: null });
  });

  it("never replaces a --json file without --force (exit 2, nothing evaluated), and then does", async () => {
    const runDir = await train();
    writeFileSync(join(dir, "e.json"), "earlier\n");
    const refused = await evaluate(runDir, "--json", "e.json");
    expect(refused.status).to.equal(2);
    expect(refused.io.stderr).to.match(/--json e\.json already exists; nothing was evaluated or written \(.*--force/);
    expect(readFileSync(join(dir, "e.json"), "utf8")).to.equal("earlier\n");
    expect((await evaluate(runDir, "--json", "e.json", "--force")).status).to.equal(0);
    expect(readFileSync(join(dir, "e.json"), "utf8")).to.not.equal("earlier\n");
  });

  it("--json or --per-class naming the weights or the config.yaml it reads is exit 2, --force or not: the weights stay", async () => {
    const runDir = await train();
    const weights = join(runDir, "final.safetensors");
    const before = readFileSync(weights);
    for (const [option, target] of [["--json", weights], ["--per-class", join(runDir, "config.yaml")], ["--json", join(runDir, ".", "final.safetensors")]]) {
      const refused = await evaluate(runDir, option, target, "--force");
      expect(refused.status, refused.io.stderr).to.equal(2);
      expect(refused.io.stderr).to.include(`${option} ${target} is `).and.include("which this evaluation reads").and.include("nothing was evaluated or written");
      expect(refused.io.stdout, "nothing evaluated").to.equal("");
    }
    expect(readFileSync(weights).equals(before)).to.equal(true);
  });

  it("--json or --per-class naming a folder, or a path through a file, is exit 2 before evaluating, --force or not", async () => {
    const runDir = await train();
    mkdirSync(join(dir, "figures"));
    for (const option of ["--json", "--per-class"]) {
      const folder = await evaluate(runDir, option, "figures", "--force");
      expect(folder.status, folder.io.stderr).to.equal(2);
      expect(folder.io.stderr).to.include(`${option} figures is a folder; expected a file to write`).and.include("nothing was evaluated or written");
      expect(folder.io.stdout, "nothing evaluated").to.equal("");
    }
    const throughFile = await evaluate(runDir, "--json", "good.yaml/e.json");
    expect(throughFile.status).to.equal(2);
    expect(throughFile.io.stderr).to.include(`--json good.yaml/e.json: ${join(dir, "good.yaml")} is a file, not a folder`);
    expect(throughFile.io.stdout).to.equal("");
    expect(readdirSync(join(dir, "figures"))).to.deep.equal([]);
  });

  it("--per-class FILE: a row per class (the shape kinds' names) whose counts sum to the clips and to clip top-1's, the confusion row of each; never replaced without --force", async () => {
    const runDir = await train("train.steps=6", "train.optimizer.lr=0.5");
    const { status, io, record } = await evaluate(runDir, "--json", "e.json", "--per-class", "pc.csv");
    expect(status, io.stderr).to.equal(0);
    expect(io.stderr).to.include("wrote pc.csv");
    const r = record();
    const { columns, rows } = readCsv(join(dir, "pc.csv"));
    expect(columns).to.deep.equal(["class", "class_name", "clips", "clip_top1", "predicted_0", "predicted_1", "predicted_2"]);
    expect(rows.map((x) => [x.class, x.class_name])).to.deep.equal([[0, "square"], [1, "circle"], [2, "triangle"]]);
    const predicted = (x: (typeof rows)[number]) => [0, 1, 2].map((k) => x[`predicted_${k}`] as number);
    for (const x of rows) expect(predicted(x).reduce((a, b) => a + b, 0), `class ${x.class}: its row sums to its clips`).to.equal(x.clips);
    expect(rows.reduce((s, x) => s + (x.clips as number), 0)).to.equal(r.eval_clips);
    expect(rows.reduce((s, x) => s + predicted(x)[x.class as number], 0) / r.eval_clips, "the diagonal is clip top-1's count").to.equal(r.eval_clip_top1);
    for (const x of rows) if ((x.clips as number) > 0) expect(x.clip_top1).to.equal(predicted(x)[x.class as number] / (x.clips as number));

    const before = readFileSync(join(dir, "pc.csv"), "utf8");
    const refused = await evaluate(runDir, "eval.clips=8", "--per-class", "pc.csv");
    expect(refused.status).to.equal(2);
    expect(refused.io.stderr).to.include("--per-class pc.csv already exists; nothing was evaluated or written");
    expect(refused.io.stdout).to.equal("");
    expect(readFileSync(join(dir, "pc.csv"), "utf8")).to.equal(before);
    const forced = await evaluate(runDir, "eval.clips=8", "--per-class", "pc.csv", "--force");
    expect(forced.status, forced.io.stderr).to.equal(0);
    expect(readCsv(join(dir, "pc.csv")).rows.reduce((s, x) => s + (x.clips as number), 0)).to.equal(8);
    const sweepOption = await evaluate(runDir, "--per-class-runs");
    expect(sweepOption.status).to.equal(2);
    expect(sweepOption.io.stderr).to.include("--per-class-runs is for a sweep's folder").and.include("--per-class FILE.csv");
  });

  it("bad input is exit 2 naming what is wrong: weights of another model (by --experiment or an override), a sweep, a folder without weights, a nan_loss run's folder, no config beside a file", async () => {
    const runDir = await train();
    writeFileSync(join(dir, "models", "tiny.yaml"), readFileSync(join(dir, "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const other = await evaluate(runDir, "--experiment", "good.yaml");
    expect(other.status).to.equal(2);
    expect(other.io.stderr).to.include("expected the weights of model tiny, from good.yaml");
    const overridden = await evaluate(runDir, "model=models/tiny.yaml", "eval.clips=8");
    expect(overridden.status).to.equal(2);
    expect(overridden.io.stderr).to.include("3 tensors with another shape").and.include(`expected the weights of model tiny, from ${join(runDir, "config.yaml")} with override 'model=models/tiny.yaml')`);

    writeFileSync(join(dir, "sweep.yaml"), `${readFileSync(join(dir, "good.yaml"), "utf8")}sweep: { seeds: [0, 1] }\n`);
    const sweep = await evaluate(runDir, "--experiment", "sweep.yaml");
    expect(sweep.status).to.equal(2);
    expect(sweep.io.stderr).to.include("sweep.yaml: sweep: evaluate takes one run's settings, found a sweep");

    const empty = await evaluate(join(dir, "models"));
    expect(empty.status).to.equal(2);
    expect(empty.io.stderr).to.include("is a folder with no final.safetensors or resume.safetensors in it");

    // A run stopped at a non-finite loss writes no weights: the message says how it ended, not only what is missing.
    const io = captureIo();
    expect(await main(["run", "good.yaml", "train.optimizer.lr=1e30", "train.steps=20", "train.method=bp", "--quiet"], io), io.stderr).to.equal(3);
    const root = join(dir, "results", "good");
    const diverged = join(root, readdirSync(root).find((d) => existsSync(join(root, d, "summary.json")) && !existsSync(join(root, d, "final.safetensors")))!);
    const nan = await evaluate(diverged);
    expect(nan.status).to.equal(2);
    expect(nan.io.stderr).to.include("is a folder with no final.safetensors or resume.safetensors in it (its summary.json says nan_loss: ").and.include("a run that ended so left no weights");

    cpSync(join(runDir, "final.safetensors"), join(dir, "w.safetensors"));
    const alone = await evaluate("w.safetensors");
    expect(alone.status).to.equal(2);
    expect(alone.io.stderr).to.include("no config.yaml beside it").and.include("--experiment FILE");
  });

  it("needs the run's data but not its train.init_checkpoint; npy data evaluated on its training clips says so; 7 classes: top-5 too", async () => {
    // Seven classes, so that top-5 is measured (with 5 or fewer it is 1 by definition and left out).
    const modelSpec = { ...fourBlockSpec, name: "seven-class", classes: 7, layers: [...fourBlockSpec.layers.slice(0, -1), { type: "linear", out_features: 7 }] };
    const model = resolveModel(modelSpec, "test seven-class model");
    writeNpyRunInputs(dir, model, initWeights(model, 3), randomClips(model, 6, 4, 5));
    writeFileSync(
      join(dir, "npy.yaml"),
      stringify({
        name: "npy",
        model: modelSpec,
        data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 4 },
        train: { method: "bp", batch_size: 3, steps: 2, init_checkpoint: "init.safetensors" },
        eval: { every: 0, clips: 6 },
      }),
    );
    const io = captureIo();
    expect(await main(["run", "npy.yaml", "--quiet"], io), io.stderr).to.equal(0);
    const runDir = join(dir, "results", "npy", readdirSync(join(dir, "results", "npy")).find((d) => !d.endsWith(".lock"))!);
    rmSync(join(dir, "init.safetensors"));
    const ok = await evaluate(runDir, "--json", "e.json");
    expect(ok.status, ok.io.stderr).to.equal(0);
    const last = evalRows(runDir).at(-1)!;
    expect(typeof last.eval_clip_top5, "the run measured top-5").to.equal("number");
    expect(ok.record()).to.include({ eval_on_train: true, eval_loss: last.eval_loss, eval_clip_top1: last.eval_clip_top1, eval_clip_top5: last.eval_clip_top5 });
    expect(ok.io.stdout).to.match(/\nclip top-1 +\d\.\d{4}\nclip top-5 +\d\.\d{4}\nframe top-1/);
    expect(ok.io.stderr).to.include("the evaluation set is the training clips");
    expect(ok.io.stdout).to.match(/\nclips +6 \(the training clips\)\n/);

    rmSync(join(dir, "clips.npy"));
    const noData = await evaluate(runDir);
    expect(noData.status).to.equal(2);
    expect(noData.io.stderr).to.match(/config\.yaml: data\.clips: file not found/);
  });
});

/**
 * `sideways evaluate <sweep folder> --out DIR`: each completed run's final weights again. The
 * reference is the sweep itself: without overrides each run's JSON is its last eval.csv row, and
 * DIR's table is the sweep's table (same runs.csv columns, same numbers).
 */
describe("sideways evaluate of a sweep's folder", function () {
  this.timeout(300_000);
  let dir = "";
  inFolderWithGoodExperiment("sideways-evaluate-sweep-", (d) => (dir = d));

  /** 2 methods x 2 seeds of good.yaml; the sweep's folder. */
  const sweep = async () => {
    const io = captureIo();
    const args = ["sweep", "good.yaml", "sweep.grid.train.method=[sideways, bp]", "sweep.seeds=[0, 1]", "eval.clips=16", "train.steps=4", "train.optimizer.lr=0.5", "--quiet"];
    expect(await main(args, io), io.stderr).to.equal(0);
    return join(dir, "results", "good");
  };
  const run = async (...args: string[]) => {
    const io = captureIo();
    return { status: await main(args, io), io };
  };
  const json = (file: string) => JSON.parse(readFileSync(file, "utf8")) as EvaluationRecord;
  const runIds = (root: string) => readCsv(join(root, "runs.csv")).rows.map((r) => String(r.run_id));

  it("without overrides: each run's JSON is its last eval.csv row, and results table DIR (--against, --spread ci95) has the sweep's numbers; eval.clips=8 elsewhere differs", async () => {
    const root = await sweep();
    const ev = await run("evaluate", root, "--out", "ev");
    expect(ev.status, ev.io.stderr).to.equal(0);
    for (const id of runIds(root)) {
      const last = readCsv(join(root, id, "eval.csv")).rows.at(-1)!;
      const r = json(join(dir, "ev", `${id}.json`));
      expect([r.eval_loss, r.eval_clip_top1, r.eval_frame_top1, r.eval_clips], id).to.deep.equal([last.eval_loss, last.eval_clip_top1, last.eval_frame_top1, last.eval_clips]);
      expect(r.run_id).to.equal(id);
    }
    expect(ev.io.stderr).to.match(/evaluate: 1\/4 runs: method-[\w-]+ \(\w+, seed \d\): clip top-1 \d\.\d{4}\n/);
    const ours = readCsv(join(root, "runs.csv"));
    const theirs = readCsv(join(dir, "ev", "runs.csv"));
    expect(theirs.columns).to.deep.equal([...ours.columns, "eval_overrides"]);
    expect(theirs.rows.map((r) => [r.run_id, r.final_eval_clip_top1, r.final_eval_loss])).to.deep.equal(ours.rows.map((r) => [r.run_id, r.final_eval_clip_top1, r.final_eval_loss]));
    // The sweep's table and DIR's: the same file, but for the note saying where DIR's figures came from.
    expect(readFileSync(join(dir, "ev", "table.csv"), "utf8")).to.equal(readFileSync(join(root, "table.csv"), "utf8"));
    expect(readFileSync(join(dir, "ev", "table.md"), "utf8")).to.include("final_eval_*: each run's final weights evaluated again by sideways evaluate with its config.yaml and overrides: none");
    for (const folder of [root, join(dir, "ev")]) {
      const t = await run("results", "table", folder, "--against", "train.method=bp", "--spread", "ci95");
      expect(t.status, t.io.stderr).to.equal(0);
    }
    const pairedCsv = (folder: string) => readFileSync(join(folder, "table-ci95-vs-train.method_bp.csv"), "utf8");
    expect(pairedCsv(join(dir, "ev"))).to.equal(pairedCsv(root));

    const fewer = await run("evaluate", root, "eval.clips=8", "--out", "ev8");
    expect(fewer.status, fewer.io.stderr).to.equal(0);
    for (const id of runIds(root)) expect(json(join(dir, "ev8", `${id}.json`))).to.include({ eval_clips: 8 });
    expect(readCsv(join(dir, "ev8", "runs.csv")).rows.map((r) => r.eval_overrides)).to.deep.equal(["eval.clips=8", "eval.clips=8", "eval.clips=8", "eval.clips=8"]);
    expect(readFileSync(join(dir, "ev8", "table.md"), "utf8")).to.include("overrides: eval.clips=8");
    expect(readdirSync(root).filter((n) => n.endsWith(".json")), "no JSON written into the sweep's folder").to.deep.equal(["sweep-plan.json"]);
  });

  it("resumes: runs already in DIR with the same overrides and weights are not evaluated again; a run's JSON of other overrides is refused (exit 2, nothing written) unless --force", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "eval.clips=8", "--out", "ev")).status).to.equal(0);
    const [kept, gone] = runIds(root);
    const keptText = readFileSync(join(dir, "ev", `${kept}.json`), "utf8");
    rmSync(join(dir, "ev", `${gone}.json`)); // as a Ctrl-C during that run leaves DIR
    const again = await run("evaluate", root, "eval.clips=8", "--out", "ev");
    expect(again.status, again.io.stderr).to.equal(0);
    expect(again.io.stderr.match(/already in ev, not evaluated again/g)).to.have.length(3);
    expect(again.io.stderr).to.match(new RegExp(`runs: ${gone} .*clip top-1`));
    expect(readFileSync(join(dir, "ev", `${kept}.json`), "utf8"), "not rewritten").to.equal(keptText);
    expect(json(join(dir, "ev", `${gone}.json`))).to.include({ eval_clips: 8 });

    const other = await run("evaluate", root, "eval.clips=12", "--out", "ev");
    expect(other.status).to.equal(2);
    expect(other.io.stderr).to.include("--out ev holds another evaluation: 4 runs evaluated with overrides 'eval.clips=8' (here: 'eval.clips=12'); nothing was evaluated or written");
    expect(readFileSync(join(dir, "ev", `${kept}.json`), "utf8")).to.equal(keptText);
    const forced = await run("evaluate", root, "eval.clips=12", "--out", "ev", "--force");
    expect(forced.status, forced.io.stderr).to.equal(0);
    expect(json(join(dir, "ev", `${kept}.json`))).to.include({ eval_clips: 12 });

    const inside = await run("evaluate", root, "--out", join(root, "ev"));
    expect(inside.status).to.equal(2);
    expect(inside.io.stderr).to.include("is inside the sweep's folder");
    const noOut = await run("evaluate", root);
    expect(noOut.status).to.equal(2);
    expect(noOut.io.stderr).to.include("is a sweep's folder: give --out DIR");
  });

  it("the same settings given otherwise (overrides in another order, eval.clips=08) resume; a run whose weights changed since is evaluated again, alone", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "eval.clips=8", "data.eval_seed=3", "--out", "ev")).status).to.equal(0);
    const [changed, kept] = runIds(root);
    const keptText = readFileSync(join(dir, "ev", `${kept}.json`), "utf8");
    const again = await run("evaluate", root, "data.eval_seed=3", "eval.clips=08", "--out", "ev");
    expect(again.status, again.io.stderr).to.equal(0);
    expect(again.io.stderr.match(/already in ev, not evaluated again/g)).to.have.length(4);
    expect(readFileSync(join(dir, "ev", `${kept}.json`), "utf8")).to.equal(keptText);

    // As training the run again would: other weights of the same model (one float's last bit).
    const weights = join(root, changed, "final.safetensors");
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    const changedAgain = await run("evaluate", root, "eval.clips=8", "data.eval_seed=3", "--out", "ev");
    expect(changedAgain.status, changedAgain.io.stderr).to.equal(0);
    expect(changedAgain.io.stderr.match(/already in ev, not evaluated again/g)).to.have.length(3);
    expect(changedAgain.io.stderr).to.match(new RegExp(`runs: ${changed} .*clip top-1 \\d\\.\\d{4} \\(its weights changed since ${changed}\\.json was written: evaluated again\\)`));
    expect(json(join(dir, "ev", `${changed}.json`)).weights_sha256).to.equal(createHash("sha256").update(bytes).digest("hex"));
    expect(readFileSync(join(dir, "ev", `${kept}.json`), "utf8")).to.equal(keptText);
  });

  it("--per-class-runs: each run's <run id>-per-class.csv in DIR, its clips and diagonal matching its JSON; a resumed evaluation without them evaluates again for them", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "--out", "ev")).status).to.equal(0);
    const ev = await run("evaluate", root, "--out", "ev", "--per-class-runs");
    expect(ev.status, ev.io.stderr).to.equal(0);
    expect(ev.io.stderr.match(/evaluated again for it/g)).to.have.length(4);
    for (const id of runIds(root)) {
      const r = json(join(dir, "ev", `${id}.json`));
      const rows = readCsv(join(dir, "ev", `${id}-per-class.csv`)).rows;
      expect(rows.reduce((s, x) => s + (x.clips as number), 0), id).to.equal(r.eval_clips);
      expect(rows.reduce((s, x) => s + (x[`predicted_${x.class}`] as number), 0) / r.eval_clips, id).to.equal(r.eval_clip_top1);
    }
    const again = await run("evaluate", root, "--out", "ev", "--per-class-runs");
    expect(again.io.stderr.match(/already in ev, not evaluated again/g)).to.have.length(4);
    const oneRunOption = await run("evaluate", root, "--out", "ev2", "--per-class", "pc.csv");
    expect(oneRunOption.status).to.equal(2);
    expect(oneRunOption.io.stderr).to.include("--per-class-runs");
    expect(existsSync(join(dir, "ev2"))).to.equal(false);
  });

  it("--force moves the JSONs of runs not in the sweep to DIR/replaced/ (never deleted), so a later plain evaluation is not refused", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "--out", "ev")).status).to.equal(0);
    const [first] = runIds(root);
    const stray = readFileSync(join(dir, "ev", `${first}.json`), "utf8");
    writeFileSync(join(dir, "ev", "elsewhere.json"), stray); // as another sweep's evaluation into the same folder leaves it
    expect((await run("evaluate", root, "--out", "ev")).status, "refused without --force").to.equal(2);
    const forced = await run("evaluate", root, "--out", "ev", "--force");
    expect(forced.status, forced.io.stderr).to.equal(0);
    expect(forced.io.stderr).to.include("moved 1 file of 1 run not in").and.include("ev/replaced/");
    expect(existsSync(join(dir, "ev", "elsewhere.json"))).to.equal(false);
    expect(readFileSync(join(dir, "ev", "replaced", "elsewhere.json"), "utf8")).to.equal(stray);
    const plain = await run("evaluate", root, "--out", "ev");
    expect(plain.status, plain.io.stderr).to.equal(0);
    expect(plain.io.stderr.match(/already in ev, not evaluated again/g)).to.have.length(4);
  });

  it("results table DIR's tables (--against, --spread, --metric) are moved to DIR/replaced/ when an evaluation changes runs.csv's figures, kept when it does not", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "--out", "ev")).status).to.equal(0);
    for (const options of [["--against", "train.method=bp", "--spread", "ci95"], ["--metric", "final_eval_loss"]]) expect((await run("results", "table", "ev", ...options)).status).to.equal(0);
    const derived = ["table-ci95-vs-train.method_bp", "table-final_eval_loss"].flatMap((b) => ["csv", "md", "tex"].map((x) => `${b}.${x}`)).sort();
    const texts = new Map(derived.map((n) => [n, readFileSync(join(dir, "ev", n), "utf8")]));
    const resumed = await run("evaluate", root, "--out", "ev");
    expect(resumed.status, resumed.io.stderr).to.equal(0);
    expect(resumed.io.stderr).to.not.include("figures changed");
    for (const n of derived) expect(readFileSync(join(dir, "ev", n), "utf8"), `${n}: the same figures, kept`).to.equal(texts.get(n));

    const other = await run("evaluate", root, "eval.clips=8", "--out", "ev", "--force");
    expect(other.status, other.io.stderr).to.equal(0);
    expect(other.io.stderr).to.include("note: runs.csv's figures changed: moved 6 table files that results table wrote from the one replaced to ev/replaced/: table-ci95-vs-train.method_bp.csv");
    expect(readdirSync(join(dir, "ev")).filter((n) => n.startsWith("table-")), "none stale beside the new runs.csv").to.deep.equal([]);
    for (const n of derived) expect(readFileSync(join(dir, "ev", "replaced", n), "utf8"), n).to.equal(texts.get(n));
    expect(readFileSync(join(dir, "ev", "table.md"), "utf8")).to.include("overrides: eval.clips=8");
  });

  it("DIR holding table files of no evaluation (a paper's table.tex) is refused (exit 2, the file kept) unless --force, which moves them to DIR/replaced/", async () => {
    const root = await sweep();
    mkdirSync(join(dir, "paper"));
    writeFileSync(join(dir, "paper", "table.tex"), "my table\n");
    const refused = await run("evaluate", root, "--out", "paper");
    expect(refused.status).to.equal(2);
    expect(refused.io.stderr).to.include("--out paper holds table.tex beside no runs.csv of an evaluation").and.include("nothing was evaluated or written");
    expect(readdirSync(join(dir, "paper"))).to.deep.equal(["table.tex"]);
    expect(readFileSync(join(dir, "paper", "table.tex"), "utf8")).to.equal("my table\n");
    const forced = await run("evaluate", root, "--out", "paper", "--force");
    expect(forced.status, forced.io.stderr).to.equal(0);
    expect(forced.io.stderr).to.include("moved table.tex, of no evaluation, to paper/replaced/");
    expect(readFileSync(join(dir, "paper", "replaced", "table.tex"), "utf8")).to.equal("my table\n");
    const plain = await run("evaluate", root, "--out", "paper");
    expect(plain.status, "its own table is no stranger: resumed").to.equal(0);
  });

  it("checks the provider, each run's data and its weights against its model before it creates DIR: exit 2 naming the run's config.yaml and the override, nothing written", async () => {
    const root = await sweep();
    const saved = process.env.SIDEWAYS_CUDA_DIR;
    process.env.SIDEWAYS_CUDA_DIR = join(dir, "no-cuda-build");
    try {
      const cuda = await run("evaluate", root, "runtime.provider=cuda", "--out", "ev");
      expect(cuda.status).to.equal(2);
      expect(cuda.io.stderr).to.include("runtime.provider: cuda: the CUDA execution provider is not installed");
    } finally {
      if (saved === undefined) delete process.env.SIDEWAYS_CUDA_DIR;
      else process.env.SIDEWAYS_CUDA_DIR = saved;
    }
    expect(existsSync(join(dir, "ev"))).to.equal(false);
    const data = await run("evaluate", root, "data.kind=moving-mnist", "--out", "ev");
    expect(data.status).to.equal(2);
    expect(data.io.stderr).to.match(/config\.yaml with override 'data\.kind=moving-mnist'.*data\.task: moving-mnist task digit has 10 classes, the model has 3/);
    expect(existsSync(join(dir, "ev"))).to.equal(false);
    // Weights that do not fit an overridden model: refused before DIR is made, not at run 1 after it.
    writeFileSync(join(dir, "models", "wider.yaml"), readFileSync(join(dir, "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const model = await run("evaluate", root, "model=models/wider.yaml", "--out", "ev");
    expect(model.status).to.equal(2);
    expect(model.io.stderr).to.include("with override 'model=models/wider.yaml')");
    expect(existsSync(join(dir, "ev"))).to.equal(false);
  });

  it("a run's weights holding a tensor of a non-float dtype are refused before DIR is made (exit 2, decoding's message), not at that run after others were evaluated", async () => {
    const root = await sweep();
    const last = join(root, runIds(root).at(-1)!, "final.safetensors");
    const file = parseSafetensors(readFileSync(last), last);
    const [name, tensor] = [...file.tensors.entries()][0]!;
    // The same bytes read as int32: the file stays whole, only its header's dtype changes.
    file.tensors.set(name, { ...tensor, dtype: "I32" });
    writeFileSync(last, serializeSafetensors(file));
    const bad = await run("evaluate", root, "--out", "ev");
    expect(bad.status, bad.io.stderr).to.equal(2);
    expect(bad.io.stderr).to.include(`tensor "${name}" has dtype I32, expected a floating-point dtype`);
    expect(existsSync(join(dir, "ev")), "nothing written").to.equal(false);
  });

  it("a completed run without its config.yaml is exit 2 naming it, advising what works for a sweep (not --experiment, which a sweep refuses)", async () => {
    const root = await sweep();
    const [first] = runIds(root);
    rmSync(join(root, first, "config.yaml"));
    const ev = await run("evaluate", root, "--out", "ev");
    expect(ev.status).to.equal(2);
    expect(ev.io.stderr).to.include(`1 completed run of ${root} has no config.yaml`).and.include(join(root, first, "config.yaml")).and.include("nothing was evaluated or written");
    expect(ev.io.stderr).to.not.match(/give the experiment with --experiment FILE/);
    expect(existsSync(join(dir, "ev"))).to.equal(false);
  });

  it("progress lines name the run: evaluate: run 1/4 (<run id>): 2/16 clips", async () => {
    const root = await sweep();
    const io = captureIo();
    await evaluateSweep(io, { sweep: root, overrides: [], out: join(dir, "ev"), force: false, progressEveryS: 0 });
    const [first, , , last] = runIds(root);
    expect(io.stderr).to.include(`evaluate: run 1/4 (${first}): 2/16 clips\n`);
    expect(io.stderr).to.include(`evaluate: run 4/4 (${last}): 14/16 clips\n`);
  });

  it("speaks once of what holds for every run: no 'evaluating ...' line per run, each note once", async () => {
    const model = resolveModel(fourBlockSpec, "test model");
    writeNpyRunInputs(dir, model, initWeights(model, 3), randomClips(model, 6, 4, 5));
    writeFileSync(
      join(dir, "npy.yaml"),
      stringify({
        name: "npy",
        model: fourBlockSpec,
        data: { kind: "npy", clips: "clips.npy", labels: "labels.npy", eval_on_train: true, clip_length: 4 },
        train: { method: "bp", batch_size: 3, steps: 2 },
        eval: { every: 0, clips: 6 },
        sweep: { seeds: [0, 1, 2] },
      }),
    );
    const trained = await run("sweep", "npy.yaml", "--quiet");
    expect(trained.status, trained.io.stderr).to.equal(0);
    const ev = await run("evaluate", join(dir, "results", "npy"), "eval.clips=100", "--out", "ev");
    expect(ev.status, ev.io.stderr).to.equal(0);
    expect(ev.io.stderr.match(/runs: .*clip top-1/g)).to.have.length(3);
    expect(ev.io.stderr).to.not.include("evaluating ");
    expect(ev.io.stderr.match(/note: the evaluation set is the training clips/g)).to.have.length(1);
    expect(ev.io.stderr.match(/note: eval\.clips is 100, but the evaluation set has 6 clips/g)).to.have.length(1);
  });

  it("an evaluated row's warnings are of its new figures: the training's chance-level warning gives way, its other warnings stay, figures at chance are warned of", async () => {
    const root = await sweep();
    const [warned, zeroed] = runIds(root);
    const summaryFile = join(root, warned, "summary.json");
    const other = "a training warning that still holds";
    writeFileSync(summaryFile, JSON.stringify({ ...JSON.parse(readFileSync(summaryFile, "utf8")), warnings: [chanceLevelWarning(Math.log(3), 0.25, 3, 16)!, other] }));
    // All-zero weights give every class the same logit: a loss of ln(3) exactly, at chance.
    const weights = join(root, zeroed, "final.safetensors");
    const bytes = readFileSync(weights);
    bytes.fill(0, 8 + Number(bytes.readBigUInt64LE(0)));
    writeFileSync(weights, bytes);
    const ev = await run("evaluate", root, "--out", "ev");
    expect(ev.status, ev.io.stderr).to.equal(0);
    const rows = readCsv(join(dir, "ev", "runs.csv")).rows;
    const warnings = (id: string) => String(rows.find((r) => r.run_id === id)!.warnings ?? "");
    const newOne = evaluationChanceWarning(json(join(dir, "ev", `${warned}.json`)), 3);
    expect(warnings(warned)).to.equal([other, ...(newOne === null ? [] : [newOne])].join("; "));
    expect(warnings(zeroed)).to.match(/(^|; )sideways evaluate's loss, 1\.0986, is within 0\.05 of ln\(3\) = 1\.0986, a uniform guess's, and its clip top-1, 0\.\d{3}, is at chance \(1\/3; 16 clips/);
    for (const id of [warned, zeroed]) expect(warnings(id), id).to.not.include("the last evaluation's loss");
    expect(ev.io.stderr).to.match(new RegExp(`warning: \\d runs? evaluated at chance, no better than a uniform guess \\(.*${zeroed}`));
  });

  it("a completed run whose final weights were removed is a not_evaluated row, without its training's chance-level warning; every one removed is exit 2 with nothing written (an earlier evaluation in DIR kept)", async () => {
    const root = await sweep();
    expect((await run("evaluate", root, "--out", "ev")).status).to.equal(0);
    const ids = runIds(root);
    const before = new Map(readdirSync(join(dir, "ev")).map((n) => [n, readFileSync(join(dir, "ev", n), "utf8")]));
    rmSync(join(root, ids[0]!, "final.safetensors"));
    const summaryFile = join(root, ids[0]!, "summary.json");
    const other = "a training warning that still holds";
    writeFileSync(summaryFile, JSON.stringify({ ...JSON.parse(readFileSync(summaryFile, "utf8")), warnings: [chanceLevelWarning(Math.log(3), 0.25, 3, 16)!, other] }));
    const some = await run("evaluate", root, "--out", "ev2");
    expect(some.status, some.io.stderr).to.equal(0);
    // Its figures are blank: the training's warning about its last evaluation's figures goes with them, the others stay.
    expect(readCsv(join(dir, "ev2", "runs.csv")).rows.find((r) => r.run_id === ids[0])).to.include({ status: "not_evaluated", final_eval_clip_top1: null, warnings: other });

    for (const id of ids.slice(1)) rmSync(join(root, id, "final.safetensors"));
    const none = await run("evaluate", root, "--out", "ev");
    expect(none.status).to.equal(2);
    expect(none.io.stderr).to.include(`evaluate: nothing to evaluate: every completed run of ${root} (4 runs) had its final.safetensors removed (${join(root, ids[0]!, "final.safetensors")}`).and.include("nothing was evaluated or written");
    expect(new Map(readdirSync(join(dir, "ev")).map((n) => [n, readFileSync(join(dir, "ev", n), "utf8")])), "the earlier evaluation as it was").to.deep.equal(before);
    const fresh = await run("evaluate", root, "--out", "ev3");
    expect(fresh.status).to.equal(2);
    expect(existsSync(join(dir, "ev3"))).to.equal(false);
  });

  it("a run that did not complete is a row without figures; results collect refuses DIR (with shard folders too) rather than rebuild its runs.csv", async () => {
    const root = await sweep();
    const [, broken] = runIds(root);
    rmSync(join(root, broken, "summary.json")); // as a run killed outright leaves it: interrupted
    const ev = await run("evaluate", root, "--out", "ev");
    expect(ev.status, ev.io.stderr).to.equal(0);
    expect(ev.io.stderr).to.include("evaluate: 3/3 runs").and.include("1 run did not complete (1 interrupted)");
    const row = readCsv(join(dir, "ev", "runs.csv")).rows.find((r) => r.run_id === broken)!;
    expect(row).to.include({ status: "interrupted", final_eval_clip_top1: null, final_eval_loss: null, eval_overrides: null });
    expect(existsSync(join(dir, "ev", `${broken}.json`))).to.equal(false);
    expect(readFileSync(join(dir, "ev", "table.md"), "utf8")).to.include("1 interrupted");

    const before = readFileSync(join(dir, "ev", "runs.csv"), "utf8");
    const collect = await run("results", "collect", "ev");
    expect(collect.status).to.equal(2);
    expect(collect.io.stderr).to.include("holds sideways evaluate's figures of a sweep's runs");
    expect(readFileSync(join(dir, "ev", "runs.csv"), "utf8")).to.equal(before);
    // With shard folders too: else runs.csv would be rebuilt from the copied runs alone.
    const withShard = await run("results", "collect", "ev", root);
    expect(withShard.status).to.equal(2);
    expect(withShard.io.stderr).to.include("holds sideways evaluate's figures of a sweep's runs");
    expect(readFileSync(join(dir, "ev", "runs.csv"), "utf8")).to.equal(before);
    expect(readdirSync(join(dir, "ev")).filter((n) => !/\.(json|csv|md|tex)$/.test(n)), "no run folder copied in").to.deep.equal([]);
  });
});
