/**
 * run-meta.json says where a run's numbers came from (src/results/provenance.ts): the git commit
 * the code was checked out at and whether the tree had changes, the versions, the machine; and a
 * resumed run keeps the provenance of the attempts before it.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { RunError } from "../src/errors.js";
import { CODE_PATHS, gitState } from "../src/results/provenance.js";
import { type RunMeta, startRunDir } from "../src/results/run-dir.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const REPO = resolve(".");
const git = (dir: string, ...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }).trim();
const readMeta = (dir: string) => JSON.parse(readFileSync(join(dir, "run-meta.json"), "utf8")) as RunMeta;

describe("run provenance in run-meta.json", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "sideways-provenance-"))));
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a run records this checkout's HEAD and dirty flag as git reports them, the versions and the machine", async () => {
    cpSync(resolve("test/fixtures/specs/good.yaml"), join(dir, "exp", "good.yaml"));
    cpSync(resolve("test/fixtures/specs/models/tiny.yaml"), join(dir, "exp", "models", "tiny.yaml"));
    // What git says of the repository the tests run from, asked before the run (the run writes only under dir).
    const head = git(REPO, "rev-parse", "HEAD");
    const dirty = git(REPO, "status", "--porcelain", "--", ...CODE_PATHS).length > 0;
    process.chdir(dir);
    const io = captureIo();
    expect(await main(["run", "exp/good.yaml", "--quiet"], io), io.stderr).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const [p, ...more] = readMeta(join(dir, "results", "good", id)).provenance!;
    expect(more).to.have.length(0);
    expect(p.git_commit).to.equal(head);
    expect(p.git_dirty).to.equal(dirty);
    expect(p.sideways_version).to.equal(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version);
    const ortPkg = createRequire(join(REPO, "package.json")).resolve("onnxruntime-node/package.json");
    expect(p.onnxruntime_node).to.equal(JSON.parse(readFileSync(ortPkg, "utf8")).version);
    // A CPU run in this process: the bundled build (the CUDA one would say cuda13 and its own version).
    expect(p.onnxruntime_build).to.equal("bundled");
    expect(p.node).to.equal(process.version);
    expect(p.cpus).to.equal(cpus().length);
    // Stamped by this run: within the last minute.
    expect(Date.now() - Date.parse(p.started_at)).to.be.within(0, 60_000);
  });

  it("gitState: nulls outside git; the commit, then dirty after a change to a tracked code file or a new one, not for the user's own experiment files", () => {
    expect(gitState(dir)).to.deep.equal({ commit: null, dirty: null });
    git(dir, "init", "-q");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "a.ts"), "one\n");
    writeFileSync(join(dir, "package.json"), "{}\n");
    git(dir, "add", "src/a.ts", "package.json");
    git(dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one");
    expect(gitState(dir)).to.deep.equal({ commit: git(dir, "rev-parse", "HEAD"), dirty: false });
    writeFileSync(join(dir, "src", "a.ts"), "two\n");
    expect(gitState(dir).dirty).to.equal(true);
    git(dir, "checkout", "--", "src/a.ts");
    expect(gitState(dir).dirty).to.equal(false);
    // A new experiment or model file of the user's: its run's config.yaml holds it, whole.
    mkdirSync(join(dir, "experiments"));
    writeFileSync(join(dir, "experiments", "mine.yaml"), "name: mine\n");
    expect(gitState(dir).dirty).to.equal(false);
    writeFileSync(join(dir, "src", "b.ts"), "new\n");
    expect(gitState(dir).dirty).to.equal(true);
    rmSync(join(dir, "src", "b.ts"));
    writeFileSync(join(dir, "package.json"), '{"dependencies": {}}\n');
    expect(gitState(dir).dirty).to.equal(true);
  });

  it("a resumed attempt appends its provenance; a restart from step 0 keeps the earlier ones, marked; --force has only its own", () => {
    const runDir = join(dir, "run");
    const meta: RunMeta = { run_id: "r", config_id: "r", config_hash: "r", experiment: "t", index: 0, params: {}, seed: 0, method: "bp" };
    startRunDir(runDir, meta)();
    const first = readMeta(runDir).provenance!;
    expect(first).to.have.length(1);
    startRunDir(runDir, meta, { keep: true })();
    const resumed = readMeta(runDir).provenance!;
    expect(resumed).to.have.length(2);
    expect(resumed[0]).to.deep.equal(first[0]);
    // Started again without a checkpoint (none was written): the attempts that ran stay, marked.
    startRunDir(runDir, meta)();
    const restarted = readMeta(runDir).provenance!;
    expect(restarted.slice(0, 2)).to.deep.equal(resumed.map((a) => ({ ...a, left_no_checkpoint: true })));
    expect(restarted).to.have.length(3);
    // A meta that carries provenance of its own (read from an older folder) does not smuggle it in.
    startRunDir(runDir, { ...meta, provenance: resumed }, { force: true })();
    expect(readMeta(runDir).provenance).to.have.length(1);
  });

  it("a fresh start under the lock leaves a resume checkpoint that another process wrote since the run was looked at", () => {
    const runDir = join(dir, "run");
    const meta: RunMeta = { run_id: "r", config_id: "r", config_hash: "r", experiment: "t", index: 0, params: {}, seed: 0, method: "bp" };
    startRunDir(runDir, meta)();
    writeFileSync(join(runDir, "resume.safetensors"), "another process's checkpoint");
    expect(() => startRunDir(runDir, meta)).to.throw(RunError, /was started and stopped with a resume checkpoint by another process while this one set up; nothing was removed/);
    expect(readFileSync(join(runDir, "resume.safetensors"), "utf8")).to.equal("another process's checkpoint");
    startRunDir(runDir, meta, { keep: true })(); // resuming it, as the next attempt does
    startRunDir(runDir, meta, { force: true })(); // --force starts afresh
    expect(existsSync(join(runDir, "resume.safetensors"))).to.equal(false);
  });
});

describe("summary.json execution: what the run's settings resolved to", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  inFreshFolderEachTest("sideways-execution-", (d) => (dir = d));

  /** The execution record of one run of good.yaml (tiny: 2 blocks; clips of 4 frames, batches of 2) with overrides. */
  async function executionOf(...overrides: string[]): Promise<Record<string, unknown>> {
    const out = `o${readdirSync(dir).length}`;
    const io = captureIo();
    expect(await main(["run", resolve(cwd, "test/fixtures/specs/good.yaml"), ...overrides, `output.dir=${out}`, "--quiet"], io), io.stderr).to.equal(0);
    const [id] = readdirSync(join(dir, out));
    const { execution } = JSON.parse(readFileSync(join(dir, out, id, "summary.json"), "utf8"));
    expect(execution).to.have.length(1);
    return execution[0];
  }

  it("stages, replicas, device step, BP's frames per pass and the graph target, as the run used them", async () => {
    const staged = await executionOf("train.method=bp", "runtime.workers=2", "train.bp_frames_per_pass=3");
    expect(staged).to.deep.include({ provider: "cpu", device_id: 0, threads: 1, stages: [[0], [1]], replicas: 1, device_step: false, device_step_clips: null, bp_frames_per_pass: 3 });
    expect(staged.graph_target).to.include({ cpu: true });
    expect(await executionOf("train.method=bp", "train.bp_frames_per_pass=all")).to.deep.include({ stages: [[0, 1]], bp_frames_per_pass: 4 });
    expect(await executionOf("train.method=bp", "runtime.replicas=2")).to.deep.include({ stages: [[0, 1], [0, 1]], replicas: 2, device_step: false });
    // The data here are 8-bit, but the CPU provider reads the float clips in place (deviceStepClipInput).
    expect(await executionOf("train.method=sideways", "runtime.device_step=true")).to.deep.include({ device_step: true, device_step_clips: "float32", bp_frames_per_pass: null });
  });
});
