#!/usr/bin/env node
// The package is compiled with tsc into dist/ (`npm run build`; `npm ci` runs no scripts, .npmrc).
import { existsSync } from "node:fs";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("sideways: dist/ is not built: run `npm run build` first (npm ci does not compile: .npmrc sets ignore-scripts)\n");
  process.exit(2);
}
// A sweep's child catches stop signals (SIGINT, SIGTERM) from here on: one that comes before its
// trainer listens is kept, a repeated one ignored (src/train/early-interrupt.ts).
if (process.argv.includes("--child")) (await import(new URL("../dist/src/train/early-interrupt.js", import.meta.url).href)).listenForEarlyInterrupt();
const { main } = await import(entry.href);

// stdout and stderr are synchronous for files and pipes on Linux, so exiting here loses no output;
// exiting (rather than waiting) ends any handles a library left open.
process.exit(await main(process.argv.slice(2)));
