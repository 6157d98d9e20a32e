/**
 * data.workers (src/data/clip-workers.ts): clips generated in worker threads give the batches of
 * one thread bit for bit (every generated clip is a pure function of seed, stream and index), for
 * training batches across epochs of indices and for the evaluation set; kinds that gain nothing
 * refuse the key with exit-2 errors naming it.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type { ClipSource } from "../src/data/clip-source.js";
import { ClipWorkers } from "../src/data/clip-workers.js";
import { assembleBatch } from "../src/data/clip.js";
import { childArgs } from "../src/cli/sweep-runner.js";
import { clipPlan, createDataSource, createLocalProducer, dataBoundNote, type DataContext } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import { DataError, RunError } from "../src/errors.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { configHash } from "../src/spec/resolved-config.js";
import type { ClipBatch, DataSource } from "../src/data/source.js";
import { main } from "../src/cli/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { withCores } from "./helpers/fake-cores.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";

const ctx: DataContext = { input: { channels: 1, height: 16, width: 16 }, classes: 10, seed: 5, baseDir: ".", cacheDir: "unused" };

async function batchesOf(source: DataSource, batchSize: number, count: number, start = 0): Promise<{ train: ClipBatch[]; evaluation: ClipBatch[] }> {
  try {
    const it = source.trainBatches(batchSize, start);
    const train: ClipBatch[] = [];
    for (let k = 0; k < count; k++) train.push((await it.next()).value as ClipBatch);
    const evaluation: ClipBatch[] = [];
    for await (const b of source.evalBatches(7, 3)) evaluation.push(b);
    return { train, evaluation };
  } finally {
    await source.close();
  }
}

function expectSameBatches(got: ClipBatch[], want: ClipBatch[], what: string): void {
  expect(got.length, what).to.equal(want.length);
  got.forEach((b, k) => {
    expect(b.dims, `${what} ${k}`).to.deep.equal(want[k]!.dims);
    expect(Array.from(b.labels), `${what} ${k} labels`).to.deep.equal(Array.from(want[k]!.labels));
    expect(Buffer.from(b.clips.buffer, b.clips.byteOffset, b.clips.byteLength).equals(Buffer.from(want[k]!.clips.buffer, want[k]!.clips.byteOffset, want[k]!.clips.byteLength)), `${what} ${k} clips`).to.equal(true);
    expect(b.pixels?.data, `${what} ${k} pixels`).to.deep.equal(want[k]!.pixels?.data);
  });
}

describe("data workers", () => {
  for (const spec of [
    { kind: "moving-mnist", clip_length: 3, digits: 2, shuffle_frames: true },
    { kind: "shapes", clip_length: 4 },
    { kind: "moving-mnist", clip_length: 3, digits: 2, augment: { flip: true, pad_crop: 3 }, train_clips: 7 },
    { kind: "shapes", clip_length: 3, augment: { scale: [0.3, 0.9], flip: true } },
  ]) {
    it(`${spec.kind}${"augment" in spec ? ` with data.augment ${JSON.stringify(spec.augment)}` : ""}${"train_clips" in spec ? " and data.train_clips" : ""}: 3 workers give the batches of one thread, bit for bit (training from batch 2, and the evaluation set)`, async () => {
      const c = spec.kind === "shapes" ? { ...ctx, classes: 4 } : ctx;
      const [oneThread, threeWorkers] = [await createDataSource(DataSpec.parse(spec), c), await createDataSource(DataSpec.parse({ ...spec, workers: 3 }), c)];
      expect([(oneThread as ClipSource).dataWorkers, (threeWorkers as ClipSource).dataWorkers]).to.deep.equal([0, 3]);
      const one = await batchesOf(oneThread, 5, 3, 2);
      const three = await batchesOf(threeWorkers, 5, 3, 2);
      expectSameBatches(three.train, one.train, "train batch");
      expectSameBatches(three.evaluation, one.evaluation, "eval batch");
      expect(one.evaluation.map((b) => b.dims[0])).to.deep.equal([3, 3, 1]);
      // Not a degenerate stream: the batches differ from one another.
      expect(Array.from(one.train[0]!.clips)).to.not.deep.equal(Array.from(one.train[1]!.clips));
    });
  }

  for (const workers of [0, 2]) {
    it(`released batches' memory holds later ones, which stay those of a source that releases none (${workers} workers; unshuffled and shuffled frames)`, async () => {
      for (const shuffle_frames of [false, true]) {
        const spec = { kind: "moving-mnist", clip_length: 3, digits: 2, shuffle_frames, prefetch: 1 };
        const kept = await batchesOf(await createDataSource(DataSpec.parse(spec), ctx), 4, 8);
        const source = await createDataSource(DataSpec.parse({ ...spec, ...(workers > 0 ? { workers } : {}) }), ctx);
        const released = new Set<ArrayBufferLike>();
        let [reused, reusedByWorkers] = [0, 0];
        try {
          const it = source.trainBatches(4);
          for (let k = 0; k < 8; k++) {
            const b = (await it.next()).value as ClipBatch;
            if (released.has(b.pixels!.data.buffer)) reused += 1;
            // Copies, read before the release: the batch's memory is about to hold another.
            const copy = { dims: b.dims, labels: b.labels.slice(), clips: b.clips.slice(), pixels: { ...b.pixels!, data: b.pixels!.data.slice() } } as ClipBatch;
            expectSameBatches([copy], [kept.train[k]!], `${shuffle_frames ? "shuffled" : "unshuffled"} batch ${k}`);
            released.add(b.pixels!.data.buffer);
            b.pixels!.data.fill(0xff); // so that a byte a later batch leaves unwritten shows
            b.release!();
            b.release!(); // a second release changes nothing
            expect(() => b.pixels, "pixels after release").to.throw(/read after its release/);
            expect(() => b.clips, "clips after release").to.throw(/read after its release/);
            expect(Object.keys(b), "release is not enumerable").to.not.include("release");
          }
          if (workers > 0) reusedByWorkers = (source as unknown as { producer: ClipWorkers }).producer.reusedBuffers;
        } finally {
          await source.close();
        }
        // Batches 2-5 are made after batches 0-3 were released (1 made ahead: 2 in flight). With
        // workers, 2 ahead (one a worker), by whichever worker is free, in memory handed back to
        // it where it has some: which ones depends on timing (the exact count: the test below).
        if (workers === 0) expect(reused, "later batches in released memory").to.be.at.least(3);
        else expect(reusedByWorkers, "later batches in memory handed back to the workers").to.be.at.least(1);
      }
    });
  }

  it("buffers handed back to the workers hold later clips, the same as one thread's; the handed-back views are detached", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 3, digits: 2 });
    const local = await createLocalProducer(spec, ctx);
    const workers = await ClipWorkers.start(await createLocalProducer(spec, ctx), spec, ctx, 2);
    try {
      for (let round = 0; round < 3; round++) {
        const clips = await workers.clipRange("train", round * 6, 6, 0);
        for (const [i, clip] of clips.entries()) {
          const want = await local.trainClip(round * 6 + i);
          expect(Buffer.from(clip.pixels as Uint8Array).equals(Buffer.from(want.pixels as Uint8Array)), `round ${round} clip ${i}`).to.equal(true);
        }
        // Round 0's replies are new memory; each later round's, the buffers handed back before it.
        expect(workers.reusedBuffers, `replies in handed-back buffers before round ${round + 1}`).to.equal(2 * round);
        for (const clip of clips) clip.pixels.fill(0xff); // so that a byte a later clip leaves unwritten shows
        workers.recycle(clips);
        expect(clips.map((c) => c.pixels.length), "handed back: detached here").to.deep.equal([0, 0, 0, 0, 0, 0]);
      }
      // Clips of another size (an evaluation batch's last share) come in new memory.
      await workers.clipRange("train", 100, 2, 0);
      expect(workers.reusedBuffers).to.equal(4);
    } finally {
      await workers.close();
      await local.close();
    }
  });

  it("a worker assembles whole training batches as this thread would, frame order included, in memory handed back to it", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 3, digits: 2, shuffle_frames: true });
    const local = await createLocalProducer(spec, ctx);
    const workers = await ClipWorkers.start(await createLocalProducer(spec, ctx), spec, ctx, 1);
    const { shape, pre } = clipPlan(spec, ctx);
    try {
      for (let round = 0; round < 3; round++) {
        const first = 5 + 4 * round;
        const got = await workers.trainPixelBatch(first, 4);
        const clips = await Promise.all([0, 1, 2, 3].map((i) => local.trainClip(first + i)));
        const want = assembleBatch(clips, shape, pre, "train", first);
        expect(Buffer.from(got.pixels).equals(Buffer.from(want.pixels!.data)), `round ${round} pixels`).to.equal(true);
        expect(Array.from(got.labels), `round ${round} labels`).to.deep.equal(Array.from(want.labels));
        expect(workers.reusedBuffers, `batches in handed-back memory before round ${round + 1}`).to.equal(round);
        got.pixels.fill(0xff); // so that a byte a later batch leaves unwritten shows
        workers.recycle([got]);
        expect(got.pixels.length, "handed back: detached here").to.equal(0);
      }
    } finally {
      await workers.close();
      await local.close();
    }
  });

  /** Counts each worker's requests by type, spying on what the main thread posts to it. */
  function countRequests(workers: ClipWorkers): Map<string, number>[] {
    // The private field, reached on purpose: which worker gets which request is not observable otherwise.
    return (workers as unknown as { workers: Worker[] }).workers.map((w) => {
      const counts = new Map<string, number>();
      const post = w.postMessage.bind(w);
      w.postMessage = (msg: { type: string }, transfer?: Parameters<Worker["postMessage"]>[1]) => {
        counts.set(msg.type, (counts.get(msg.type) ?? 0) + 1);
        post(msg, transfer);
      };
      return counts;
    });
  }

  it("each of 3 workers gets one of 3 whole batches asked for at once (the least busy one), and a 4th goes round", async () => {
    const spec = DataSpec.parse({ kind: "moving-mnist", clip_length: 3, digits: 2 });
    const workers = await ClipWorkers.start(await createLocalProducer(spec, ctx), spec, ctx, 3);
    try {
      const counts = countRequests(workers);
      await Promise.all([0, 1, 2].map((k) => workers.trainPixelBatch(4 * k, 4)));
      expect(counts.map((c) => c.get("batch") ?? 0)).to.deep.equal([1, 1, 1]);
      await workers.trainPixelBatch(12, 4);
      expect(counts.map((c) => c.get("batch") ?? 0).reduce((a, b) => a + b)).to.equal(4);
    } finally {
      await workers.close();
    }
  });

  it("training batches are made whole, at least one a worker in preparation, where batches are made ahead; with data.prefetch 0, split among the workers", async () => {
    for (const prefetch of [1, 0]) {
      const source = (await createDataSource(DataSpec.parse({ kind: "moving-mnist", clip_length: 3, digits: 2, workers: 3, prefetch }), ctx)) as ClipSource;
      try {
        const counts = countRequests((source as unknown as { producer: ClipWorkers }).producer);
        const it = source.trainBatches(6);
        await it.next();
        const [batches, shares] = ["batch", "clips"].map((type) => counts.reduce((n, c) => n + (c.get(type) ?? 0), 0));
        if (prefetch === 1) {
          // The one asked for and 3 behind it (one a worker, not data.prefetch's 1); the next is
          // asked for on the event loop's next turn.
          expect([batches, shares], "whole batches: [batch requests, share requests]").to.deep.equal([4, 0]);
        } else {
          expect([batches, shares], "shares: [batch requests, share requests]").to.deep.equal([0, 3]);
        }
      } finally {
        await source.close();
      }
    }
  });

  it("a worker that dies fails every later request with a RunError naming it; close still returns", async () => {
    const spec = DataSpec.parse({ kind: "shapes", clip_length: 2 });
    const c = { ...ctx, classes: 4 };
    const workers = await ClipWorkers.start(await createLocalProducer(spec, c), spec, c, 2);
    expect((await workers.clipRange("train", 0, 4, 0)).map((clip) => clip.label)).to.have.length(4);
    // The private field, reached on purpose: nothing outside a worker's own crash ends it early.
    await (workers as unknown as { workers: Worker[] }).workers[1]!.terminate();
    const err = await workers.clipRange("train", 4, 4, 0).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(RunError);
    expect(String(err)).to.match(/data worker 1 exited with status 1/);
    await workers.close();
  });

  it("a run's id leaves data.workers out: the same run, resumable with or without workers", () => {
    const hash = (overrides: string[]) => {
      const { spec, model, baseDir } = loadExperiment("experiments/quickstart.yaml", overrides);
      return configHash(spec, model, baseDir);
    };
    expect(hash(["data.workers=4"])).to.equal(hash([]));
    expect(hash(["data.eval_seed=3"]), "other data keys still count").to.not.equal(hash([]));
  });

  it("a finished run whose steps spent over 30% on data made on their thread is told of data.workers, where workers can make its clips and the run has 4 cores or more of its own", () => {
    const mnist = DataSpec.parse({ kind: "moving-mnist", clip_length: 8 });
    const alone = (cores: number) => ({ cores, concurrentRuns: 1, steppingThreads: 1 });
    const note = dataBoundNote(mnist, 0.67, alone(16));
    expect(note).to.match(/spent 67% of their time making moving-mnist batches on the step's thread \(summary\.json data_wait_share\); data\.workers=8 makes the clips in 8 worker threads, the same/);
    expect(dataBoundNote(mnist, 0.67, alone(6)), "two cores left to the step and the main thread").to.match(/data\.workers=4 /);
    expect(dataBoundNote(mnist, 0.3, alone(16)), "at the threshold").to.equal(null);
    expect(dataBoundNote(DataSpec.parse({ kind: "moving-mnist", clip_length: 8, workers: 2 }), 0.67, alone(16)), "workers already").to.equal(null);
    expect(dataBoundNote(DataSpec.parse({ kind: "npy", clips: "c.npy", labels: "l.npy", clip_length: 3 }), 0.67, alone(16)), "npy: no workers for it").to.equal(null);
    expect(dataBoundNote(mnist, 0.67, alone(2)), "2 cores: one worker was slower than none").to.equal(null);
  });

  it("the data-workers note counts a sweep's runs at once and the threads that step the blocks", () => {
    const mnist = DataSpec.parse({ kind: "moving-mnist", clip_length: 8 });
    // 16 cores, 2 runs at once: 8 each, less the main thread and the step's.
    expect(dataBoundNote(mnist, 0.67, { cores: 16, concurrentRuns: 2, steppingThreads: 1 })).to.match(/data\.workers=6 makes the clips in 6 worker threads \(8 cores of this machine's 16 for each of the sweep's 2 runs at once\)/);
    expect(dataBoundNote(mnist, 0.67, { cores: 16, concurrentRuns: 3, steppingThreads: 1 }), "5 cores a run").to.match(/data\.workers=3 /);
    expect(dataBoundNote(mnist, 0.67, { cores: 16, concurrentRuns: 8, steppingThreads: 1 }), "2 cores a run").to.equal(null);
    // Four depth-parallel stages, each on its own thread: 16 - 1 - 4.
    expect(dataBoundNote(mnist, 0.67, { cores: 16, concurrentRuns: 1, steppingThreads: 4 })).to.match(/data\.workers=8 /);
    expect(dataBoundNote(mnist, 0.67, { cores: 8, concurrentRuns: 1, steppingThreads: 4 }), "8 cores, 4 stages").to.match(/data\.workers=3 /);
    expect(dataBoundNote(mnist, 0.67, { cores: 6, concurrentRuns: 1, steppingThreads: 5 }), "no core left for a worker").to.equal(null);
  });

  it("a sweep's child is told how many runs train at once", () => {
    const exp = loadExperiment("experiments/quickstart.yaml", []);
    const run = { index: 0, runId: "r0", params: {}, configId: "c", configHash: "h", context: "" } as unknown as Parameters<typeof childArgs>[1];
    const args = childArgs(exp, run, "/tmp/root", { jobs: 4, failFast: false, force: false, shard: null, overrides: [] }, 3);
    expect(args.slice(args.indexOf("--sweep-jobs"), args.indexOf("--sweep-jobs") + 2)).to.deep.equal(["--sweep-jobs", "3"]);
  });

  it("npy refuses data.workers with an exit-2 error naming the key, before reading any file", async () => {
    const spec = DataSpec.parse({ kind: "npy", clips: "absent-clips.npy", labels: "absent-labels.npy", clip_length: 3, workers: 2 });
    const err = await createDataSource(spec, ctx).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(DataError);
    expect((err as DataError).keyPath).to.equal("data.workers");
    expect(String(err)).to.match(/data\.workers: 2 worker threads generate clips for moving-mnist and shapes only; npy clips are copies/);
  });
});

describe("the data-workers note end to end", function () {
  this.timeout(120_000);
  let dir: string;
  freshFolderEachTest("sideways-data-note-", (d) => (dir = d));

  // Data made on demand (prefetch 0: no batch made ahead during another step's awaits, which
  // depends on how the machine schedules them) and costly (8 digits on 64x64 frames, zoomed by a
  // random resized crop), a model cheap per frame (an 8x8 average pool first), 8 steps so that the
  // sessions' first runs do not weigh: data is about two thirds of each step here (0.66-0.68 in
  // three runs), far over the note's 30%, a ratio of two computations on one thread that load
  // slows alike. (One step making 32 batches ahead measured 0.8 alone but 0.28 in a loaded CI.)
  const dataBound = [
    "test/fixtures/specs/sweep-good.yaml",
    "sweep=null",
    "train.method=bp",
    "train.steps=8",
    "train.batch_size=16",
    "data={kind: moving-mnist, clip_length: 8, digits: 8, prefetch: 0, augment: {scale: [0.5, 1]}}",
    "model={name: cheap-per-frame, input: {channels: 1, height: 64, width: 64}, classes: 10, layers: [{type: avgpool2d, kernel: 8, stride: 8}, {type: conv2d, out_channels: 2, kernel: 3}, {type: global_avg_pool}, {type: linear, out_features: 10}]}",
  ];
  /** `run` with `overrides` into `outName` on a machine of 16 cores; its summary.json and what it printed. */
  async function runOn16Cores(outName: string, ...overrides: string[]): Promise<{ summary: { status: string; data_wait_share: number; notes?: string[] }; stderr: string }> {
    const io = captureIo();
    const out = join(dir, outName);
    expect(await withCores(16, () => main(["run", ...dataBound, ...overrides, `output.dir=${out}`], io)), io.stderr).to.equal(0);
    const [runId] = readdirSync(out).filter((f) => !f.endsWith(".lock"));
    return { summary: JSON.parse(readFileSync(join(out, runId!, "summary.json"), "utf8")), stderr: io.stderr };
  }

  it("a data-bound run on a machine of 16 cores gets the note in summary.json notes and says it; with data.workers set, none", async () => {
    const bound = await runOn16Cores("bound");
    expect(bound.summary.status).to.equal("completed");
    expect(bound.summary.data_wait_share, "the run is data-bound").to.be.greaterThan(0.3);
    // 16 cores, less the main thread and the step's: 8 workers at most.
    expect(bound.summary.notes, JSON.stringify(bound.summary)).to.have.length(1);
    expect(bound.summary.notes![0]).to.match(/^the training steps spent \d+% of their time making moving-mnist batches on the step's thread \(summary\.json data_wait_share\); data\.workers=8 makes the clips in 8 worker threads, the same batches bit for bit$/);
    expect(bound.stderr).to.include(`note: ${bound.summary.notes![0]}`);

    // data.workers is not part of the run id: another folder, or this would be the same, completed run.
    const withWorkers = await runOn16Cores("workers", "data.workers=2");
    expect(withWorkers.summary.status).to.equal("completed");
    expect(withWorkers.summary, "no notes key").to.not.have.property("notes");
    expect(withWorkers.stderr).to.not.include("data.workers=");
  });
});
