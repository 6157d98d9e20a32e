/** Command-line overrides: typed by the schema, applied over the file, unknown keys rejected. */
import { expect } from "chai";
import { join, resolve } from "node:path";
import { SpecError } from "../src/errors.js";
import { ExperimentSpec } from "../src/spec/experiment-spec.js";
import { loadExperiment } from "../src/spec/load-experiment.js";
import { applyOverrides } from "../src/spec/overrides.js";
import { didYouMean } from "../src/spec/did-you-mean.js";
import { planSweep } from "../src/spec/sweep-expand.js";
const FIXTURES = resolve("test/fixtures/specs");

const GOOD = join(FIXTURES, "good.yaml");
const base = { name: "x", train: { method: "sideways", optimizer: { kind: "sgd", lr: 0.05 } }, model: "m.yaml" };

describe("overrides", () => {
  const cases: [string, string[], Record<string, unknown>][] = [
    ["a number", ["train.optimizer.lr=0.1"], { train: { method: "sideways", optimizer: { kind: "sgd", lr: 0.1 } } }],
    ["an enum value", ["train.method=bp"], { train: { method: "bp", optimizer: { kind: "sgd", lr: 0.05 } } }],
    ["a number-looking string where the schema wants a string", ["name=123"], { name: "123" }],
    ["a list", ["sweep.seeds=[0,1,2]"], { sweep: { seeds: [0, 1, 2] } }],
    ["a nested new section", ["eval.every=7"], { eval: { every: 7 } }],
    ["a mapping value", ["train.optimizer={kind: adam, lr: 0.001}"], { train: { method: "sideways", optimizer: { kind: "adam", lr: 0.001 } } }],
    ["a dotted key inside a record", ["sweep.grid.train.method=[bp,sideways]"], { sweep: { grid: { "train.method": ["bp", "sideways"] } } }],
    ["empty = null", ["output.dir="], { output: { dir: null } }],
    ["a key, then a key inside it", ["data={kind: npy}", "data.clips=c.npy"], { data: { kind: "npy", clips: "c.npy" } }],
    ["'auto' for workers", ["runtime.workers=auto"], { runtime: { workers: "auto" } }],
  ];
  for (const [name, texts, expected] of cases) {
    it(name, () => {
      const out = applyOverrides(structuredClone(base), texts, ExperimentSpec);
      // Sections the file lacked start from their defaults, so compare only the keys named here.
      for (const [k, v] of Object.entries(expected)) {
        if (typeof v === "object" && v !== null && !Array.isArray(v)) expect(out[k], k).to.deep.include(v);
        else expect(out[k], k).to.deep.equal(v);
      }
    });
  }

  it("~key removes a key the file sets (Hydra's syntax): its default applies, an optional key is unset", () => {
    const out = applyOverrides(structuredClone(base), ["~train.optimizer.lr", "~model"], ExperimentSpec);
    expect(out.train).to.deep.equal({ method: "sideways", optimizer: { kind: "sgd" } });
    expect("model" in out).to.equal(false);
    // The default fills the removed key when the spec is parsed.
    expect(loadExperiment(GOOD).spec.train.batch_size).to.equal(2); // the file's
    const exp = loadExperiment(GOOD, ["~train.batch_size"]);
    expect(exp.spec.train.batch_size).to.equal(8); // TrainSpec's default
    expect(exp.raw.train).not.to.have.property("batch_size");
    // Messages about the removed key name the override, as for key=value (spec/override-source.ts).
    expect(() => loadExperiment(GOOD, ["~model"])).to.throw(SpecError, /good\.yaml with override '~model': model: /);
  });

  it("a missing section starts from its default (optimizer kind kept)", () => {
    const out = applyOverrides({ name: "x" }, ["train.optimizer.lr=0.3"], ExperimentSpec);
    expect(out.train).to.deep.include({ optimizer: { kind: "sgd", lr: 0.3, momentum: 0.9, nesterov: false, weight_decay: 0 } });
  });

  it("a kind changed on a section filled in from its default takes the new kind's defaults, keeping keys set since; keys the file wrote stay", () => {
    const optimizer = (raw: Record<string, unknown>, texts: string[]) => ExperimentSpec.parse(applyOverrides(raw, texts, ExperimentSpec)).train.optimizer;
    const adam = { kind: "adam", lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 };
    const file = { name: "x", model: "m.yaml", data: { kind: "shapes", clip_length: 4 } };
    expect(optimizer(file, ["train.optimizer.kind=adam"])).to.deep.equal(adam);
    expect(optimizer(file, ["train.optimizer.lr=0.1", "train.optimizer.kind=adam"]), "lr set before").to.deep.equal({ ...adam, lr: 0.1 });
    expect(optimizer(file, ["train.optimizer.kind=adam", "train.optimizer.lr=0.1"]), "lr set after").to.deep.equal({ ...adam, lr: 0.1 });
    expect(optimizer(file, ["train.optimizer.kind=sgd"]), "the same kind: the default SGD").to.deep.include({ momentum: 0.9 });
    expect(optimizer({ ...file, train: { steps: 3 } }, ["train.optimizer.kind=adam"]), "a train section without an optimizer").to.deep.equal(adam);
    // The former workaround names the override that dropped the key.
    expect(() => optimizer(file, ["train.optimizer.kind=adam", "~train.optimizer.momentum"])).to.throw(SpecError, /override '~train\.optimizer\.momentum': train\.optimizer\.momentum was a default of kind sgd, which 'train\.optimizer\.kind=adam' dropped with that kind, so there is nothing to remove/);
    // Written in the file: a key Adam does not take is still an error, not dropped.
    expect(() => optimizer({ ...file, train: { optimizer: { kind: "sgd", momentum: 0.5 } } }, ["train.optimizer.kind=adam"])).to.throw(/unrecognized_key[\s\S]*momentum/);
  });

  it("a sweep over a kind, after an override filled the section in from its default, takes each kind's defaults", () => {
    const exp = loadExperiment(join(FIXTURES, "sweep-good.yaml"), ["~train.optimizer", "train.optimizer.lr=0.2", "sweep.grid={train.optimizer.kind: [sgd, adam]}", "sweep.seeds=[0]"]);
    expect(planSweep(exp).map((r) => r.spec.train.optimizer)).to.deep.equal([
      { kind: "sgd", lr: 0.2, momentum: 0.9, nesterov: false, weight_decay: 0 },
      { kind: "adam", lr: 0.2, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 },
    ]);
  });

  it("an item of a list: a default list keeps its other items; an item past the end, or one removed, is refused for the whole list", () => {
    const adam = (texts: string[], file: Record<string, unknown> = base) => ExperimentSpec.parse({ ...applyOverrides(structuredClone(file), texts, ExperimentSpec), data: { kind: "shapes", clip_length: 4 } }).train.optimizer;
    expect(adam(["train.optimizer={kind: adam}", "train.optimizer.betas.1=0.99"])).to.deep.include({ betas: [0.9, 0.99] }); // the default [0.9, 0.999]
    expect(adam(["train.optimizer={kind: adam, betas: [0.5, 0.6]}", "train.optimizer.betas.0=0.7"])).to.deep.include({ betas: [0.7, 0.6] });
    expect(applyOverrides({ sweep: { seeds: [0, 1] } }, ["sweep.seeds.2=7"], ExperimentSpec).sweep, "the next index adds an item").to.deep.equal({ seeds: [0, 1, 7] });
    const refused = (texts: string[], pattern: RegExp) => expect(() => applyOverrides(structuredClone(base), texts, ExperimentSpec), texts.join(" ")).to.throw(SpecError, pattern);
    refused(["sweep.seeds=[0,1]", "sweep.seeds.5=7"], /override 'sweep\.seeds\.5=7': sweep\.seeds has 2 items, so item 5 would leave a gap; expected an index up to 2/);
    refused(["sweep.seeds=[0,1]", "sweep.seeds.00=7"], /sweep\.seeds is a list; expected an index, found '00'/);
    refused(["sweep.seeds.0=7"], /sweep\.seeds is not set \(by the file or an override before this one\), so it has no item 0 to change; expected the whole list instead: sweep\.seeds=\[\.\.\.\]/);
    refused(["train.optimizer.betas.1=0.99"], /override 'train\.optimizer\.betas\.1=0\.99': unknown key 'betas' in train\.optimizer \(a key of kinds adam and adamw, not sgd\)/); // base's SGD has no betas
    refused(["runtime.device_id=0", "runtime.device_id.1=1"], /runtime\.device_id is 0, not a list, so it has no item '1'/);
    refused(["train.optimizer={kind: adam, betas: [0.5, 0.6]}", "~train.optimizer.betas.1"], /train\.optimizer\.betas\.1 is an item of the list train\.optimizer\.betas, and a list's items are not removed one by one; expected the whole list instead/);
  });

  const errors: [string, string, RegExp][] = [
    ["unknown top-level key", "trian.steps=3", /unknown key 'trian' in the top level \(did you mean 'train'\?\)/],
    ["unknown nested key", "train.optimizer.lrr=0.1", /unknown key 'lrr' in train.optimizer \(did you mean 'lr'\?\)/],
    ["a key below a value", "seed.x=1", /seed is a single value/],
    ["no '='", "train.steps", /missing '='/],
    ["a bad key character", "train-steps=3", /invalid key\n  train-steps=3\n       \^/],
    ["a key below a model path", "model.classes=3", /model is 'm.yaml', not a mapping/],
    ["a kind where its mapping belongs", "train.optimizer=adam", /train.optimizer: expected a mapping, found 'adam' \(write \{kind: adam\}, with its settings beside kind\)/],
    ["a string that names no kind", "train.optimizer=rmsprop", /train.optimizer: expected a mapping, found 'rmsprop'$/],
    ["AdamW's kind where its mapping belongs", "train.optimizer=adamw", /train.optimizer: expected a mapping, found 'adamw' \(write \{kind: adamw\}, with its settings beside kind\)/],
    ["~ of a key the file does not set", "~train.schedule", /override '~train.schedule': train.schedule is not set \(by the file or an override before this one\), so there is nothing to remove/],
    ["~ of an unknown key", "~train.optimzer", /unknown key 'optimzer' in train \(did you mean 'optimizer'\?\)/],
    ["~ with a value", "~seed=1", /invalid key\n  ~seed=1\n  \^[\s\S]*or ~key to remove a key the file sets/],
  ];
  for (const [name, text, pattern] of errors) {
    it(`rejects ${name}`, () => {
      expect(() => applyOverrides(structuredClone(base), [text], ExperimentSpec)).to.throw(SpecError, pattern);
    });
  }

  it("an unknown key below a key the data kind has is told as that typo, not as a key of other kinds", () => {
    // augment is a key of every kind; the message once said 'augment' belonged to the other kinds.
    for (const kind of ["moving-mnist", "shapes"]) {
      const file = { ...structuredClone(base), data: { kind } };
      expect(() => applyOverrides(file, ["data.augment.scales=[0.5,1]"], ExperimentSpec), kind).to.throw(
        SpecError,
        /^override 'data\.augment\.scales=\[0\.5,1\]': unknown key 'scales' in data\.augment \(did you mean 'scale'\?\); valid keys: flip, pad_crop, scale$/,
      );
    }
    // A key of another kind is still told as such.
    expect(() => applyOverrides({ ...structuredClone(base), data: { kind: "shapes" } }, ["data.root=videos"], ExperimentSpec)).to.throw(SpecError, /unknown key 'root' in data \(a key of kind video-folder, not shapes\)/);
  });

  it("a key given twice is an error naming both overrides (Hydra's rule); a sweep's run, whose swept values follow the user's, takes the last", () => {
    expect(() => applyOverrides(structuredClone(base), ["seed=1", "train.steps=3", "seed=2"], ExperimentSpec)).to.throw(
      SpecError,
      "override 'seed=2': seed is already set by 'seed=1'; give each key once",
    );
    expect(applyOverrides(structuredClone(base), ["seed=1", "seed=2"], ExperimentSpec, undefined, false).seed).to.equal(2);
    expect(loadExperiment(GOOD, ["train.method=bp", "train.method=sideways"], { oneValuePerKey: false }).spec.train.method).to.equal("sideways");
  });

  it("take precedence over the file and are validated with it", () => {
    const exp = loadExperiment(GOOD, ["train.steps=9", "train.method=bp"]);
    expect(exp.spec.train.steps).to.equal(9);
    expect(exp.spec.train.method).to.equal("bp");
    expect(exp.spec.train.batch_size).to.equal(2); // from the file
    expect(() => loadExperiment(GOOD, ["train.steps=-1"])).to.throw(SpecError, /train.steps: expected an integer >= 1, found -1/);
    expect(() => loadExperiment(GOOD, ["train.steps=.nan"])).to.throw(SpecError, /expected a finite number, found .nan/);
  });
});

describe("didYouMean", () => {
  it("other frameworks' names: learning_rate -> lr, numpy -> npy, fc -> linear; only where ours is a candidate", () => {
    expect(didYouMean("learning_rate", ["lr", "momentum", "weight_decay"])).to.equal("lr");
    expect(didYouMean("numpy", ["moving-mnist", "shapes", "npy", "video-folder"])).to.equal("npy");
    expect(didYouMean("fc", ["conv2d", "linear", "relu"])).to.equal("linear");
    expect(didYouMean("learning_rate", ["steps", "batch_size"])).to.equal(undefined);
    for (const theirs of ["clip_grad", "max_norm", "clip_grad_norm"]) expect(didYouMean(theirs, ["steps", "grad_clip_norm", "optimizer"]), theirs).to.equal("grad_clip_norm");
  });
  const cases: [string, string[], string | undefined][] = [
    ["optimzer", ["optimizer", "method"], "optimizer"],
    ["trian", ["train", "data"], "train"],
    ["lr", ["lr", "momentum"], "lr"],
    ["zzzzzz", ["train", "data"], undefined],
    // A shortened key, as far from another candidate as from its own: gelu's `approx`.
    ["approx", ["type", "approximate"], "approximate"],
    ["swish", ["conv2d", "relu", "silu", "gelu"], "silu"],
  ];
  for (const [word, candidates, expected] of cases) it(`${word} -> ${expected}`, () => expect(didYouMean(word, candidates)).to.equal(expected));
});
