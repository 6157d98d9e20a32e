/**
 * `sideways gpu install cuda13`: lays out the CUDA build of onnxruntime-node (src/runtime/cuda-install.ts)
 * and checks it by running a session on the GPU in a fresh process.
 * `sideways gpu probe PROVIDER`: whether a provider works in this process, as one JSON line (what
 * `install` and `doctor` run in child processes, so that a crashing driver cannot take them down).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Argv, CommandModule } from "yargs";
import { ProviderError } from "../../errors.js";
import { cudaInstallDir, installCuda13 } from "../../runtime/cuda-install.js";
import { loadedOrtBuild } from "../../runtime/ort-loader.js";
import { probeProvider } from "../../runtime/probe.js";
import { defaultPython } from "../../runtime/python.js";
import { PROVIDERS, type Provider } from "../../runtime/providers.js";
import type { CliIo } from "../cli-io.js";
import { EXIT_BAD_INPUT } from "../exit-codes.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

const SIDEWAYS_BIN = fileURLToPath(new URL("../../../../bin/sideways.js", import.meta.url));

export interface ProbeReport {
  provider: Provider;
  ok: boolean;
  reason?: string;
  build?: string | null;
}

/** Runs `sideways gpu probe PROVIDER` in a child process with `env` added. */
export function probeInChild(provider: Provider, env: Record<string, string> = {}, timeoutMs = 180_000, deviceId = 0): ProbeReport {
  const r = spawnSync(process.execPath, [SIDEWAYS_BIN, "gpu", "probe", provider, "--device-id", String(deviceId)], { encoding: "utf8", env: { ...process.env, ...env }, timeout: timeoutMs });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as ProbeReport;
  } catch {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    return { provider, ok: false, reason: `the probe process failed (${why}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}` };
  }
}

interface GpuArgs {
  action: string;
  target?: string;
  dir?: string;
  from?: string;
  "cuda-lib-dir": string[];
  python?: string;
  "device-id": number;
}

export function gpuCommand(io: CliIo): CommandModule<object, GpuArgs> & HelpExamples {
  return {
    command: "gpu <action> [target]",
    describe: "Install or check a GPU execution provider (install cuda13; probe cpu|webgpu|cuda)",
    builder: (y: Argv) =>
      y
        .positional("action", { type: "string", choices: ["install", "probe"], demandOption: true })
        .positional("target", { type: "string", describe: "install: cuda13; probe: a provider" })
        .option("dir", { type: "string", describe: `install here (default $SIDEWAYS_CUDA_DIR, else ${cudaInstallDir()})` })
        .option("from", { type: "string", describe: "a folder with the npm tarballs of onnxruntime-node@1.29.0 and the provider package (offline)" })
        .option("cuda-lib-dir", { type: "string", array: true, default: [], describe: "a folder with CUDA 13 / cuDNN 9 libraries (searched first)" })
        .option("device-id", { default: 0, coerce: wholeNumber("--device-id", 0), describe: "probe: the GPU to probe (cuda; 0 for cpu and webgpu)" })
        .option("python", { type: "string", describe: "Python whose nvidia-* packages hold CUDA libraries (default $SIDEWAYS_PYTHON, else python3 on PATH)" }) as unknown as Argv<GpuArgs>,
    examples: [
      ["$0 gpu install cuda13", "onnxruntime's CUDA-13 provider from npm, CUDA libraries from PyTorch's cu130 wheels or a CUDA toolkit"],
      ["$0 gpu probe webgpu", "one JSON line: does the WebGPU provider work here"],
    ],
    handler: async (argv) => {
      if (argv.action === "probe") {
        const provider = argv.target as Provider;
        if (!(PROVIDERS as readonly string[]).includes(provider)) throw new ProviderError(`gpu probe: expected a provider (${PROVIDERS.join(", ")}), found ${argv.target ?? "none"}`);
        // As runtime.device_id with runtime.provider webgpu (src/spec/experiment-spec.ts): the EP
        // has no device option, so probing "GPU 1" would silently probe the default adapter.
        if (provider === "webgpu" && argv["device-id"] !== 0) {
          throw new ProviderError(`--device-id ${argv["device-id"]}: expected 0 with gpu probe webgpu (onnxruntime-node's WebGPU EP runs every session on the default adapter and cannot choose another; docs/GPU.md)`);
        }
        // The CPU has no device to choose: "cpu GPU 1 works" would answer a question nobody can ask.
        if (provider === "cpu" && argv["device-id"] !== 0) throw new ProviderError(`--device-id ${argv["device-id"]}: expected 0 with gpu probe cpu (the CPU provider has no devices; --device-id picks a GPU for cuda)`);
        const r = await probeProvider({ provider, deviceId: argv["device-id"] });
        io.out(JSON.stringify({ provider, ...r, build: loadedOrtBuild() }) + "\n");
        if (!r.ok) io.exitCode = EXIT_BAD_INPUT;
        return;
      }
      if (argv.target !== "cuda13") throw new ProviderError(`gpu install: expected cuda13 (the one build offered; docs/GPU.md), found ${argv.target ?? "nothing"}`);
      // `--dir` with no value reaches us as "" (yargs), which no file system call would explain.
      const expected = { dir: "a folder to install into", from: "a folder holding the two npm tarballs", python: "a Python interpreter (a path, or a command on PATH)" } as const;
      for (const [name, what] of Object.entries(expected)) {
        if (argv[name as keyof typeof expected] === "") throw new ProviderError(`--${name}: expected ${what}, found nothing`);
      }
      const dir = argv.dir ?? cudaInstallDir();
      const { python, from: pythonFrom } = argv.python !== undefined ? { python: argv.python, from: "--python" } : defaultPython();
      installCuda13({ dir, from: argv.from, cudaLibDirs: argv["cuda-lib-dir"], python, pythonFrom, log: (l) => io.err(l + "\n") });
      const probe = probeInChild("cuda", { SIDEWAYS_CUDA_DIR: dir, SIDEWAYS_ORT: "cuda13" });
      if (!probe.ok) throw new ProviderError(`installed in ${dir}, but a CUDA session does not run: ${probe.reason}`);
      io.err(`ok: a CUDA session ran on GPU 0 and matched the expected values.${dir === cudaInstallDir() ? "" : ` Set SIDEWAYS_CUDA_DIR=${dir} to use this folder.`}\n`);
    },
  };
}
