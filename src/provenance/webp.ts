/**
 * @module provenance/webp
 * WebP's RIFF chunks: EXIF, XMP, C2PA, and VP8X/VP8L/VP8 for size and alpha. Chunk sizes are checked
 * against the file; a chunk that lies ends the walk.
 */
import { ascii, type Collector, u32le } from './metadata.js';
import { decodeUtf8OrLatin1 } from './text.js';
import { readTiff } from './tiff.js';

export function readWebp(b: Uint8Array, c: Collector): void {
  const riffEnd = Math.min(b.length, 8 + u32le(b, 4));
  let at = 12;
  while (at + 8 <= riffEnd) {
    if (!c.step(at)) break;
    const type = String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);
    const size = u32le(b, at + 4);
    const start = at + 8;
    if (start + size > b.length) {
      c.issue('WARD_ERR_METADATA_CORRUPT', `WebP ${JSON.stringify(type)} chunk claims ${size} bytes past the end`, at);
      break;
    }
    const data = b.subarray(start, start + size);
    if (type === 'VP8X' && size >= 10) {
      c.meta.alpha = ((data[0] as number) & 0x10) !== 0;
      c.meta.width = 1 + ((data[4] as number) | ((data[5] as number) << 8) | ((data[6] as number) << 16));
      c.meta.height = 1 + ((data[7] as number) | ((data[8] as number) << 8) | ((data[9] as number) << 16));
    } else if (type === 'VP8L' && size >= 5 && c.meta.alpha === undefined) {
      const bits = u32le(data, 1);
      c.meta.width = (bits & 0x3fff) + 1;
      c.meta.height = ((bits >>> 14) & 0x3fff) + 1;
      c.meta.alpha = ((bits >>> 28) & 1) === 1;
    } else if (type === 'EXIF') {
      // Some writers keep the JPEG APP1 prefix.
      const tiff = ascii(data, 0, 'Exif\0\0') ? data.subarray(6) : data;
      readTiff(tiff, c, start + (data.length - tiff.length));
    } else if (type === 'XMP ') {
      const t = c.take(data, 'XMP packet', at);
      if (t) c.meta.xmp.push({ value: decodeUtf8OrLatin1(t.bytes), offset: at });
    } else if (type === 'C2PA') {
      c.meta.c2pa = { jumbf: data, offset: at };
    }
    at = start + size + (size & 1);
  }
}
