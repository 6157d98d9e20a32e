/**
 * `--help` on the scripts: the Node scripts' shared option handling (scripts/script-options.mjs)
 * prints the usage line, the shell scripts' (scripts/script-help.sh) their header comment, and both
 * exit 0 before anything is measured, installed or downloaded (gpu-check.sh starts by installing
 * the CUDA build, about 300 MB).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  // The shell scripts that take arguments; every other one is configured by its environment only.
  const takesArguments = ["offline-bundle.sh", "sweeps-slurm.sh"];
  it("knows which shell scripts take arguments", () => {
    for (const s of takesArguments) expect(shellScripts).to.include(s);
  });
  // Variables a script reads from the environment that are the machine's, not the script's settings.
  const ambient = new Set(["VK_DRIVER_FILES", "VK_ICD_FILENAMES", "XDG_RUNTIME_DIR", "PIPESTATUS", "SECONDS", "LD_LIBRARY_PATH"]);
  for (const script of shellScripts.filter((s) => !takesArguments.includes(s))) {
    it(`${script}'s refusal names every variable it reads with a default`, () => {
      const text = readFileSync(join(scriptsDir, script), "utf8");
      const listed = /^no_arguments "([^"]*)"/m.exec(text)?.[1].split(", ") ?? [];
      const read = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)(:?[-+=])/g)].map((m) => m[1]).filter((v) => !ambient.has(v)));
      expect(read.size, "reads no settings").to.be.greaterThan(0);
      expect([...read].filter((v) => !listed.includes(v)), "read but not listed").to.deep.equal([]);
    });
  }
  for (const script of shellScripts.filter((s) => !takesArguments.includes(s))) {
    it(`${script} refuses an argument (exit 2), naming it, before doing anything`, () => {
      const dir = mkdtempSync(join(tmpdir(), "sideways-noargs-"));
      try {
        const out = join(dir, "out");
        for (const args of [["--bogus"], ["x", "--help"]]) {
          const r = spawnSync("bash", [join(scriptsDir, script), ...args], { cwd: root, encoding: "utf8", timeout: 30_000, env: { ...process.env, OUT: out } });
          expect(r.status, r.stderr).to.equal(2);
          expect(r.stderr).to.match(new RegExp(`^${script.replace(".", "\\.")}: unexpected argument '${args[0]}': it takes no arguments, only environment variables \\(OUT, [A-Z_, ]+\\); see \`bash scripts/${script.replace(".", "\\.")} --help\`\n$`));
          expect(r.stdout).to.equal("");
        }
        if (script === "gpu-check.sh") {
          const r = spawnSync("bash", [join(scriptsDir, script), "--bogus"], { cwd: root, encoding: "utf8", timeout: 30_000, env: { ...process.env, OUT: out } });
          expect(r.stderr).to.include("(OUT, GPU_CHECK_STEPS,");
        }
        // Nothing ran: the output folder every one of them creates first is not there.
        expect(readdirSync(dir)).to.deep.equal([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("offline-bundle.sh refuses a third argument or an option (exit 2), writing nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-bundle-"));
    try {
      const bundle = (...args: string[]) => spawnSync("bash", [join(scriptsDir, "offline-bundle.sh"), ...args], { cwd: dir, encoding: "utf8", timeout: 30_000 });
      let r = bundle(join(dir, "out"), "56", "extra");
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal("offline-bundle.sh: unexpected argument 'extra': it takes at most OUT_DIR and PART_MIB; see `bash scripts/offline-bundle.sh --help`\n");
      r = bundle("--out", join(dir, "out"));
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal("offline-bundle.sh: unexpected option '--out': it takes only OUT_DIR and PART_MIB (and -h/--help); see `bash scripts/offline-bundle.sh --help`\n");
      expect(readdirSync(dir)).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // parseArgs refuses a positional argument unless the script allows them (strict mode); those
  // that do check theirs (gpu-pair-check.mjs: each an override key=value).
  for (const script of scripts) {
    const text = readFileSync(join(scriptsDir, script), "utf8");
    if (text.includes("allowPositionals: true") && script !== "gpu-pair-check.mjs") continue;
    it(`${script} refuses a stray positional argument (exit 2) with its usage line`, () => {
      const r = spawnSync(process.execPath, [join(scriptsDir, script), "stray"], { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).to.equal(2);
      const why = script === "gpu-pair-check.mjs" ? "stray: expected an override key=value (as `sideways run` takes them)" : "Unexpected argument 'stray'. This command does not take positional arguments";
      expect(r.stderr).to.equal(`${why}\nusage: ${text.match(/usageExit\(\s*"([^"]+)"/)![1]}\n`);
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

  it("cuda-setup-lock-ab.sh refuses a bad round count (exit 2), and tallies each arm's failures and capture errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-lock-ab-"));
    try {
      const ab = (env: Record<string, string>) =>
        spawnSync("bash", [join(scriptsDir, "cuda-setup-lock-ab.sh")], { cwd: root, encoding: "utf8", timeout: 30_000, env: { ...process.env, OUT: join(dir, "out"), ...env } });
      let r = ab({ ROUNDS: "0" });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal("ROUNDS: expected a whole number above 0, found '0'\n");
      // A stand-in `node` whose runs without the lock fail, the first pair's with the capture error.
      const bin = join(dir, "bin");
      mkdirSync(bin);
      writeFileSync(
        join(bin, "node"),
        '#!/usr/bin/env bash\n[ "${SIDEWAYS_CUDA_SETUP_LOCK:-}" = off ] || exit 0\n[ -e "$OUT/first" ] || { touch "$OUT/first"; echo "CUDA failure 900: operation not permitted when stream is capturing"; }\nexit 1\n',
        { mode: 0o755 },
      );
      r = ab({ PATH: `${bin}:${process.env.PATH}`, ROUNDS: "2", PAIRS: "1" });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include("| with the lock | 2 | 0 | 0 |").and.include("| without (SIDEWAYS_CUDA_SETUP_LOCK=off) | 2 | 2 | 1 |");
      const json = JSON.parse(readFileSync(join(dir, "out", "cuda-setup-lock-ab.json"), "utf8"));
      expect(json.nolock).to.deep.equal({ runs: 2, failed: 2, capture_errors: 1 });
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
      // It says which Python the peer steps and the CUDA search use, and where that came from.
      expect(r.stdout).to.match(/^python: \S+ \((SIDEWAYS_PYTHON|python3 on PATH)\)$/m);
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

describe("scripts/gpu-check.sh's onnxruntime for the WebGPU steps", () => {
  // Run 16: GPU_CHECK_STEPS without "install" counted the skipped install as done, and the WebGPU
  // steps then ran with SIDEWAYS_ORT=cuda13 where no CUDA build was installed (exit 2 at once).
  const check = (cudaDir: string) => {
    const out = mkdtempSync(join(tmpdir(), "sideways-gpu-check-"));
    try {
      const r = spawnSync("bash", [join(scriptsDir, "gpu-check.sh")], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, OUT: out, GPU_CHECK_STEPS: "no-such-step", SIDEWAYS_CUDA_DIR: cudaDir } });
      expect(r.status, r.stderr).to.equal(0);
      return r.stdout;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  it("uses the CUDA build only where its manifest is found, whether or not the install step ran", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-cuda-dir-"));
    try {
      expect(check(dir)).to.include(`WebGPU steps: SIDEWAYS_ORT=bundled (CUDA build manifest ${dir}/sideways-cuda13.json missing)`);
      writeFileSync(join(dir, "sideways-cuda13.json"), "{}");
      expect(check(dir)).to.include(`WebGPU steps: SIDEWAYS_ORT=cuda13 (CUDA build manifest ${dir}/sideways-cuda13.json found)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scripts/sweeps-slurm.sh", () => {
  // Slurm's variables for a task of the array given to sbatch; the script checks them before it starts the sweep.
  const task = (env: Record<string, string>) =>
    spawnSync("bash", [join(scriptsDir, "sweeps-slurm.sh"), "experiments/quickstart.yaml"], { cwd: root, encoding: "utf8", env: { ...process.env, SLURM_ARRAY_JOB_ID: "7", ...env }, timeout: 60_000 });

  it("refuses an array that leaves shards without a task (--array=1-8, --array=0,2), unless SIDEWAYS_SHARDS names n", () => {
    const late = task({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_MAX: "2", SLURM_ARRAY_TASK_COUNT: "2" });
    expect(late.status).to.equal(2);
    expect(late.stderr).to.include("the array holds 2 task(s) from index 1 to 2, so of the 3 shards 0..2 some would never run; submit --array=0-2");
    const gap = task({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_MAX: "2", SLURM_ARRAY_TASK_COUNT: "2" });
    expect(gap.status).to.equal(2);
    // A rerun of some shards names n, and the task goes on to start its shard of the sweep.
    const rerun = spawnSync("bash", [join(scriptsDir, "sweeps-slurm.sh"), "experiments/quickstart.yaml", "--dry-run"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, SLURM_ARRAY_JOB_ID: "7", SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "2", SLURM_ARRAY_TASK_MAX: "2", SLURM_ARRAY_TASK_COUNT: "1", SIDEWAYS_SHARDS: "3" },
      timeout: 60_000,
    });
    expect(rerun.stdout + rerun.stderr).to.include("shard 2/3 of experiments/quickstart.yaml");
  });
});
