/**
 * The CUDA route that installs without NuGet (docs/GPU.md): onnxruntime-node 1.29.0 from npm, with
 * the official ONNX Runtime 1.29.0 CUDA-13 provider libraries that the npm package
 * com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 ships, laid out in one folder by
 * `sideways gpu install cuda13`. The provider needs CUDA 13 and cuDNN 9 libraries; the folder's
 * manifest records where they were found (a CUDA toolkit, or the nvidia-* Python packages that
 * PyTorch's cu130 wheels bring), and every process preloads them from there before onnxruntime
 * loads the provider, so no LD_LIBRARY_PATH is needed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import os from "node:os";
import { join } from "node:path";
import { ProviderError } from "../errors.js";

/** Pinned versions: the provider libraries must come from the same ONNX Runtime release as the binding. */
export const CUDA13 = Object.freeze({
  ortVersion: "1.29.0",
  ortPackage: "onnxruntime-node@1.29.0",
  providerPackage: "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9",
  providerLibs: ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"],
});

/**
 * CUDA libraries in load order (each one's dependencies before it). `required` ones are the
 * provider's own link dependencies and cuDNN, which it opens at run time; the rest are opened by
 * cuDNN or by some kernels and are preloaded when present.
 */
export const CUDA_LIBRARIES: readonly { soname: string; required: boolean }[] = Object.freeze([
  { soname: "libcudart.so.13", required: true },
  { soname: "libcublasLt.so.13", required: true },
  { soname: "libcublas.so.13", required: true },
  { soname: "libcurand.so.10", required: true },
  { soname: "libnvrtc.so.13", required: false },
  { soname: "libnvJitLink.so.13", required: false },
  { soname: "libcudnn_graph.so.9", required: false },
  { soname: "libcudnn_engines_precompiled.so.9", required: false },
  { soname: "libcudnn_engines_runtime_compiled.so.9", required: false },
  { soname: "libcudnn_heuristic.so.9", required: false },
  { soname: "libcudnn_ops.so.9", required: false },
  { soname: "libcudnn_cnn.so.9", required: false },
  { soname: "libcudnn_adv.so.9", required: false },
  { soname: "libcudnn.so.9", required: true },
]);

export interface CudaInstall {
  dir: string;
  /** A file in `dir` to resolve `onnxruntime-node` from (createRequire). */
  packageJson: string;
  /** soname -> absolute path, in load order. */
  libraries: [string, string][];
}

export const MANIFEST = "sideways-cuda13.json";

/** Where `sideways gpu install cuda13` puts its folder: SIDEWAYS_CUDA_DIR, else the user's cache. */
export function cudaInstallDir(): string {
  const explicit = process.env.SIDEWAYS_CUDA_DIR;
  if (explicit) return explicit;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "sideways", "ort-cuda13");
}

export const CUDA_INSTALL_HELP = "Install the CUDA build once with `sideways gpu install cuda13` (docs/GPU.md), or use runtime.provider=webgpu or cpu.";

/**
 * The installed build's manifest. `askedBy` is the setting that wants the CUDA build
 * ("runtime.provider: cuda", "SIDEWAYS_ORT=cuda13"): a missing build is reported against it, as
 * an error with no file of its own, so that the command adds the experiment file it came from.
 */
export function readCudaInstall(dir = cudaInstallDir(), askedBy = "runtime.provider: cuda"): CudaInstall {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) {
    const where = `no ${file}${process.env.SIDEWAYS_CUDA_DIR ? ", in the folder SIDEWAYS_CUDA_DIR names" : ""}`;
    const instead = askedBy.startsWith("runtime.provider")
      ? "or set runtime.provider: cpu (or webgpu, any Vulkan GPU) in the experiment file, or as an override: runtime.provider=cpu."
      : "or unset SIDEWAYS_ORT to use the bundled onnxruntime (runtime.provider cpu and webgpu).";
    throw new ProviderError(
      [
        `${askedBy}: the CUDA execution provider is not installed on this machine (${where}).`,
        `Install it once with \`sideways gpu install cuda13\` (it needs CUDA 13 and cuDNN 9; docs/GPU.md; \`sideways doctor\` lists what this machine has),`,
        instead,
      ].join("\n"),
      undefined,
      askedBy.startsWith("runtime.provider") ? "runtime.provider" : undefined,
    );
  }
  let manifest: { ortVersion?: string; libraries?: [string, string][] };
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ProviderError(`${file}: not valid JSON (${err instanceof Error ? err.message : err}); run \`sideways gpu install cuda13\` again`, file);
  }
  if (manifest.ortVersion !== CUDA13.ortVersion || !Array.isArray(manifest.libraries)) {
    throw new ProviderError(`${file}: made for onnxruntime ${manifest.ortVersion ?? "?"}, expected ${CUDA13.ortVersion}; run \`sideways gpu install cuda13\` again`, file);
  }
  const gone = manifest.libraries.filter(([, path]) => !existsSync(path));
  if (gone.length > 0) {
    throw new ProviderError(`${file}: CUDA libraries recorded at install are gone: ${gone.map(([, p]) => p).join(", ")}; run \`sideways gpu install cuda13\` again`, file);
  }
  return { dir, packageJson: join(dir, "package.json"), libraries: manifest.libraries };
}

// RTLD_NODELETE (glibc's value; Node's os.constants.dlopen does not list it): the library stays
// loaded after Node closes the handle of a file that is no addon.
const RTLD_NODELETE = 0x1000;

/**
 * Loads each recorded CUDA library with global symbols and keeps it loaded, so that when
 * onnxruntime opens its CUDA provider, every library it needs by soname is already there.
 * process.dlopen loads the file, then rejects it as "did not self-register" (it is no addon):
 * that rejection is the expected outcome; any other error means the library did not load.
 */
export function preloadCudaLibraries(install: CudaInstall): void {
  const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen as Record<string, number>;
  const load = (path: string): string | null => {
    try {
      process.dlopen({ exports: {} }, path, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return msg.includes("did not self-register") ? null : msg;
    }
    return null;
  };
  // The order of CUDA_LIBRARIES puts dependencies first where we know them; a library that still
  // finds one missing is tried again once others have loaded, until a round loads nothing new.
  let pending = [...install.libraries];
  const errors = new Map<string, string>();
  while (pending.length > 0) {
    const failed = pending.filter(([soname, path]) => {
      const error = load(path);
      if (error !== null) errors.set(soname, `${path}: ${error}`);
      return error !== null;
    });
    if (failed.length === pending.length) break;
    pending = failed;
  }
  const required = pending.filter(([soname]) => CUDA_LIBRARIES.find((l) => l.soname === soname)?.required ?? true);
  if (required.length > 0) {
    throw new ProviderError(`cannot load ${required.map(([soname]) => errors.get(soname)).join("; ")}\n${CUDA_INSTALL_HELP}`, required[0][1]);
  }
}

/** Folders searched for CUDA libraries, in order; `extra` first. */
export function cudaLibrarySearchDirs(extra: readonly string[], python: string): string[] {
  const dirs = [...extra];
  for (const v of [process.env.SIDEWAYS_CUDA_LIB_DIRS, process.env.LD_LIBRARY_PATH]) dirs.push(...(v ?? "").split(":").filter(Boolean));
  if (process.env.CUDA_HOME) dirs.push(join(process.env.CUDA_HOME, "lib64"));
  dirs.push("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu");
  dirs.push(...pythonNvidiaLibDirs(python));
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

/** The `lib` folders of the nvidia-* Python packages (nvidia/<pkg>/lib, nvidia/cu13/lib, ...). */
function pythonNvidiaLibDirs(python: string): string[] {
  let roots: string[];
  try {
    const out = execFileSync(python, ["-c", "import nvidia, json; print(json.dumps(list(nvidia.__path__)))"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 30_000 });
    roots = JSON.parse(out.trim());
  } catch {
    return [];
  }
  if (!Array.isArray(roots)) return [];
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 3) return;
    for (const e of safeReaddir(dir)) {
      const p = join(dir, e);
      if (!isDir(p)) continue;
      if (e === "lib" || e === "lib64") found.push(p);
      else walk(p, depth + 1);
    }
  };
  for (const r of roots) walk(r, 0);
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export interface LibrarySearch {
  found: [string, string][];
  missing: string[];
  searched: string[];
}

/** Finds every CUDA library by soname in `dirs` (first hit wins). */
export function findCudaLibraries(dirs: readonly string[]): LibrarySearch {
  const found: [string, string][] = [];
  const missing: string[] = [];
  for (const { soname, required } of CUDA_LIBRARIES) {
    const dir = dirs.find((d) => existsSync(join(d, soname)));
    if (dir !== undefined) found.push([soname, join(dir, soname)]);
    else if (required) missing.push(soname);
  }
  return { found, missing, searched: [...dirs] };
}

export interface InstallOptions {
  dir: string;
  /** A folder holding the two packages' npm tarballs (offline install), else the npm registry. */
  from?: string;
  /** Extra folders to search for the CUDA libraries first. */
  cudaLibDirs: string[];
  /** Python whose nvidia-* packages are searched. */
  python: string;
  /**
   * Who chose `python`, for messages ("--python", "SIDEWAYS_PYTHON"): then it must run. Null for
   * the default, which may be missing (the CUDA libraries can come from a toolkit instead).
   */
  pythonFrom: string | null;
  log: (line: string) => void;
}

const ORT_BIN = join("node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64");

/** Whether `dir` holds onnxruntime-node 1.29.0 with the CUDA provider libraries beside its library. */
export function hasCudaBuild(dir: string): boolean {
  const pkg = join(dir, "node_modules", "onnxruntime-node", "package.json");
  if (!existsSync(pkg)) return false;
  const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version?: string }).version;
  return version === CUDA13.ortVersion && CUDA13.providerLibs.every((lib) => existsSync(join(dir, ORT_BIN, lib)));
}

/** Why `python` cannot serve as a Python 3 interpreter, or null when it runs. */
export function pythonProblem(python: string): string | null {
  const r = spawnSync(python, ["-c", "import sys; print(sys.version_info[0])"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "not found";
    if (code === "EACCES") return "cannot be run (permission denied, or not a program: a folder?)";
    return `cannot be run (${r.error.message})`;
  }
  if (r.status === 0 && r.stdout.trim() === "3") return null;
  const said = (r.stderr ?? "").trim().split("\n").pop();
  return `did not run as Python 3 (${r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`}${said ? `: ${said}` : ""})`;
}

/** " (python3: not found)" where the default interpreter does not run, else "". */
function pythonNote(python: string): string {
  const problem = pythonProblem(python);
  return problem === null ? "" : ` (${python}: ${problem})`;
}

/**
 * Refuses a --cuda-lib-dir that names no folder: the search would leave it out silently, and the
 * error would then blame missing libraries instead of the mistyped path.
 */
function checkCudaLibDirs(dirs: readonly string[]): void {
  const expected = "expected a folder holding CUDA 13 / cuDNN 9 libraries (libcudart.so.13, libcublas.so.13, libcudnn.so.9, ...)";
  for (const d of dirs) {
    if (d === "") throw new ProviderError(`--cuda-lib-dir: ${expected}, found nothing`);
    if (!existsSync(d)) throw new ProviderError(`--cuda-lib-dir ${d}: no such folder; ${expected}`);
    if (!isDir(d)) throw new ProviderError(`--cuda-lib-dir ${d}: a file, not a folder; ${expected}`);
  }
}

/** Refuses an interpreter the user named that cannot run, saying what to pass instead. */
function checkPython(python: string, from: string | null): void {
  if (from === null) return;
  const problem = pythonProblem(python);
  if (problem === null) return;
  const named = from === "--python" ? `--python ${python}` : `${from}=${python}`;
  throw new ProviderError(
    [
      `${named}: ${problem}. It is the Python whose nvidia-* packages (those PyTorch's cu130 wheels install) are searched for the CUDA libraries.`,
      from === "--python"
        ? "Pass --python PATH of an interpreter that exists (`command -v python3` prints yours; e.g. --python /usr/bin/python3 or a virtual environment's bin/python),"
        : `Set ${from} to an interpreter that exists (\`command -v python3\` prints yours) or unset it, or pass --python PATH,`,
      "or, with a CUDA 13 toolkit and cuDNN 9 instead, name their library folders with --cuda-lib-dir DIR.",
    ].join("\n"),
  );
}

/** The tarball in `from` for an npm spec name@version (npm pack's file name). */
function tarballFor(from: string, spec: string): string {
  const at = spec.lastIndexOf("@");
  const file = join(from, `${spec.slice(0, at).replace(/^@/, "").replace("/", "-")}-${spec.slice(at + 1)}.tgz`);
  if (!existsSync(file)) throw new ProviderError(`--from ${from}: no ${file} (make it with \`npm pack ${spec}\`)`, file);
  return file;
}

/**
 * Lays out the CUDA build in `opts.dir` (skipped when already there), finds the CUDA libraries and
 * writes the manifest. Throws ProviderError (exit 2) naming what is missing; the caller verifies
 * the result by running a session (`sideways gpu install` does, in a child process).
 */
export function installCuda13(opts: InstallOptions): CudaInstall {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new ProviderError(`the CUDA-13 build is for linux x64; this machine is ${process.platform} ${process.arch}. Use runtime.provider=webgpu or cpu.`);
  }
  // Everything the user named is checked before anything is downloaded or written.
  checkCudaLibDirs(opts.cudaLibDirs);
  checkPython(opts.python, opts.pythonFrom);
  const tarballs = opts.from && !hasCudaBuild(opts.dir) ? [CUDA13.ortPackage, CUDA13.providerPackage].map((s) => tarballFor(opts.from!, s)) : null;
  mkdirSync(opts.dir, { recursive: true });
  if (hasCudaBuild(opts.dir)) {
    opts.log(`onnxruntime-node ${CUDA13.ortVersion} with the CUDA provider: already in ${opts.dir}`);
  } else {
    const specs = [CUDA13.ortPackage, CUDA13.providerPackage];
    const sources = tarballs ?? specs;
    const pkgJson = join(opts.dir, "package.json");
    if (!existsSync(pkgJson)) writeFileSync(pkgJson, JSON.stringify({ name: "sideways-ort-cuda13", private: true, description: "made by `sideways gpu install cuda13`" }, null, 2) + "\n");
    opts.log(`installing ${specs.join(" and ")} into ${opts.dir} (about 300 MB to download)`);
    // --ignore-scripts: onnxruntime-node's postinstall would fetch CUDA 12 libraries from NuGet.
    const npm = spawnSync("npm", ["install", "--prefix", opts.dir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", ...sources], { stdio: ["ignore", "inherit", "inherit"] });
    if (npm.status !== 0) throw new ProviderError(`npm install of ${specs.join(", ")} failed (${npm.error?.message ?? `exit status ${npm.status}`}); it needs the npm registry, or --from a folder with the two tarballs`);
    const plugins = join(opts.dir, "node_modules", CUDA13.providerPackage.slice(0, CUDA13.providerPackage.lastIndexOf("@")), "Plugins", "Linux", "x64");
    for (const lib of CUDA13.providerLibs) copyFileSync(join(plugins, lib), join(opts.dir, ORT_BIN, lib));
    // What no Linux x64 process loads: the provider package and the Unity core package it depends
    // on (the libraries we need are copied), and the binding's other platforms (about 500 MB).
    for (const e of readdirSync(join(opts.dir, "node_modules"))) {
      if (e.startsWith("com.github.asus4.")) rmSync(join(opts.dir, "node_modules", e), { recursive: true, force: true });
    }
    for (const other of ["darwin", "win32", join("linux", "arm64")]) rmSync(join(opts.dir, "node_modules", "onnxruntime-node", "bin", "napi-v6", other), { recursive: true, force: true });
  }
  const dirs = cudaLibrarySearchDirs(opts.cudaLibDirs, opts.python);
  const search = findCudaLibraries(dirs);
  if (search.missing.length > 0) {
    throw new ProviderError(
      [
        `CUDA libraries missing: ${search.missing.join(", ")} (the CUDA build itself is in ${opts.dir}).`,
        `Searched: ${search.searched.length > 0 ? search.searched.join(", ") : "(no folder exists)"} and the nvidia-* packages of ${opts.python}${pythonNote(opts.python)}.`,
        "The CUDA-13 provider needs CUDA 13 runtime, cuBLAS and cuRAND, and cuDNN 9: a CUDA 13 toolkit with cuDNN,",
        "or the Python packages that PyTorch's cu130 wheels bring (pip install nvidia-cuda-runtime nvidia-cublas nvidia-curand nvidia-cudnn-cu13).",
        "Name another folder with --cuda-lib-dir DIR (or --python for another interpreter's packages), then run this again.",
      ].join("\n"),
    );
  }
  const file = join(opts.dir, MANIFEST);
  writeFileSync(file, JSON.stringify({ build: "cuda13", ortVersion: CUDA13.ortVersion, providerPackage: CUDA13.providerPackage, libraries: search.found, installedAt: new Date().toISOString() }, null, 2) + "\n");
  opts.log(`CUDA libraries: ${search.found.map(([, p]) => p).join(", ")}`);
  opts.log(`wrote ${file}`);
  return readCudaInstall(opts.dir);
}

/**
 * Why the CUDA provider library does not load, in the dynamic linker's words (onnxruntime only
 * says "Failed to load shared library"), or null if it loads.
 */
export function cudaProviderLoadError(dir = cudaInstallDir()): string | null {
  const lib = join(dir, ORT_BIN, "libonnxruntime_providers_cuda.so");
  const { RTLD_NOW } = os.constants.dlopen as Record<string, number>;
  try {
    process.dlopen({ exports: {} }, lib, RTLD_NOW);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return msg.includes("did not self-register") ? null : msg;
  }
  return null;
}
