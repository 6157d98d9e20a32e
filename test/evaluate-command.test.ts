/**
 * `sideways evaluate`: trained weights on an experiment's evaluation set, as a run evaluates. The
 * independent reference is the run itself: a run's final evaluation (eval.csv's last row) is of its
 * final weights, and keep_best's best.safetensors holds the weights of its best row, so evaluating
 * those files must give those rows exactly (same clips, graphs and arithmetic: no tolerance).
 */
import { expect } from "chai";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { initWeights } from "../src/model/init.js";
import { resolveModel } from "../src/model/load-model.js";
import { readCsv } from "../src/results/csv-read.js";
import type { EvaluationRecord } from "../src/cli/commands/evaluate.js";
import { captureIo } from "./helpers/capture-io.js";
import { writeNpyRunInputs } from "./helpers/npy-run-inputs.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { fourBlockSpec, randomClips } from "./helpers/tiny-models.js";

const FIXTURES = resolve("test/fixtures/specs");

describe("sideways evaluate", function () {
  this.timeout(120_000);
  let dir = "";
  inFreshFolderEachTest("sideways-evaluate-", (d) => (dir = d));
  beforeEach(() => {
    cpSync(join(FIXTURES, "good.yaml"), join(dir, "good.yaml"));
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "models", "tiny.yaml"));
  });

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

  it("bad input is exit 2 naming what is wrong: weights of another model, a sweep, a folder without weights, no config beside a file", async () => {
    const runDir = await train();
    writeFileSync(join(dir, "models", "tiny.yaml"), readFileSync(join(dir, "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const other = await evaluate(runDir, "--experiment", "good.yaml");
    expect(other.status).to.equal(2);
    expect(other.io.stderr).to.include("expected the weights of model tiny, from good.yaml");

    writeFileSync(join(dir, "sweep.yaml"), `${readFileSync(join(dir, "good.yaml"), "utf8")}sweep: { seeds: [0, 1] }\n`);
    const sweep = await evaluate(runDir, "--experiment", "sweep.yaml");
    expect(sweep.status).to.equal(2);
    expect(sweep.io.stderr).to.include("sweep.yaml: sweep: evaluate takes one run's settings, found a sweep");

    const empty = await evaluate(join(dir, "models"));
    expect(empty.status).to.equal(2);
    expect(empty.io.stderr).to.include("is a folder with no final.safetensors or resume.safetensors in it");

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
