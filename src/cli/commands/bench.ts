import type { Argv, CommandModule } from "yargs";
import type { BenchArgs } from "../../bench/bench.js";

export function benchCommand(): CommandModule<object, BenchArgs> {
  return {
    command: "bench",
    describe: "Benchmark BP vs Sideways, sequential vs depth-parallel stages (and against PyTorch)",
    builder: (y: Argv) =>
      y
        .option("json", { type: "string", describe: "also write the results to this JSON file" })
        .option("peer", { type: "string", choices: ["torch"], describe: "compare our BP step with PyTorch's" })
        .option("workers", { type: "number", describe: "most depth-parallel workers to try" })
        .option("quick", { type: "boolean", default: false, describe: "fewer rounds (a smoke test)" })
        .option("model", { type: "string", describe: "model file to benchmark" })
        .example("$0 bench --quick", "a short benchmark")
        .example("$0 bench --json bench.json --workers 8", "up to 8 workers, results as JSON") as unknown as Argv<BenchArgs>,
    handler: async (argv) => {
      await (await import("../../bench/bench.js")).runBench(argv);
    },
  };
}
