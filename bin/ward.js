#!/usr/bin/env node
// Entry point of the `ward` command. Needs the build (`npm run build`).
import { main } from '../dist/cli/main.js';

process.on('SIGINT', () => process.exit(130));
const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
});
// Let stdout drain before exiting (piped output is asynchronous).
process.exitCode = code;
