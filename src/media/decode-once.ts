/**
 * @module media/decode-once
 * One decode per item when several extractors need its pixels (PDQ, provenance's watermark and
 * stealth checks): the first caller decodes, the others share the result (or the error). Keyed by
 * the item's bytes object, so it lives exactly as long as the item does.
 */
import type { Limits } from '../limits.js';
import { type DecodedImage, decodeImage } from './image.js';

const decoded = new WeakMap<Uint8Array, Promise<DecodedImage>>();

/** decodeImage, shared between the callers that pass the same bytes object. */
export function decodeImageOnce(bytes: Uint8Array, limits: Limits): Promise<DecodedImage> {
  let p = decoded.get(bytes);
  if (!p) {
    p = decodeImage(bytes, limits);
    p.catch(() => {}); // each caller sees the rejection when it awaits
    decoded.set(bytes, p);
  }
  return p;
}
