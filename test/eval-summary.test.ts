/**
 * recordEvaluation: what each evaluation (or, on resuming, each eval.csv row) leaves in
 * summary.json: the last one's metrics as the final ones, the largest clip top-1 and, where
 * evaluation clips vote by video (video-folder), the largest video top-1 as the best.
 */
import { expect } from "chai";
import { recordEvaluation } from "../src/train/eval-summary.js";
import { newRunSummary } from "../src/train/run-types.js";

describe("recordEvaluation: a run's final and best evaluation metrics", () => {
  it("keeps the largest video top-1 of any evaluation as best_eval_video_top1, the last as final_eval_video_top1", () => {
    const summary = newRunSummary("r", "bp");
    // The video best (step 2) is not at the clip best (step 1), and neither is the last evaluation.
    const evals = [
      { step: 1, eval_loss: 2, eval_clip_top1: 0.6, eval_frame_top1: 0.5, eval_video_top1: 0.5 },
      { step: 2, eval_loss: 1.5, eval_clip_top1: 0.55, eval_frame_top1: 0.5, eval_video_top1: 0.75 },
      { step: 3, eval_loss: 1.8, eval_clip_top1: 0.4, eval_frame_top1: 0.45, eval_video_top1: 0.25 },
    ];
    for (const m of evals) recordEvaluation(summary, m);
    expect(summary).to.include({
      final_eval_loss: 1.8,
      final_eval_clip_top1: 0.4,
      final_eval_frame_top1: 0.45,
      best_eval_clip_top1: 0.6,
      final_eval_video_top1: 0.25,
      best_eval_video_top1: 0.75,
      // The best evaluation is the video best's, not the clip best's.
      best_eval_step: 2,
    });
  });

  it("leaves both video-level keys out where evaluations have no video votes (generated or npy data)", () => {
    const summary = newRunSummary("r", "sideways");
    recordEvaluation(summary, { step: 10, eval_loss: 2, eval_clip_top1: 0.25, eval_frame_top1: 0.2 });
    recordEvaluation(summary, { step: 20, eval_loss: 1, eval_clip_top1: 0.5, eval_frame_top1: 0.4 });
    // An equal clip top-1 later does not move the best evaluation: the first of equal ones stays.
    recordEvaluation(summary, { step: 30, eval_loss: 0.9, eval_clip_top1: 0.5, eval_frame_top1: 0.45 });
    expect(summary.best_eval_clip_top1).to.equal(0.5);
    expect(summary.best_eval_step).to.equal(20);
    expect(summary).to.not.have.any.keys("final_eval_video_top1", "best_eval_video_top1");
    expect(JSON.parse(JSON.stringify(summary))).to.not.have.any.keys("final_eval_video_top1", "best_eval_video_top1");
  });

  it("keeps the last evaluation's top-5 as final_eval_clip_top5 and final_eval_video_top5; without top-5 (5 classes or fewer) no key", () => {
    const summary = newRunSummary("r", "bp");
    recordEvaluation(summary, { step: 1, eval_loss: 2, eval_clip_top1: 0.5, eval_frame_top1: 0.4, eval_clip_top5: 0.9, eval_video_top1: 0.5, eval_video_top5: 1 });
    recordEvaluation(summary, { step: 2, eval_loss: 1, eval_clip_top1: 0.25, eval_frame_top1: 0.2, eval_clip_top5: 0.75, eval_video_top1: 0.5, eval_video_top5: 0.5 });
    expect(summary).to.include({ final_eval_clip_top5: 0.75, final_eval_video_top5: 0.5 });
    const few = newRunSummary("r", "bp");
    recordEvaluation(few, { step: 1, eval_loss: 2, eval_clip_top1: 0.5, eval_frame_top1: 0.4 });
    expect(JSON.parse(JSON.stringify(few))).to.not.have.any.keys("final_eval_clip_top5", "final_eval_video_top5");
  });

  it("keeps the top-5 of the best evaluation (best_eval_step's) as best_eval_clip_top5 / best_eval_video_top5, not the largest top-5", () => {
    const summary = newRunSummary("r", "bp");
    // Step 2 is best by video top-1; step 1 has the larger top-5s, step 3 the last ones.
    recordEvaluation(summary, { step: 1, eval_loss: 2, eval_clip_top1: 0.6, eval_frame_top1: 0.4, eval_clip_top5: 0.95, eval_video_top1: 0.5, eval_video_top5: 1 });
    recordEvaluation(summary, { step: 2, eval_loss: 1, eval_clip_top1: 0.5, eval_frame_top1: 0.4, eval_clip_top5: 0.8, eval_video_top1: 0.75, eval_video_top5: 0.875 });
    recordEvaluation(summary, { step: 3, eval_loss: 1, eval_clip_top1: 0.25, eval_frame_top1: 0.2, eval_clip_top5: 0.7, eval_video_top1: 0.5, eval_video_top5: 0.625 });
    expect(summary).to.include({ best_eval_step: 2, best_eval_clip_top5: 0.8, best_eval_video_top5: 0.875, final_eval_clip_top5: 0.7, best_eval_clip_top1: 0.6 });
  });

  it("drops the best top-5 when a later best evaluation has none (an older version's eval.csv row): never an earlier evaluation's", () => {
    const summary = newRunSummary("r", "bp");
    recordEvaluation(summary, { step: 1, eval_loss: 2, eval_clip_top1: 0.25, eval_frame_top1: 0.2, eval_clip_top5: 0.6 });
    expect(summary.best_eval_clip_top5).to.equal(0.6);
    recordEvaluation(summary, { step: 2, eval_loss: 1, eval_clip_top1: 0.5, eval_frame_top1: 0.4 });
    expect(summary.best_eval_step).to.equal(2);
    expect(JSON.parse(JSON.stringify(summary))).to.not.have.any.keys("best_eval_clip_top5", "best_eval_video_top5");
  });
});
