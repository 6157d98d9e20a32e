// Command-line handling shared by the measurement scripts: node's parseArgs, `--help` (or `-h`)
// printing the script's usage line, and every bad option an exit-2 message with that line.

/** A function that prints `message` and the usage line, then exits with status 2. */
export function usageExit(usageLine) {
  const usage = (message) => {
    console.error(`${message}\nusage: ${usageLine}`);
    process.exit(2);
  };
  usage.line = usageLine;
  return usage;
}

/** parseArgs(config), its errors through `usage`; `--help` or `-h` prints the usage line and exits 0. */
export async function parseOptions(config, usage) {
  const { parseArgs } = await import("node:util");
  const args = config.args ?? process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(`usage: ${usage.line}`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    usage(err.message);
  }
}

/** The named options as positive integers, or an exit through `usage` naming the first that is not. */
export function positiveInts(values, keys, usage) {
  return keys.map((key) => {
    const n = Number(values[key]);
    if (!Number.isInteger(n) || n < 1) usage(`--${key} ${values[key]}: expected a positive integer`);
    return n;
  });
}
