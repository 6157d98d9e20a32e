/**
 * scripts/host-tail.mjs on the CPU provider: its cut of each device step at the native binding's
 * run() (a wrapper around onnxruntime-node's InferenceSession, which a new onnxruntime-node could
 * break) and its reading of onnxruntime's profile must hold together.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../scripts/host-tail.mjs", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

describe("scripts/host-tail.mjs", () => {
  it("cuts each step at the binding's run() (one native run a step), and onnxruntime's model_run lies inside run() and holds its graph", () => {
    const dir = mkdtempSync(join(tmpdir(), "host-tail-"));
    try {
      const json = join(dir, "tail.json");
      const r = spawnSync(process.execPath, [script, "--provider", "cpu", "--batch", "2", "--frames", "4", "--steps", "3", "--json", json], { cwd: root, encoding: "utf8", timeout: 120_000 });
      expect(r.status, r.stderr).to.equal(0);
      const out = JSON.parse(readFileSync(json, "utf8")) as { timed: Record<string, number>[]; profiled: Record<string, number>[] };
      expect(out.timed).to.have.length(3);
      // The script exits 1 unless each step made exactly one native run (status 0 above).
      for (const s of [...out.timed, ...out.profiled]) expect(s.native).to.be.above(0);
      for (const s of out.profiled) {
        // onnxruntime's spans, microseconds rounded: inside the native call, and Execute inside model_run.
        expect(s.model_run).to.be.at.most(s.native + 0.01);
        expect(s.execute).to.be.at.most(s.model_run + 0.001);
        expect(s.execute).to.be.above(0);
      }
      expect(r.stdout).to.match(/\| plain \|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a bad option with exit status 2 and its usage line", () => {
    const r = spawnSync(process.execPath, [script, "--method", "pipelined-bp"], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/--method pipelined-bp: expected bp or sideways\nusage: node scripts\/host-tail.mjs/);
  });
});
