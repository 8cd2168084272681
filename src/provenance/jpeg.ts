/**
 * @module provenance/jpeg
 * JPEG segments up to the first scan: APP1 (EXIF, XMP and extended XMP), APP11 (JUMBF: C2PA, in
 * as many segments as it takes, reassembled by box instance and sequence number) and COM.
 */
import { ascii, type Collector, u16be, u32be } from './metadata.js';
import { decodeUtf8OrLatin1 } from './text.js';
import { readTiff } from './tiff.js';

const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXT_ID = 'http://ns.adobe.com/xmp/extension/\0';

export function readJpeg(b: Uint8Array, c: Collector): void {
  let at = 2;
  const jumbf = new Map<number, { seq: number; data: Uint8Array; at: number }[]>();
  const extended = new Map<string, { total: number; parts: Map<number, Uint8Array>; at: number }>();
  while (at < b.length) {
    if (!c.step(at)) break;
    if (b[at] !== 0xff) {
      c.issue('WARD_ERR_METADATA_CORRUPT', 'JPEG marker expected: the rest of the file is not read', at);
      break;
    }
    const marker = b[at + 1];
    if (marker === undefined) break;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // EOI, or the scan: metadata comes before it
    if (at + 4 > b.length) {
      c.issue('WARD_ERR_METADATA_CORRUPT', 'JPEG ends inside a segment header', at);
      break;
    }
    const length = u16be(b, at + 2);
    if (length < 2 || at + 2 + length > b.length) {
      c.issue(
        'WARD_ERR_METADATA_CORRUPT',
        `JPEG segment 0x${marker.toString(16)} claims ${length} bytes past the end`,
        at,
      );
      break;
    }
    const data = b.subarray(at + 4, at + 2 + length);
    if (marker === 0xe1) {
      if (ascii(data, 0, 'Exif\0')) readTiff(data.subarray(6), c, at + 10);
      else if (ascii(data, 0, XMP_ID)) {
        const t = c.take(data.subarray(XMP_ID.length), 'XMP packet', at);
        if (t) c.meta.xmp.push({ value: decodeUtf8OrLatin1(t.bytes), offset: at });
      } else if (ascii(data, 0, XMP_EXT_ID) && data.length >= XMP_EXT_ID.length + 40) {
        const h = XMP_EXT_ID.length;
        const guid = decodeUtf8OrLatin1(data.subarray(h, h + 32));
        const total = u32be(data, h + 32);
        const offset = u32be(data, h + 36);
        const e = extended.get(guid) ?? { total, parts: new Map(), at };
        e.parts.set(offset, data.subarray(h + 40));
        extended.set(guid, e);
      }
    } else if (marker === 0xeb && ascii(data, 0, 'JP') && data.length >= 16) {
      // CI 'JP', En (box instance), Z (packet sequence), then the box (LBox, TBox, [XLBox]) and payload.
      const en = u16be(data, 2);
      const seq = u32be(data, 4);
      const parts = jumbf.get(en) ?? [];
      parts.push({ seq, data: data.subarray(8), at });
      jumbf.set(en, parts);
    } else if (marker === 0xfe) {
      const t = c.take(data, 'JPEG comment', at);
      if (t)
        c.text({
          key: 'Comment',
          value: decodeUtf8OrLatin1(t.bytes),
          where: 'jpeg:COM',
          offset: at,
          ...(t.truncated ? { truncated: true } : {}),
        });
    }
    at += 2 + length;
  }
  for (const [, e] of extended) {
    const offsets = [...e.parts.keys()].sort((x, y) => x - y);
    const size = offsets.reduce((n, o) => n + (e.parts.get(o) as Uint8Array).length, 0);
    const whole = new Uint8Array(size);
    let o = 0;
    for (const k of offsets) {
      const part = e.parts.get(k) as Uint8Array;
      whole.set(part, o);
      o += part.length;
    }
    const t = c.take(whole, 'extended XMP', e.at);
    if (t) c.meta.xmp.push({ value: decodeUtf8OrLatin1(t.bytes), offset: e.at });
  }
  const store = pickC2pa(jumbf, c);
  if (store) c.meta.c2pa = store;
}

/** Reassembles the APP11 JUMBF boxes and returns the C2PA manifest store (label `c2pa`). */
function pickC2pa(
  boxes: Map<number, { seq: number; data: Uint8Array; at: number }[]>,
  c: Collector,
): { jumbf: Uint8Array; offset: number } | undefined {
  for (const [, parts] of boxes) {
    parts.sort((x, y) => x.seq - y.seq);
    const first = parts[0];
    if (!first) continue;
    // Continuation segments repeat the box header (LBox + TBox, + XLBox when LBox is 1).
    const header = u32be(first.data, 0) === 1 ? 16 : 8;
    let size = first.data.length;
    for (const p of parts.slice(1)) size += Math.max(0, p.data.length - header);
    const whole = new Uint8Array(size);
    whole.set(first.data, 0);
    let o = first.data.length;
    for (const p of parts.slice(1)) {
      if (p.data.length > header) {
        whole.set(p.data.subarray(header), o);
        o += p.data.length - header;
      }
    }
    if (ascii(whole, 4, 'jumb')) return { jumbf: whole, offset: first.at };
    c.issue('WARD_ERR_METADATA_CORRUPT', 'APP11 JUMBF segments do not form a JUMBF box', first.at);
  }
  return undefined;
}
