/**
 * The config `validate --print` shows: the experiment with every default filled in, including the
 * optional keys that the schema leaves out when they are not written (so that configs without
 * them keep their run ids, and a run folder's config.yaml reads as it did). Without them a
 * researcher reading the printed config could not tell those settings exist.
 *
 * Each such key is shown at its default where the printed file, run, is the same run (the same
 * id): keys the run id hashes as absent at that value (train.label_smoothing: 0, train.accumulate: 1,
 * eval_crops: 1) or leaves out (output.keep_best, data.workers; the latter for generated data only,
 * since npy and video-folder take no other value: create-source.ts checkDataWorkers). The others
 * are shown as comments, since no written value is the key's absence: data.augment's no-op value is another run id (resolved-config.ts
 * says why), eval_seed's and decode_size's defaults follow the seed and the model, and
 * grad_clip_norm and train_clips have no value that means "none" (grad_clip_norm is shown only
 * where update_every allows it).
 *
 * A key the run ignores is shown as a comment saying so where leaving it out is the same run:
 * a video folder's eval_fraction beside split files (which choose the evaluation videos) at its
 * default, which the run id hashes in every video-folder run; any other value stays (another run
 * id) with a line comment that it has no effect.
 */
import type { Pair, Scalar, YAMLMap } from "yaml";
import { VideoFolderDataSpec } from "../data/data-spec.js";
import type { ExperimentSpec } from "./experiment-spec.js";
import { withAbsolutePaths } from "./resolved-config.js";
import { keysOverlap, sweptKeys } from "./sweep-expand.js";
import { yamlDocument } from "../util/yaml-text.js";
import { ABSENT_AS, appliesTo } from "./absent-as.js";

const EVAL_FRACTION_DEFAULT = VideoFolderDataSpec.shape.eval_fraction.parse(undefined);

/** Comments under a section: `key: what its absence means`. */
type Absences = Record<string, string[]>;

/**
 * `baseDir`: the folder the file's relative paths resolve against. The printed paths are absolute
 * (as a run folder's config.yaml's are), so that `validate --print > config.yaml` saved anywhere
 * reads the same model and data files: relative ones would resolve against the new file's folder.
 * Paths among a sweep's values stay as written: a run id names its swept values
 * (model-models/a.yaml_...), so absolute ones would be other ids for the same runs.
 */
export function printedConfigText(spec: ExperimentSpec, baseDir: string): string {
  const filled = withAbsolutePaths(structuredClone(spec), baseDir);
  const absences: Absences = { data: [], train: [] };
  const swept = spec.sweep === null ? [] : sweptKeys(spec.sweep);
  // A sweep that sets the kind of data (or the whole section) may reach kinds without these keys.
  const kindFixed = !swept.some((k) => k === "data" || k === "data.kind");
  const data = filled.data;
  const generated = data.kind === "moving-mnist" || data.kind === "shapes";
  if (generated && kindFixed && data.workers === undefined) data.workers = 0;
  // Keys whose absence is one written value (absent-as.ts), shown at it: a data key only where the
  // sweep cannot change the kind of data.
  for (const e of ABSENT_AS) {
    const section = (e.section === "train" ? filled.train : data) as Record<string, unknown>;
    if (section[e.key] === undefined && (e.section === "train" || (kindFixed && appliesTo(e, data.kind)))) section[e.key] = e.value;
  }
  if (data.eval_seed === undefined) absences.data!.push(`eval_seed: unset (the run's seed ${generated ? "draws the evaluation clips" : "orders their frames with shuffle_frames"})`);
  if (data.augment === undefined) absences.data!.push("augment: unset (no flips, shifts or zooms: flip, pad_crop, scale; {flip: false, pad_crop: 0} trains the same, under another run id)");
  if (data.kind === "video-folder" && data.decode_size === undefined) absences.data!.push("decode_size: unset (frames decoded at the model input's size)");
  if (generated && data.train_clips === undefined) absences.data!.push("train_clips: unset (a new clip every time, no fixed training set)");
  // Refused beside in-clip updates (experiment-spec.ts): shown only where a run may set it.
  const updateEverySwept = swept.includes("train.update_every");
  if (filled.train.grad_clip_norm === undefined && (filled.train.update_every === "clip" || updateEverySwept)) absences.train!.push("grad_clip_norm: unset (no clipping)");
  if (filled.output.keep_best === undefined) filled.output.keep_best = false;
  // With split files eval_fraction has no effect; shown so only where every run has the split.
  const splitFixed = kindFixed && !swept.some((k) => keysOverlap(k, "data.split"));
  let ignoredFraction: number | null = null;
  if (data.kind === "video-folder" && data.split !== null && splitFixed) {
    if (data.eval_fraction === EVAL_FRACTION_DEFAULT) {
      delete (data as Partial<typeof data>).eval_fraction;
      absences.data!.push(`eval_fraction: no effect with split (the ${data.split.format} split files choose the evaluation videos)`);
    } else if (!swept.some((k) => keysOverlap(k, "data.eval_fraction"))) ignoredFraction = data.eval_fraction;
  }

  const doc = yamlDocument(filled);
  if (ignoredFraction !== null) {
    const pair = (doc.get("data", true) as YAMLMap).items.find((p: Pair) => (p.key as Scalar).value === "eval_fraction");
    // Not left out: another value than the default is another run id, even where it has no effect.
    if (pair) (pair.value as Scalar).comment = " no effect with split (the split files choose the evaluation videos)";
  }
  for (const [section, lines] of Object.entries(absences)) {
    // A key the sweep sets is set in every run: "unset" would tell of none of them. A sweep of the
    // whole section (sweep.zip: { data: [...] }) replaces it in every run, the key's absence too.
    const shown = lines.filter((l) => !swept.some((k) => keysOverlap(k, `${section}.${l.slice(0, l.indexOf(":"))}`)));
    if (shown.length === 0) continue;
    const node = doc.get(section, true) as YAMLMap;
    node.comment = shown.map((l) => ` ${l}`).join("\n");
  }
  return doc.toString();
}
