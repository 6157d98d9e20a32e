/**
 * Per-class figures of an evaluation (src/train/evaluate.ts byClass, src/results/per-class-csv.ts),
 * on hand-built logits: a model whose logits are its input frame's pixels (flatten, then an
 * identity linear layer), so each clip's mean logits, and so its prediction, are written by hand.
 */
import { expect } from "chai";
import type { ClipBatch } from "../src/data/source.js";
import { resolveModel } from "../src/model/load-model.js";
import { perClassCsvText } from "../src/results/per-class-csv.js";
import { BlockRunner, buildAllBlockGraphs } from "../src/train/block-runner.js";
import { evaluate } from "../src/train/evaluate.js";

const K = 3;

async function evaluated(frames: number[][][], labels: number[], videoOf?: (clip: number) => number) {
  const model = resolveModel({ name: "identity-3", input: { channels: 1, height: 1, width: K }, classes: K, layers: [{ type: "flatten" }, { type: "linear", out_features: K }] }, "identity-3");
  const weights = new Map([["1.weight", Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1])], ["1.bias", new Float32Array(K)]]);
  // Two batches: the counts are summed across them.
  async function* batches(): AsyncIterable<ClipBatch> {
    for (const [from, to] of [[0, 3], [3, frames.length]]) {
      const part = frames.slice(from, to);
      yield { clips: Float32Array.from(part.flat(2)), labels: Int32Array.from(labels.slice(from, to)), dims: [part.length, part[0].length, 1, 1, K] };
    }
  }
  const runner = await BlockRunner.create(model, model.blocks.map((b) => b.index), buildAllBlockGraphs(model), { provider: "cpu", threads: 1 }, false);
  return evaluate(model, runner, batches(), weights, videoOf).finally(() => runner.release());
}

describe("per-class figures of an evaluation", function () {
  this.timeout(60_000);

  // Six clips of two frames. Predictions by the mean of the frames (not the last frame):
  // clip 0 -> 0, clip 1 -> 1 (its last frame says 0), clip 2 -> 0, clip 3 -> 2, clip 4 -> 2, clip 5 -> 1.
  const frames = [
    [[5, 0, 0], [5, 0, 0]],
    [[0, 9, 0], [1, 0, 0]],
    [[9, 1, 0], [9, 1, 0]],
    [[0, 0, 4], [0, 0, 4]],
    [[1, 0, 2], [1, 0, 2]],
    [[0, 2, 1], [0, 2, 1]],
  ];
  const labels = [0, 1, 1, 2, 0, 1];

  it("the clip confusion matrix (rows true class, columns predicted) is the hand count, and its diagonal is clip top-1's", async () => {
    const r = await evaluated(frames, labels);
    // True 0: clips 0 (-> 0), 4 (-> 2). True 1: clips 1 (-> 1), 2 (-> 0), 5 (-> 1). True 2: clip 3 (-> 2).
    expect(Array.from(r.byClass.clipConfusion)).to.deep.equal([1, 0, 1, 1, 2, 0, 0, 0, 1]);
    const diagonal = [0, 1, 2].reduce((s, k) => s + r.byClass.clipConfusion[k * K + k], 0);
    expect(diagonal / r.clips).to.equal(r.clipTop1);
    expect(r.clipTop1).to.equal(4 / 6);
    expect(r.byClass.videos, "no videos given").to.equal(undefined);
  });

  it("video counts per class follow video top-1's rule (the sum of a video's clips' means)", async () => {
    // Videos: {0, 4} (class 0: sums [6, 0, 2] -> 0, right), {1, 2, 5} (class 1: [9.5, 7.5, 1] -> 0,
    // wrong, though two of its three clips pick 1), {3} (class 2, right).
    const video = [0, 1, 1, 2, 0, 1];
    const r = await evaluated(frames, labels, (c) => video[c]);
    expect(Array.from(r.byClass.videos!)).to.deep.equal([1, 1, 1]);
    expect(Array.from(r.byClass.videosCorrect!)).to.deep.equal([1, 0, 1]);
    expect(r.videoTop1).to.equal(2 / 3);
  });

  it("the CSV: one row per class with its name, clips, clip top-1 (empty without clips), video columns where there are videos, and the matrix's row", async () => {
    const r = await evaluated(frames, labels.map((l) => (l === 2 ? 1 : l))); // class 2 has no clips
    const text = perClassCsvText(r.byClass, ["run", "jump", "swim"]);
    expect(text).to.equal(
      "class,class_name,clips,clip_top1,predicted_0,predicted_1,predicted_2\n" +
        "0,run,2,0.5,1,0,1\n" +
        "1,jump,4,0.5,1,2,1\n" +
        "2,swim,0,,0,0,0\n",
    );
    const withVideos = await evaluated(frames, labels, (c) => [0, 1, 1, 2, 0, 1][c]);
    expect(perClassCsvText(withVideos.byClass, undefined).split("\n")[0]).to.equal("class,class_name,clips,clip_top1,videos,video_top1,predicted_0,predicted_1,predicted_2");
  });
});
