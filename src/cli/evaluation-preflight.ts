/**
 * The checks `sideways evaluate <sweep folder> --out DIR` makes before it creates DIR, as `run` and
 * `validate` make theirs before training (preflight.ts): each run's data opened against its model
 * (once per distinct data set) and the execution provider (one session per provider and GPUs), so
 * that a missing provider or unreadable data is exit 2 with nothing written, not a failure at run 1
 * after DIR was made. Each run's weights are checked against its model too (an override of the model,
 * model=..., that the weights do not fit), from their header alone: each file is read whole once,
 * when its run is evaluated, one run's at a time.
 * Evaluation trains nothing: the training checks (clip length, stages) are not made.
 */
import { nameExperimentFile } from "../errors.js";
import { withAbsolutePaths } from "../spec/resolved-config.js";
import { openRunData } from "../train/run-experiment.js";
import { checkWeightsFit, type LoadedEvaluation } from "./evaluate-one.js";
import { checkProvider, openIdentitySession, type ProviderSessionOpener } from "./preflight.js";

export async function preflightEvaluations(evaluations: readonly LoadedEvaluation[], openSession: ProviderSessionOpener = openIdentitySession): Promise<void> {
  const dataChecked = new Set<string>();
  const providersChecked = new Set<string>();
  for (const loaded of evaluations) {
    const { exp, configFile, overrides } = loaded;
    const { spec, model, baseDir } = exp;
    checkWeightsFit(loaded); // names the override of the model where there is one
    try {
      // Paths made absolute: runs' config.yaml files in different folders may name the same data.
      const dataKey = JSON.stringify([withAbsolutePaths(spec, baseDir).data, model.input, model.classes]);
      if (!dataChecked.has(dataKey)) {
        // Without data workers: this thread's producer makes the same checks, and workers take seconds to start.
        const data = await openRunData({ ...spec, data: { ...spec.data, workers: undefined } }, model, baseDir);
        await data.close();
        dataChecked.add(dataKey);
      }
      const providerKey = JSON.stringify([spec.runtime.provider, spec.runtime.device_id]);
      if (!providersChecked.has(providerKey)) {
        await checkProvider(spec, openSession);
        providersChecked.add(providerKey);
      }
    } catch (err) {
      nameExperimentFile(err, configFile, overrides);
      throw err;
    }
  }
}
