/**
 * What a paper must say about where a run's numbers came from, recorded in run-meta.json by
 * every attempt of a run (a resumed run may have been continued by other code): the code (the
 * sideways version, and the git commit of the checkout running, with whether its tree had
 * changes), the runtime (Node, the onnxruntime-node package) and the machine. The provider, seed
 * and every setting are in config.yaml; the wall time in summary.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, hostname, release } from "node:os";
import { join } from "node:path";
import { CUDA13 } from "../runtime/cuda-install.js";
import { loadedOrtBuild } from "../runtime/ort-loader.js";
import { packageRoot } from "../util/package-root.js";

export interface Provenance {
  /** when this attempt took the run folder (ISO 8601, UTC) */
  started_at: string;
  sideways_version: string | null;
  /** HEAD of the git checkout the code runs from; null when it is not one (an npm install) */
  git_commit: string | null;
  /** the checkout's code (CODE_PATHS) differs from git_commit (changed, staged or untracked files); null without git */
  git_dirty: boolean | null;
  node: string;
  /** the onnxruntime-node version of the build this process runs; null if none was loaded yet */
  onnxruntime_node: string | null;
  /** which build (src/runtime/ort-loader.ts): "bundled", or "cuda13" from `sideways gpu install`; null if none was loaded yet */
  onnxruntime_build: string | null;
  os: string;
  cpu: string;
  cpus: number;
  host: string;
}

function packageVersion(pkgJson: string | null): string | null {
  try {
    return pkgJson === null ? null : ((JSON.parse(readFileSync(pkgJson, "utf8")) as { version?: string }).version ?? null);
  } catch {
    return null;
  }
}

/** sideways' own version (its package.json beside src/ or dist/src/); null if not found. */
export function sidewaysVersion(): string | null {
  const root = packageRoot();
  return packageVersion(root === null ? null : join(root, "package.json"));
}

/**
 * What git_dirty looks at: the code a run executes, under the package root. Not experiments/,
 * models/ or the user's own files beside them (a new experiment file made every run "dirty"):
 * a run's config.yaml holds its whole resolved config, the model inline.
 */
export const CODE_PATHS = ["src", "bin", "package.json", "package-lock.json", "tsconfig.json"];

/**
 * The commit checked out in `dir` (the package root) and whether its code (CODE_PATHS) differs
 * from it, or nulls when `dir` is not in a git checkout (or git is missing).
 */
export function gitState(dir: string): { commit: string | null; dirty: boolean | null } {
  const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8", timeout: 10_000 });
  const head = git("rev-parse", "HEAD");
  if (head.status !== 0) return { commit: null, dirty: null };
  // --no-optional-locks: runs started together (sweep --jobs) must not race for index.lock with each other or the user's git.
  const status = git("--no-optional-locks", "status", "--porcelain", "--", ...CODE_PATHS);
  return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim().length > 0 : null };
}

let cached: Omit<Provenance, "started_at" | "onnxruntime_node" | "onnxruntime_build"> | null = null;

function bundledOrtVersion(): string | null {
  try {
    return packageVersion(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  } catch {
    return null;
  }
}

/** This process's provenance (git is asked once per process), stamped with the time now. */
export function runProvenance(): Provenance {
  if (cached === null) {
    const root = packageRoot();
    // Only a checkout whose top level is sideways' own: a package installed under node_modules of
    // someone else's repository is not that repository's code.
    const inRepo = root !== null && existsSync(join(root, ".git"));
    const { commit, dirty } = inRepo ? gitState(root) : { commit: null, dirty: null };
    const cpuList = cpus();
    cached = {
      sideways_version: sidewaysVersion(),
      git_commit: commit,
      git_dirty: dirty,
      node: process.version,
      os: `${process.platform} ${release()} ${process.arch}`,
      cpu: cpuList[0]?.model.trim() ?? "unknown",
      cpus: cpuList.length,
      host: hostname(),
    };
  }
  // The build is known once the run's sessions are open (run-dir.ts writes run-meta.json after that).
  const build = loadedOrtBuild();
  return {
    started_at: new Date().toISOString(),
    ...cached,
    // No build loaded yet (a run recorded as failed before its sessions opened): no version to claim.
    onnxruntime_node: build === null ? null : build === "cuda13" ? CUDA13.ortVersion : bundledOrtVersion(),
    onnxruntime_build: build,
  };
}
