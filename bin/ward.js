#!/usr/bin/env node
// Entry point of the `ward` command. Needs the build (`npm run build`).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(built)) {
  // An unbuilt checkout (`npm ci` without `npm run build`): say so instead of a stack trace.
  process.stderr.write(
    'ward: WARD_ERR_DEPENDENCY_MISSING: Ward is not built (dist/ is missing). Possible solutions: run `npm run build`.\n',
  );
  process.exit(4);
}
const { main } = await import(built.href);

process.on('SIGINT', () => process.exit(130));
const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
});
// Let stdout drain before exiting (piped output is asynchronous).
process.exitCode = code;
