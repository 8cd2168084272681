/**
 * @module media/image-header
 * Reads just enough of a JPEG or PNG header to tell grey from colour, so the decoder needs no
 * second pass over the file to ask. Other formats (and anything odd) answer undefined.
 */
import type { ImageFormat } from './sniff.js';

export type ColourKind = 'grey' | 'colour';

export function peekColour(bytes: Uint8Array, format: ImageFormat): ColourKind | undefined {
  if (format === 'png') return pngColour(bytes);
  if (format === 'jpeg') return jpegColour(bytes);
  if (format === 'webp') return 'colour'; // WebP has no grey mode
  return undefined;
}

function pngColour(b: Uint8Array): ColourKind | undefined {
  // Signature (8), IHDR length (4), "IHDR" (4), width, height (8), depth (1), colour type (1).
  if (b.length < 26 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return undefined;
  const type = b[25];
  if (type === 0 || type === 4) return 'grey';
  if (type === 2 || type === 3 || type === 6) return 'colour';
  return undefined;
}

/** Walks JPEG markers to the first SOFn and reads its component count (1 = grey). */
function jpegColour(b: Uint8Array): ColourKind | undefined {
  let i = 2;
  const end = Math.min(b.length, 4 << 20); // headers past 4 MiB: let the decoder decide
  while (i + 3 < end) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      i += 2; // no length
      continue;
    }
    const length = ((b[i + 2] as number) << 8) | (b[i + 3] as number);
    if (length < 2) return undefined;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 9 >= b.length) return undefined;
      const components = b[i + 9];
      return components === 1 ? 'grey' : 'colour';
    }
    i += 2 + length;
  }
  return undefined;
}
