/** bench/torch_sideways.py, PyTorch's Sideways, run on a test's model, weights and clips (needs PyTorch: torchUnavailableReason). */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { peerPython } from "../../src/bench/torch-peer-process.js";
import type { ClipBatch } from "../../src/data/source.js";
import type { Model, Weights } from "../../src/model/model.js";
import { parseSafetensors, toFloat32 } from "../../src/model/safetensors.js";
import { writeModelFile, writeNpyRunInputs } from "./npy-run-inputs.js";

const SCRIPT = fileURLToPath(new URL("../../../bench/torch_sideways.py", import.meta.url));

export interface TorchSidewaysResult {
  /** The weights and buffers after the steps, by checkpoint name, as float32. */
  tensors: Map<string, Float32Array>;
  losses: number[];
  /** n_k: the gradients each block summed. */
  counts: number[];
  num_batches_tracked: Record<string, number>;
}

/** `steps` plain-SGD steps of rate `lr` on `batch` from `init`, its files written in `dir`; the script's failure fails the test. */
export function torchSideways(dir: string, model: Model, init: Weights, batch: ClipBatch, { lr, steps }: { lr: number; steps: number }): TorchSidewaysResult {
  const modelFile = writeModelFile(dir, model);
  writeNpyRunInputs(dir, model, init, batch);
  const args = [SCRIPT, "--model", modelFile, "--init", join(dir, "init.safetensors"), "--clips", join(dir, "clips.npy")];
  args.push("--labels", join(dir, "labels.npy"), "--lr", String(lr), "--steps", String(steps), "--weights-out", join(dir, "out.safetensors"), "--out", join(dir, "out.json"));
  const r = spawnSync(peerPython(), args, { encoding: "utf8", timeout: 120_000 });
  expect(r.status, r.stderr).to.equal(0);
  const content = parseSafetensors(readFileSync(join(dir, "out.safetensors")), "torch_sideways output");
  const tensors = new Map([...content.tensors].map(([name, t]) => [name, toFloat32(name, t, "torch_sideways output")]));
  const out = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as Omit<TorchSidewaysResult, "tensors">;
  return { tensors, ...out };
}
