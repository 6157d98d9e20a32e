/**
 * `sideways doctor`: what this machine can run. Each execution provider is tried in a child
 * process (`sideways gpu probe`), so a crashing driver cannot end the report; the rest are lookups.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { findFfmpegTools } from "../../data/video/ffmpeg-tools.js";
import { cudaInstallDir, cudaLibrarySearchDirs, findCudaLibraries, MANIFEST, pythonProblem } from "../../runtime/cuda-install.js";
import { defaultPython } from "../../runtime/python.js";
import type { CliIo } from "../cli-io.js";
import { probeInChild } from "./gpu.js";
import type { HelpExamples } from "../help-examples.js";

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

function firstLine(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 ? (r.stdout || r.stderr).trim() : null;
}

function bundledOrtVersion(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
    return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/**
 * Why NVIDIA's Vulkan driver may find no device, from `ldconfig -p`'s output: its library
 * (libGLX_nvidia.so.0, which the container runtime mounts) dispatches through libglvnd's
 * libGLdispatch.so.0, and without it the Vulkan loader reports no driver at all (seen on an H100
 * machine: docs/GPU.md "WebGPU on an NVIDIA GPU"); with both there, the container's graphics
 * support (run 16). null when nothing points there.
 */
export function nvidiaVulkanHint(ldconfig: string | null, nvidiaGpu: boolean): string | null {
  if (!nvidiaGpu || ldconfig === null) return null;
  const has = (lib: string) => ldconfig.includes(lib);
  const missing = ["libvulkan.so.1", "libGLdispatch.so.0"].filter((lib) => !has(lib));
  // Run 16's H200 container had every library and still no adapter (the loader got no
  // vkCreateInstance from the driver): there the container runtime's graphics support is the cause.
  const container = "in a container, NVIDIA's Vulkan driver may also need the runtime's graphics support (NVIDIA_DRIVER_CAPABILITIES with graphics, /dev/dri): docs/GPU.md \"WebGPU on an NVIDIA GPU\"";
  if (missing.length === 0) return has("libGLX_nvidia.so.0") ? `the Vulkan loader and libglvnd are here; ${container}` : null;
  return `NVIDIA's Vulkan driver needs ${missing.join(" and ")}, missing here (Debian/Ubuntu: apt-get install libvulkan1 libglvnd0); ${container}`;
}

/** The GPU device nodes a hardware Vulkan driver opens: DRM render nodes (Mesa's drivers) and NVIDIA's. */
function gpuDeviceNodes(): string[] {
  const list = (dir: string, pattern: RegExp) => {
    try {
      return readdirSync(dir).filter((f) => pattern.test(f)).map((f) => join(dir, f));
    } catch {
      return [];
    }
  };
  return [...list("/dev/dri", /^renderD\d+$/), ...list("/dev", /^nvidia\d+$/)];
}

/**
 * Without vulkaninfo to name the device: where WebGPU works on a machine with no GPU device node,
 * the only Vulkan device it can have found is a software one (Mesa's lavapipe), which runs on the CPU.
 */
export function softwareOnlyHint(webgpuWorks: boolean, deviceNodes: readonly string[]): string {
  return !webgpuWorks || deviceNodes.length > 0 ? "" : " (no GPU device in /dev/dri or /dev/nvidia*, so a software renderer on the CPU such as Mesa's lavapipe: correct, not fast)";
}

async function collect(): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({ what: "node", ok: true, detail: `${process.version} (${process.platform} ${process.arch})` });
  checks.push({ what: "onnxruntime-node (bundled)", ok: bundledOrtVersion() !== "not installed", detail: bundledOrtVersion() });

  const cpu = probeInChild("cpu");
  checks.push({ what: "provider cpu", ok: cpu.ok, detail: cpu.ok ? "works" : cpu.reason ?? "" });

  const gpus = firstLine("nvidia-smi", ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]);
  const vulkan = firstLine("vulkaninfo", ["--summary"]);
  // vulkaninfo (the vulkan-tools package) only names the devices; WebGPU works without it.
  const adapters = vulkan === null ? "not listed (vulkaninfo, from vulkan-tools, is not installed)" : [...vulkan.matchAll(/deviceName\s*=\s*(.+)/g)].map((m) => m[1].trim()).join(", ") || "no Vulkan device";
  const webgpu = probeInChild("webgpu", { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" });
  const hint = webgpu.ok ? null : nvidiaVulkanHint(firstLine("ldconfig", ["-p"]), gpus !== null);
  // Mesa's lavapipe (llvmpipe) and SwiftShader are Vulkan on the CPU: WebGPU works there, slowly.
  const software = /llvmpipe|lavapipe|swiftshader/i.test(adapters) ? " (a software renderer on the CPU: correct, not fast)" : vulkan === null ? softwareOnlyHint(webgpu.ok, gpuDeviceNodes()) : "";
  checks.push({ what: "provider webgpu", ok: webgpu.ok, detail: `${webgpu.ok ? "works" : webgpu.reason}; Vulkan devices: ${adapters}${software}${hint === null ? "" : `; ${hint}`}` });

  checks.push({ what: "NVIDIA GPUs", ok: gpus !== null, detail: gpus?.replace(/\n/g, "; ") ?? "nvidia-smi not found" });
  const dir = cudaInstallDir();
  if (existsSync(join(dir, MANIFEST))) {
    const cuda = probeInChild("cuda", { SIDEWAYS_ORT: "cuda13" });
    checks.push({ what: "provider cuda", ok: cuda.ok, detail: `${cuda.ok ? "works" : cuda.reason} (build in ${dir})` });
  } else {
    const libs = findCudaLibraries(cudaLibrarySearchDirs([], defaultPython().python));
    const found = libs.found.map(([s]) => s);
    checks.push({
      what: "provider cuda",
      ok: false,
      detail: `not installed (run \`sideways gpu install cuda13\`); CUDA libraries found: ${found.length > 0 ? found.join(", ") : "none"}${libs.missing.length > 0 ? `; missing: ${libs.missing.join(", ")}` : ""}`,
    });
  }

  try {
    const tools = await findFfmpegTools();
    checks.push({ what: "ffmpeg (video folders)", ok: true, detail: `${tools.ffmpeg}; ${tools.ffprobe}` });
  } catch (err) {
    checks.push({ what: "ffmpeg (video folders)", ok: false, detail: (err instanceof Error ? err.message : String(err)).split(". ")[0] });
  }
  // The one interpreter the peer benchmark runs and the CUDA search reads (src/runtime/python.ts),
  // said with where it came from: SIDEWAYS_PYTHON, or python3 on PATH (a virtual environment's).
  const { python, from, source } = defaultPython();
  const named = from !== null ? `${from}=${python}` : `${python} (${source})`;
  // What the peer imports (bench/torch_peer.py): torch alone would say ok where numpy or yaml is missing.
  const r = spawnSync(python, ["-c", "import numpy, yaml, torch; print(torch.__version__, 'cuda' if torch.cuda.is_available() else 'no cuda')"], { encoding: "utf8", timeout: 60_000 });
  const torch = r.status === 0 ? r.stdout.trim() : null;
  // An interpreter that does not run at all is said as such, not as a missing torch.
  const why = torch === null ? (pythonProblem(python) ?? `cannot import torch, numpy and yaml: ${(r.stderr ?? "").trim().split("\n").pop()}`) : null;
  const fix = "set SIDEWAYS_PYTHON to a Python 3 with torch, numpy and pyyaml";
  checks.push({ what: "python (--peer torch, CUDA search)", ok: torch !== null, detail: why !== null ? `${named}: ${why}; ${fix}` : `${named}: torch ${torch}` });
  return checks;
}

export function doctorCommand(io: CliIo): CommandModule<object, { json: boolean }> & HelpExamples {
  return {
    command: "doctor",
    describe: "List what this machine can run: execution providers (CPU, WebGPU, CUDA), ffmpeg, PyTorch for the peer benchmark",
    builder: (y: Argv) =>
      y
        .option("json", { type: "boolean", default: false, describe: "print JSON" }) as unknown as Argv<{ json: boolean }>,
    examples: [
      ["$0 doctor", "one line per check: ok or --, and why"],
      ["$0 doctor --json", "the same checks as JSON"],
    ],
    handler: async (argv) => {
      const checks = await collect();
      if (argv.json) {
        io.out(JSON.stringify(checks, null, 2) + "\n");
        return;
      }
      const width = Math.max(...checks.map((c) => c.what.length));
      for (const c of checks) io.out(`${c.ok ? "ok " : "-- "} ${c.what.padEnd(width)}  ${c.detail}\n`);
    },
  };
}
