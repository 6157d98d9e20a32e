/**
 * data.train_clips (moving-mnist, shapes): a finite training set of N generated clips, visited
 * epoch after epoch; without it every training clip is new. Checked on the clips themselves: each
 * epoch of N consecutive training clips holds the same N distinct clips once each.
 */
import { expect } from "chai";
import { createDataSource, type DataContext } from "../src/data/create-source.js";
import { DataSpec } from "../src/data/data-spec.js";
import type { ClipBatch } from "../src/data/source.js";

const ctx: DataContext = { input: { channels: 1, height: 16, width: 16 }, classes: 10, seed: 2, baseDir: ".", cacheDir: "unused" };

/** The first `count` training clips of a spec, each as a string of its pixels and label. */
async function trainingClips(spec: object, count: number, c = ctx): Promise<{ clips: string[]; trainClips: number | undefined; description: string }> {
  const source = await createDataSource(DataSpec.parse(spec), c);
  try {
    const batch = (await source.trainBatches(count).next()).value as ClipBatch;
    const size = batch.pixels!.data.length / count;
    const clips = Array.from({ length: count }, (_, b) => `${batch.labels[b]}:${Buffer.from(batch.pixels!.data.subarray(b * size, (b + 1) * size)).toString("base64")}`);
    return { clips, trainClips: (source as { trainClips?: number }).trainClips, description: source.description };
  } finally {
    await source.close();
  }
}

describe("data.train_clips", () => {
  for (const kind of ["moving-mnist", "shapes"] as const) {
    const c = kind === "shapes" ? { ...ctx, classes: 4 } : ctx;
    it(`${kind}: every epoch of N training clips holds the same N distinct clips once each, in a new order where data.shuffle is on`, async () => {
      const N = 5;
      for (const shuffle of [true, false]) {
        const { clips, trainClips, description } = await trainingClips({ kind, clip_length: 3, train_clips: N, shuffle }, 4 * N, c);
        const epochs = [0, 1, 2, 3].map((e) => clips.slice(e * N, (e + 1) * N));
        for (const epoch of epochs) {
          expect(new Set(epoch).size, "distinct clips in an epoch").to.equal(N);
          expect([...epoch].sort()).to.deep.equal([...epochs[0]!].sort());
        }
        const orders = new Set(epochs.map((e) => e.join("|")));
        expect(orders.size, shuffle ? "the epochs' orders differ" : "one order").to.equal(shuffle ? 4 : 1);
        expect(trainClips).to.equal(N);
        expect(description).to.include(`${N} training clips)`);
      }
      // Without the key, 20 clips are 20 different ones (the endless set as before).
      const endless = await trainingClips({ kind, clip_length: 3 }, 4 * N, c);
      expect(new Set(endless.clips).size).to.equal(4 * N);
      expect(endless.trainClips).to.equal(undefined);
    });
  }

  it("leaves the evaluation clips as they are without it", async () => {
    const evalOf = async (spec: object) => {
      const source = await createDataSource(DataSpec.parse(spec), ctx);
      try {
        for await (const b of source.evalBatches(4, 4)) return Array.from(b.pixels!.data);
      } finally {
        await source.close();
      }
      return [];
    };
    expect(await evalOf({ kind: "moving-mnist", clip_length: 3, train_clips: 3 })).to.deep.equal(await evalOf({ kind: "moving-mnist", clip_length: 3 }));
  });
});
