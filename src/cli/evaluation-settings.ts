/**
 * Whether two `sideways evaluate` runs of one run's weights used the same settings: its
 * config.yaml with each one's overrides, compared as configHash compares runs, so that the same
 * overrides in another order, or spelt otherwise (`eval.clips=08` for `eval.clips=8`), are the
 * same evaluation (a sweep's evaluation folder resumes rather than refusing, evaluate-sweep.ts).
 */
import { configHash } from "../spec/resolved-config.js";
import { loadExperiment } from "../spec/load-experiment.js";

type Loaded = ReturnType<typeof loadExperiment>;

/** The hash of `exp`'s settings. Its train.init_checkpoint is left out: evaluation starts from trained weights, and that file need not exist. */
export function evaluationSettingsHash(exp: Loaded): string {
  return configHash({ ...exp.spec, train: { ...exp.spec.train, init_checkpoint: null } }, exp.model, exp.baseDir);
}

/**
 * The settings hash of `configFile` with `overrides`, each computed once; null where they no
 * longer load (a key since removed, a file since moved): then compared as written.
 */
export function settingsHashes(): (configFile: string, overrides: readonly string[]) => string | null {
  const known = new Map<string, string | null>();
  return (configFile, overrides) => {
    const key = JSON.stringify([configFile, overrides]);
    if (!known.has(key)) {
      let hash: string | null = null;
      try {
        hash = evaluationSettingsHash(loadExperiment(configFile, overrides, { checkRunInputs: false }));
      } catch {
        // not loadable now: the caller compares the overrides as written
      }
      known.set(key, hash);
    }
    return known.get(key)!;
  };
}

/** The overrides as written, in any order. */
export const sameOverridesAsWritten = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
