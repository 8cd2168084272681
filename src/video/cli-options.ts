/**
 * @module video/cli-options
 * The video flags `ward hash` and `ward match` share, and how `ward hash` writes a video's frames.
 */
import { WardError } from '../errors.js';
import { type VideoHashOptions, VPDQ_SCALERS, type VpdqScaler } from './hash.js';
import { toCompact, toReferenceText, toThreatExchange, type VpdqFrame } from './vpdq.js';

/** parseArgs declarations of the video flags. */
export const VIDEO_FLAGS = {
  'seconds-per-hash': { type: 'string' },
  'every-frame': { type: 'boolean' },
  downsample: { type: 'string' },
  scaler: { type: 'string' },
  'max-frames': { type: 'string' },
  'max-seconds': { type: 'string' },
} as const;

export const VIDEO_USAGE = `Videos (MP4/MOV, WebM/MKV, AVI...; needs ffmpeg): vPDQ, a PDQ hash per sampled frame
  --seconds-per-hash S         hash one frame per S seconds (default 1; 0: every frame)
  --every-frame                same as --seconds-per-hash 0
  --downsample N               hash frames scaled to NxN (default: native size)
  --scaler area|lanczos        frame conversion filter: area (default, the reference since
                               July 2023) or lanczos (the reference before it)
  --max-frames N               hash at most N frames per video (default 3600)
  --max-seconds S              give up on a video after S seconds (default 600); frames
                               hashed by then are kept ("truncated")`;

function usage(flag: string, expected: string, value: string): WardError {
  return new WardError('WARD_ERR_USAGE', `Expected ${expected} for \`${flag}\` but received ${JSON.stringify(value)}`);
}

/** A number flag, checked (a usage error otherwise). */
export function number(flag: string, value: string, min: number, max: number, integer: boolean): number {
  const n = Number(value);
  const ok =
    /^\d+(\.\d+)?$/.test(value) && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
  if (!ok) throw usage(flag, `${integer ? 'an integer' : 'a number'} ${min}-${max}`, value);
  return n;
}

/** The video options given on the command line (absent flags: the defaults of video/hash). */
export function videoOptions(values: Record<string, string | boolean | undefined>): VideoHashOptions {
  const o: VideoHashOptions = {};
  const sph = values['seconds-per-hash'];
  if (values['every-frame'] === true) {
    if (typeof sph === 'string' && Number(sph) !== 0)
      throw new WardError('WARD_ERR_USAGE', 'Give --every-frame or --seconds-per-hash, not both');
    o.secondsPerHash = 0;
  } else if (typeof sph === 'string') o.secondsPerHash = number('--seconds-per-hash', sph, 0, 3600, false);
  if (typeof values.downsample === 'string') o.downsample = number('--downsample', values.downsample, 5, 65535, true);
  if (typeof values.scaler === 'string') {
    if (!(VPDQ_SCALERS as readonly string[]).includes(values.scaler))
      throw usage('--scaler', VPDQ_SCALERS.join(' or '), values.scaler);
    o.scaler = values.scaler as VpdqScaler;
  }
  if (typeof values['max-frames'] === 'string')
    o.maxFrames = number('--max-frames', values['max-frames'], 1, Number.MAX_SAFE_INTEGER, true);
  if (typeof values['max-seconds'] === 'string')
    o.maxSeconds = number('--max-seconds', values['max-seconds'], 0.001, 86400, false);
  return o;
}

/** How `ward hash` writes a video's `vpdq` field. */
export type VpdqOutputFormat = 'objects' | 'compact' | 'te' | 'text';
export const VPDQ_OUTPUT_FORMATS: readonly VpdqOutputFormat[] = ['objects', 'compact', 'te', 'text'];

export function parseVpdqOutputFormat(value: string | boolean | undefined): VpdqOutputFormat {
  if (value === undefined) return 'objects';
  if (typeof value !== 'string' || !(VPDQ_OUTPUT_FORMATS as readonly string[]).includes(value))
    throw usage('--vpdq-format', VPDQ_OUTPUT_FORMATS.join(', '), String(value));
  return value as VpdqOutputFormat;
}

/**
 * The frames as `--vpdq-format` asks: `objects` ({frame, quality, pdq, seconds}), `compact` (Ward's
 * bank value), `te` (python-threatexchange's list of "pdqhex,quality,timestamp" strings: its
 * signal string is `json.dumps` of it) or `text` (the reference's hash file, lines of
 * `frame,quality,pdq,seconds`).
 */
export function formatFrames(frames: VpdqFrame[], format: VpdqOutputFormat): VpdqFrame[] | string | string[] {
  switch (format) {
    case 'objects':
      return frames;
    case 'compact':
      return toCompact(frames);
    case 'te':
      return toThreatExchange(frames);
    case 'text':
      return toReferenceText(frames);
  }
}
