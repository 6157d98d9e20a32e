import type { Argv, CommandModule } from "yargs";
import type { BenchArgs } from "../../bench/bench.js";
import { PROVIDERS } from "../../runtime/providers.js";
import { wholeNumber } from "../whole-number.js";
import type { HelpExamples } from "../help-examples.js";

export function benchCommand(): CommandModule<object, BenchArgs> & HelpExamples {
  return {
    command: "bench",
    describe: "Benchmark BP vs Sideways, sequential vs depth-parallel stages (and against PyTorch)",
    builder: (y: Argv) =>
      y
        .option("json", { type: "string", describe: "also write the results to this JSON file, once they exist (a bench that fails or is stopped leaves an earlier file as it was; one that ends replaces it, and says so)" })
        .option("peer", { type: "string", choices: ["torch"], describe: "compare our BP step with PyTorch's" })
        .option("device-step", { type: "boolean", describe: "with --peer: our BP step as runtime.device_step (default: on a GPU provider, as training does) or the host path (--no-device-step)" })
        .option("peer-upload", { type: "boolean", default: false, describe: "with --peer: PyTorch moves each step's batch from host memory to its device inside the timed step, as our side does (default: its batches stay on the device)" })
        .option("pixel-clips", { type: "boolean", default: false, describe: "with --peer: the clips are 8-bit pixels, which our device step takes as such, as training on CUDA does with 8-bit data (with --peer-upload PyTorch uploads them so too)" })
        .option("steps-per-call", { coerce: wholeNumber("--steps-per-call", 1), describe: "with --peer and our device step: that many training steps chained in one onnxruntime call (each on its own batch), and PyTorch synchronising its device once per that many steps; times are per step (default 1)" })
        .option("step", { type: "boolean", default: false, alias: "bp-step", describe: "only the training step of BP and Sideways, host path against runtime.device_step (default model models/quickstart-cnn.yaml, 16 clips x 8 frames; Sideways where clips have 2L-1 frames or more)" })
        .option("augment", { type: "boolean", default: false, describe: "only the cost of data.augment on the thread that assembles training batches: a batch of the model's 8-bit clips without augmentation, with shifts, mirrors, both and resized crops (default model models/quickstart-cnn.yaml, 256 clips x 8 frames)" })
        .option("workers", { coerce: wholeNumber("--workers", 1), describe: "most depth-parallel workers to try" })
        .option("quick", { type: "boolean", default: false, describe: "a smoke test: fewer rounds, and the executor comparison on clips of 4L frames instead of 64 (--frames still wins)" })
        .option("model", { type: "string", describe: "model file to benchmark (default: models/bench-8block.yaml; with --peer, models/quickstart-cnn.yaml)" })
        .option("batch", { coerce: wholeNumber("--batch", 1), describe: "clips per batch (default 8; with --peer, 16)" })
        .option("frames", { coerce: wholeNumber("--frames", 1), describe: "frames per clip (default 64; with --peer, 8)" })
        .option("rounds", { coerce: wholeNumber("--rounds", 1), describe: "timed rounds per configuration" })
        .option("threads", { array: true, coerce: (raw: unknown[]) => raw.map(wholeNumber("--threads", 1)), describe: "intra-op thread counts for the BP-step rows (default 1 2)" })
        .option("provider", { type: "string", choices: [...PROVIDERS], describe: "execution provider of our side (default cpu); with --peer torch, PyTorch runs on CUDA for a GPU provider" }) as unknown as Argv<BenchArgs>,
    examples: [
      ["$0 bench --quick", "a short benchmark"],
      ["$0 bench --json bench.json --workers 8", "up to 8 workers, results as JSON"],
      ["$0 bench --step --provider webgpu", "BP's and Sideways' steps with and without the device step, on WebGPU"],
      ["$0 bench --augment --json augment.json", "what data.augment costs a training batch of 256 x 8 frames"],
      ["$0 bench --peer torch --json peer.json", "our BP step against PyTorch's (needs python3 with torch)"],
      ["$0 bench --peer torch --provider cuda --model models/quickstart-wide.yaml --batch 64", "the same on a GPU (docs/GPU.md)"],
    ],
    handler: async (argv) => {
      await (await import("../../bench/bench.js")).runBench(argv);
    },
  };
}
