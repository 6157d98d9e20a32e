#!/usr/bin/env node
// The package is compiled with tsc into dist/ (npm ci runs the prepare script).
import { main } from "../dist/src/cli/main.js";

// stdout and stderr are synchronous for files and pipes on Linux, so exiting here loses no output;
// exiting (rather than waiting) ends any handles a library left open.
process.exit(await main(process.argv.slice(2)));
