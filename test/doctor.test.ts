/** `sideways doctor` on a machine set up wrongly: each line says what is wrong with what. */
import { expect } from "chai";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { nvidiaVulkanHint, softwareOnlyHint } from "../src/cli/commands/doctor.js";
import { peerPython } from "../src/bench/torch-peer-process.js";
import { main } from "../src/cli/main.js";
import { defaultPython } from "../src/runtime/python.js";
import { captureIo } from "./helpers/capture-io.js";

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

describe("doctor", function () {
  this.timeout(120_000);
  const saved = { SIDEWAYS_PYTHON: process.env.SIDEWAYS_PYTHON, PATH: process.env.PATH, SIDEWAYS_CUDA_DIR: process.env.SIDEWAYS_CUDA_DIR };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("SIDEWAYS_PYTHON naming a missing interpreter: said as not found, naming SIDEWAYS_PYTHON (not 'cannot import torch')", async () => {
    process.env.SIDEWAYS_PYTHON = "/nonexistent/python3";
    const io = captureIo();
    expect(await main(["doctor", "--json"], io), io.stderr).to.equal(0);
    const checks = JSON.parse(io.stdout) as Check[];
    const python = checks.find((c) => c.what === "python (--peer torch, CUDA search)");
    expect(python?.ok).to.equal(false);
    expect(python?.detail).to.equal("SIDEWAYS_PYTHON=/nonexistent/python3: not found; set SIDEWAYS_PYTHON to a Python 3 with torch, numpy and pyyaml");
    // The CPU provider works everywhere; its line is there and ok.
    expect(checks.find((c) => c.what === "provider cpu")?.ok).to.equal(true);
  });

  it("a Python with torch but without yaml: not ok, naming the import that failed (the peer imports torch, numpy and yaml)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-doctor-"));
    try {
      // A stand-in that runs as Python 3 and imports torch, but has no yaml module.
      const python = join(dir, "python3");
      writeFileSync(python, `#!/bin/sh\ncase "$2" in *yaml*) echo "ModuleNotFoundError: No module named 'yaml'" >&2; exit 1;; *torch*) echo "2.11.0 no cuda";; *version_info*) echo 3;; *) exit 1;; esac\n`);
      chmodSync(python, 0o755);
      process.env.SIDEWAYS_PYTHON = python;
      const io = captureIo();
      expect(await main(["doctor", "--json"], io), io.stderr).to.equal(0);
      const line = (JSON.parse(io.stdout) as Check[]).find((c) => c.what === "python (--peer torch, CUDA search)");
      expect(line?.ok).to.equal(false);
      expect(line?.detail).to.equal(`SIDEWAYS_PYTHON=${python}: cannot import torch, numpy and yaml: ModuleNotFoundError: No module named 'yaml'; set SIDEWAYS_PYTHON to a Python 3 with torch, numpy and pyyaml`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the CUDA libraries line searches the Python `gpu install` would (python3 on PATH), which the peer benchmark runs too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-doctor-"));
    try {
      // A stand-in python3 first on PATH whose `nvidia` package holds cuRAND (as PyTorch's cu130 wheels lay it out).
      const lib = join(dir, "site", "nvidia", "cu13", "lib");
      mkdirSync(lib, { recursive: true });
      writeFileSync(join(lib, "libcurand.so.10"), "");
      mkdirSync(join(dir, "bin"));
      writeFileSync(join(dir, "bin", "python3"), `#!/bin/sh\necho '${JSON.stringify([join(dir, "site", "nvidia")])}'\n`);
      chmodSync(join(dir, "bin", "python3"), 0o755);
      process.env.PATH = `${join(dir, "bin")}${delimiter}${process.env.PATH}`;
      delete process.env.SIDEWAYS_PYTHON;
      process.env.SIDEWAYS_CUDA_DIR = join(dir, "no-cuda-build");
      const io = captureIo();
      expect(await main(["doctor", "--json"], io), io.stderr).to.equal(0);
      const checks = JSON.parse(io.stdout) as Check[];
      const cuda = checks.find((c) => c.what === "provider cuda");
      expect(cuda?.detail).to.match(/^not installed .*CUDA libraries found: [^;]*libcurand\.so\.10/);
      // The peer benchmark's interpreter is the same one, named with where it came from.
      const python = checks.find((c) => c.what === "python (--peer torch, CUDA search)");
      expect(python?.detail.startsWith(`${join(dir, "bin", "python3")} (python3 on PATH): `), python?.detail).to.equal(true);
      expect(peerPython()).to.equal(join(dir, "bin", "python3"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("one default interpreter: SIDEWAYS_PYTHON (empty is unset), else python3 on PATH, else python3 said as not found", () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-python-"));
    try {
      mkdirSync(join(dir, "venv", "bin"), { recursive: true });
      writeFileSync(join(dir, "venv", "bin", "python3"), "#!/bin/sh\n", { mode: 0o755 });
      mkdirSync(join(dir, "empty"));
      // Before it on PATH, a python3 that is a folder and one that is not executable: passed over, as a shell does.
      mkdirSync(join(dir, "folder", "python3"), { recursive: true });
      mkdirSync(join(dir, "noexec"));
      writeFileSync(join(dir, "noexec", "python3"), "#!/bin/sh\n", { mode: 0o644 });
      process.env.PATH = [join(dir, "empty"), join(dir, "folder"), join(dir, "noexec"), join(dir, "venv", "bin"), "/usr/bin"].join(delimiter);
      process.env.SIDEWAYS_PYTHON = "/opt/py/bin/python3";
      expect(defaultPython()).to.deep.equal({ python: "/opt/py/bin/python3", from: "SIDEWAYS_PYTHON", source: "SIDEWAYS_PYTHON" });
      for (const unset of ["", undefined]) {
        if (unset === undefined) delete process.env.SIDEWAYS_PYTHON;
        else process.env.SIDEWAYS_PYTHON = unset;
        // A virtual environment's python3 first on PATH wins over /usr/bin/python3.
        expect(defaultPython()).to.deep.equal({ python: join(dir, "venv", "bin", "python3"), from: null, source: "python3 on PATH" });
        expect(peerPython()).to.equal(join(dir, "venv", "bin", "python3"));
      }
      process.env.PATH = join(dir, "empty");
      expect(defaultPython()).to.deep.equal({ python: "python3", from: null, source: "python3, not found on PATH" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("WebGPU on an NVIDIA GPU: names the Vulkan loader or libglvnd when ldconfig lacks them, else the container's graphics support", () => {
    // ldconfig -p lines as on the H100 machine before and after libglvnd0 was unpacked (docs/GPU.md).
    const driver = "\tlibGLX_nvidia.so.0 (libc6,x86-64) => /usr/local/nvidia/lib64/libGLX_nvidia.so.0\n";
    const loader = "\tlibvulkan.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libvulkan.so.1\n";
    const glvnd = "\tlibGLdispatch.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libGLdispatch.so.0\n";
    expect(nvidiaVulkanHint(driver + loader, true)).to.match(/needs libGLdispatch\.so\.0, missing here.*libglvnd0/);
    expect(nvidiaVulkanHint(driver, true)).to.match(/needs libvulkan\.so\.1 and libGLdispatch\.so\.0/);
    // Run 16's H200: both libraries there and still no adapter; the container is named instead.
    expect(nvidiaVulkanHint(driver + loader + glvnd, true)).to.match(/^the Vulkan loader and libglvnd are here; in a container, .*graphics support/);
    expect(nvidiaVulkanHint(loader + glvnd, true), "no NVIDIA Vulkan library: not this cause").to.equal(null);
    expect(nvidiaVulkanHint(driver, false), "no NVIDIA GPU: not this cause").to.equal(null);
    expect(nvidiaVulkanHint(null, true), "no ldconfig: nothing to say").to.equal(null);
  });

  it("without vulkaninfo, a machine with no GPU device node is said to run WebGPU on a software renderer", () => {
    expect(softwareOnlyHint(true, [])).to.match(/no GPU device in \/dev\/dri or \/dev\/nvidia\*, so a software renderer on the CPU/);
    expect(softwareOnlyHint(true, ["/dev/dri/renderD128"])).to.equal("");
    expect(softwareOnlyHint(true, ["/dev/nvidia0"])).to.equal("");
    expect(softwareOnlyHint(false, []), "WebGPU failed: no renderer to speak of").to.equal("");
  });
});
