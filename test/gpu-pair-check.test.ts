/**
 * scripts/gpu-pair-check.mjs (runtime.device_id across two GPUs, a GPU check step) tried on the CPU
 * provider against a stand-in nvidia-smi: the GPUs it reports a run on come from the run's own
 * process (by pid, or by used memory where a container hides pids), a placement that did not
 * happen fails the check, and a machine with one GPU is skipped. On the CPU, device_id places
 * nothing, so the two placements must end with the same weights bit for bit.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../scripts/gpu-pair-check.mjs", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

// FAKE_GPUS GPUs. A live `sideways run` of this script is on GPU 0, and on GPU 1 too when its
// runtime.device_id lists 1 (unless FAKE_HIDE_GPU1), seen by pid (FAKE_BY=pid) or as 500 MiB more
// used memory (FAKE_BY=memory, compute apps empty as in a container).
const FAKE_SMI = `#!/usr/bin/env bash
runs() { # "COMMAND LINE #PID" of each live run the script started (its children: $PPID is the script)
  for d in /proc/[0-9]*; do # bash builtins only, no pgrep or tr: fast, and procps may be missing
    read -r _ _ _ ppid _ < "$d/stat" 2>/dev/null || continue
    [ "$ppid" = "$PPID" ] || continue
    mapfile -d '' argv < "$d/cmdline" 2>/dev/null || continue
    cmd="\${argv[*]}"
    [[ $cmd == *sideways.js*output.dir=*stages-on* ]] && echo "$cmd #\${d#/proc/}"
  done
}
on_gpu1() { [[ $1 == *"device_id=[0,1]"* && -z \${FAKE_HIDE_GPU1:-} ]]; }
case "$1" in
  --query-gpu=index,uuid,memory.used) for i in $(seq 0 $((FAKE_GPUS - 1))); do echo "$i, GPU-$i, 10"; done ;;
  --query-gpu=index,memory.used)
    m0=10; m1=10
    if [ "$FAKE_BY" = memory ]; then
      while read -r cmd; do m0=510; on_gpu1 "$cmd" && m1=510; done < <(runs)
    fi
    echo "0, $m0"; echo "1, $m1" ;;
  --query-compute-apps=pid,gpu_uuid)
    if [ "$FAKE_BY" = pid ]; then
      while read -r cmd; do p=\${cmd##*#}; echo "$p, GPU-0"; on_gpu1 "$cmd" && echo "$p, GPU-1"; done < <(runs)
    fi ;;
  *) echo "stand-in nvidia-smi: $*" >&2; exit 9 ;;
esac
true
`;

interface PairResult {
  runs: { device_id: string; gpus: number[]; gpus_by_pid: number[]; gpus_by_memory: number[] }[];
  ratio: number;
  failures: string[];
}

describe("scripts/gpu-pair-check.mjs", function () {
  this.timeout(300_000);
  let dir: string;
  let smi: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "gpu-pair-"));
    smi = join(dir, "nvidia-smi");
    writeFileSync(smi, FAKE_SMI);
    chmodSync(smi, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = (env: Record<string, string>) => {
    const json = join(dir, "pair.json");
    rmSync(json, { force: true });
    const r = spawnSync(
      process.execPath,
      [script, "--provider", "cpu", "--smi", smi, "--steps", "30", "--poll-ms", "40", "--out", join(dir, "runs"), "--json", json, "train.batch_size=4", "data.workers=0", "eval.clips=8"],
      { cwd: root, encoding: "utf8", timeout: 240_000, env: { ...process.env, FAKE_GPUS: "2", FAKE_BY: "pid", ...env } },
    );
    return { r, result: () => JSON.parse(readFileSync(json, "utf8")) as PairResult };
  };

  for (const by of ["pid", "memory"]) {
    it(`sees the [0,1] run on GPUs 0 and 1 and the other on GPU 0 (by ${by}), and their weights equal bit for bit`, () => {
      const { r, result } = check({ FAKE_BY: by });
      expect(r.status, r.stderr).to.equal(0);
      const out = result();
      expect(out.runs.map((x) => [x.device_id, x.gpus])).to.deep.equal([["[0,1]", [0, 1]], ["0", [0]]]);
      expect(out.runs[0]![by === "pid" ? "gpus_by_memory" : "gpus_by_pid"]).to.deep.equal([]);
      expect(out.ratio).to.equal(0);
      expect(r.stdout).to.match(/\| runtime\.device_id \[0,1\] \| 0, 1 \|/);
    });
  }

  it("fails (exit 1) when the run asked to use GPUs 0 and 1 was seen on GPU 0 alone", () => {
    const { r, result } = check({ FAKE_HIDE_GPU1: "1" });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/FAILED: stages-on-gpus-0-1 \(runtime\.device_id \[0,1\]\) was seen on GPUs \[0\]/);
    expect(result().failures).to.have.length(1);
  });

  it("skips a machine with one GPU (exit 0, saying so) and refuses a bad option (exit 2)", () => {
    const { r } = check({ FAKE_GPUS: "1" });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^skipped: 1 GPU on this machine/);
    const bad = spawnSync(process.execPath, [script, "--provider", "webgpu"], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/--provider webgpu: expected cuda or cpu\nusage: node scripts\/gpu-pair-check.mjs/);
  });
});
