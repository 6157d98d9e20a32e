/**
 * Config YAML that Python reads back as numbers (src/util/yaml-text.ts): every float written
 * parses back to the same double in JavaScript, and PyYAML, the independent reader users load
 * config.yaml with, takes each one as a float of that value (not the string '1e-8').
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { peerPython } from "../src/bench/torch-peer-process.js";
import { main } from "../src/cli/main.js";
import { yaml11Float, yamlText } from "../src/util/yaml-text.js";
import { captureIo } from "./helpers/capture-io.js";
import { skipBecause } from "./helpers/skip.js";
import { inFreshFolderEachTest } from "./helpers/temp-cwd.js";
import { seededRandom } from "./reference/numeric.js";

/** Doubles across the exponent range, both signs, round and not, and the special values. */
function sampleFloats(): number[] {
  const rng = seededRandom(7);
  const xs = [1e-8, 1e-4, 0.5, 1.5e-5, 3e21, -2e-7, 5e-324, Number.MAX_VALUE, 1e21, 123.25, -0.75, NaN, Infinity, -Infinity];
  for (let i = 0; i < 200; i++) xs.push((rng() - 0.5) * 10 ** Math.floor(rng() * 60 - 30));
  return xs;
}

/** What `python3 -c` prints for yaml.safe_load of `text`: each value's type and repr, one per line; null without PyYAML. */
function pyYamlLoad(text: string): string[] | null {
  const r = spawnSync(peerPython(), ["-c", "import sys, yaml\nfor v in yaml.safe_load(sys.stdin.read())['xs']: print(type(v).__name__, repr(v))"], { input: text, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n") : null;
}

const GOOD = resolve("test/fixtures/specs/good.yaml");
const hasPyYaml = spawnSync(peerPython(), ["-c", "import yaml"]).status === 0;

describe("config YAML with floats PyYAML reads as numbers", function () {
  this.timeout(60_000);

  it("every float parses back to the same double (YAML 1.2, the yaml package)", () => {
    const xs = sampleFloats();
    const back = parse(yamlText({ xs })).xs as number[];
    expect(back).to.have.length(xs.length);
    back.forEach((v, i) => expect(Object.is(v, xs[i]) || (Number.isNaN(v) && Number.isNaN(xs[i])), `${xs[i]} -> ${v}`).to.equal(true));
    // Integers and strings keep their forms: 3 stays 3, a string that looks like a number stays quoted.
    expect(yamlText({ n: 3, s: "1e-8" })).to.equal('n: 3\ns: "1e-8"\n');
    expect(yaml11Float(1e-8)).to.equal("1.0e-8");
    expect(yaml11Float(3e21)).to.equal("3.0e+21");
  });

  it("PyYAML reads every one as a number of the same value (a float, or an int where JavaScript writes an integer)", function () {
    if (!hasPyYaml) skipBecause(this, `${peerPython()} cannot import yaml (Debian: apt-get install python3-yaml)`);
    const xs = sampleFloats();
    const lines = pyYamlLoad(yamlText({ xs }))!;
    expect(lines).to.have.length(xs.length);
    lines.forEach((line, i) => {
      const [type, repr] = line.split(" ");
      // An integer JavaScript writes without an exponent stays an integer, of the same value.
      expect(type, `${xs[i]} read as ${line}`).to.equal(Number.isInteger(xs[i]) && !/e/.test(String(xs[i])) ? "int" : "float");
      const value = repr === "nan" ? NaN : repr === "inf" ? Infinity : repr === "-inf" ? -Infinity : Number(repr);
      expect(Object.is(value, xs[i]) || (Number.isNaN(value) && Number.isNaN(xs[i])), `${xs[i]} read as ${repr}`).to.equal(true);
    });
  });

  describe("a run's config.yaml", () => {
    let dir: string;
    inFreshFolderEachTest("sideways-yaml-", (d) => (dir = d));

    it("Adam's eps (1e-8) is a float to PyYAML, and the file trains the same run again (already completed)", async function () {
      if (!hasPyYaml) skipBecause(this, `${peerPython()} cannot import yaml (Debian: apt-get install python3-yaml)`);
      expect(await main(["run", GOOD, "train.optimizer={kind: adam, lr: 0.001}", "--quiet"], captureIo())).to.equal(0);
      const [runId] = readdirSync(join(dir, "results", "good"));
      const config = join(dir, "results", "good", runId, "config.yaml");
      expect(readFileSync(config, "utf8")).to.include("eps: 1.0e-8");
      const r = spawnSync(peerPython(), ["-c", "import sys, yaml\nc = yaml.safe_load(open(sys.argv[1]))\nprint(type(c['train']['optimizer']['eps']).__name__, c['train']['optimizer']['eps'])", config], { encoding: "utf8" });
      expect(r.stdout.trim()).to.equal("float 1e-08");
      const again = captureIo();
      expect(await main(["run", config, `output.dir=${join(dir, "results", "good")}`], again)).to.equal(0);
      expect(again.stderr).to.include("already completed");
    });
  });
});
