/**
 * Test files built in memory: PNG chunks, JPEG segments, WebP chunks, TIFF/EXIF blocks, JUMBF
 * boxes and stealth-LSB pixels. Nothing here comes from ../shared.
 */
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';

export function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function pngChunk(type: string, data: Uint8Array, length = data.length): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(length), td, u32be(crc32(td))]);
}

export const tEXt = (key: string, text: string) =>
  pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.of(0), Buffer.from(text, 'latin1')]));
export const zTXt = (key: string, text: string) =>
  pngChunk(
    'zTXt',
    Buffer.concat([Buffer.from(key, 'latin1'), Buffer.of(0, 0), deflateSync(Buffer.from(text, 'latin1'))]),
  );
export const iTXt = (key: string, text: string, compress = false) =>
  pngChunk(
    'iTXt',
    Buffer.concat([
      Buffer.from(key, 'latin1'),
      Buffer.of(0, compress ? 1 : 0, 0, 0, 0),
      compress ? deflateSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8'),
    ]),
  );

/** A small real PNG with `chunks` inserted after IHDR. */
export async function pngWith(chunks: Buffer[], width = 8, height = 8, channels: 3 | 4 = 3): Promise<Buffer> {
  const png = await sharp({ create: { width, height, channels, background: { r: 90, g: 120, b: 150, alpha: 1 } } })
    .png()
    .toBuffer();
  return withChunks(png, chunks);
}

/** A PNG with `chunks` inserted after its IHDR. */
export function withChunks(png: Buffer, chunks: Buffer[]): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4;
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

/** A TIFF block (II or MM) with IFD0 entries and an Exif IFD holding UserComment. */
export function tiff(options: {
  le: boolean;
  ifd0?: [number, number, Buffer][];
  exif?: [number, number, Buffer][];
}): Buffer {
  const le = options.le;
  const w16 = (n: number) => {
    const b = Buffer.alloc(2);
    le ? b.writeUInt16LE(n) : b.writeUInt16BE(n);
    return b;
  };
  const w32 = (n: number) => {
    const b = Buffer.alloc(4);
    le ? b.writeUInt32LE(n) : b.writeUInt32BE(n);
    return b;
  };
  const ifd0 = [...(options.ifd0 ?? [])];
  const exif = options.exif ?? [];
  const parts: Buffer[] = [];
  const header = Buffer.concat([Buffer.from(le ? 'II' : 'MM'), w16(42), w32(8)]);
  // Layout: header | IFD0 | Exif IFD | values
  const ifd0Count = ifd0.length + (exif.length > 0 ? 1 : 0);
  const ifd0Size = 2 + ifd0Count * 12 + 4;
  const exifOffset = 8 + ifd0Size;
  const exifSize = exif.length > 0 ? 2 + exif.length * 12 + 4 : 0;
  let valueOffset = exifOffset + exifSize;
  const values: Buffer[] = [];
  const entry = (tag: number, type: number, data: Buffer) => {
    const count = type === 3 ? data.length / 2 : type === 4 ? data.length / 4 : data.length;
    let field: Buffer;
    if (data.length <= 4) field = Buffer.concat([data, Buffer.alloc(4 - data.length)]);
    else {
      field = w32(valueOffset);
      values.push(data);
      valueOffset += data.length;
    }
    return Buffer.concat([w16(tag), w16(type), w32(count), field]);
  };
  const e0 = ifd0.map(([tag, type, data]) => entry(tag, type, data));
  if (exif.length > 0) e0.push(Buffer.concat([w16(0x8769), w16(4), w32(1), w32(exifOffset)]));
  parts.push(header, w16(ifd0Count), ...e0, w32(0));
  if (exif.length > 0) parts.push(w16(exif.length), ...exif.map(([tag, type, data]) => entry(tag, type, data)), w32(0));
  parts.push(...values);
  return Buffer.concat(parts);
}

export function utf16(text: string, order: 'le' | 'be'): Buffer {
  const le = Buffer.from(text, 'utf16le');
  if (order === 'le') return le;
  const be = Buffer.from(le);
  be.swap16();
  return be;
}

export const userComment = (text: string, order: 'le' | 'be') =>
  Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16(text, order)]);

/** A small real JPEG with `segments` (marker, payload) inserted after SOI. */
export async function jpegWith(segments: [number, Buffer][]): Promise<Buffer> {
  const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 200, b: 30 } } })
    .jpeg()
    .toBuffer();
  const segs = segments.map(([marker, payload]) => {
    const h = Buffer.alloc(4);
    h[0] = 0xff;
    h[1] = marker;
    h.writeUInt16BE(payload.length + 2, 2);
    return Buffer.concat([h, payload]);
  });
  return Buffer.concat([jpg.subarray(0, 2), ...segs, jpg.subarray(2)]);
}

export const exifApp1 = (block: Buffer): [number, Buffer] => [
  0xe1,
  Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), block]),
];

/** A WebP (lossless, from sharp) with extra RIFF chunks appended (VP8X not required for reading). */
export async function webpWith(chunks: [string, Buffer][]): Promise<Buffer> {
  const webp = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .webp({ lossless: true })
    .toBuffer();
  const extra = chunks.map(([type, data]) => {
    const h = Buffer.alloc(8);
    h.write(type, 0, 'latin1');
    h.writeUInt32LE(data.length, 4);
    return Buffer.concat([h, data, data.length % 2 ? Buffer.of(0) : Buffer.alloc(0)]);
  });
  const body = Buffer.concat([webp.subarray(12), ...extra]);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body]);
}

/** A JUMBF box (LBox, TBox, payload). */
export function box(type: string, payload: Uint8Array): Buffer {
  return Buffer.concat([u32be(payload.length + 8), Buffer.from(type, 'latin1'), payload]);
}

/** A JUMBF superbox with a description box (UUID hex, label). */
export function superbox(uuid: string, label: string, children: Buffer[]): Buffer {
  const jumd = box(
    'jumd',
    Buffer.concat([Buffer.from(uuid, 'hex'), Buffer.of(0x03), Buffer.from(label, 'utf8'), Buffer.of(0)]),
  );
  return box('jumb', Buffer.concat([jumd, ...children]));
}

/**
 * RGBA or RGB pixels whose LSBs carry `text` as stealth metadata (column-major, x outer).
 * `declaredBits` overrides the length field (to lie).
 */
export function stealthPixels(
  text: string,
  mode: 'alpha' | 'rgb',
  compressed: boolean,
  width: number,
  height: number,
  declaredBits?: number,
): { width: number; height: number; channels: number; data: Uint8Array } {
  const channels = mode === 'alpha' ? 4 : 3;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) & 0xfe;
  const magic =
    mode === 'alpha'
      ? compressed
        ? 'stealth_pngcomp'
        : 'stealth_pnginfo'
      : compressed
        ? 'stealth_rgbcomp'
        : 'stealth_rgbinfo';
  const payload = compressed ? gzipSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8');
  const bits: number[] = [];
  const push = (b: Uint8Array) => {
    for (const byte of b) for (let j = 7; j >= 0; j--) bits.push((byte >> j) & 1);
  };
  push(Buffer.from(magic, 'latin1'));
  const len = declaredBits ?? payload.length * 8;
  for (let j = 31; j >= 0; j--) bits.push(Math.floor(len / 2 ** j) & 1);
  push(payload);
  let k = 0;
  outer: for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const base = (y * width + x) * channels;
      if (mode === 'alpha') {
        if (k >= bits.length) break outer;
        data[base + 3] = 254 | (bits[k++] as number);
      } else {
        for (let c = 0; c < 3; c++)
          if (k < bits.length) data[base + c] = ((data[base + c] as number) & 0xfe) | (bits[k++] as number);
        if (k >= bits.length) break outer;
      }
    }
  }
  return { width, height, channels, data };
}
