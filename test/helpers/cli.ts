/** Runs the built `ward` binary (bin/ward.js, needs `npm run build`) in a child process. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './fixtures.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runWard(
  args: string[],
  options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'ward.js'), ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'ward-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
