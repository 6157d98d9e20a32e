/**
 * docs/sweeps-k8s-indexed-job.yaml against the Kubernetes API schema (no cluster in CI):
 * kubernetes-models' validators (compiled from the Kubernetes OpenAPI schema) check types,
 * enums and required fields; they accept unknown fields, so a second check type-checks the
 * manifest against the package's TypeScript types, whose excess-property check rejects them
 * (what `kubectl apply` with strict field validation would do). Then the pod's command line is
 * run with --dry-run, as pod 0 of n, to check it names a real experiment and valid options.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parse } from "yaml";
import { tempFoldersRemovedAfterEachTest } from "./helpers/temp-folder.js";

const require = createRequire(import.meta.url);
const { Job } = require("kubernetes-models/batch/v1/Job") as typeof import("kubernetes-models/batch/v1/Job");
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MANIFEST = join(ROOT, "docs/sweeps-k8s-indexed-job.yaml");

type Manifest = any;
const load = (): Manifest => parse(readFileSync(MANIFEST, "utf8"));

function schemaErrors(obj: Manifest): string | null {
  try {
    new Job(obj).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Type errors of `const job: IJob = <obj>` (excess properties included), compiled in memory. */
function typeErrors(obj: Manifest): string[] {
  const file = join(ROOT, "k8s-manifest-check.ts");
  const text = `import type { IJob } from "kubernetes-models/batch/v1/Job";\nexport const job: IJob = ${JSON.stringify(obj, null, 1)};\n`;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => f === file || fileExists.call(host, f);
  host.readFile = (f) => (f === file ? text : readFile.call(host, f));
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, text, lang) : getSourceFile.call(host, f, lang, ...rest));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("docs/sweeps-k8s-indexed-job.yaml", function () {
  const tempFolder = tempFoldersRemovedAfterEachTest();
  this.timeout(60_000);

  it("is a batch/v1 Job that the Kubernetes schema accepts", () => {
    const job = load();
    expect([job.apiVersion, job.kind]).to.deep.equal(["batch/v1", "Job"]);
    expect(schemaErrors(job)).to.equal(null);
  });

  it("the schema check rejects a wrong enum value, a wrong type and a missing required field", () => {
    const badEnum = load();
    badEnum.spec.completionMode = "Index";
    expect(schemaErrors(badEnum)).to.match(/completionMode/);
    const badType = load();
    badType.spec.completions = "6";
    expect(schemaErrors(badType)).to.match(/completions must be integer/);
    const noContainers = load();
    delete noContainers.spec.template.spec.containers;
    expect(schemaErrors(noContainers)).to.match(/containers/);
  });

  it("has no field the Kubernetes API does not know (strict field validation)", () => {
    expect(typeErrors(load())).to.deep.equal([]);
    // One misspelt key at a time: TypeScript reports the first excess property of a literal.
    const deep = load();
    deep.spec.template.spec.containers[0].workingDirr = "/app";
    expect(typeErrors(deep).join("\n")).to.match(/'"workingDirr"' does not exist in type 'IContainer'/);
    const top = load();
    top.spec.backoffLimitPerIndx = 2;
    expect(typeErrors(top).join("\n")).to.match(/'"backoffLimitPerIndx"' does not exist in type 'IJobSpec'/);
  });

  it("is an Indexed Job whose shard count matches completions and parallelism", () => {
    const { spec } = load();
    expect(spec.completionMode).to.equal("Indexed");
    expect(spec.template.spec.restartPolicy).to.equal("Never"); // required by backoffLimitPerIndex
    const container = spec.template.spec.containers[0];
    const shards = Number(container.env.find((e: { name: string }) => e.name === "SHARDS").value);
    expect([spec.completions, spec.parallelism]).to.deep.equal([shards, shards]);
  });

  it("execs the sweep, so that it is the container's main process and gets the pod's SIGTERM", () => {
    // Debian's sh (dash) runs `sh -c "node ..."` as a child and, as PID 1 without a trap, ignores
    // SIGTERM: the sweep would never save its runs before the SIGKILL.
    expect(load().spec.template.spec.containers[0].args[0]).to.match(/^exec node bin\/sideways\.js sweep /);
  });

  it("the pod's command line, run as pod 0 with --dry-run, plans its shard of a real experiment", () => {
    const container = load().spec.template.spec.containers[0];
    const out = tempFolder("sideways-k8s-");
    const script = `${container.args[0].replace("/results/", `${out}/`)} --dry-run`;
    const env = { ...process.env, JOB_COMPLETION_INDEX: "0", SHARDS: container.env[0].value };
    const r = spawnSync(container.command[0], [...container.command.slice(1), script], { cwd: ROOT, env, encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^1 run in shard 0\/6 of 6, into /);
    expect(r.stdout).to.match(/\n\s+0\s+\S+\s+todo\s/);
  });
});
