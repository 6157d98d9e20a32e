/**
 * A run trained again from its folder's config.yaml, or resumed, by code or a runtime other than
 * its earlier attempt's (run-meta.json's provenance) says so: the same config is the same run by
 * id, but nothing promises the same numbers across commits, onnxruntime builds or CPUs. And a
 * completed run found for a setting that is no part of the id (output.keep_best) says what it lacks.
 */
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../src/cli/main.js";
import { codeChanges } from "../src/results/code-changes.js";
import type { RunMeta } from "../src/results/run-dir.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { GOOD } from "./helpers/spec-fixtures.js";
import { runFolderIn } from "./helpers/run-folder.js";

const cli = fileURLToPath(new URL("../../bin/sideways.js", import.meta.url));

const attempt = { git_commit: "a".repeat(40), git_dirty: false, sideways_version: "0.1.0", onnxruntime_node: "1.30.0", onnxruntime_build: "bundled", cpu: "Xeon", host: "a", node: "v20" };

/** Edits the last attempt recorded in a run folder's run-meta.json. */
function editLastAttempt(runDir: string, edit: Record<string, unknown>): void {
  const file = join(runDir, "run-meta.json");
  const meta = JSON.parse(readFileSync(file, "utf8")) as RunMeta;
  const attempts = meta.provenance!;
  attempts[attempts.length - 1] = { ...attempts.at(-1)!, ...edit };
  writeFileSync(file, JSON.stringify(meta));
}

describe("re-running a run: what differs from the run it finds", function () {
  this.timeout(60_000);
  let dir = "";
  inFreshFolderEachTest("sideways-code-changes-", (d) => (dir = d));

  it("codeChanges names each difference that can change the numbers, and nothing else", () => {
    expect(codeChanges(attempt, { ...attempt, host: "b", node: "v22" })).to.deep.equal([]);
    expect(codeChanges(attempt, { ...attempt, git_commit: "b".repeat(40), onnxruntime_node: "1.29.0", onnxruntime_build: "cuda13", cpu: "EPYC" })).to.deep.equal([
      "commit aaaaaaa then, bbbbbbb now",
      "onnxruntime-node 1.30.0 then, 1.29.0 (cuda13) now",
      "CPU Xeon then, EPYC now",
    ]);
    // The same commit with uncommitted changes may be other code; unknowns are no difference.
    expect(codeChanges({ ...attempt, git_dirty: true }, attempt)).to.deep.equal(["uncommitted changes to the code then"]);
    expect(codeChanges({ ...attempt, git_commit: null, onnxruntime_node: null }, { ...attempt, sideways_version: "0.2.0" })).to.deep.equal(["sideways 0.1.0 then, 0.2.0 now"]);
  });

  it("a copied run folder's config.yaml trained elsewhere by another onnxruntime warns, and trains the same run", async () => {
    expect(await main(["run", GOOD, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    const copy = join(dir, "copy", id!);
    cpSync(join(dir, "results", "good", id!), copy, { recursive: true });
    const config = join(copy, "config.yaml");
    const same = captureIo();
    expect(await main(["run", config, "output.dir=again1"], same), same.stderr).to.equal(0);
    // (A checkout with uncommitted changes, as while this is written, is said of every attempt: no commit names its code.)
    expect(same.stderr).to.not.include(" then, ");
    editLastAttempt(copy, { onnxruntime_node: "0.0.1", cpu: "Some Other CPU" });
    const other = captureIo();
    expect(await main(["run", config, "output.dir=again2"], other), other.stderr).to.equal(0);
    expect(other.stderr).to.match(/warning: .*config\.yaml is the config of the run in .*copy.*, trained with code that may differ from this \(.*onnxruntime-node 0\.0\.1 then, \d+\.\d+\.\d+ now; CPU Some Other CPU then, .* now\)/);
    expect(existsSync(join(dir, "again2", id!, "final.safetensors"))).to.equal(true);
  });

  it("a run killed (SIGKILL) and resumed by another onnxruntime says so as it resumes", async () => {
    const args = [cli, "run", GOOD, "train.steps=400", "train.checkpoint_every=5", "output.dir=run", "--quiet"];
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "ignore" });
    const exited = new Promise((res) => child.on("exit", res));
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(runFolderIn(join(dir, "run")), "resume.safetensors"))) {
      if (Date.now() > deadline) throw new Error("no resume checkpoint within 30 s");
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await exited;
    editLastAttempt(runFolderIn(join(dir, "run")), { onnxruntime_node: "0.0.1" });
    const resumed = spawnSync(process.execPath, args.slice(0, -1), { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(resumed.status, resumed.stderr).to.equal(0);
    expect(resumed.stderr).to.match(/warning: resuming \w+ with code that may differ from its earlier attempt's \(.*onnxruntime-node 0\.0\.1 then, \d+\.\d+\.\d+ now\)/);
    expect(resumed.stderr).to.match(/resuming from step \d+/);
  });

  it("a completed run found for a config that asks for output.keep_best, trained without it, says it has no best.safetensors", async () => {
    const evaluated = ["eval.every=3", "eval.clips=4"];
    expect(await main(["run", GOOD, ...evaluated, "--quiet"], captureIo())).to.equal(0);
    const found = captureIo();
    expect(await main(["run", GOOD, ...evaluated, "output.keep_best=true"], found), found.stderr).to.equal(0);
    expect(found.stderr).to.include("already completed").and.match(/note: .* was completed without output\.keep_best, so it has no best\.safetensors; .*--force trains it again with it/);
    expect(await main(["run", GOOD, ...evaluated, "output.keep_best=true", "--force", "--quiet"], captureIo())).to.equal(0);
    const kept = captureIo();
    expect(await main(["run", GOOD, ...evaluated, "output.keep_best=true"], kept), kept.stderr).to.equal(0);
    expect(kept.stderr).to.include("already completed").and.not.include("keep_best");
  });
});
