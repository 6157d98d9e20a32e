/**
 * A completed run whose model ends no better than a uniform guess: it collapsed (a learning rate
 * too high that pushed it to the same output for every clip, uniform or not), diverged, or never
 * trained (a rate too small, too few steps). Its loss and accuracy are finite and its status is
 * `completed`, so nothing else says so: summary.json's `warnings` (runs.csv's `warnings` column)
 * and the end of the run do.
 */

/**
 * How far, in nats, the last evaluation's loss may be from ln(classes) to count as a uniform
 * guess's (and how far under ln(classes) it must be to count as better than one). The
 * evaluation loss is the mean -ln p(true class) over the frames, so within 0.05 of ln(K) the
 * geometric mean of the probability the model gives the true class is within e^±0.05, about
 * ±5%, of 1/K. A model whose logits are equal for every class is at ln(K) exactly; the
 * zoo's models at their PyTorch-default initialisation sit within 0.031 of ln(10) on Moving MNIST
 * (quickstart-cnn, small-cnn, vgg-bn-mnist, resnet-mnist, 3 seeds each), and the studies' runs
 * that stayed at chance within 0.02 (docs/RESULTS.md); the runs there that learned are 0.3 or more
 * below it.
 */
export const CHANCE_LOSS_TOLERANCE = 0.05;

/**
 * How many binomial standard deviations above chance (1/K) clip top-1 may be and still count as
 * chance: a model that guesses, or gives every clip one class, gets each of n clips right with
 * probability about 1/K, so its top-1 has mean 1/K and standard deviation sqrt(p(1-p)/n). Three
 * of them are passed by chance about once in 700 evaluations.
 */
export const CHANCE_TOP1_SIGMAS = 3;

/** The clip top-1 at or under which `evalClips` clips over `classes` classes are at chance. */
export function chanceTop1Limit(classes: number, evalClips: number): number {
  const p = 1 / classes;
  return p + CHANCE_TOP1_SIGMAS * Math.sqrt((p * (1 - p)) / Math.max(evalClips, 1));
}

/** Whose loss a run's own warning speaks of: its last evaluation, as eval.csv's last row and runs.csv's final_eval_* have it. */
const LAST_EVALUATION = "the last evaluation's";

/** Whether `warning` (one of summary.json's `warnings`) is a run's own chanceLevelWarning: about its last evaluation's figures. */
export const isChanceLevelWarning = (warning: string) => warning.startsWith(`${LAST_EVALUATION} loss, `);

/**
 * The warning for a completed run whose last evaluation is no better than a uniform guess: its clip
 * top-1 not above chanceTop1Limit, and its loss not below ln(classes) - CHANCE_LOSS_TOLERANCE.
 * The top-1 test keeps a model that learned (top-1 above chance) from ever being flagged, however
 * near or above ln(K) its loss; the loss test keeps out a model at chance top-1 whose loss is
 * clearly under ln(K), which gives the true class more than 1/K and so learned something the
 * top-1 on these clips does not show.
 * Two cases, with their own wording:
 * - within the tolerance of ln(K): a uniform guess's (equal logits; a model never trained);
 * - above it: worse than a uniform guess's. A model that gives every clip the same non-uniform
 *   probabilities (collapsed: seen at SGD lr 3, eval loss ln(10) + 0.095 at chance top-1) or
 *   diverged is here. Only where the top-1 test can judge (chanceTop1Limit < 1): with very few
 *   evaluation clips (4 clips of 3 classes) any top-1 counts as chance, and a loss above ln(K)
 *   alone says nothing about accuracy, so there only the first case is flagged.
 * Null where it is neither, or where there was no evaluation. `whose` names the evaluation (default:
 * the run's last; `sideways evaluate`'s figures of a sweep say theirs).
 */
export function chanceLevelWarning(finalEvalLoss: number | null, clipTop1: number | null, classes: number, evalClips: number, whose = LAST_EVALUATION): string | null {
  if (finalEvalLoss === null || clipTop1 === null || !Number.isFinite(finalEvalLoss) || classes < 2 || evalClips < 1) return null;
  const chance = Math.log(classes);
  const limit = chanceTop1Limit(classes, evalClips);
  if (clipTop1 > limit) return null;
  const top1 = `its clip top-1, ${clipTop1.toFixed(3)}, is at chance (1/${classes}; ${evalClips} clips, so above ${limit.toFixed(3)} would not be)`;
  if (Math.abs(finalEvalLoss - chance) <= CHANCE_LOSS_TOLERANCE) {
    return (
      `${whose} loss, ${finalEvalLoss.toFixed(4)}, is within ${CHANCE_LOSS_TOLERANCE} of ln(${classes}) = ${chance.toFixed(4)}, ` +
      `a uniform guess's, and ${top1}: ` +
      `the model predicts about the same for every class, so it collapsed or never trained ` +
      `(if its training loss jumped before settling, try a lower train.optimizer.lr; if it never fell, more train.steps or a larger lr)`
    );
  }
  if (finalEvalLoss > chance && limit < 1) {
    return (
      `${whose} loss, ${finalEvalLoss.toFixed(4)}, is above ln(${classes}) + ${CHANCE_LOSS_TOLERANCE} = ${(chance + CHANCE_LOSS_TOLERANCE).toFixed(4)}, ` +
      `worse than a uniform guess's, and ${top1}: ` +
      `the model is no better than a uniform guess: it gives every clip about the same answer, or diverged, ` +
      `or fits only its training clips (a training loss far below this says which; try a lower train.optimizer.lr, or more data)`
    );
  }
  return null;
}
