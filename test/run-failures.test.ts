/**
 * How runs end when something goes wrong (issue 3, "failure handling"): a worker that throws
 * mid-run and a loss that becomes NaN. Each runs the real CLI in a child process, so exit status,
 * the message and the absence of leftover threads (the process exits) are what a user sees.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { runFolderIn } from "./helpers/run-folder.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));

function experiment(dir: string, overrides: Record<string, unknown>): string {
  const spec = {
    name: "failures",
    seed: 0,
    model: {
      name: "tiny",
      input: { channels: 1, height: 16, width: 16 },
      classes: 4,
      layers: [
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
        { type: "relu" },
        { type: "conv2d", out_channels: 4, kernel: 3, stride: 2, padding: 1 },
        { type: "relu" },
        { type: "conv2d", out_channels: 4, kernel: 3, padding: 1 },
        { type: "global_avg_pool" },
        { type: "linear", out_features: 4 },
      ],
    },
    data: { kind: "shapes", clip_length: 8 },
    train: { method: "sideways", batch_size: 2, steps: 5, optimizer: { kind: "sgd", lr: 0.01 } },
    runtime: { workers: 2 },
    eval: { every: 0, clips: 4 },
    output: { dir: join(dir, "run") },
    ...overrides,
  };
  const file = join(dir, "exp.yaml");
  writeFileSync(file, stringify(spec));
  return file;
}

describe("run failures (CLI, child process)", function () {
  this.timeout(60_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("a worker that throws mid-run: exit 1, message naming block and stage, process ends, no final weights", () => {
    const dir = tempFolder("sideways-fail-");
    const file = experiment(dir, {});
    // Block 2's third backward call throws inside its worker (stage 1 of 2), during step 1 or 2.
    const r = spawnSync(process.execPath, [cli, "run", file, "--quiet"], {
      env: { ...process.env, SIDEWAYS_FAILPOINT: "block:2:call:3" },
      encoding: "utf8",
      timeout: 45_000, // a hang would be killed here and fail the status check below
    });
    expect(r.signal, "the process ended by itself").to.equal(null);
    expect(r.status, r.stderr).to.equal(1);
    // The split is balanced by measured cost, so block 2 sits in stage 0 or 1 depending on the
    // machine's timings: the stage named must be the one that holds it.
    const stage = /stage ([01]) \(blocks ([0-9])-([0-9])\)/.exec(r.stderr);
    expect(stage, r.stderr).to.not.equal(null);
    const [, s, first, last] = stage!.map(Number);
    expect(first <= 2 && 2 <= last, `stage ${s} holds blocks ${first}-${last}`).to.equal(true);
    expect(s === 0 ? first : last, `stage ${s} of 2 starts at block 0 or ends at block 3`).to.equal(s === 0 ? 0 : 3);
    expect(r.stderr).to.match(/block 2/);
    const summary = JSON.parse(readFileSync(join(runFolderIn(join(dir, "run")), "summary.json"), "utf8"));
    expect(summary.status).to.equal("failed");
    expect(existsSync(join(runFolderIn(join(dir, "run")), "final.safetensors"))).to.equal(false);
  });

  it("the same run without the failure completes (the failpoint, not the set-up, caused the failure)", () => {
    const dir = tempFolder("sideways-fail-");
    const r = spawnSync(process.execPath, [cli, "run", experiment(dir, {}), "--quiet"], { encoding: "utf8", timeout: 45_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(existsSync(join(runFolderIn(join(dir, "run")), "final.safetensors"))).to.equal(true);
  });

  it("a loss that becomes NaN: exit 3, status nan_loss, no final weights, metrics rows all finite", () => {
    const dir = tempFolder("sideways-nan-");
    const file = experiment(dir, {
      runtime: { workers: 1 },
      train: { method: "bp", batch_size: 2, steps: 50, optimizer: { kind: "sgd", lr: 1e30 } },
    });
    // Not --quiet: the progress lines are shown too.
    const r = spawnSync(process.execPath, [cli, "run", file], { encoding: "utf8", timeout: 45_000 });
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stderr).to.match(/not finite|NaN|Infinity/);
    const summary = JSON.parse(readFileSync(join(runFolderIn(join(dir, "run")), "summary.json"), "utf8"));
    expect(summary.status).to.equal("nan_loss");
    // The error is said once, as the last line; the run's "nan_loss after" line leaves it to that.
    expect(r.stderr.split(summary.message), r.stderr).to.have.length(2);
    expect(r.stderr.trimEnd().split("\n").at(-1)).to.equal(`run failed: ${summary.message}`);
    expect(r.stderr).to.match(/: nan_loss after 1 step in [\d.]+ s\n/);
    expect(existsSync(join(runFolderIn(join(dir, "run")), "final.safetensors"))).to.equal(false);
    const rows = readFileSync(join(runFolderIn(join(dir, "run")), "metrics.csv"), "utf8").trim().split("\n").slice(1);
    for (const row of rows) expect(row).not.to.match(/nan|inf/i);
  });

  it("runtime.provider=cuda without the CUDA build installed: exit 2, what to install, nothing on disk", function () {
    const dir = tempFolder("sideways-cuda-");
    const file = experiment(dir, { runtime: { provider: "cuda", workers: 1 } });
    // An empty install folder: the same outcome on every machine, with or without a GPU.
    const env = { ...process.env, SIDEWAYS_CUDA_DIR: join(dir, "no-cuda-build") };
    const r = spawnSync(process.execPath, [cli, "run", file, "--quiet"], { encoding: "utf8", timeout: 45_000, env });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include("the CUDA execution provider is not installed");
    expect(r.stderr).to.include("sideways gpu install cuda13");
    expect(r.stderr).not.to.match(/\bat .*\.js:\d+/); // no stack trace
    expect(existsSync(join(dir, "run"))).to.equal(false);
  });

  it("an output folder that cannot be made (a file is in its path): exit 2 naming the path, no stack trace, the file untouched", () => {
    const dir = tempFolder("sideways-outdir-");
    const blocker = join(dir, "afile");
    writeFileSync(blocker, "keep me");
    for (const out of [join(blocker, "sub"), blocker]) {
      const file = experiment(dir, { output: { dir: out } });
      const r = spawnSync(process.execPath, [cli, "run", file, "--quiet"], { encoding: "utf8", timeout: 45_000 });
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include(blocker).and.include("check the paths given: output.dir");
      expect(r.stderr).not.to.include("BUG");
      expect(r.stderr).not.to.match(/\bat .*\.js:\d+/);
      expect(readFileSync(blocker, "utf8")).to.equal("keep me");
    }
  });
});
