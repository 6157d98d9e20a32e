/**
 * Two lists name the experiment keys that hold paths: EXPERIMENT_PATH_KEYS (which overrides
 * resolve against the current folder, src/spec/load-experiment.ts) and withAbsolutePaths (which a
 * run's config.yaml, its id and `validate --print` use, src/spec/resolved-config.ts). A path key
 * added to one and not the other would leave a relative path in a run folder's config.yaml, or
 * resolve an override against the wrong folder. Every key of the first, set to a relative path in
 * some spec, must come out of the second absolute, against the base folder given.
 */
import { expect } from "chai";
import { isAbsolute, join } from "node:path";
import { EXPERIMENT_PATH_KEYS } from "../src/spec/load-experiment.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { withAbsolutePaths } from "../src/spec/resolved-config.js";

/** The value at a dotted key of a parsed spec, or undefined. */
function at(spec: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), spec);
}

describe("path keys: EXPERIMENT_PATH_KEYS and withAbsolutePaths agree", () => {
  const base = "/some/experiments";
  // Between them, these set every key of EXPERIMENT_PATH_KEYS to a relative path.
  const specs = [
    { name: "n", model: "m.yaml", train: { init_checkpoint: "ck.safetensors" }, data: { kind: "npy", clips: "c.npy", labels: "l.npy", eval_clips: "ec.npy", eval_labels: "el.npy", class_names: "classes.txt" } },
    { name: "v", model: "m.yaml", data: { kind: "video-folder", root: "videos", split: { format: "ucf101", dir: "splits" } } },
  ].map((raw) => ExperimentSpec.parse(raw));

  it("every path key is set by some spec here, and comes out absolute against the base folder", () => {
    for (const key of EXPERIMENT_PATH_KEYS) {
      const holders = specs.filter((s) => typeof at(s, key) === "string");
      expect(holders, `no spec here sets ${key}: add one`).to.not.be.empty;
      for (const spec of holders) {
        const out = at(withAbsolutePaths(spec, base), key) as string;
        expect(isAbsolute(out), `${key}: ${out}`).to.equal(true);
        expect(out).to.equal(join(base, at(spec, key) as string));
      }
    }
  });
});
