/**
 * @module video/vpdq
 * vPDQ (Meta, 2022): a video's fingerprint is the PDQ hash of sampled frames, each with its
 * quality and time. This module holds the frame list type, the matching conventions and the three
 * text forms:
 *
 * - the reference's text files (`vpdq-hash-video`): one `frame,quality,pdq,seconds` line per frame,
 *   seconds with 3 decimals;
 * - python-threatexchange's signal strings: a JSON list of `"pdqhex,quality,timestamp"` strings,
 *   the timestamp formatted as Python's `f"{t:.3}"` (3 significant digits);
 * - Ward's compact form (bank values, scan reports): `pdqhex:quality:seconds` per frame, frames
 *   separated by one space, seconds with 3 decimals. No commas, tabs or quotes, so it fits a CSV,
 *   TSV or one-hash-per-line bank file as is.
 */
import { WardError } from '../errors.js';
import { PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY } from '../signals/pdq/distance.js';

/** One hashed frame. */
export interface VpdqFrame {
  /** Index of the frame in decoding output order, from 0 (unknown: -1, e.g. from python-threatexchange). */
  frame: number;
  /** PDQ quality, 0-100. */
  quality: number;
  /** 64 lowercase hex. */
  pdq: string;
  /** frame / frame rate, as the reference computes it (float32). */
  seconds: number;
}

/** Frames below this quality are left out of matching on both sides (vPDQ's convention). */
export const VPDQ_QUALITY_THRESHOLD = PDQ_MIN_QUALITY;
/** Two frames match within this many bits (inclusive, as python-threatexchange). */
export const VPDQ_DISTANCE_THRESHOLD = PDQ_MATCH_DISTANCE;
/** A video matches when at least this share of the query's frames found a match... */
export const VPDQ_QUERY_MATCH_PERCENT = 80;
/** ...and at least this share of the compared video's frames did. */
export const VPDQ_COMPARED_MATCH_PERCENT = 0;

const HEX64 = /^[0-9a-f]{64}$/;

function invalid(message: string): WardError {
  return new WardError('WARD_ERR_SIGNAL_INVALID', message, { expected: 'a vPDQ frame list' });
}

function checkFrame(pdq: string, quality: number, seconds: number, frame: number, where: string): VpdqFrame {
  const hex = pdq.trim().toLowerCase();
  if (!HEX64.test(hex)) throw invalid(`${where}: the PDQ hash is not 64 hex characters`);
  if (!Number.isInteger(quality) || quality < 0 || quality > 100)
    throw invalid(`${where}: the quality is not an integer 0-100`);
  if (!Number.isFinite(seconds) || seconds < 0) throw invalid(`${where}: the time is not a number of seconds ≥ 0`);
  if (!Number.isInteger(frame) || frame < -1) throw invalid(`${where}: the frame number is not an integer ≥ 0`);
  return { frame, quality, pdq: hex, seconds };
}

const INT = /^\d{1,9}$/;
const DECIMAL = /^\d+(\.\d*)?([eE][+-]?\d+)?$|^\.\d+([eE][+-]?\d+)?$/;

function int(text: string, what: string, where: string): number {
  const t = text.trim();
  if (!INT.test(t)) throw invalid(`${where}: the ${what} is not an integer`);
  return Number(t);
}

function decimal(text: string, where: string): number {
  const t = text.trim();
  if (!DECIMAL.test(t)) throw invalid(`${where}: the time is not a decimal number`);
  return Number(t);
}

// ---------------------------------------------------------------------------------------------
// Number formatting, exactly as C's printf and Python's format do it

/** The exact decimal digits of a finite x ≥ 0: digits (no leading zeros) and the decimal point's place. */
function exactDigits(x: number): { digits: string; point: number } {
  if (x === 0) return { digits: '0', point: 1 };
  // toPrecision(100) is exact for every double with at most 100 significant digits, which covers
  // every float32 and every double ≥ 1e-30 that a time can be.
  const [mantissa, exp] = x.toPrecision(100).split('e') as [string, string | undefined];
  const all = mantissa.replace('.', '').replace(/0+$/, '');
  const leading = all.length - all.replace(/^0+/, '').length;
  const intPart = mantissa.indexOf('.') === -1 ? mantissa.length : mantissa.indexOf('.');
  return { digits: all.slice(leading) || '0', point: intPart + (exp ? Number(exp) : 0) - leading };
}

/** Rounds a digit string to `n` digits, ties to even (on the exact value), carrying into the point. */
function roundDigits(digits: string, point: number, n: number): { digits: string; point: number } {
  if (n < 0) return { digits: '0', point: point - n };
  if (digits.length <= n) return { digits, point };
  const kept = digits.slice(0, n);
  const rest = digits.slice(n);
  const first = rest.charCodeAt(0) - 48;
  const tie = first === 5 && /^5?0*$/.test(rest);
  const lastKept = n > 0 ? kept.charCodeAt(n - 1) - 48 : 0;
  const up = first > 5 || (first === 5 && !tie) || (tie && lastKept % 2 === 1);
  if (!up) return { digits: kept || '0', point: n === 0 ? point + 1 : point };
  // Add one unit in the last kept place.
  const arr = (kept || '0').split('').map((c) => c.charCodeAt(0) - 48);
  let i = arr.length - 1;
  while (i >= 0) {
    if (arr[i] === 9) {
      arr[i] = 0;
      i--;
    } else {
      arr[i] = (arr[i] as number) + 1;
      break;
    }
  }
  if (n === 0) return { digits: '1', point: point + 1 };
  if (i < 0) return { digits: `1${arr.join('')}`, point: point + 1 };
  return { digits: arr.join(''), point };
}

/** printf("%.3f", x): 3 decimals, ties to even on the exact binary value (x ≥ 0). */
export function formatSeconds(x: number): string {
  if (!Number.isFinite(x) || x < 0) return String(x);
  const { digits, point } = exactDigits(x);
  // Keep every digit down to the thousandths.
  const r = roundDigits(digits, point, point + 3);
  let d = r.digits;
  let p = r.point;
  // Pad to the thousandths, then split at the point.
  const need = p + 3;
  if (d.length < need) d += '0'.repeat(need - d.length);
  if (p <= 0) {
    d = '0'.repeat(1 - p) + d;
    p = 1;
  }
  return `${d.slice(0, p)}.${d.slice(p, p + 3)}`;
}

/** Python's `format(x, '.3')` for x ≥ 0: 3 significant digits, '1e+02' from 100 up (python-threatexchange's timestamps). */
export function formatPython3(x: number): string {
  if (!Number.isFinite(x) || x < 0) return String(x);
  if (x === 0) return '0.0';
  const exact = exactDigits(x);
  const r = roundDigits(exact.digits, exact.point, 3);
  const digits = r.digits.replace(/0+$/, '') || '0';
  const point = r.point;
  // CPython: exponent when decpt <= -4 or decpt > precision - 1 (the '.0' is always added).
  if (point <= -4 || point > 2) {
    const exp = point - 1;
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

// ---------------------------------------------------------------------------------------------
// The reference's text files

/** The reference's hash file: `frame,quality,pdq,seconds` lines (frames without a number get their index). */
export function toReferenceText(frames: readonly VpdqFrame[]): string {
  return frames
    .map((f, i) => `${f.frame >= 0 ? f.frame : i},${f.quality},${f.pdq},${formatSeconds(f.seconds)}\n`)
    .join('');
}

/** Reads a reference hash file (`frame,quality,pdq,seconds` lines; blank lines skipped). */
export function parseReferenceText(text: string): VpdqFrame[] {
  const frames: VpdqFrame[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    const parts = line.split(',');
    if (parts.length < 4) throw invalid(`${where}: expected frame,quality,pdq,seconds`);
    const [frame, quality, pdq, seconds] = parts as [string, string, string, string];
    frames.push(
      checkFrame(pdq, int(quality, 'quality', where), decimal(seconds, where), int(frame, 'frame', where), where),
    );
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// python-threatexchange

/** python-threatexchange's `VpdqCompactFeature` strings: `pdqhex,quality,timestamp`. */
export function toThreatExchange(frames: readonly VpdqFrame[]): string[] {
  return frames.map((f) => `${f.pdq},${f.quality},${formatPython3(f.seconds)}`);
}

/** python-threatexchange's signal string for these frames, byte for byte (`json.dumps` of the list). */
export function toThreatExchangeJson(frames: readonly VpdqFrame[]): string {
  return `[${toThreatExchange(frames)
    .map((s) => `"${s}"`)
    .join(', ')}]`;
}

/**
 * Reads python-threatexchange's form: the JSON signal string, or its list of strings; a list of
 * `{pdq, quality, seconds}` objects (`ward hash`'s NDJSON) is read too.
 */
export function parseThreatExchange(input: string | readonly unknown[]): VpdqFrame[] {
  let list: unknown;
  if (typeof input === 'string') {
    try {
      list = JSON.parse(input.trim() || '[]');
    } catch {
      throw invalid('Not a JSON list of "pdqhex,quality,timestamp" strings');
    }
  } else list = input;
  if (!Array.isArray(list)) throw invalid('Expected a JSON list of "pdqhex,quality,timestamp" strings');
  return list.map((item, i) => {
    const where = `frame ${i + 1}`;
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) return frameObject(item, where);
    if (typeof item !== 'string') throw invalid(`${where}: expected a "pdqhex,quality,timestamp" string`);
    const parts = item.split(',');
    if (parts.length !== 3) throw invalid(`${where}: expected "pdqhex,quality,timestamp"`);
    const [pdq, quality, seconds] = parts as [string, string, string];
    return checkFrame(pdq, int(quality, 'quality', where), decimal(seconds, where), -1, where);
  });
}

/** `{pdq, quality, seconds, frame?}` as `ward hash` writes it (`hash` and `timestamp` accepted too). */
function frameObject(item: object, where: string): VpdqFrame {
  const o = item as Record<string, unknown>;
  const pdq = o.pdq ?? o.hash;
  const seconds = o.seconds ?? o.timestamp;
  const frame = o.frame ?? -1;
  if (
    typeof pdq !== 'string' ||
    typeof o.quality !== 'number' ||
    typeof seconds !== 'number' ||
    typeof frame !== 'number'
  )
    throw invalid(`${where}: expected {"pdq", "quality", "seconds"}`);
  return checkFrame(pdq, o.quality, seconds, frame, where);
}

// ---------------------------------------------------------------------------------------------
// Ward's compact form

/** Ward's compact form: `pdqhex:quality:seconds` per frame, joined by single spaces. */
export function toCompact(frames: readonly Pick<VpdqFrame, 'pdq' | 'quality' | 'seconds'>[]): string {
  let s = '';
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i] as VpdqFrame;
    s += `${i === 0 ? '' : ' '}${f.pdq}:${f.quality}:${formatSeconds(f.seconds)}`;
  }
  return s;
}

const COMPACT_TOKEN = /^([0-9a-fA-F]{64}):(\d{1,3}):(\d+(?:\.\d*)?)$/;

/** Reads Ward's compact form (any run of whitespace separates frames). Frame numbers are unknown (-1). */
export function parseCompact(text: string): VpdqFrame[] {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length === 1 && tokens[0] === '') return [];
  return tokens.map((token, i) => {
    const m = COMPACT_TOKEN.exec(token);
    const where = `frame ${i + 1}`;
    if (!m) throw invalid(`${where}: expected pdqhex:quality:seconds`);
    return checkFrame(m[1] as string, Number(m[2]), Number(m[3]), -1, where);
  });
}

/** True when the text looks like Ward's compact form (its first frame parses). */
export function looksCompact(text: string): boolean {
  const t = text.trimStart();
  const space = t.search(/\s/);
  return COMPACT_TOKEN.test(space === -1 ? t : t.slice(0, space));
}

/**
 * Any of the three forms to frames: Ward's compact form, python-threatexchange's JSON list, or
 * the reference's `frame,quality,pdq,seconds` lines.
 * @throws WardError WARD_ERR_SIGNAL_INVALID
 */
export function parseVpdq(value: string | readonly unknown[]): VpdqFrame[] {
  if (typeof value !== 'string') {
    if (Array.isArray(value)) return parseThreatExchange(value);
    throw invalid('Expected a vPDQ frame list as text');
  }
  const t = value.trim();
  if (t.startsWith('[')) return parseThreatExchange(t);
  if (/^\d+,\d+,[0-9a-fA-F]{64},/.test(t)) return parseReferenceText(t);
  return parseCompact(t);
}

/**
 * A vPDQ value normalised to Ward's compact form (lowercase hex, seconds with 3 decimals).
 * @throws WardError WARD_ERR_SIGNAL_INVALID when it does not parse or holds no frame
 */
export function parseVpdqValue(value: string): string {
  const frames = parseVpdq(value);
  if (frames.length === 0) throw invalid('A vPDQ value needs at least one frame');
  return toCompact(frames);
}
