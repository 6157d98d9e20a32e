// Usage: node docs/figures/ab-builds.mjs BASE_CHECKOUT NEW_CHECKOUT [ROUNDS], both built (npx tsc -p .),
// BASE sharing NEW's node_modules (a symlink) so that one onnxruntime-node is loaded.
// Interleaved A/B of two builds' executors in one process: per round, every (build, config) runs
// one clip batch of bench-8block (8 clips x 64 frames) on the same weights; medians over rounds.
const [baseDir, newDir, rounds = "6"] = process.argv.slice(2);
const load = async (dir) => ({
  seq: await import(`${dir}/dist/src/train/sequential-executor.js`),
  par: await import(`${dir}/dist/src/train/parallel-executor.js`),
  br: await import(`${dir}/dist/src/train/block-runner.js`),
  lm: await import(`${dir}/dist/src/model/load-model.js`),
  init: await import(`${dir}/dist/src/model/init.js`),
  probe: await import(`${dir}/dist/src/runtime/nchwc-probe.js`),
});
const cpu = { provider: "cpu", threads: 1 };
const builds = { base: await load(baseDir), new: await load(newDir) };
const configs = [];
for (const [name, m] of Object.entries(builds)) {
  const model = m.lm.loadModelFile(`${newDir}/models/bench-8block.yaml`);
  const graphs = m.br.buildAllBlockGraphs(model, await m.probe.graphTargetFor(cpu));
  const weights = m.init.initWeights(model, 0);
  const seq = await m.seq.SequentialExecutor.create(model, graphs, cpu);
  const par = await m.par.ParallelExecutor.create(model, graphs, [[0, 1, 2, 3], [4, 5, 6, 7]], cpu);
  for (const [label, exec, method, opts] of [
    ["bp auto, sequential", seq, "bp", { bpFramesPerPass: "auto" }],
    ["sideways, sequential", seq, "sideways", {}],
    ["sideways, 2 workers", par, "sideways", {}],
    ["bp frame by frame, 2 workers", par, "bp", { bpFramesPerPass: 1 }],
  ]) configs.push({ build: name, label, exec, method, opts, weights, model, ms: [] });
}
const { Rng } = await import(`${newDir}/dist/src/util/rng.js`);
const batch = (seed) => { const r = new Rng(seed); const n = 8 * 64 * 3 * 32 * 32; const clips = new Float32Array(n); for (let i = 0; i < n; i++) clips[i] = r.next(); return { clips, labels: Int32Array.from({ length: 8 }, () => r.int(10)), dims: [8, 64, 3, 32, 32] }; };
for (const c of configs) await c.exec.runBatch(c.method, batch(1), c.weights, c.opts); // warm-up
for (let i = 0; i < Number(rounds); i++) {
  const b = batch(2 + i);
  // Alternate which build goes first, so load that drifts within a round favours neither.
  const order = i % 2 ? [...configs].reverse() : configs;
  for (const c of order) { const t0 = performance.now(); await c.exec.runBatch(c.method, b, c.weights, c.opts); c.ms.push(performance.now() - t0); }
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
console.log("| config | base frames/s | new frames/s | new/base |\n|---|---|---|---|");
for (const label of [...new Set(configs.map((c) => c.label))]) {
  const [b, n] = ["base", "new"].map((w) => configs.find((c) => c.build === w && c.label === label));
  const fps = (c) => (8 * 64) / (median(c.ms) / 1000);
  console.log(`| ${label} | ${fps(b).toFixed(0)} | ${fps(n).toFixed(0)} | ${(fps(n) / fps(b)).toFixed(3)} |`);
}
for (const e of new Set(configs.map((c) => c.exec))) await e.close();
