/**
 * `sideways bench` end to end on a tiny model: it runs every configuration and writes the JSON a
 * paper's figures come from. Speeds are measured, never asserted (docs/BENCHMARKS.md).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fourBlockModel } from "./helpers/tiny-models.js";
import { writeModelFile } from "./helpers/npy-run-inputs.js";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));

describe("sideways bench (CLI)", function () {
  this.timeout(120_000);
  const tempFolder = tempFoldersRemovedAfterEachTest();

  it("writes a row per method and configuration, stage busy fractions and the speed-up ratios", () => {
    const dir = tempFolder("sideways-bench-");
    const model = fourBlockModel();
    writeModelFile(dir, model);
    const json = join(dir, "bench.json");
    const r = spawnSync(process.execPath, [cli, "bench", "--model", join(dir, "model.yaml"), "--batch", "2", "--frames", "8", "--rounds", "1", "--threads", "1", "--quick", "--json", json], {
      encoding: "utf8",
      timeout: 100_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(readFileSync(json, "utf8"));
    const workers = Math.min(availableParallelism(), model.blocks.length);
    const methods = new Set(out.rows.map((row: { method: string }) => row.method));
    expect([...methods].sort()).to.deep.equal(["bp (auto passes)", "bp (frame by frame)", "gpipe", "pipelined-bp", "sideways"].sort());
    for (const row of out.rows) {
      expect(row.frames_per_s, row.method).to.be.greaterThan(0);
      expect(row.busy_fraction_per_stage).to.have.length(row.executor === "sequential" ? 1 : row.workers);
      for (const b of row.busy_fraction_per_stage) expect(b).to.be.within(0, 1);
      expect(row.predicted_idle_per_stage).to.have.length(row.busy_fraction_per_stage.length);
      for (const idle of row.predicted_idle_per_stage) expect(idle).to.be.within(0, 1);
      expect(row.predicted_idle_tick_barrier_per_stage).to.have.length(row.busy_fraction_per_stage.length);
      expect(row.predicted_idle_measured_work_per_stage).to.have.length(row.busy_fraction_per_stage.length);
      // Time awaiting a neighbour is part of the time outside onnxruntime; one stage never waits.
      row.wait_fraction_per_stage.forEach((w: number, s: number) => expect(w).to.be.within(0, 1 - row.busy_fraction_per_stage[s] + 1e-9));
      if (row.executor !== "parallel") for (const w of row.wait_fraction_per_stage) expect(w).to.equal(0);
      expect(row.outside_ms_per_action).to.be.a("number").and.to.be.at.least(0);
      if (row.other_processes_cores !== null) expect(row.other_processes_cores).to.be.at.least(0);
      // The stash is measured by the schedule interpreter (pipelined-bp and gpipe here); BP's pass and
      // Sideways' tick run as one graph and measure none: null, not a 0 MB stash beside pipelined-bp's.
      const interpreted = ["pipelined-bp", "gpipe"].includes(row.method);
      for (const mb of row.stash_mb_per_stage) interpreted ? expect(mb, row.method).to.be.greaterThan(0) : expect(mb, row.method).to.equal(null);
    }
    if (workers > 1) {
      for (const executor of ["parallel", "replicas"]) {
        expect(out.rows.some((row: { executor: string; method: string }) => row.executor === executor && row.method === "sideways"), executor).to.equal(true);
      }
      expect(out.speedup_sideways_parallel_over_bp_replicas).to.be.a("number").and.to.be.greaterThan(0);
    }
    for (const key of ["speedup_sideways_parallel_over_bp", "speedup_sideways_parallel_over_best_bp", "speedup_sideways_parallel_over_sequential"]) {
      expect(out[key], key).to.be.a("number").and.to.be.greaterThan(0);
    }
    expect(out.block_forward_ms).to.have.length(model.blocks.length);
    expect(out.block_backward_ms).to.have.length(model.blocks.length);
    expect(out.step_quickstart.map((row: { method: string; path: string }) => `${row.method} ${row.path}`)).to.include.members(["bp host", "bp device", "sideways host", "sideways device"]);
    expect(out.step_quickstart[0]).to.include.keys("step_ms_median", "frames_per_s", "onnxruntime_ms_median", "orchestrator_ms_median");
    expect(r.stdout).to.include("| method | executor |");
  });

  it("--step: BP and Sideways, each by the host path and the device step, on the same model and batch", () => {
    const dir = tempFolder("sideways-bench-step-");
    const model = fourBlockModel();
    writeModelFile(dir, model);
    const run = (frames: number, flag = "--step") => {
      const json = join(dir, `step-${frames}.json`);
      const r = spawnSync(process.execPath, [cli, "bench", flag, "--model", join(dir, "model.yaml"), "--batch", "2", "--frames", String(frames), "--rounds", "2", "--threads", "1", "--json", json], { encoding: "utf8", timeout: 100_000 });
      expect(r.status, r.stderr).to.equal(0);
      return { out: JSON.parse(readFileSync(json, "utf8")), stdout: r.stdout };
    };
    // 7 = 2L-1 frames: Sideways' device step can run.
    const { out, stdout } = run(7);
    expect(out.rows.map((row: { method: string; path: string }) => `${row.method} ${row.path}`)).to.deep.equal(["bp host", "bp device", "sideways host", "sideways device"]);
    for (const row of out.rows) {
      expect(row.step_ms_median).to.be.greaterThan(0);
      expect(row.onnxruntime_ms_median).to.be.within(0, row.step_ms_median);
      expect(row.frames_per_s).to.be.closeTo((2 * 7 * 1000) / row.step_ms_median, 1e-6 * row.frames_per_s);
    }
    expect(stdout).to.include("| method | path | intra-op threads |");
    // L = 4, T = 7: BP 28 / 28; Sideways forwards 7+6+5+4, backwards n_k = 1+2+3+4.
    expect(out.rows.map((row: { forward_block_frames: number; backward_block_frames: number }) => [row.forward_block_frames, row.backward_block_frames])).to.deep.equal([[28, 28], [28, 28], [22, 10], [22, 10]]);
    // Shorter clips: BP only, and the table says why Sideways is missing (the old flag still works).
    const short = run(3, "--bp-step");
    expect(short.out.rows.map((row: { method: string }) => row.method)).to.deep.equal(["bp", "bp"]);
    expect(short.stdout).to.include("not measured: sideways: Sideways' device step needs clips of at least 2L-1 = 7 frames");
  });

  it("--augment: a training batch assembled without augmentation, with shifts, mirrors, both and resized crops, in the same rounds", () => {
    const dir = tempFolder("sideways-bench-augment-");
    const json = join(dir, "augment.json");
    const r = spawnSync(process.execPath, [cli, "bench", "--augment", "--batch", "4", "--frames", "2", "--rounds", "2", "--json", json], { encoding: "utf8", timeout: 100_000 });
    expect(r.status, r.stderr).to.equal(0);
    // A fresh --json file is named as written, with no note of a replaced one.
    expect(r.stderr).to.include(`wrote ${json}\n`);
    expect(r.stderr).not.to.include("was there already");
    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out).to.include({ model: "quickstart-cnn", clips: 4, frames: 2 });
    expect(out.rows.map((row: { augment: string }) => row.augment)).to.deep.equal(["none", "pad_crop 4", "flip", "flip + pad_crop 4", "scale 0.25-1"]);
    for (const row of out.rows) {
      expect(row.batch_ms_median).to.be.greaterThan(0);
      expect(row.ratio_to_none).to.be.closeTo(row.batch_ms_median / out.rows[0].batch_ms_median, 1e-9);
    }
    expect(r.stdout).to.include("| data.augment | batch ms | x none |");
  });

  it("--json: an earlier file is kept by a bench that fails, and replaced by one that ends, with a note", () => {
    const dir = tempFolder("sideways-bench-json-");
    const model = fourBlockModel();
    writeModelFile(dir, model);
    const json = join(dir, "step.json");
    writeFileSync(json, "{\"earlier\": true}\n");
    const bench = (...extra: string[]) => spawnSync(process.execPath, [cli, "bench", "--step", "--batch", "2", "--frames", "3", "--rounds", "1", "--threads", "1", "--json", json, ...extra], { encoding: "utf8", timeout: 100_000 });
    const failed = bench("--model", join(dir, "missing.yaml"));
    expect(failed.status, failed.stderr).to.equal(2);
    expect(readFileSync(json, "utf8")).to.equal("{\"earlier\": true}\n");
    const r = bench("--model", join(dir, "model.yaml"));
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(json, "utf8")).rows).to.have.length(2);
    expect(r.stderr).to.include(`wrote ${json}\nnote: --json ${json} was there already; replaced it with these results`);
  });

  it("a bad --model or --json is exit 2 before anything is timed, not after the quickstart step's benchmark", () => {
    const dir = tempFolder("sideways-bench-");
    writeFileSync(join(dir, "file"), "x");
    for (const [args, said] of [
      [["--model", join(dir, "missing.yaml")], "missing.yaml"],
      [["--json", dir], `--json ${dir}: this is a folder`],
      [["--json", join(dir, "file", "b.json")], `${join(dir, "file")} is a file, not a folder`],
    ] as const) {
      const r = spawnSync(process.execPath, [cli, "bench", "--quick", ...args], { encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include(said).and.not.include("BUG");
      expect(r.stdout, args.join(" ")).to.equal("");
    }
  });

  it("--peer-upload, --pixel-clips and --[no-]device-step without --peer: exit 2 naming the flag, nothing run", () => {
    for (const flag of ["--peer-upload", "--pixel-clips", "--device-step", "--no-device-step"]) {
      const r = spawnSync(process.execPath, [cli, "bench", flag, "--quick"], { encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`${flag}: only with --peer torch`);
      expect(r.stdout).to.equal("");
    }
  });
});
