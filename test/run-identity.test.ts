/**
 * Run identity (issue 15): a run's id is the hash of its fully resolved config, a run folder is
 * never written into by another run, and a run folder's config.yaml trains the same run again,
 * bit-identically, even after the model file it came from has changed.
 */
import { expect } from "chai";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { main } from "../src/cli/main.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { configHash, resolvedConfig } from "../src/spec/resolved-config.js";
import { shortHash } from "../src/spec/run-id.js";
import { captureIo } from "./helpers/capture-io.js";

const FIXTURES = resolve("test/fixtures/specs");

const runFolders = (root: string) => (existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, "run-meta.json"))).sort() : []);

describe("run identity and reproducible run folders", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-identity-"));
    // A private copy of the experiment and its model file, so the test can edit the model.
    cpSync(join(FIXTURES, "good.yaml"), join(dir, "exp", "good.yaml"));
    cpSync(join(FIXTURES, "models", "tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it("`sideways run <run folder>/config.yaml` reproduces the run bit-identically, after the model file changed", async () => {
    const first = captureIo();
    expect(await main(["run", "exp/good.yaml", "train.steps=6", "--quiet"], first), first.stderr).to.equal(0);
    const [id] = runFolders(join(dir, "results", "good"));
    const runDir = join(dir, "results", "good", id);
    const config = parse(readFileSync(join(runDir, "config.yaml"), "utf8"));
    // Self-contained: the architecture inline, defaults filled in, no sweep.
    expect(config.model).to.deep.include({ name: "tiny", classes: 3 });
    expect(config.model.layers[0]).to.deep.equal({ type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1, bias: true });
    expect(config.sweep).to.equal(null);

    // The model file is edited afterwards: the run folder still says what was trained.
    writeFileSync(join(dir, "exp", "models", "tiny.yaml"), readFileSync(join(dir, "exp", "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const again = captureIo();
    expect(await main(["run", join(runDir, "config.yaml"), `output.dir=${join(dir, "again")}`, "--quiet"], again), again.stderr).to.equal(0);
    // The same resolved config is the same run: same id, same final weights to the bit.
    expect(runFolders(join(dir, "again"))).to.deep.equal([id]);
    expect(readFileSync(join(dir, "again", id, "final.safetensors")).equals(readFileSync(join(runDir, "final.safetensors")))).to.equal(true);

    // The edited model file is another run: a folder of its own, the first one untouched.
    expect(await main(["run", "exp/good.yaml", "train.steps=6", "--quiet"], captureIo())).to.equal(0);
    expect(runFolders(join(dir, "results", "good"))).to.have.length(2);
  });

  it("`sideways run <sweep run folder>/config.yaml` finds that sweep run: no second copy of it in the sweep's folder", async () => {
    cpSync(join(FIXTURES, "sweep-good.yaml"), join(dir, "exp", "sweep-good.yaml"));
    const sweep = captureIo();
    expect(await main(["sweep", "exp/sweep-good.yaml", "sweep.seeds=[0]", "--quiet"], sweep), sweep.stderr).to.equal(0);
    const root = join(dir, "results", "sweep-good");
    const before = runFolders(root);
    expect(before).to.have.length(2);
    const bp = before.find((id) => id.startsWith("method-bp_"))!;
    const weights = readFileSync(join(root, bp, "final.safetensors"));
    // The documented way to run a run again: its folder's config.yaml, here in place.
    const again = captureIo();
    expect(await main(["run", join(root, bp, "config.yaml")], again), again.stderr).to.equal(0);
    expect(again.stderr).to.include(`${join(root, bp)}: already completed`);
    // Nothing new in the sweep's folder (a copy under the bare hash would count in its table twice).
    expect(runFolders(root)).to.deep.equal(before);
    expect(readFileSync(join(root, bp, "final.safetensors")).equals(weights)).to.equal(true);
    // The base config of a sweep file is one of its runs too.
    const base = captureIo();
    expect(await main(["run", "exp/sweep-good.yaml", "train.method=sideways", "sweep.seeds=[0]"], base), base.stderr).to.equal(0);
    expect(base.stderr).to.include("already completed");
    expect(runFolders(root)).to.deep.equal(before);
  });

  it("output.dir is the experiment folder: runs with other settings get their own folders, nothing is replaced", async () => {
    for (const o of [[], ["train.method=bp"], ["train.steps=4"]]) {
      const io = captureIo();
      expect(await main(["run", "exp/good.yaml", ...o, "output.dir=out", "--quiet"], io), io.stderr).to.equal(0);
    }
    const ids = runFolders(join(dir, "out"));
    expect(ids).to.have.length(3);
    for (const id of ids) expect(JSON.parse(readFileSync(join(dir, "out", id, "summary.json"), "utf8")).status).to.equal("completed");
  });

  it("how often a run checkpoints and how far ahead it makes batches leave its id and weights alone; runtime.threads does not", async () => {
    const run = async (...o: string[]) => {
      const io = captureIo();
      expect(await main(["run", "exp/good.yaml", ...o, "--quiet"], io), io.stderr).to.equal(0);
    };
    await run("output.dir=a");
    const [id] = runFolders(join(dir, "a"));
    const finalA = join(dir, "a", id!, "final.safetensors");
    const before = readFileSync(finalA);
    // The same run: found completed, not trained again.
    await run("output.dir=a", "train.checkpoint_every=1", "data.prefetch=0");
    expect(runFolders(join(dir, "a"))).to.deep.equal([id]);
    expect(readFileSync(finalA).equals(before)).to.equal(true);
    // Trained elsewhere with those settings: the same id and the same file, byte for byte.
    await run("output.dir=b", "train.checkpoint_every=1", "data.prefetch=0");
    expect(runFolders(join(dir, "b"))).to.deep.equal([id]);
    expect(readFileSync(join(dir, "b", id!, "final.safetensors")).equals(before)).to.equal(true);
    await run("output.dir=a", "runtime.threads=2");
    expect(runFolders(join(dir, "a"))).to.have.length(2);
  });

  it("runtime.steps_per_call chains the device step's steps in fewer calls: the same id, the same weights byte for byte, a metrics row per step", async () => {
    // 7 steps, an evaluation every 3 and a checkpoint every 5: calls of 3, 2, 1 and 1 steps (callSteps).
    const run = async (out: string, ...o: string[]) => {
      const io = captureIo();
      expect(await main(["run", "exp/good.yaml", "runtime.device_step=true", "train.steps=7", "eval.every=3", "train.checkpoint_every=5", `output.dir=${out}`, ...o, "--quiet"], io), io.stderr).to.equal(0);
      const [id] = runFolders(join(dir, out));
      const folder = join(dir, out, id!);
      const summary = JSON.parse(readFileSync(join(folder, "summary.json"), "utf8"));
      const steps = readFileSync(join(folder, "metrics.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
      const evals = readFileSync(join(folder, "eval.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
      return { id, weights: readFileSync(join(folder, "final.safetensors")), summary, steps, evals };
    };
    const one = await run("k1");
    const three = await run("k3", "runtime.steps_per_call=3");
    expect(three.id).to.equal(one.id);
    expect(three.weights.equals(one.weights)).to.equal(true);
    expect(three.steps).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(three.evals).to.deep.equal(one.evals);
    expect(three.evals).to.deep.equal([3, 6, 7]);
    expect(three.summary.execution.at(-1).steps_per_call).to.equal(3);
    expect(one.summary.execution.at(-1).steps_per_call).to.equal(1);
  });

  it("runtime.steps_per_call above 1 without the device step: exit 2 naming the key and why", async () => {
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml", "runtime.steps_per_call=4", "output.dir=none"], io)).to.equal(2);
    expect(io.stderr).to.include("runtime.steps_per_call");
    expect(io.stderr).to.include("set it to true on the CPU");
    expect(existsSync(join(dir, "none"))).to.equal(false);
  });

  it("train.label_smoothing: 0 is the run without the key (one-hot targets, the same weights): found completed, not trained again; 0.1 is another run; output.keep_best is no part of the id", async () => {
    const run = async (...o: string[]) => {
      const io = captureIo();
      expect(await main(["run", "exp/good.yaml", "output.dir=a", ...o, "--quiet"], io), io.stderr).to.equal(0);
    };
    await run();
    const [id] = runFolders(join(dir, "a"));
    await run("train.label_smoothing=0");
    await run("output.keep_best=true");
    expect(runFolders(join(dir, "a"))).to.deep.equal([id]);
    // Trained elsewhere with ε = 0: the same id and the same weights, byte for byte.
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml", "output.dir=b", "train.label_smoothing=0", "--quiet"], io), io.stderr).to.equal(0);
    expect(runFolders(join(dir, "b"))).to.deep.equal([id]);
    expect(readFileSync(join(dir, "b", id!, "final.safetensors")).equals(readFileSync(join(dir, "a", id!, "final.safetensors")))).to.equal(true);
    await run("train.label_smoothing=0.1");
    expect(runFolders(join(dir, "a"))).to.have.length(2);
  });

  it("runs at the default checkpoint_every and prefetch keep the ids they had before those two were hashed at their defaults", () => {
    for (const o of [[], ["train.method=bp", "data.workers=2"]]) {
      const { spec, model, baseDir } = loadExperiment("exp/good.yaml", o);
      // The hash as it was: the resolved config without output, sweep, name and data.workers (and
      // without runtime.steps_per_call, a key added since).
      const { output: _o, sweep: _s, name: _n, ...rest } = resolvedConfig(spec, model, baseDir);
      const { workers: _w, ...data } = rest.data;
      const { steps_per_call: _k, ...runtime } = rest.runtime;
      expect(configHash(spec, model, baseDir)).to.equal(shortHash({ ...rest, runtime, data }));
    }
  });

  it("a run's id follows its init checkpoint's contents, not only its path: a changed file is a new run, the same bytes the same run", async () => {
    const trained = (steps: number) => {
      expect(runFolders(join(dir, `w${steps}`))).to.have.length(0);
      return main(["run", "exp/good.yaml", `train.steps=${steps}`, `output.dir=w${steps}`, "--quiet"], captureIo()).then((code) => {
        expect(code).to.equal(0);
        return readFileSync(join(dir, `w${steps}`, runFolders(join(dir, `w${steps}`))[0]!, "final.safetensors"));
      });
    };
    const [three, six] = [await trained(3), await trained(6)];
    expect(three.equals(six)).to.equal(false);
    const init = join(dir, "init.safetensors");
    const fromInit = async () => {
      const io = captureIo();
      expect(await main(["run", "exp/good.yaml", `train.init_checkpoint=${init}`, "output.dir=tuned", "--quiet"], io), io.stderr).to.equal(0);
      return runFolders(join(dir, "tuned"));
    };
    writeFileSync(init, three);
    const [first] = await fromInit();
    const firstWeights = readFileSync(join(dir, "tuned", first!, "final.safetensors"));
    // Same path, other weights (as another run's resume.safetensors after it went on): a new run.
    writeFileSync(init, six);
    const both = await fromInit();
    expect(both).to.have.length(2).and.include(first);
    expect(readFileSync(join(dir, "tuned", first!, "final.safetensors")).equals(firstWeights)).to.equal(true);
    // The same bytes written again (a new modification time): the same run, already completed.
    writeFileSync(init, Buffer.from(six));
    expect(await fromInit()).to.deep.equal(both);
  });

  it("a sweep's run whose init checkpoint changed after the sweep planned it is refused (exit 2), not written under the planned id", async () => {
    const io = captureIo();
    const meta = JSON.stringify({ index: 0, params: { seed: 0 }, config_id: "c0ffee00" });
    const args = ["run", "exp/good.yaml", "--child", "--run-id", "seed-0_0badf00d", "--run-dir", join(dir, "planned", "seed-0_0badf00d"), "--sweep-meta", meta, "--quiet"];
    expect(await main(args, io)).to.equal(2);
    expect(io.stderr).to.match(/run seed-0_0badf00d's config hash is now [0-9a-f]{8}: an input changed since the sweep planned it/);
    expect(existsSync(join(dir, "planned"))).to.equal(false);
  });

  it("output.dir naming a run's own folder is refused by run, sweep and validate (exit 2, naming the key and the folder above), nothing nested", async () => {
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet"], captureIo())).to.equal(0);
    const [id] = runFolders(join(dir, "out"));
    const files = readdirSync(join(dir, "out", id!)).sort();
    cpSync(join(FIXTURES, "sweep-good.yaml"), join(dir, "exp", "sweep-good.yaml"));
    for (const [cmd, file] of [["run", "exp/good.yaml"], ["validate", "exp/good.yaml"], ["sweep", "exp/sweep-good.yaml"]] as const) {
      const io = captureIo();
      expect(await main([cmd, file, `output.dir=out/${id}`, "--quiet"].filter((a) => cmd !== "validate" || a !== "--quiet"), io), `${cmd}: ${io.stderr}`).to.equal(2);
      expect(io.stderr).to.include(`${file}: output.dir: ${join(dir, "out", id)} is one run's folder`).and.include(`such as ${join(dir, "out")}`);
    }
    expect(readdirSync(join(dir, "out", id!)).sort()).to.deep.equal(files);
  });

  it("paths given as overrides are relative to the current directory; paths in the file, swept ones too, to the file", async () => {
    // From the folder above exp/: the override's path is the one the user sees from here.
    const v = captureIo();
    expect(await main(["validate", "exp/good.yaml", "model=exp/models/tiny.yaml"], v), v.stderr).to.equal(0);
    const missing = captureIo();
    expect(await main(["validate", "exp/good.yaml", "train.init_checkpoint=w/final.safetensors"], missing)).to.equal(2);
    expect(missing.stderr).to.include(`looked for ${join(dir, "w", "final.safetensors")}`);
    // A sweep over model files named in the file, relative to it: each run's child process gets them right.
    writeFileSync(join(dir, "exp", "models", "tiny5.yaml"), readFileSync(join(dir, "exp", "models", "tiny.yaml"), "utf8").replace("out_channels: 4", "out_channels: 5"));
    const sweepFile = join(dir, "exp", "sweep-models.yaml");
    writeFileSync(sweepFile, readFileSync(join(dir, "exp", "good.yaml"), "utf8") + "sweep: { grid: { model: [models/tiny.yaml, models/tiny5.yaml] } }\n");
    const sweep = captureIo();
    expect(await main(["sweep", "exp/sweep-models.yaml", "output.dir=swept", "--quiet"], sweep), sweep.stderr).to.equal(0);
    const layers = runFolders(join(dir, "swept")).map((id) => parse(readFileSync(join(dir, "swept", id, "config.yaml"), "utf8")).model.layers[0].out_channels);
    expect(layers.sort()).to.deep.equal([4, 5]);
  });

  it("a folder holding another run is never written into: exit 2 naming both ids; --force replaces it", async () => {
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet"], captureIo())).to.equal(0);
    const [id] = runFolders(join(dir, "out"));
    const metaPath = join(dir, "out", id, "run-meta.json");
    const meta = JSON.parse(readFileSync(metaPath, "utf8"));
    // As if an older version had put another config's run under this id.
    writeFileSync(metaPath, JSON.stringify({ ...meta, run_id: "other-run", config_hash: "0badf00d" }));
    const weights = readFileSync(join(dir, "out", id, "final.safetensors"));
    const v = captureIo();
    expect(await main(["validate", "exp/good.yaml", "output.dir=out"], v)).to.equal(2);
    expect(v.stderr).to.include("holds run other-run");
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet"], io)).to.equal(2);
    expect(io.stderr).to.include("holds run other-run (config 0badf00d)").and.include(`not run ${id}`).and.include("--force");
    expect(readFileSync(join(dir, "out", id, "final.safetensors")).equals(weights)).to.equal(true);
    expect(JSON.parse(readFileSync(metaPath, "utf8")).run_id).to.equal("other-run");
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet", "--force"], captureIo())).to.equal(0);
    expect(JSON.parse(readFileSync(metaPath, "utf8")).run_id).to.equal(id);
  });

  it("a run folder whose run-meta.json cannot be read is not deleted to start afresh: exit 2 naming the file; --force replaces it", async () => {
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet"], captureIo())).to.equal(0);
    const [id] = runFolders(join(dir, "out"));
    const metaPath = join(dir, "out", id, "run-meta.json");
    // Cut short by hand or by a damaged disk: which run the folder holds is unknown.
    writeFileSync(metaPath, '{"run_id": "');
    const weights = readFileSync(join(dir, "out", id, "final.safetensors"));
    for (const command of ["validate", "run"]) {
      const io = captureIo();
      expect(await main([command, "exp/good.yaml", "output.dir=out", "--quiet"].filter((a) => command === "run" || a !== "--quiet"), io), command).to.equal(2);
      expect(io.stderr).to.include(`${metaPath} cannot be read`).and.include("--force").and.not.include("BUG");
    }
    expect(readFileSync(join(dir, "out", id, "final.safetensors")).equals(weights)).to.equal(true);
    expect(readFileSync(metaPath, "utf8")).to.equal('{"run_id": "');
    expect(await main(["run", "exp/good.yaml", "output.dir=out", "--quiet", "--force"], captureIo())).to.equal(0);
    expect(JSON.parse(readFileSync(metaPath, "utf8")).run_id).to.equal(id);
  });

  it("a sweep whose run folder has an unreadable run-meta.json is exit 2 before any run starts, not a failed run to retry", async () => {
    cpSync(join(FIXTURES, "sweep-good.yaml"), join(dir, "exp", "sweep-good.yaml"));
    const args = ["sweep", "exp/sweep-good.yaml", "sweep.seeds=[0]", "output.dir=out", "--quiet"];
    expect(await main(args, captureIo())).to.equal(0);
    const [id, other] = runFolders(join(dir, "out"));
    const metaPath = join(dir, "out", id, "run-meta.json");
    writeFileSync(metaPath, '{"run_id": "');
    // The other run is left to train again: the sweep must stop before it, not after.
    rmSync(join(dir, "out", other, "summary.json"));
    const weights = readFileSync(join(dir, "out", id, "final.safetensors"));
    const io = captureIo();
    expect(await main(args, io), io.stderr).to.equal(2);
    expect(io.stderr).to.include(`${metaPath} cannot be read`).and.not.include("run the sweep again");
    expect(existsSync(join(dir, "out", other, "summary.json")), "no run started").to.equal(false);
    expect(readFileSync(join(dir, "out", id, "final.safetensors")).equals(weights)).to.equal(true);
    expect(await main([...args, "--force"], captureIo())).to.equal(0);
    expect(JSON.parse(readFileSync(metaPath, "utf8")).run_id).to.equal(id);
  });
});
