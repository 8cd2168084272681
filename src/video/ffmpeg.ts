/**
 * @module video/ffmpeg
 * Running ffmpeg and ffprobe as child processes: found on PATH (or `$WARD_FFMPEG`,
 * `$WARD_FFPROBE`), never through a shell, always reaped. A run ends when the child has exited and
 * its pipes are closed, whatever happened: a deadline or an abort kills it (SIGKILL) and still
 * waits for it, so no ffmpeg process outlives the call that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { WardError } from '../errors.js';

/** The ffmpeg binary: `$WARD_FFMPEG`, else `ffmpeg` on PATH. */
export function ffmpegBinary(): string {
  return process.env.WARD_FFMPEG || 'ffmpeg';
}

/** The ffprobe binary: `$WARD_FFPROBE`, else `ffprobe` on PATH. */
export function ffprobeBinary(): string {
  return process.env.WARD_FFPROBE || 'ffprobe';
}

const live = new Set<ChildProcess>();

/** How many ffmpeg/ffprobe children this thread has running (0 once every call has returned). */
export function runningChildren(): number {
  return live.size;
}

export interface RunOptions {
  /** Written to the child's stdin, chunk after chunk (then stdin is closed); stdin is ignored without. */
  input?: readonly Uint8Array[];
  /** Epoch milliseconds after which the child is killed (`timedOut` in the result). */
  deadline?: number;
  /** Kills the child when aborted; the run then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives stdout as it arrives; return true to stop (the child is killed, `stopped` in the result). */
  onStdout?: (chunk: Buffer) => boolean | undefined;
  /** Bytes of stderr kept (default 16 KiB; the rest is counted, not kept). */
  maxStderrBytes?: number;
}

export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  stderr: string;
  /** Killed because the deadline passed. */
  timedOut: boolean;
  /** Killed because onStdout asked to stop. */
  stopped: boolean;
}

/**
 * Runs `binary args` to completion (or until killed), feeding `input` and streaming stdout.
 * @throws WardError WARD_ERR_DEPENDENCY_MISSING when the binary cannot be found or started
 */
export function runTool(binary: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { input, deadline, signal, onStdout, maxStderrBytes = 16 * 1024 } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<RunResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(binary, args, {
        stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (cause) {
      reject(missing(binary, cause));
      return;
    }
    live.add(child);
    let stderr = '';
    let stderrBytes = 0;
    let timedOut = false;
    let stopped = false;
    let aborted = false;
    let spawnError: unknown;
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    if (deadline !== undefined) {
      timer = setTimeout(
        () => {
          timedOut = true;
          kill();
        },
        Math.max(0, deadline - Date.now()),
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      // Spawn failures (ENOENT, EACCES) come here; 'close' follows and settles the promise.
      spawnError ??= err;
      kill();
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (stderrBytes < maxStderrBytes) stderr += text.slice(0, maxStderrBytes - stderrBytes);
      stderrBytes += text.length;
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stopped || !onStdout) return;
      let stop: boolean | undefined;
      try {
        stop = onStdout(chunk);
      } catch (err) {
        spawnError ??= err;
        stop = true;
      }
      if (stop) {
        stopped = true;
        kill();
      }
    });
    if (input && child.stdin) {
      const stdin = child.stdin;
      // The child may exit before reading everything (a frame cap, a damaged header): not an error.
      stdin.on('error', () => {});
      void (async () => {
        for (const chunk of input) {
          if (stdin.destroyed) return;
          for (let at = 0; at < chunk.length; at += 1 << 20) {
            if (stdin.destroyed) return;
            if (!stdin.write(chunk.subarray(at, Math.min(chunk.length, at + (1 << 20))))) {
              await new Promise<void>((r) => {
                stdin.once('drain', r);
                stdin.once('close', r);
              });
            }
          }
        }
        stdin.end();
      })();
    }
    child.on('close', (code) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (spawnError && isSpawnFailure(spawnError)) {
        reject(missing(binary, spawnError));
        return;
      }
      if (aborted) {
        reject(signal?.reason);
        return;
      }
      if (spawnError) {
        reject(spawnError);
        return;
      }
      resolve({ code, stderr, timedOut, stopped });
    });
  });
}

function isSpawnFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EPERM';
}

function missing(binary: string, cause: unknown): WardError {
  const name = binary.includes('probe') ? 'ffprobe' : 'ffmpeg';
  const errno = (cause as NodeJS.ErrnoException)?.code ?? 'error';
  return new WardError(
    'WARD_ERR_DEPENDENCY_MISSING',
    `${name} is needed to hash videos and could not be started (${errno}): install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg), or set WARD_FFMPEG and WARD_FFPROBE to the binaries`,
    { expected: name },
    cause,
  );
}

/** What the installed ffmpeg supports, learnt once per thread from `ffmpeg -version`. */
export interface FfmpegFeatures {
  /** e.g. "5.1.9", or the build string of a git build. */
  version: string;
  /** `-fps_mode` (ffmpeg 5.1 and later); older ones take `-vsync passthrough`. */
  fpsMode: boolean;
}

let features: Promise<FfmpegFeatures> | undefined;

/**
 * Checks that ffmpeg and ffprobe can be run, and what the ffmpeg accepts.
 * @throws WardError WARD_ERR_DEPENDENCY_MISSING
 */
export function ffmpegFeatures(): Promise<FfmpegFeatures> {
  features ??= detect();
  // A failed check is retried next time (the user may install ffmpeg while a service runs).
  features.catch(() => {
    features = undefined;
  });
  return features;
}

async function detect(): Promise<FfmpegFeatures> {
  const deadline = Date.now() + 30_000;
  let out = '';
  const r = await runTool(ffmpegBinary(), ['-hide_banner', '-version'], {
    deadline,
    onStdout: (c) => {
      out += c.toString('latin1');
      return undefined;
    },
  });
  if (r.code !== 0) {
    throw new WardError('WARD_ERR_DEPENDENCY_MISSING', `\`${ffmpegBinary()} -version\` failed: is it ffmpeg?`, {
      expected: 'ffmpeg',
    });
  }
  const probe = await runTool(ffprobeBinary(), ['-hide_banner', '-version'], { deadline });
  if (probe.code !== 0) {
    throw new WardError('WARD_ERR_DEPENDENCY_MISSING', `\`${ffprobeBinary()} -version\` failed: is it ffprobe?`, {
      expected: 'ffprobe',
    });
  }
  const version = /ffmpeg version (\S+)/.exec(out)?.[1] ?? 'unknown';
  const m = /^n?(\d+)\.(\d+)/.exec(version);
  // Release numbers before 5.1 lack -fps_mode; git builds ("N-…") are recent.
  const fpsMode = m ? Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 1) : true;
  return { version, fpsMode };
}

/**
 * The useful part of ffmpeg's stderr: its first error line, without the `[h264 @ 0x…]` prefix
 * and without the input's name, at most 200 characters.
 */
export function summariseStderr(stderr: string, inputName?: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '').trim())
    .filter((l) => l !== '' && !/^Last message repeated/.test(l));
  let line = lines[0] ?? '';
  if (inputName) line = line.split(inputName).join('<input>');
  line = line.replace(/(file:|pipe:)\S*/g, '<input>');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
