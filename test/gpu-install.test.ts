/**
 * `sideways gpu install cuda13` on bad input: what can be checked before anything is downloaded
 * or written. Runs on any machine: every case stops before npm is called (the install folder
 * either holds a stand-in of the CUDA build, which the installer then does not download, or the
 * command is given --from an empty folder).
 */
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { CUDA13 } from "../src/runtime/cuda-install.js";
import { captureIo } from "./helpers/capture-io.js";

/** A folder that hasCudaBuild() takes for an installed build: the installer skips npm for it. */
function standInBuild(dir: string): string {
  const bin = join(dir, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(dir, "node_modules", "onnxruntime-node", "package.json"), JSON.stringify({ name: "onnxruntime-node", version: CUDA13.ortVersion }));
  for (const lib of CUDA13.providerLibs) writeFileSync(join(bin, lib), "");
  return dir;
}

describe("gpu install cuda13: bad input named before any download", function () {
  this.timeout(60_000);
  let dir: string;
  const saved = process.env.SIDEWAYS_PYTHON;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-gpu-install-"));
    delete process.env.SIDEWAYS_PYTHON;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.SIDEWAYS_PYTHON;
    else process.env.SIDEWAYS_PYTHON = saved;
  });

  async function install(...args: string[]): Promise<{ code: number; stderr: string }> {
    const io = captureIo();
    const code = await main(["gpu", "install", "cuda13", ...args], io);
    return { code, stderr: io.stderr };
  }

  it("--python /nonexistent: exit 2 saying the interpreter was not found and what to pass instead", async () => {
    const build = standInBuild(join(dir, "build"));
    const r = await install("--python", "/nonexistent", "--dir", build);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/^error: --python \/nonexistent: not found/m);
    expect(r.stderr).to.include("--python PATH").and.include("--cuda-lib-dir DIR");
    expect(r.stderr).not.to.include("CUDA libraries missing"); // the interpreter is the problem, said first
    expect(r.stderr).not.to.match(/\bat .*\.js:\d+/); // no stack trace
  });

  it("an interpreter that cannot run (a folder, a program that is not Python): exit 2 naming it", async () => {
    const build = standInBuild(join(dir, "build"));
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    let r = await install("--python", folder, "--dir", build);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.include(`--python ${folder}: cannot be run`);
    const notPython = join(dir, "not-python");
    writeFileSync(notPython, "#!/bin/sh\necho 'no such module' >&2\nexit 1\n");
    chmodSync(notPython, 0o755);
    r = await install("--python", notPython, "--dir", build);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.include(`--python ${notPython}: did not run as Python 3 (exit status 1: no such module)`);
  });

  it("SIDEWAYS_PYTHON naming a missing interpreter is named as SIDEWAYS_PYTHON; nothing is created in --dir", async () => {
    process.env.SIDEWAYS_PYTHON = "/nonexistent/python3";
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const target = join(dir, "new-install");
    const r = await install("--dir", target, "--from", empty);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/^error: SIDEWAYS_PYTHON=\/nonexistent\/python3: not found/m);
    expect(existsSync(target)).to.equal(false);
  });

  it("--cuda-lib-dir naming no folder: exit 2 naming it (it was silently left out of the search)", async () => {
    const build = standInBuild(join(dir, "build"));
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    for (const bad of [join(dir, "no-such-folder"), file]) {
      const r = await install("--cuda-lib-dir", bad, "--dir", build);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`--cuda-lib-dir ${bad}: `).and.include("expected a folder holding CUDA 13 / cuDNN 9 libraries");
      expect(r.stderr).not.to.include("CUDA libraries missing");
    }
  });

  it("an option given without a value (--dir, --python, --from; an empty --cuda-lib-dir): exit 2 naming it, not a BUG stack trace", async () => {
    const build = standInBuild(join(dir, "build"));
    for (const args of [["--dir"], ["--python", "--dir", build], ["--from", "--dir", build], ["--cuda-lib-dir", "", "--dir", build]]) {
      const r = await install(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(2);
      // A list option's own words: "expected one or more values, found ''".
      expect(r.stderr).to.match(new RegExp(`^error: ${args[0]}: expected (a |one or more values)`, "m"));
      expect(r.stderr).not.to.include("BUG");
    }
  });
});

describe("gpu probe: what cannot be probed is said, not probed", function () {
  this.timeout(60_000);
  let dir: string;
  const saved = { dir: process.env.SIDEWAYS_CUDA_DIR, ort: process.env.SIDEWAYS_ORT };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sideways-gpu-probe-"));
    process.env.SIDEWAYS_CUDA_DIR = join(dir, "no-cuda-build"); // the same on every machine
    delete process.env.SIDEWAYS_ORT;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [key, value] of [["SIDEWAYS_CUDA_DIR", saved.dir], ["SIDEWAYS_ORT", saved.ort]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  async function probe(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const io = captureIo();
    const code = await main(["gpu", "probe", ...args], io);
    return { code, stdout: io.stdout, stderr: io.stderr };
  }

  it("webgpu --device-id 1: exit 2 saying the WebGPU EP runs on the default adapter (expected 0), as runtime.device_id does", async () => {
    const r = await probe("webgpu", "--device-id", "1");
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.equal("");
    expect(r.stderr).to.include("error: --device-id 1: expected 0 with gpu probe webgpu (onnxruntime-node's WebGPU EP runs every session on the default adapter");
  });

  it("cpu --device-id 1: exit 2 (the CPU provider has no devices); --device-id 0 probes it", async () => {
    const r = await probe("cpu", "--device-id", "1");
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.equal("");
    expect(r.stderr).to.include("error: --device-id 1: expected 0 with gpu probe cpu (the CPU provider has no devices");
    const ok = await probe("cpu", "--device-id", "0");
    expect(ok.code, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stdout.trim())).to.include({ provider: "cpu", ok: true });
  });

  it("cuda without the CUDA build: exit 2, its JSON line naming the missing manifest and the install command", async () => {
    const r = await probe("cuda");
    expect(r.code, r.stderr).to.equal(2);
    const line = JSON.parse(r.stdout.trim());
    expect(line).to.include({ provider: "cuda", ok: false });
    expect(line.reason).to.equal(
      `the CUDA execution provider is not installed on this machine (no ${join(dir, "no-cuda-build", "sideways-cuda13.json")}, in the folder SIDEWAYS_CUDA_DIR names): install it once with \`sideways gpu install cuda13\` (docs/GPU.md)`,
    );
  });
});
