/**
 * Top-k accuracy's rule (clip and video top-5, src/train/evaluate.ts): a prediction is right when
 * fewer than k classes have a logit strictly greater than the label's. So a class tied with the
 * k-th largest counts as in (torch.topk would break such a tie either way; exact ties of float
 * logits are rare, and this rule does not depend on the classes' order). A NaN logit of the
 * label is never in: a model that outputs NaN must not score top-k 1. Top-1 keeps its own rule
 * (argmax, the first of equal logits), and with logits that are not NaN whatever top-1 counts
 * right, top-k does too (top-1's argmax keeps a NaN first logit as its pick, so a label 0 with a
 * NaN logit is top-1 right and top-k wrong).
 */

/** The k of the top-k accuracy evaluation reports besides top-1, as video recognition papers do. */
export const TOP_K = 5;

/**
 * Whether top-k means anything for a model with `classes` classes: with k or fewer, every label is
 * among the k largest by definition, so evaluation reports no top-k there (empty cells).
 */
export function hasTopK(classes: number, k = TOP_K): boolean {
  return classes > k;
}

/** Whether `label` is among the `k` largest of `logits[off .. off + n)` (the rule above). */
export function inTopK(logits: ArrayLike<number>, off: number, n: number, label: number, k: number): boolean {
  const own = logits[off + label];
  if (Number.isNaN(own)) return false;
  let greater = 0;
  for (let i = 0; i < n; i++) if (logits[off + i] > own && ++greater >= k) return false;
  return true;
}
