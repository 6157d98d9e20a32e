/**
 * A run trained again from its folder's config.yaml, or resumed, by code or a runtime other than
 * its earlier attempt's (run-meta.json's provenance) says so: the same config is the same run by
 * id, but nothing promises the same numbers across commits, onnxruntime builds or CPUs. And a
 * completed run found for a setting that is no part of the id (output.keep_best) says what it lacks.
 * Its data given at new paths is compared with the files that run read, and data that moved is
 * met with the overrides to give.
 */
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../src/cli/main.js";
import { codeChanges } from "../src/results/code-changes.js";
import { dataGivenAnewChanges } from "../src/results/data-given-anew.js";
import type { DataSpec } from "../src/data/data-spec.js";
import type { RunMeta } from "../src/results/run-dir.js";
import { captureIo } from "./helpers/capture-io.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { GOOD, SWEEP } from "./helpers/spec-fixtures.js";
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

  /** Trains GOOD on npy clips `sideways data` writes to folder `data` (in dir); the run folder's config.yaml. */
  async function trainedOnNpyIn(data: string): Promise<string> {
    expect(await main(["data", GOOD, "--out", data, "--clips", "6"], captureIo())).to.equal(0);
    const npy = `data={kind: npy, clips: ${join(dir, data, "clips.npy")}, labels: ${join(dir, data, "labels.npy")}, eval_on_train: true, clip_length: 4}`;
    expect(await main(["run", GOOD, npy, "--quiet"], captureIo())).to.equal(0);
    const [id] = readdirSync(join(dir, "results", "good"));
    return join(dir, "results", "good", id!, "config.yaml");
  }

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

  it("a run folder's config.yaml whose data moved: exit 2, saying to give the new paths as overrides, each that is missing", async () => {
    const config = await trainedOnNpyIn("d");
    renameSync(join(dir, "d"), join(dir, "moved"));
    const io = captureIo();
    expect(await main(["run", config], io)).to.equal(2);
    expect(io.stderr).to.include(`data.clips: file not found: '${join(dir, "d", "clips.npy")}'`);
    expect(io.stderr).to.include(`this is the config.yaml of the run in ${dirname(config)}`);
    expect(io.stderr).to.include("give their new paths as overrides (data.clips=NEW_PATH data.labels=NEW_PATH; a run trained so gets a new id").and.not.include("relative to it");
    // One given, the other still missing: only it is asked for.
    const one = captureIo();
    expect(await main(["run", config, `data.clips=${join(dir, "moved", "clips.npy")}`], one)).to.equal(2);
    expect(one.stderr).to.include("data.labels: file not found").and.include("(data.labels=NEW_PATH;");
    // A path an override gives that is not there keeps the hint about relative paths.
    const typo = captureIo();
    expect(await main(["run", config, "data.clips=nowhere.npy", `data.labels=${join(dir, "moved", "labels.npy")}`], typo)).to.equal(2);
    expect(typo.stderr).to.include("paths in overrides to the current directory").and.not.include("NEW_PATH");
    expect(await main(["run", config, ...["clips", "labels"].map((k) => `data.${k}=${join(dir, "moved", `${k}.npy`)}`), "--quiet"], captureIo())).to.equal(0);
  });

  it("dataGivenAnewChanges compares a video folder by its listing and each split file by name, under the new paths", () => {
    const video = (root: string, split: string) => ({ kind: "video-folder", root, split: { dir: split } }) as unknown as DataSpec;
    const recorded = {
      "/old/videos": { size: 300, mtime_ms: 1, sha256: "listing-a", videos: 3 },
      "/old/split/trainlist01.txt": { size: 10, mtime_ms: 1, sha256: "t".repeat(64) },
      "/old/split/testlist01.txt": { size: 10, mtime_ms: 1, sha256: "e".repeat(64) },
    };
    const now = {
      "/new/videos": { size: 300, mtime_ms: 9, sha256: "listing-a", videos: 3 },
      "/new/split/trainlist01.txt": { size: 10, mtime_ms: 9, sha256: "t".repeat(64) },
      "/new/split/testlist01.txt": { size: 10, mtime_ms: 9, sha256: "f".repeat(64) },
    };
    const then = video("/old/videos", "/old/split"), moved = video("/new/videos", "/new/split");
    expect(dataGivenAnewChanges(then, moved, recorded, now)).to.deep.equal([
      `data.split.dir (testlist01.txt): /new/split/testlist01.txt is not the file that run read at /old/split/testlist01.txt: other contents (SHA-256 ${"e".repeat(12)}… then, ${"f".repeat(12)}… now)`,
    ]);
    const fewer = { ...now, "/new/videos": { size: 200, mtime_ms: 9, sha256: "listing-b", videos: 2 } };
    expect(dataGivenAnewChanges(then, moved, recorded, fewer)[0]).to.equal("data.root: /new/videos is not the folder that run read at /old/videos: other videos (3 videos, 300 bytes then; 2 videos, 200 bytes now)");
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

  it("a run folder's config.yaml given its data at new paths warns where a file is not the one that run read, naming the key and both paths", async () => {
    const config = await trainedOnNpyIn("d");
    // The data moved: the same files at new paths (another run by id) say nothing.
    renameSync(join(dir, "d"), join(dir, "moved"));
    const moved = [`data.clips=${join(dir, "moved", "clips.npy")}`, `data.labels=${join(dir, "moved", "labels.npy")}`];
    const same = captureIo();
    expect(await main(["run", config, ...moved, "output.dir=again1"], same), same.stderr).to.equal(0);
    expect(same.stderr).to.not.include("not the file");
    expect(readdirSync(join(dir, "again1"))).to.have.length(1).and.not.include(basename(dirname(config)));
    // Other clips (of the same count) given for data.clips: named with both paths; labels.npy, the same file, is not.
    expect(await main(["data", GOOD, "seed=5", "--out", "other", "--clips", "6"], captureIo())).to.equal(0);
    const otherClips = join(dir, "other", "clips.npy");
    expect(readFileSync(otherClips).equals(readFileSync(join(dir, "moved", "clips.npy"))), "the other clips differ").to.equal(false);
    const other = captureIo();
    expect(await main(["run", config, `data.clips=${otherClips}`, moved[1]!, "output.dir=again2"], other), other.stderr).to.equal(0);
    expect(other.stderr).to.include(`data.clips: ${otherClips} is not the file that run read at ${join(dir, "d", "clips.npy")}: other contents (SHA-256 `);
    expect(other.stderr).to.match(/warning: .*config\.yaml is the config of the run in .*, and the data given here are not the files that run read/);
    expect(other.stderr).to.not.include("data.labels:");
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

  it("a sweep says it too of each completed run it skips", async () => {
    const sweep = [SWEEP, "sweep.seeds=[0]", "sweep.grid={train.method: [bp]}", "eval.every=3", "eval.clips=4"];
    expect(await main(["sweep", ...sweep, "--quiet"], captureIo())).to.equal(0);
    const found = captureIo();
    expect(await main(["sweep", ...sweep, "output.keep_best=true"], found), found.stderr).to.equal(0);
    expect(found.stderr).to.match(/note: .* was completed without output\.keep_best, so it has no best\.safetensors/);
  });
});
