/**
 * Decoder edge cases on real bytes made by sharp: colour modes, bad files, bombs.
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sceneImage } from '../demo/images.js';
import { WardError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { hashImage } from '../signals/image.js';
import { pdqFromPixels } from '../signals/pdq/hash.js';
import { decodeImage } from './image.js';

const CODES = new Set([
  'WARD_ERR_INPUT_EMPTY',
  'WARD_ERR_IMAGE_UNSUPPORTED',
  'WARD_ERR_IMAGE_DECODE',
  'WARD_ERR_LIMIT_PIXELS',
]);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!WardError.is(e)) throw e;
    return e.code;
  }
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG whose header claims width x height, with a tiny IDAT (a decompression-bomb shape). */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodeImage: colour modes', () => {
  it('keeps grey as one channel and 16-bit grey scaled to 8 bits (not the low byte)', async () => {
    const w = 96;
    const h = 80;
    const grey8 = Buffer.alloc(w * h);
    for (let i = 0; i < grey8.length; i++) grey8[i] = (i * 7 + Math.floor(i / w) * 13) & 255;
    // A Uint16Array tells sharp the raw samples are 16-bit.
    const grey16 = Uint16Array.from(grey8, (v) => v * 257);
    const png8 = await sharp(grey8, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(png8).metadata()).channels).toBe(1);
    const png16 = await sharp(grey16, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const d8 = await decodeImage(png8, DEFAULT_LIMITS);
    expect(d8.channels).toBe(1);
    expect(Buffer.from(d8.data).equals(grey8)).toBe(true);
    const h8 = await hashImage(png8);
    const h16 = await hashImage(png16);
    expect(h16.pdq).toBe(h8.pdq);
  });

  it('drops alpha without compositing, and decodes palette PNGs to their colours', async () => {
    const rgb = await sharp(await sceneImage(5, 'png', 120, 90))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgba = Buffer.alloc(120 * 90 * 4);
    for (let p = 0; p < 120 * 90; p++) {
      rgb.data.copy(rgba, p * 4, p * 3, p * 3 + 3);
      rgba[p * 4 + 3] = p % 7 === 0 ? 0 : 128; // transparent pixels keep their colour for PDQ
    }
    const png = await sharp(rgba, { raw: { width: 120, height: 90, channels: 4 } })
      .png()
      .toBuffer();
    const fromPixels = pdqFromPixels({ width: 120, height: 90, channels: 3, data: rgb.data });
    expect((await hashImage(png)).pdq).toBe(fromPixels.hash);

    const palette = await sharp(rgb.data, { raw: { width: 120, height: 90, channels: 3 } })
      .png({ palette: true, colours: 16 })
      .toBuffer();
    const decoded = await decodeImage(palette, DEFAULT_LIMITS);
    const expected = await sharp(palette).raw().toBuffer();
    expect(decoded.channels).toBe(3);
    expect(Buffer.from(decoded.data).equals(expected)).toBe(true);
  });

  it('hashes CMYK JPEGs', async () => {
    const cmyk = await sharp(await sceneImage(8))
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const h = await hashImage(cmyk);
    expect(h.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(h.quality).toBeGreaterThan(50);
  });

  it('ignores EXIF orientation (the reference does)', async () => {
    const base = await sceneImage(11);
    const rotated = await sharp(base).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
    const a = await hashImage(await sharp(base).jpeg({ quality: 90 }).toBuffer());
    const b = await hashImage(rotated);
    expect(b.width).toBe(a.width);
    expect(b.pdq).toBe(a.pdq);
  });
});

describe('decodeImage: bad input', () => {
  it('rejects empty files, non-images and unsupported formats with clear codes', async () => {
    expect(await codeOf(decodeImage(new Uint8Array(0), DEFAULT_LIMITS))).toBe('WARD_ERR_INPUT_EMPTY');
    expect(await codeOf(decodeImage(Buffer.from('hello, not an image'), DEFAULT_LIMITS))).toBe(
      'WARD_ERR_IMAGE_UNSUPPORTED',
    );
    expect(await codeOf(decodeImage(Buffer.from('BM....fake bitmap'), DEFAULT_LIMITS))).toBe(
      'WARD_ERR_IMAGE_UNSUPPORTED',
    );
  });

  it('rejects truncated JPEG and PNG files', async () => {
    const jpeg = await sceneImage(3);
    const png = await sceneImage(3, 'png');
    expect(await codeOf(decodeImage(jpeg.subarray(0, jpeg.length >> 1), DEFAULT_LIMITS))).toBe('WARD_ERR_IMAGE_DECODE');
    expect(await codeOf(decodeImage(png.subarray(0, png.length >> 1), DEFAULT_LIMITS))).toBe('WARD_ERR_IMAGE_DECODE');
    expect(await codeOf(decodeImage(jpeg.subarray(0, 20), DEFAULT_LIMITS))).toBe('WARD_ERR_IMAGE_DECODE');
  });

  it('refuses decompression bombs from the header, before decoding', async () => {
    const bomb = pngClaiming(60_000, 60_000); // 3.6 gigapixels in ~1 KB
    expect(bomb.length).toBeLessThan(2000);
    expect(await codeOf(decodeImage(bomb, DEFAULT_LIMITS))).toBe('WARD_ERR_LIMIT_PIXELS');
    expect(await codeOf(decodeImage(pngClaiming(2000, 2000), { ...DEFAULT_LIMITS, maxPixels: 1_000_000 }))).toBe(
      'WARD_ERR_LIMIT_PIXELS',
    );
  });

  it('honours the file size limit', async () => {
    const jpeg = await sceneImage(4);
    expect(await codeOf(hashImage(jpeg, { limits: { maxFileBytes: 100 } }))).toBe('WARD_ERR_LIMIT_FILE_SIZE');
    expect(await codeOf(hashImage(jpeg, { limits: { maxPixels: -1 } }))).toBe('WARD_ERR_INPUT_TYPE');
    expect(await codeOf(hashImage(42 as unknown as string))).toBe('WARD_ERR_INPUT_TYPE');
  });

  it('never crashes on truncated or corrupted images: a hash or a coded error (property)', async () => {
    const seeds = [
      await sceneImage(21),
      await sceneImage(22, 'png', 200, 150),
      await sharp(await sceneImage(23))
        .webp()
        .toBuffer(),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
        async (which, cutAt, flips) => {
          const src = seeds[which] as Buffer;
          const bytes = Buffer.from(src.subarray(0, 1 + (cutAt % src.length)));
          for (const f of flips) bytes[f.at % bytes.length] = f.value;
          const code = await codeOf(hashImage(bytes));
          expect(code === 'ok' || CODES.has(code)).toBe(true);
        },
      ),
      { numRuns: Number(process.env.WARD_FUZZ_RUNS ?? 120) },
    );
  });
});
