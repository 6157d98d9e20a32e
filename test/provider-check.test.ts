/**
 * The pre-run provider check (cli/preflight.ts checkProvider) on every GPU of runtime.device_id.
 * A list places depth-parallel stages on several GPUs; a bad later index used to pass the check
 * (only the first GPU was opened) and fail only when its stage's worker started, with exit 1.
 * No CUDA here: the sessions are opened through the check's opener seam by a fake that behaves as
 * onnxruntime's CUDA EP does on a machine with `gpus` GPUs (session creation on a missing device
 * fails: the EP calls cudaSetDevice when it is created).
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exitCodeFor } from "../src/cli/exit-codes.js";
import { main } from "../src/cli/main.js";
import { checkProvider, distinctForPreflight, preflight, preflightRuns, type ProviderSessionOpener } from "../src/cli/preflight.js";
import { planSweep } from "../src/spec/sweep-expand.js";
import { placeSingleRun, runOne } from "../src/cli/run-one.js";
import { InputError, ProviderError } from "../src/errors.js";
import type { ProviderOptions } from "../src/runtime/providers.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import type { ProgressReporter } from "../src/train/run-types.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";

const GOOD = resolve("test/fixtures/specs/good.yaml");
const TINY_MODEL = resolve("test/fixtures/specs/models/tiny.yaml");

/** A fake opener for a machine with `gpus` CUDA devices; records every (provider, device) opened. */
function machineWith(gpus: number): { open: ProviderSessionOpener; opened: ProviderOptions[] } {
  const opened: ProviderOptions[] = [];
  const open: ProviderSessionOpener = async (opts, label) => {
    opened.push(opts);
    const id = opts.deviceId ?? 0;
    if (opts.provider === "cuda" && id >= gpus) {
      throw new ProviderError(`cannot create a CUDA session for ${label}: CUDA failure 101: invalid device ordinal ; GPU=${id}`);
    }
  };
  return { open, opened };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("the provider check opens every GPU of runtime.device_id", function () {
  this.timeout(30_000);

  it("[0, 7] on a 1-GPU machine: exit 2 before training, naming runtime.device_id and GPU 7, from the experiment file and the override that set it", async () => {
    const exp = loadExperiment(GOOD, ["runtime.provider=cuda", "runtime.device_id=[0, 7]", "runtime.workers=2"]);
    const m = machineWith(1);
    const err = await rejection(preflight(exp.spec, exp.model, exp.baseDir, exp, false, m.open));
    expect(m.opened.map((o) => o.deviceId)).to.deep.equal([0, 7]);
    expect(err).to.be.instanceOf(InputError);
    expect(exitCodeFor(err)).to.equal(2);
    expect((err as InputError).keyPath).to.equal("runtime.device_id");
    expect(err.message).to.match(new RegExp(`^${GOOD.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} with override 'runtime\\.device_id=\\[0, 7\\]': runtime\\.device_id: \\[0, 7\\]: GPU 7 cannot run a CUDA session \\(GPU 0 can\\)`));
    expect(err.message).to.include("invalid device ordinal").and.include("nvidia-smi -L");
  });

  it("a bad first index is found the same way ([7, 0]), and every distinct GPU is opened once", async () => {
    const bad = loadExperiment(GOOD, ["runtime.provider=cuda", "runtime.device_id=[7, 0]", "runtime.workers=2"]).spec;
    const m = machineWith(1);
    const err = await rejection(checkProvider(bad, m.open));
    expect(m.opened.map((o) => o.deviceId)).to.deep.equal([7, 0]);
    expect((err as InputError).keyPath).to.equal("runtime.device_id");
    expect(err.message).to.match(/^runtime\.device_id: \[7, 0\]: GPU 7 cannot run a CUDA session \(GPU 0 can\)/);

    const good = loadExperiment(GOOD, ["runtime.provider=cuda", "runtime.device_id=[1, 0, 1, 0]", "runtime.workers=2"]).spec;
    const two = machineWith(2);
    await checkProvider(good, two.open);
    expect(two.opened.map((o) => [o.provider, o.deviceId])).to.deep.equal([["cuda", 1], ["cuda", 0]]);
  });

  it("when no listed GPU works, the provider's own error stands (not installed, no GPU), with the GPU in its label", async () => {
    const spec = loadExperiment(GOOD, ["runtime.provider=cuda", "runtime.device_id=[0, 1]", "runtime.workers=2"]).spec;
    const m = machineWith(0);
    const err = await rejection(checkProvider(spec, m.open));
    expect(err).to.be.instanceOf(ProviderError);
    expect((err as InputError).keyPath).to.equal(undefined);
    expect(err.message).to.match(/^cannot create a CUDA session for the provider check \(runtime\.provider: cuda, runtime\.device_id: GPU 0\)/);
  });

  it("a sweep's kinds of run (two methods, two worker counts) try each provider and GPU list once", async () => {
    const exp = loadExperiment(resolve("test/fixtures/specs/sweep-good.yaml"), ["runtime.provider=cuda", "sweep.grid.runtime.workers=[1, 2]"]);
    const runs = planSweep(exp);
    const m = machineWith(1);
    await preflightRuns(runs, exp.baseDir, exp, true, m.open);
    // 8 runs, 4 kinds for preflight (method x workers), one CUDA session.
    expect(distinctForPreflight(runs)).to.have.length(4);
    expect(m.opened.map((o) => `${o.provider}:${o.deviceId}`)).to.deep.equal(["cuda:0"]);
  });

  it("the CPU provider takes no device: one session, whatever runtime.device_id says", async () => {
    const spec = loadExperiment(GOOD, ["runtime.device_id=[0, 7]", "runtime.workers=2"]).spec;
    const m = machineWith(0);
    await checkProvider(spec, m.open);
    expect(m.opened.map((o) => o.provider)).to.deep.equal(["cpu"]);
  });

  it("`run` makes the same check before any stage starts: exit 2 naming runtime.device_id, no run folder", async () => {
    const out = mkdtempSync(join(tmpdir(), "sideways-devices-"));
    try {
      const exp = loadExperiment(GOOD, ["runtime.provider=cuda", "runtime.device_id=[0, 7]", "runtime.workers=2", `output.dir=${out}`]);
      const silent: ProgressReporter = { runStarted() {}, stepDone() {}, evalDone() {}, runEnded() {}, log() {}, warn() {} };
      const m = machineWith(1);
      const err = await rejection(runOne(exp, placeSingleRun(exp), silent, false, false, m.open));
      expect(m.opened.map((o) => o.deviceId)).to.deep.equal([0, 7]);
      expect(exitCodeFor(err)).to.equal(2);
      expect((err as InputError).keyPath).to.equal("runtime.device_id");
      expect(err.message).to.match(/good\.yaml with override 'runtime\.device_id=\[0, 7\]': runtime\.device_id: \[0, 7\]: GPU 7 cannot run a CUDA session/);
      expect(readdirSync(out)).to.deep.equal([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("runtime.provider: cuda on a machine without the CUDA build", function () {
  this.timeout(60_000);
  let dir: string;
  const cwd = process.cwd();
  const saved = process.env.SIDEWAYS_CUDA_DIR;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-no-cuda-"));
    process.env.SIDEWAYS_CUDA_DIR = join(dir, "no-cuda-build"); // the same on every machine
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.SIDEWAYS_CUDA_DIR;
    else process.env.SIDEWAYS_CUDA_DIR = saved;
  });

  it("validate and run: exit 2 naming the experiment file, the setting, the install command and the alternatives; nothing written", async () => {
    const file = join(dir, "exp.yaml");
    writeFileSync(file, readFileSync(GOOD, "utf8").replace("models/tiny.yaml", TINY_MODEL) + "runtime: { provider: cuda }\n");
    for (const command of ["validate", "run"]) {
      const io = captureIo();
      expect(await main(command === "run" ? [command, file, "--quiet"] : [command, file], io), io.stderr).to.equal(2);
      const text = io.stderr;
      expect(text, command).to.include(`error: ${file}: runtime.provider: cuda: the CUDA execution provider is not installed on this machine`);
      expect(text, command).to.include(join(dir, "no-cuda-build", "sideways-cuda13.json"));
      expect(text, command).to.include("`sideways gpu install cuda13`");
      expect(text, command).to.match(/runtime\.provider: cpu .*webgpu/);
      expect(text, command).not.to.match(/\bat .*\.js:\d+/);
    }
    expect(readdirSync(dir).sort()).to.deep.equal(["exp.yaml"]);
  });
});

describe("runtime.device_id: GPUs no part of the run would use", function () {
  this.timeout(60_000);
  let dir: string;
  inFreshFolderEachTest("sideways-unused-gpu-", (d) => (dir = d));

  // Checked before any session is made: the same outcome on machines with and without CUDA.
  it("replicas, a single stage, fewer stages than GPUs: exit 2 naming runtime.device_id and the idle GPUs (validate and run)", async () => {
    const cases: [string[], RegExp][] = [
      [["runtime.device_id=[0, 1]", "runtime.replicas=2"], /runtime\.device_id: \[0, 1\]: GPU 1 would never be used: with runtime\.replicas: 2 every data-parallel replica runs on GPU 0/],
      [["runtime.device_id=[0, 1]"], /runtime\.device_id: \[0, 1\]: GPU 1 would never be used: with one stage \(runtime\.workers: 1\) everything runs on GPU 0/],
      [["runtime.device_id=[3, 1, 2]", "runtime.workers=2"], /runtime\.device_id: \[3, 1, 2\]: GPU 2 would never be used: 2 depth-parallel stages \(runtime\.workers: 2\) run on device_id\[s mod 3\]/],
      [["runtime.device_id=[0, 1, 2]", "runtime.workers=4"], /runtime\.device_id: \[0, 1, 2\]: GPU 2 would never be used: 2 depth-parallel stages \(runtime\.workers: 4 = 2 stages here: at most one per block of 2\) run on device_id\[s mod 3\]/],
    ];
    for (const [overrides, expected] of cases) {
      for (const command of ["validate", "run"]) {
        const io = captureIo();
        expect(await main([command, GOOD, "runtime.provider=cuda", ...overrides, ...(command === "run" ? ["--quiet"] : [])], io), `${command} ${overrides}: ${io.stderr}`).to.equal(2);
        // The override that set runtime.device_id is named beside the file (spec/override-source.ts).
        const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        expect(io.stderr, `${command} ${overrides}`).to.match(new RegExp(`^error: ${escape(GOOD)} with override '${escape(overrides[0])}': ${expected.source}`));
      }
    }
    expect(readdirSync(dir)).to.deep.equal([]);
    // The CPU provider places nothing on a GPU: the list means nothing there and is not refused.
    expect(await main(["validate", GOOD, "runtime.device_id=[0, 1]", "runtime.replicas=2"], captureIo())).to.equal(0);
  });
});

describe("validate on a sweep checks each run that differs in what the pre-run checks look at", function () {
  this.timeout(60_000);
  it("a grid over runtime.device_step: the later value is checked too (the runs were told apart by provider and device_id, not workers, replicas, device_step)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-sweep-preflight-"));
    try {
      const file = join(dir, "sweep.yaml");
      const base = readFileSync(GOOD, "utf8").replace("models/tiny.yaml", TINY_MODEL).replace("name: good", "name: sweep-preflight");
      // 2-frame clips: the device step needs 2L-1 = 3; only its run is refused (exit 2), the other is fine.
      writeFileSync(file, base.replace("clip_length: 4", "clip_length: 2") + "sweep: { grid: { runtime.device_step: [false, true] } }\n");
      const io = captureIo();
      expect(await main(["validate", file, "--allow-warnings"], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include("runtime.device_step: expected false or auto");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
