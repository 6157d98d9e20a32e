/**
 * The PyTorch peer (bench/torch_peer.py --serve) as a child process: one JSON command per stdin
 * line, one JSON reply per stdout line. Keeping it alive lets the benchmark alternate single steps
 * of ours and PyTorch's in one run.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { InputError, RunError } from "../errors.js";
import { defaultPython } from "../runtime/python.js";

export const TORCH_PEER_SCRIPT = fileURLToPath(new URL("../../../bench/torch_peer.py", import.meta.url));

/** The interpreter that runs the peer: src/runtime/python.ts defaultPython ($SIDEWAYS_PYTHON, else python3 on PATH). */
export function peerPython(): string {
  return defaultPython().python;
}

// Debian's packages install into /usr/bin/python3 only, which need not be the python3 on PATH
// (src/runtime/python.ts), hence SIDEWAYS_PYTHON beside them.
export const TORCH_INSTALL_HELP =
  "Install PyTorch, NumPy and PyYAML for that interpreter (pip install torch numpy pyyaml), or point SIDEWAYS_PYTHON at a Python " +
  "that has them (on Debian/Ubuntu apt-get install -y python3-torch python3-numpy python3-yaml puts them in /usr/bin/python3: " +
  "SIDEWAYS_PYTHON=/usr/bin/python3).";

/** null when `python` can import torch, numpy and yaml; otherwise why not. */
export function torchUnavailableReason(python = peerPython()): string | null {
  const r = spawnSync(python, ["-c", "import torch, numpy, yaml"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) return `cannot run ${python}: ${r.error.message}`;
  if (r.status !== 0) return `${python} cannot import torch, numpy and yaml: ${r.stderr.trim().split("\n").pop()}`;
  return null;
}

export interface TorchPeerFiles {
  model: string;
  init: string;
  clips: string;
  labels: string;
  lr: number;
  /** torch device of the peer (default cpu). */
  device?: "cpu" | "cuda";
  /** Keep the clips in host memory and move each step's batch to the device inside the timed step. */
  uploadEachStep?: boolean;
  /** With uploadEachStep: the clips travel as their 8-bit pixels, made float32 on the device. */
  uploadPixels?: boolean;
}

export interface TorchStep {
  ms: number;
  loss: number;
  /** The step's start and end on CLOCK_MONOTONIC, ns as decimal strings (for a CUDA trace's marks). */
  window: [string, string];
}

export class TorchPeer {
  private readonly replies: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private stderr = "";
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => this.deliver(line));
    child.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    child.on("close", () => {
      this.exited = true;
      this.deliver(null);
    });
  }

  /** Starts the peer and waits for its greeting ({torch_version, batch_size, frames_per_step}). */
  static async start(files: TorchPeerFiles, python = peerPython()): Promise<{ peer: TorchPeer; hello: Record<string, unknown> }> {
    const args = [TORCH_PEER_SCRIPT, "--serve", "--model", files.model, "--init", files.init, "--clips", files.clips, "--labels", files.labels, "--lr", String(files.lr), "--device", files.device ?? "cpu", ...(files.uploadEachStep ? ["--upload-each-step"] : []), ...(files.uploadPixels ? ["--upload-pixels"] : [])];
    const peer = new TorchPeer(spawn(python, args, { stdio: ["pipe", "pipe", "pipe"] }));
    const hello = await peer.reply("start");
    return { peer, hello };
  }

  private deliver(line: string | null): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(line);
    } else if (line !== null) {
      this.replies.push(line);
    }
  }

  private async reply(what: string): Promise<Record<string, unknown>> {
    const line =
      this.replies.shift() ?? (this.exited ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    if (line === null) {
      throw new RunError(`the PyTorch peer (${TORCH_PEER_SCRIPT}) exited during "${what}": ${this.stderr.trim() || "no message"}`);
    }
    return JSON.parse(line) as Record<string, unknown>;
  }

  async command(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin.write(JSON.stringify(cmd) + "\n");
    return this.reply(String(cmd.cmd));
  }

  /** `n` steps back to back in one timed window, the device synchronised before and after only. */
  async step(n = 1): Promise<TorchStep> {
    const r = await this.command({ cmd: "step", n });
    const window = r.window_ns;
    // bench/torch_peer.py always sends it: a reply without it is a mismatched peer script.
    if (!Array.isArray(window) || window.length !== 2) throw new RunError(`BUG: the PyTorch peer's step reply has no window_ns: ${JSON.stringify(r)}`);
    return { ms: Number(r.ms), loss: Number(r.loss), window: [String(window[0]), String(window[1])] };
  }

  /** The peer's process id (whose CUDA trace its step windows belong to). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.on("close", () => resolve()));
    this.child.stdin.end(JSON.stringify({ cmd: "quit" }) + "\n");
    await done;
  }
}

export function requireTorch(python = peerPython()): void {
  const why = torchUnavailableReason(python);
  if (why) throw new InputError(`sideways bench --peer torch: ${why}\n${TORCH_INSTALL_HELP}`);
}
