/** "Did you mean ...?" suggestions for misspelt keys and option values. */

/**
 * Edit distance where insertions, deletions, substitutions and swaps of adjacent letters each
 * cost 1 (optimal string alignment): "trian" is 1 from "train".
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Other frameworks' names for ours (PyTorch, Keras, NumPy), which no edit distance finds: a
 * researcher's `learning_rate` is our `lr`. Suggested only where the name is among the candidates.
 */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  learning_rate: "lr",
  wd: "weight_decay",
  numpy: "npy",
  np: "npy",
  dense: "linear",
  fc: "linear",
  bn: "batch_norm",
  batchnorm2d: "batch_norm",
  gn: "group_norm",
  gap: "global_avg_pool",
  adaptive_avg_pool: "global_avg_pool",
  swish: "silu", // Ramachandran et al.'s name for x * sigmoid(x), Keras's and TensorFlow's
  backprop: "bp",
  clip_grad: "grad_clip_norm", // mmaction2's optim_wrapper key
  max_norm: "grad_clip_norm", // torch.nn.utils.clip_grad_norm_'s argument
  clip_grad_norm: "grad_clip_norm",
  smoothing: "label_smoothing", // timm's --smoothing
  label_smooth: "label_smoothing",
  gradient_accumulation_steps: "accumulate", // Hugging Face Trainer's
  accumulate_grad_batches: "accumulate", // PyTorch Lightning's
  accum_iter: "accumulate", // MAE's and VideoMAE's
};

/**
 * The closest candidate, if it is close enough to be a plausible typo: at most a third of the
 * word's letters wrong (at least 1, so "lr" -> "l" still counts), or one contains the other; or
 * our name for another framework's (OTHER_NAMES).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const ours = OTHER_NAMES[word.toLowerCase()];
  if (ours !== undefined && candidates.includes(ours)) return ours;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  const contained = word.length >= 3 && (best.includes(word) || word.includes(best));
  if (bestDistance <= limit || contained) return best;
  // A shortened name, a prefix of a candidate: `approx` is as far from gelu's `type` as from
  // `approximate`, so the closest alone missed it.
  return word.length >= 3 ? candidates.find((c) => c.toLowerCase().startsWith(word.toLowerCase())) : undefined;
}

/** " (did you mean 'x'?)" or "". */
export function suggestionSuffix(word: string, candidates: readonly string[]): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? "" : ` (did you mean '${s}'?)`;
}
