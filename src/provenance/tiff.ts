/**
 * @module provenance/tiff
 * EXIF: a TIFF structure (II or MM) whose IFD0 and Exif IFD hold the text tags generators write
 * (UserComment, ImageDescription, Make, Model, Software, Artist, XP* and XMP). Every offset is
 * checked against the block, IFDs are visited once (no loops), entry counts are bounded.
 */
import { ascii, type Collector } from './metadata.js';
import { decodeUtf8OrLatin1, decodeUtf16, trimNul } from './text.js';

const TAGS: Record<number, string> = {
  270: 'ImageDescription',
  271: 'Make',
  272: 'Model',
  305: 'Software',
  315: 'Artist',
  33432: 'Copyright',
  37510: 'UserComment',
  40091: 'XPTitle',
  40092: 'XPComment',
  40093: 'XPAuthor',
  40094: 'XPKeywords',
  40095: 'XPSubject',
};
const XMP_TAG = 0x02bc;
const EXIF_IFD = 0x8769;
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

/**
 * Reads a TIFF block (from an APP1 `Exif\0\0`, a PNG eXIf or a WebP EXIF chunk). `base` is the
 * block's offset in the file, for issue offsets.
 */
export function readTiff(b: Uint8Array, c: Collector, base: number): void {
  if (b.length < 8) {
    c.issue('WARD_ERR_METADATA_CORRUPT', 'EXIF block too short for a TIFF header', base);
    return;
  }
  const le = ascii(b, 0, 'II');
  if (!le && !ascii(b, 0, 'MM')) {
    c.issue('WARD_ERR_METADATA_CORRUPT', 'EXIF block without a TIFF byte-order mark', base);
    return;
  }
  const u16 = (at: number) =>
    le ? (b[at] as number) | ((b[at + 1] as number) << 8) : ((b[at] as number) << 8) | (b[at + 1] as number);
  const u32 = (at: number) =>
    le
      ? ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
        (b[at + 3] as number) * 0x1000000
      : ((b[at + 1] as number) << 16) +
        ((b[at + 2] as number) << 8) +
        (b[at + 3] as number) +
        (b[at] as number) * 0x1000000;
  const visited = new Set<number>();
  const queue: number[] = [u32(4)];
  let ifds = 0;
  while (queue.length > 0) {
    const ifd = queue.shift() as number;
    if (ifd === 0 || visited.has(ifd)) continue;
    visited.add(ifd);
    if (++ifds > 8) break; // IFD0, Exif, GPS, Interop, IFD1: more is a loop or junk
    if (ifd + 2 > b.length) {
      c.issue('WARD_ERR_METADATA_CORRUPT', `EXIF IFD offset ${ifd} is past the end of the block`, base);
      continue;
    }
    const count = u16(ifd);
    if (ifd + 2 + count * 12 > b.length) {
      c.issue(
        'WARD_ERR_METADATA_CORRUPT',
        `EXIF IFD at ${ifd} claims ${count} entries past the end of the block`,
        base + ifd,
      );
    }
    const n = Math.min(count, Math.floor((b.length - ifd - 2) / 12));
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12;
      if (!c.step(base + e)) return;
      const tag = u16(e);
      const type = u16(e + 2);
      const cnt = u32(e + 4);
      const size = (TYPE_SIZE[type] ?? 0) * cnt;
      if (tag === EXIF_IFD && (type === 4 || type === 13)) {
        queue.push(u32(e + 8));
        continue;
      }
      const name = TAGS[tag];
      if (!name && tag !== XMP_TAG) continue;
      if (size === 0) continue;
      const off = size <= 4 ? e + 8 : u32(e + 8);
      if (off + size > b.length) {
        c.issue(
          'WARD_ERR_METADATA_CORRUPT',
          `EXIF tag ${name ?? 'XMP'} claims ${size} bytes past the end of the block`,
          base + e,
        );
        continue;
      }
      const raw = b.subarray(off, off + size);
      const taken = c.take(raw, `EXIF ${name ?? 'XMP'}`, base + off);
      if (!taken) continue;
      if (tag === XMP_TAG) {
        c.meta.xmp.push({ value: decodeUtf8OrLatin1(taken.bytes), offset: base + off });
        continue;
      }
      const value = decodeTag(tag, taken.bytes, le, c, base + off);
      if (value === undefined || value.length === 0) continue;
      c.text({
        key: name as string,
        value,
        where: 'exif',
        offset: base + off,
        ...(taken.truncated ? { truncated: true } : {}),
      });
    }
    if (ifds === 1 && ifd + 2 + n * 12 + 4 <= b.length) {
      // IFD1 (the thumbnail's) holds nothing we read; not followed.
    }
  }
}

function decodeTag(tag: number, raw: Uint8Array, le: boolean, c: Collector, offset: number): string | undefined {
  if (tag === 0x9286) return userComment(raw, le, c, offset);
  if (tag >= 0x9c9b && tag <= 0x9c9f) {
    // Windows XP tags: UTF-16LE by definition (still decided from the text).
    const d = decodeUtf16(raw, 'le');
    if (d.invalid > 0)
      c.issue(
        'WARD_ERR_METADATA_CORRUPT',
        `EXIF ${TAGS[tag]}: ${d.invalid} invalid UTF-16 code units replaced`,
        offset,
      );
    return trimNul(d.text);
  }
  return trimNul(decodeUtf8OrLatin1(raw));
}

/**
 * UserComment: an 8-byte character code then the text. `UNICODE\0` is UTF-16 whose byte order is
 * read from the text itself (Civitai writes big-endian text in a little-endian TIFF); a comment
 * without a known code (ComfyUI SaveImagePlus writes raw JSON) is read as UTF-8.
 */
function userComment(raw: Uint8Array, le: boolean, c: Collector, offset: number): string | undefined {
  if (ascii(raw, 0, 'UNICODE\0')) {
    const d = decodeUtf16(raw.subarray(8), le ? 'le' : 'be');
    if (d.invalid > 0)
      c.issue('WARD_ERR_METADATA_CORRUPT', `EXIF UserComment: ${d.invalid} invalid UTF-16 code units replaced`, offset);
    return trimNul(d.text);
  }
  if (ascii(raw, 0, 'ASCII\0\0\0') || ascii(raw, 0, '\0\0\0\0\0\0\0\0'))
    return trimNul(decodeUtf8OrLatin1(raw.subarray(8)));
  if (ascii(raw, 0, 'JIS\0\0\0\0\0')) return trimNul(decodeUtf8OrLatin1(raw.subarray(8)));
  return trimNul(decodeUtf8OrLatin1(raw));
}
