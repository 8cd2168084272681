/**
 * Benign test videos made with ffmpeg's generators (testsrc, testsrc2, color, sine), in a
 * temporary folder, and a check that no ffmpeg process is left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const hasFfmpeg =
  spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;
export const NO_FFMPEG = 'ffmpeg/ffprobe not found: video tests skipped (.ci/run installs ffmpeg)';
if (!hasFfmpeg) console.warn(NO_FFMPEG);

export interface VideoSpec {
  /** lavfi source, default testsrc2 */
  source?: string;
  size?: string;
  /** frames per second, a number or a rational ("30000/1001") */
  rate?: string | number;
  duration?: number;
  /** output options before the file name (codec, pixel format...); default H.264 yuv420p */
  output?: string[];
  /** extra input (e.g. an audio source) and mapping */
  extra?: string[];
}

/** Runs ffmpeg with these arguments and throws on failure. */
export function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** Writes a generated video to `path` and returns it. */
export function makeVideo(path: string, spec: VideoSpec = {}): string {
  const source = spec.source ?? 'testsrc2';
  const input = `${source}=size=${spec.size ?? '160x120'}:rate=${spec.rate ?? 30}:duration=${spec.duration ?? 2}`;
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    input,
    ...(spec.extra ?? []),
    ...(spec.output ?? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']),
    path,
  ]);
  return path;
}

/** ffmpeg or ffprobe processes whose command line mentions `marker` (a test's folder). */
export function ffmpegProcesses(marker: string): string[] {
  if (!existsSync('/proc')) return [];
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(join('/proc', pid, 'cmdline'), 'utf8')
        .split('\0')
        .join(' ');
    } catch {
      continue;
    }
    if (/\bff(mpeg|probe)\b/.test(cmd) && cmd.includes(marker)) {
      // A zombie (exited, not reaped) still has a /proc entry but an empty command line.
      found.push(`${pid}: ${cmd}`);
    }
  }
  return found;
}

/** Zombie children of this process (exited but never reaped). */
export function zombieChildren(): string[] {
  if (!existsSync('/proc')) return [];
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(join('/proc', pid, 'stat'), 'utf8');
      const [, rest] = stat.split(') ');
      const fields = (rest ?? '').split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === process.pid) out.push(stat.slice(0, 60));
    } catch {}
  }
  return out;
}
