/**
 * `--help` on the scripts: the Node scripts' shared option handling (scripts/script-options.mjs)
 * prints the usage line, the shell scripts' (scripts/script-help.sh) their header comment, and both
 * exit 0 before anything is measured, installed or downloaded (gpu-check.sh starts by installing
 * the CUDA build, about 300 MB).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scriptsDir = join(root, "scripts");
const scripts = readdirSync(scriptsDir)
  .filter((f) => f.endsWith(".mjs") && f !== "script-options.mjs")
  .filter((f) => readFileSync(join(scriptsDir, f), "utf8").includes("./script-options.mjs"));
const shellScripts = readdirSync(scriptsDir).filter((f) => f.endsWith(".sh") && f !== "script-help.sh");

describe("scripts --help", () => {
  it("finds the scripts that use it", () => {
    expect(scripts.length).to.be.at.least(10);
  });

  for (const script of scripts) {
    it(`${script} --help prints its usage line and exits 0`, () => {
      const r = spawnSync(process.execPath, [join(scriptsDir, script), "--help"], { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^usage: node scripts/${script.replace(".", "\\.")}`));
    });
  }

  for (const script of shellScripts) {
    it(`${script} --help prints its header comment and exits 0`, () => {
      const file = join(scriptsDir, script);
      const r = spawnSync("bash", [file, "--help"], { cwd: root, encoding: "utf8", timeout: 30_000 });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.equal("");
      // The header's second line (after the shebang), without its "# ".
      const secondLine = readFileSync(file, "utf8").split("\n")[1].replace(/^# ?/, "");
      expect(r.stdout.split("\n")[0]).to.equal(secondLine);
      expect(r.stdout).to.not.match(/^(#SBATCH|set -u)/m);
    });
  }

  it("offline-bundle.sh refuses a bad part size or a folder that is not empty (exit 2), writing nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-bundle-"));
    try {
      const bundle = (...args: string[]) => spawnSync("bash", [join(scriptsDir, "offline-bundle.sh"), ...args], { cwd: root, encoding: "utf8", timeout: 30_000 });
      let r = bundle(join(dir, "out"), "abc");
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal("PART_MIB: expected a whole number of MiB, found 'abc'\n");
      writeFileSync(join(dir, "keep"), "kept");
      r = bundle(dir);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal(`${dir} is not empty: give an empty or new folder (nothing was written)\n`);
      expect(readdirSync(dir)).to.deep.equal(["keep"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gpu-check.sh with GPU_CHECK_STEPS runs only the steps it names (shell patterns), and lists the rest as skipped", function () {
    this.timeout(120_000);
    const out = mkdtempSync(join(tmpdir(), "sideways-gpu-check-"));
    try {
      const r = spawnSync("bash", [join(scriptsDir, "gpu-check.sh")], { cwd: root, encoding: "utf8", timeout: 100_000, env: { ...process.env, OUT: out, GPU_CHECK_STEPS: "doc*" } });
      expect(r.status, r.stderr).to.equal(0);
      const summary = readFileSync(join(out, "summary.txt"), "utf8").trim().split("\n");
      expect(summary[0]).to.equal("=== summary");
      const ran = summary.slice(1).filter((l) => !l.endsWith(": skipped (GPU_CHECK_STEPS)"));
      expect(ran).to.have.length(1);
      expect(ran[0]).to.match(/^doctor: exit 0 in \d+ s$/);
      // The install (a 300 MB download) was skipped, not run: it left no log.
      expect(summary).to.include("install: skipped (GPU_CHECK_STEPS)").and.include("gpu-pair: skipped (GPU_CHECK_STEPS)");
      expect(readdirSync(out).sort()).to.deep.equal(["doctor.log", "gpu.txt", "summary.txt"]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
