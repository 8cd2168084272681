/**
 * Pixel-level provenance on images built here: stealth metadata in alpha or RGB LSBs (plain or
 * gzip), lying lengths, and the dwtDct watermark decoder's aggregation and edge cases.
 */

import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspectImage } from '../../src/provenance/inspect.js';
import { readStealth } from '../../src/provenance/stealth.js';
import { bitsForLength, blockBits, decodeSdWatermark, SD_WATERMARKS } from '../../src/provenance/watermark.js';
import { stealthPixels } from './build.js';

const INFOTEXT =
  'a lighthouse\nNegative prompt: fog\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 6, Seed: 9, Size: 64x64, Model hash: 89abcdef01, Model: sea_v2, Version: v1.9.4';

describe('stealth metadata', () => {
  for (const mode of ['alpha', 'rgb'] as const)
    for (const compressed of [false, true])
      it(`${mode} LSBs, ${compressed ? 'gzip' : 'plain'}: read, and inspectImage finds it in a PNG`, async () => {
        const px = stealthPixels(INFOTEXT, mode, compressed, 64, 64);
        expect(readStealth(px)).toEqual({ mode, compressed, text: INFOTEXT });
        const png = await sharp(Buffer.from(px.data), {
          raw: { width: 64, height: 64, channels: px.channels as 3 | 4 },
        })
          .png()
          .toBuffer();
        const r = await inspectImage(png);
        expect(r).toMatchObject({
          aiGenerated: 'yes',
          generator: 'AUTOMATIC1111 v1.9.4',
          prompt: 'a lighthouse',
          negativePrompt: 'fog',
        });
        expect(r.evidence[0]).toMatchObject({ kind: 'stealth-metadata', strength: 'yes' });
        expect(r.resources).toEqual([expect.objectContaining({ name: 'sea_v2', hashes: { autov2: '89abcdef01' } })]);
      });

  it('a length that lies is cut to the pixels and flagged; a corrupt gzip payload is flagged', () => {
    const liar = stealthPixels('short text', 'alpha', false, 32, 32, 2 ** 32 - 8);
    const r = readStealth(liar);
    expect(r?.problem).toMatch(/claims/);
    expect(r?.text.startsWith('short text')).toBe(true);
    const bad = stealthPixels('x', 'alpha', true, 32, 32, 64);
    expect(readStealth(bad)).toMatchObject({ text: '', problem: expect.stringMatching(/corrupt|claims/) });
  });

  it('ordinary pixels carry no magic', () => {
    const data = new Uint8Array(64 * 64 * 4).map((_, i) => (i * 7919) & 0xff);
    expect(readStealth({ width: 64, height: 64, channels: 4, data })).toBeUndefined();
    expect(readStealth({ width: 4, height: 4, channels: 4, data: new Uint8Array(64) })).toBeUndefined();
  });
});

/**
 * A plain transcription of the reference (imwatermark maxDct.decode with OpenCV's BGR2YUV and
 * PyWavelets' dwt2): whole-image U channel, whole approximation band, then the blocks. The
 * streaming decoder must give the same bits on every shape.
 */
function referenceBlockBits(px: { width: number; height: number; channels: number; data: Uint8Array }): number[] {
  const rows = Math.floor(px.height / 4) * 4;
  const cols = Math.floor(px.width / 4) * 4;
  const u: number[][] = [];
  for (let y = 0; y < rows; y++) {
    const line: number[] = [];
    for (let x = 0; x < cols; x++) {
      const s = (y * px.width + x) * px.channels;
      const [r, g, b] =
        px.channels >= 3 ? [px.data[s], px.data[s + 1], px.data[s + 2]] : [px.data[s], px.data[s], px.data[s]];
      const Y = ((b as number) * 1868 + (g as number) * 9617 + (r as number) * 4899 + 8192) >> 14;
      const U = (((b as number) - Y) * 8061 + (128 << 14) + 8192) >> 14;
      line.push(Math.min(255, Math.max(0, U)));
    }
    u.push(line);
  }
  const h = Math.SQRT1_2;
  const lo = Array.from({ length: rows / 2 }, (_, m) =>
    (u[0] ?? []).map((_, c) => h * (u[2 * m + 1]?.[c] as number) + h * (u[2 * m]?.[c] as number)),
  );
  const ca = lo.map((line) =>
    Array.from({ length: cols / 2 }, (_, n) => h * (line[2 * n + 1] as number) + h * (line[2 * n] as number)),
  );
  const bits: number[] = [];
  for (let i = 0; i < Math.floor(rows / 2 / 4); i++)
    for (let j = 0; j < Math.floor(cols / 2 / 4); j++) {
      const flat: number[] = [];
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) flat.push(ca[i * 4 + a]?.[j * 4 + b] as number);
      let pos = 1;
      for (let k = 2; k < 16; k++) if (Math.abs(flat[k] as number) > Math.abs(flat[pos] as number)) pos = k;
      bits.push(Math.abs(flat[pos] as number) % 36 > 18 ? 1 : 0);
    }
  return bits;
}

describe('dwtDct watermark decoder', () => {
  it('equals the plain reference transcription on random images of every shape and channel count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.nat(),
        (w, h, channels, seed) => {
          let x = seed | 1;
          const data = new Uint8Array(w * h * channels).map(() => {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            return x & 0xff;
          });
          const px = { width: w, height: h, channels, data };
          expect([...blockBits(px)]).toEqual(referenceBlockBits(px));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('aggregates block bits by majority per position (NaN when a position has no block)', () => {
    const blocks = Uint8Array.from([1, 0, 1, 1, 0, 0]);
    expect(bitsForLength(blocks, 2)).toEqual([1, 0]); // positions 0: 1,1,0 ; 1: 0,1,0
    expect(bitsForLength(blocks, 8)).toEqual([1, 0, 1, 1, 0, 0, 0, 0]);
  });

  it('refuses images under 256x256 as the reference does; grey, RGB and RGBA are read alike', () => {
    expect(
      decodeSdWatermark({ width: 255, height: 256, channels: 3, data: new Uint8Array(255 * 256 * 3) }),
    ).toBeUndefined();
    const grey = { width: 256, height: 256, channels: 1, data: new Uint8Array(256 * 256).fill(77) };
    const rgba = { width: 256, height: 256, channels: 4, data: new Uint8Array(256 * 256 * 4).fill(77) };
    const a = decodeSdWatermark(grey);
    const b = decodeSdWatermark(rgba);
    expect(a?.scores).toEqual(b?.scores);
    // A flat image decodes to all zeros: no message is detected.
    expect(a?.scores.map((s) => s.decoded)).toEqual(
      SD_WATERMARKS.map((m) => '00'.repeat(Math.ceil(m.bits.length / 8))),
    );
    expect(a?.detected).toBeUndefined();
  });
});
