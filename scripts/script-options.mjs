// Command-line handling shared by the measurement scripts: node's parseArgs, and every bad option
// an exit-2 message with the script's usage line.

/** A function that prints `message` and the usage line, then exits with status 2. */
export function usageExit(usageLine) {
  return (message) => {
    console.error(`${message}\nusage: ${usageLine}`);
    process.exit(2);
  };
}

/** parseArgs(config), its errors through `usage`. */
export async function parseOptions(config, usage) {
  const { parseArgs } = await import("node:util");
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
