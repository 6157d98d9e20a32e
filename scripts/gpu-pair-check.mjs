#!/usr/bin/env node
// runtime.device_id across two GPUs (docs/GPU.md "Where the graphs are placed"): Sideways with two
// depth-parallel stages, trained twice from the same seed, once with its stages on GPUs 0 and 1
// (`runtime.device_id=[0,1]`) and once with both on GPU 0. It checks:
//   - where each run ran: the GPUs its process was seen on while it trained (nvidia-smi's compute
//     apps by pid, and, where a container hides host pids, the GPUs whose used memory grew by
//     --memory-mib or more over their level before the run): {0, 1} and {0};
//   - that both end with the same weights: their difference at most 1e-3 of how far training moved
//     the weights from their initial values (as the CUDA device-step tests measure "of the update";
//     the two placements run the same graphs, so only each GPU's choice of cuDNN kernels, timed per
//     session, can tell them apart: run 8 measured two sessions of one step 2.9e-8 apart);
// and prints each run's median step time (steps 6 on): what a second GPU gives two stages.
// Exit 1 where a check fails. A machine with fewer than two GPUs is said and exits 0 (a GPU check
// step on a one-GPU lease). `--provider cpu --smi FAKE` tries the script without a GPU: device_id
// places nothing there, so the weights must agree bit for bit (test/gpu-pair-check.test.ts).
// Usage: node scripts/gpu-pair-check.mjs [--provider cuda|cpu] [--steps N] [--out DIR] [--json OUT]
//        [--smi CMD] [--memory-mib M] [--poll-ms MS] [override ...]   (overrides as `sideways run` takes them)
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseOptions, positiveInts, usageExit } from "./script-options.mjs";

const usage = usageExit(
  "node scripts/gpu-pair-check.mjs [--provider cuda|cpu] [--steps N] [--out DIR] [--json OUT] [--smi CMD] [--memory-mib M] [--poll-ms MS] [override ...]",
);
const { values: args, positionals: overrides } = await parseOptions(
  {
    allowPositionals: true,
    options: {
      provider: { type: "string", default: "cuda" },
      steps: { type: "string", default: "40" },
      out: { type: "string", default: "gpu-pair-out" },
      json: { type: "string" },
      smi: { type: "string", default: "nvidia-smi" },
      "memory-mib": { type: "string", default: "64" },
      "poll-ms": { type: "string", default: "250" },
    },
  },
  usage,
);
if (!["cuda", "cpu"].includes(args.provider)) usage(`--provider ${args.provider}: expected cuda or cpu`);
const [steps, memoryMib, pollMs] = positiveInts(args, ["steps", "memory-mib", "poll-ms"], usage);
// Every other argument is an override (key=value): anything else is refused here, before a run folder is cleared.
for (const o of overrides) if (!/^[^=]+=/.test(o)) usage(`${o}: expected an override key=value (as \`sideways run\` takes them)`);
const repoFile = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const dist = (p) => import(new URL(`../dist/src/${p}`, import.meta.url).href);
const { parse: parseYaml } = await import("yaml");
const { resolveModel } = await dist("model/load-model.js");
const { initWeights } = await dist("model/init.js");
const { readCheckpoint } = await dist("model/checkpoint.js");
const { median } = await dist("bench/stats.js");
const TOLERANCE = args.provider === "cpu" ? 0 : 1e-3;
const SKIP_STEPS = 5; // session creation and cuDNN's kernel timing

const smi = async (...a) => (await promisify(execFile)(args.smi, a, { encoding: "utf8" })).stdout;
const csvRows = (text) => text.trim().split("\n").filter(Boolean).map((l) => l.split(",").map((c) => c.trim()));

let gpus;
try {
  gpus = csvRows(await smi("--query-gpu=index,uuid,memory.used", "--format=csv,noheader,nounits")).map(([index, uuid]) => ({ index: Number(index), uuid }));
} catch (err) {
  console.error(`${args.smi} failed (${err.message.split("\n")[0]}): no NVIDIA GPU to place stages on`);
  process.exit(1);
}
if (gpus.length < 2) {
  console.log(`skipped: ${gpus.length} GPU on this machine; runtime.device_id across two GPUs needs two`);
  process.exit(0);
}
// nvidia-smi's indices are the GPUs' PCI bus order; CUDA's device ids are too with this order set
// in the runs (its default puts the fastest first) and every GPU visible to them.
const { CUDA_VISIBLE_DEVICES: visible, ...inherited } = process.env;
if (visible !== undefined) console.log(`note: the runs see every GPU (CUDA_VISIBLE_DEVICES=${visible} is not passed on), so that device ids are nvidia-smi's indices`);
const runEnv = { ...inherited, CUDA_DEVICE_ORDER: "PCI_BUS_ID" };

/** Used memory (MiB) per GPU index, now. */
async function memoryNow() {
  return new Map(csvRows(await smi("--query-gpu=index,memory.used", "--format=csv,noheader,nounits")).map(([i, m]) => [Number(i), Number(m)]));
}

/** The GPU indices a process is on now: by its pid in nvidia-smi's compute apps (none where the query fails). */
async function gpusOfPid(pid) {
  const byUuid = new Map(gpus.map((g) => [g.uuid, g.index]));
  const rows = csvRows(await smi("--query-compute-apps=pid,gpu_uuid", "--format=csv,noheader").catch(() => ""));
  return rows.filter(([p]) => Number(p) === pid).map(([, uuid]) => byUuid.get(uuid)).filter((i) => i !== undefined);
}

/** Whether a run under `outDir` has logged a training step (metrics.csv has a row). */
function training(outDir) {
  if (!existsSync(outDir)) return false;
  return readdirSync(outDir).some((d) => {
    const file = join(outDir, d, "metrics.csv");
    return existsSync(file) && readFileSync(file, "utf8").trim().split("\n").length >= 2;
  });
}

/** Trains one placement; returns its run folder and the GPUs it was seen on, and why. */
async function train(label, deviceId) {
  const outDir = join(args.out, label);
  rmSync(outDir, { recursive: true, force: true }); // a finished run there would be skipped
  const defaults = [
    `runtime.provider=${args.provider}`, "train.method=sideways", "runtime.workers=2", "runtime.device_step=false",
    `runtime.device_id=${deviceId}`, "data.workers=4", "train.batch_size=64", `train.steps=${steps}`, `eval.every=${steps}`, "eval.clips=64",
  ];
  // The caller's overrides replace these defaults (`sideways run` refuses a key given twice).
  const given = new Set(overrides.map((o) => o.split("=")[0]));
  const cli = [
    repoFile("bin/sideways.js"), "run", repoFile("experiments/gpu-wide.yaml"),
    ...defaults.filter((d) => !given.has(d.split("=")[0])), ...overrides, `output.dir=${outDir}`, "--quiet",
  ];
  console.log(`=== ${label}: node ${cli.join(" ")}`);
  const child = spawn(process.execPath, cli, { stdio: "inherit", env: runEnv });
  const exited = new Promise((done) => child.on("exit", (code, signal) => done(code ?? signal)));
  const seen = { pid: new Set(), memory: new Set() };
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    // Only once a step is done: `run`'s provider check opens a session on every listed GPU first.
    if (training(outDir)) {
      const [onPid, mem] = await Promise.all([gpusOfPid(child.pid), memoryNow()]);
      for (const i of onPid) seen.pid.add(i);
      for (const [i, m] of mem) if (m - (before.get(i) ?? m) >= memoryMib) seen.memory.add(i);
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, pollMs))]);
  }
  const code = await exited;
  if (code !== 0) {
    console.error(`${label}: sideways run ended with ${code}`);
    process.exit(1);
  }
  const runs = readdirSync(outDir).filter((d) => existsSync(join(outDir, d, "final.safetensors")));
  if (runs.length !== 1) throw new Error(`${outDir}: expected one finished run, found ${runs.length}`);
  return { label, device_id: deviceId, dir: join(outDir, runs[0]), gpus: [...new Set([...seen.pid, ...seen.memory])].sort(), gpus_by_pid: [...seen.pid].sort(), gpus_by_memory: [...seen.memory].sort() };
}

/** The L2 norm of (a - b) over every tensor of `names`. */
function distance(a, b, names) {
  let sum = 0;
  for (const name of names) {
    const x = a.get(name), y = b.get(name);
    for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
  }
  return Math.sqrt(sum);
}

function stepMedianMs(dir) {
  const [head, ...lines] = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
  const col = head.indexOf("step_s");
  return 1000 * median(lines.slice(SKIP_STEPS).map((r) => Number(r[col])));
}

// Before either run: memory the driver frees only after a run has exited cannot hide the next one.
const before = await memoryNow();
const pair = await train("stages-on-gpus-0-1", "[0,1]");
const single = await train("stages-on-gpu-0", "0");

const failures = [];
for (const [run, want] of [[pair, [0, 1]], [single, [0]]]) {
  if (JSON.stringify(run.gpus) !== JSON.stringify(want))
    failures.push(`${run.label} (runtime.device_id ${run.device_id}) was seen on GPUs [${run.gpus}] (by pid [${run.gpus_by_pid}], by memory [${run.gpus_by_memory}]), expected [${want}]`);
}
const config = parseYaml(readFileSync(join(pair.dir, "config.yaml"), "utf8"));
const model = resolveModel(config.model, join(pair.dir, "config.yaml"));
const init = initWeights(model, config.seed);
const [wPair, wSingle] = [pair, single].map((r) => readCheckpoint(join(r.dir, "final.safetensors"), model));
const names = [...init.keys()];
const placementGap = distance(wPair, wSingle, names);
const moved = distance(wSingle, init, names);
const ratio = placementGap / moved;
if (!(ratio <= TOLERANCE)) failures.push(`the two placements' weights differ by ${ratio.toExponential(2)} of training's movement, over the ${TOLERANCE} allowed`);

const [msPair, msSingle] = [stepMedianMs(pair.dir), stepMedianMs(single.dir)];
console.log(`\nSideways, 2 depth-parallel stages, ${steps} steps (${args.provider}${overrides.length ? `; ${overrides.join(" ")}` : ""})\n`);
console.log("| placement | GPUs seen | median step ms (steps 6 on) |\n|---|---|---|");
for (const [run, ms] of [[pair, msPair], [single, msSingle]]) console.log(`| runtime.device_id ${run.device_id} | ${run.gpus.join(", ") || "-"} | ${ms.toFixed(2)} |`);
console.log(`\ntwo GPUs against one: ${(msSingle / msPair).toFixed(3)}x the steps per second`);
console.log(`weights: the placements differ by ${placementGap.toExponential(3)}, training moved them ${moved.toExponential(3)} (ratio ${ratio.toExponential(2)}, allowed ${TOLERANCE})`);
if (args.json) {
  const result = { provider: args.provider, steps, overrides, runs: [pair, single].map((r, i) => ({ ...r, step_ms: [msPair, msSingle][i] })), speedup: msSingle / msPair, placement_gap: placementGap, moved, ratio, tolerance: TOLERANCE, failures };
  writeFileSync(args.json, JSON.stringify(result, null, 2) + "\n");
}
for (const f of failures) console.error(`FAILED: ${f}`);
process.exit(failures.length > 0 ? 1 : 0);
