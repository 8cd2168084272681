/**
 * @module provenance/png
 * PNG chunks: tEXt, zTXt and iTXt (generation parameters, XMP), eXIf (EXIF), caBX (C2PA JUMBF) and
 * IHDR (size, alpha). Lengths are checked against the file; a chunk that lies ends the walk.
 */
import { type Collector, nul, u32be } from './metadata.js';
import { decodeLatin1, decodeUtf8 } from './text.js';
import { readTiff } from './tiff.js';

const XMP_KEY = 'XML:com.adobe.xmp';

export function readPng(b: Uint8Array, c: Collector): void {
  let at = 8;
  const jumbf: Uint8Array[] = [];
  let jumbfAt = -1;
  while (at < b.length) {
    if (!c.step(at)) break;
    if (at + 12 > b.length) {
      c.issue('WARD_ERR_METADATA_CORRUPT', `PNG ends inside a chunk header (${b.length - at} bytes left)`, at);
      break;
    }
    const length = u32be(b, at);
    const type = String.fromCharCode(
      b[at + 4] as number,
      b[at + 5] as number,
      b[at + 6] as number,
      b[at + 7] as number,
    );
    if (!/^[A-Za-z]{4}$/.test(type)) {
      c.issue('WARD_ERR_METADATA_CORRUPT', 'PNG chunk with an invalid type: the rest of the file is not read', at);
      break;
    }
    const start = at + 8;
    if (length > 0x7fffffff || start + length + 4 > b.length) {
      c.issue(
        'WARD_ERR_METADATA_CORRUPT',
        `PNG ${type} chunk claims ${length} bytes but ${Math.max(0, b.length - start - 4)} remain`,
        at,
      );
      // Text chunks are still read up to the end of the file, flagged as truncated.
      if (type === 'tEXt' || type === 'iTXt') text(b.subarray(start, b.length), type, at, c, true);
      break;
    }
    const data = b.subarray(start, start + length);
    switch (type) {
      case 'IHDR':
        if (length >= 13) {
          c.meta.width = u32be(data, 0);
          c.meta.height = u32be(data, 4);
          const colour = data[9];
          c.meta.alpha = colour === 4 || colour === 6;
        }
        break;
      case 'tRNS':
        c.meta.alpha = true;
        break;
      case 'tEXt':
      case 'zTXt':
      case 'iTXt':
        text(data, type, at, c, false);
        break;
      case 'eXIf':
        readTiff(data, c, start);
        break;
      case 'caBX':
        if (jumbfAt < 0) jumbfAt = at;
        jumbf.push(data);
        break;
    }
    at = start + length + 4;
    if (type === 'IEND') break;
  }
  if (jumbf.length > 0)
    c.meta.c2pa = { jumbf: jumbf.length === 1 ? (jumbf[0] as Uint8Array) : concat(jumbf), offset: jumbfAt };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function text(data: Uint8Array, type: string, at: number, c: Collector, cut: boolean): void {
  const keyEnd = nul(data, 0, Math.min(data.length, 80));
  if (keyEnd <= 0) {
    c.issue('WARD_ERR_METADATA_CORRUPT', `PNG ${type} chunk without a keyword`, at);
    return;
  }
  const key = decodeLatin1(data.subarray(0, keyEnd));
  const what = `PNG ${type} ${JSON.stringify(key)}`;
  let raw: Uint8Array | undefined;
  let utf8 = false;
  let truncated = cut;
  if (type === 'tEXt') {
    raw = data.subarray(keyEnd + 1);
  } else if (type === 'zTXt') {
    if (data[keyEnd + 1] !== 0) {
      c.issue('WARD_ERR_METADATA_CORRUPT', `${what}: unknown compression method`, at);
      return;
    }
    raw = c.inflate(data.subarray(keyEnd + 2), what, at);
  } else {
    const compressed = data[keyEnd + 1] === 1;
    const langEnd = nul(data, keyEnd + 3, data.length);
    const transEnd = langEnd < 0 ? -1 : nul(data, langEnd + 1, data.length);
    if (keyEnd + 3 > data.length || transEnd < 0) {
      c.issue('WARD_ERR_METADATA_CORRUPT', `${what}: malformed iTXt header`, at);
      return;
    }
    const body = data.subarray(transEnd + 1);
    raw = compressed ? c.inflate(body, what, at) : body;
    utf8 = true;
  }
  if (!raw) return;
  const taken = c.take(raw, what, at);
  if (!taken) return;
  truncated ||= taken.truncated;
  let value: string;
  if (utf8) {
    const d = decodeUtf8(taken.bytes);
    if (d.invalid && !taken.truncated) c.issue('WARD_ERR_METADATA_CORRUPT', `${what}: invalid UTF-8 replaced`, at);
    value = d.text;
  } else {
    // tEXt is Latin-1 by the standard, but many generators write UTF-8 there.
    const d = decodeUtf8(taken.bytes);
    value = d.invalid && !taken.truncated ? decodeLatin1(taken.bytes) : d.text;
  }
  if (key === XMP_KEY) {
    c.meta.xmp.push({ value, offset: at });
    return;
  }
  c.text({ key, value, where: `png:${type}`, offset: at, ...(truncated ? { truncated: true } : {}) });
}
