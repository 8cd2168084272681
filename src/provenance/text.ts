/**
 * @module provenance/text
 * Text decoding for metadata: Latin-1, UTF-8 (with a Latin-1 fallback), and UTF-16 whose byte order
 * is decided from the text itself (EXIF UserComment writers disagree with their TIFF headers).
 */

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');
const utf16le = new TextDecoder('utf-16le');
const utf16be = new TextDecoder('utf-16be');

export function decodeLatin1(b: Uint8Array): string {
  // TextDecoder('latin1') is windows-1252 per the Encoding Standard; PNG tEXt is ISO 8859-1.
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** UTF-8 when valid, otherwise Latin-1 (old writers put UTF-8 and Latin-1 in the same fields). */
export function decodeUtf8OrLatin1(b: Uint8Array): string {
  try {
    return utf8Fatal.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

export function decodeUtf8(b: Uint8Array): { text: string; invalid: boolean } {
  try {
    return { text: utf8Fatal.decode(b), invalid: false };
  } catch {
    return { text: utf8.decode(b), invalid: true };
  }
}

export type ByteOrder = 'le' | 'be';

/**
 * Guesses the byte order of UTF-16 text from its bytes: a BOM if there is one, else where the zero
 * bytes sit (ASCII-range text has its zero high bytes first in big-endian), else which order gives
 * fewer unpaired surrogates; `fallback` when nothing tells.
 */
export function utf16Order(b: Uint8Array, fallback: ByteOrder): ByteOrder {
  if (b.length >= 2) {
    if (b[0] === 0xfe && b[1] === 0xff) return 'be';
    if (b[0] === 0xff && b[1] === 0xfe) return 'le';
  }
  let evenZero = 0;
  let oddZero = 0;
  const n = Math.min(b.length & ~1, 4096);
  // A zero byte beside an ASCII byte: the high byte of an ASCII-range code unit.
  const isAscii = (v: number | undefined) =>
    v !== undefined && ((v >= 0x20 && v < 0x7f) || v === 0x0a || v === 0x0d || v === 0x09);
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0 && isAscii(b[i + 1])) evenZero++;
    if (b[i + 1] === 0 && isAscii(b[i])) oddZero++;
  }
  if (evenZero > oddZero * 2 && evenZero > 0) return 'be';
  if (oddZero > evenZero * 2 && oddZero > 0) return 'le';
  const le = badSurrogates(b, 'le', n);
  const be = badSurrogates(b, 'be', n);
  if (le !== be) return le < be ? 'le' : 'be';
  const ple = plausible(b, 'le', n);
  const pbe = plausible(b, 'be', n);
  if (ple !== pbe) return ple > pbe ? 'le' : 'be';
  return fallback;
}

/** Code units in the ranges text is mostly made of (ASCII, Latin, Cyrillic, CJK, kana, punctuation). */
function plausible(b: Uint8Array, order: ByteOrder, n: number): number {
  let score = 0;
  for (let i = 0; i + 1 < n; i += 2) {
    const u =
      order === 'le' ? (b[i] as number) | ((b[i + 1] as number) << 8) : ((b[i] as number) << 8) | (b[i + 1] as number);
    if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
      const v =
        order === 'le'
          ? (b[i + 2] as number) | ((b[i + 3] as number) << 8)
          : ((b[i + 2] as number) << 8) | (b[i + 3] as number);
      if (v >= 0xdc00 && v < 0xe000) {
        score += 2; // a surrogate pair: emoji and other astral characters
        i += 2;
        continue;
      }
    }
    if (
      (u >= 0x20 && u < 0x7f) ||
      (u >= 0xa0 && u < 0x250) ||
      (u >= 0x400 && u < 0x500) ||
      (u >= 0x2000 && u < 0x2070) ||
      (u >= 0x3000 && u < 0x3100) ||
      (u >= 0x4e00 && u < 0xa000) ||
      (u >= 0xff00 && u < 0xfff0)
    )
      score++;
  }
  return score;
}

function badSurrogates(b: Uint8Array, order: ByteOrder, n: number): number {
  let bad = 0;
  let expectLow = false;
  for (let i = 0; i + 1 < n; i += 2) {
    const u =
      order === 'le' ? (b[i] as number) | ((b[i + 1] as number) << 8) : ((b[i] as number) << 8) | (b[i + 1] as number);
    const high = u >= 0xd800 && u <= 0xdbff;
    const low = u >= 0xdc00 && u <= 0xdfff;
    if (expectLow && !low) bad++;
    if (!expectLow && low) bad++;
    expectLow = high;
  }
  return bad + (expectLow ? 1 : 0);
}

/**
 * Decodes UTF-16 in the order the text itself shows. `invalid` counts what had to be replaced
 * (unpaired surrogates, an odd trailing byte); a leading BOM is dropped.
 */
export function decodeUtf16(b: Uint8Array, fallback: ByteOrder): { text: string; order: ByteOrder; invalid: number } {
  const order = utf16Order(b, fallback);
  let invalid = b.length % 2;
  const even = b.subarray(0, b.length - (b.length % 2));
  invalid += badSurrogates(even, order, even.length);
  let text = (order === 'le' ? utf16le : utf16be).decode(even);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { text, order, invalid };
}

/** Drops trailing NULs (C strings in EXIF and PNG fields). */
export function trimNul(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return end === s.length ? s : s.slice(0, end);
}
