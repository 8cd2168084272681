/**
 * The fast core (WebAssembly blur + JS DCT) against the plain reference transcription, float for
 * float, on random images of every shape the streaming code special-cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dctToHashBytes, jaroszWindow, lumaFromPixels } from './core.js';
import { pdqFloatFromPixels, pdqFromPixels } from './hash.js';
import { referencePdqFloat, torbenMedian } from './reference.js';

function randomPixels(width: number, height: number, channels: number, seed: number, smooth: boolean): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const p = Math.floor(i / channels);
    const x = p % width;
    const y = Math.floor(p / width);
    data[i] = smooth ? (x * 7 + y * 3 + (s >>> 29) * 9 + (i % channels) * 40) & 255 : s >>> 24;
  }
  return data;
}

function referenceFor(data: Uint8Array, width: number, height: number, channels: number, skipBlurAt64 = true) {
  const luma = new Float32Array(width * height);
  lumaFromPixels(data, width, height, channels, luma);
  return referencePdqFloat(luma, height, width, skipBlurAt64);
}

const image = fc.record({
  width: fc.integer({ min: 1, max: 400 }),
  height: fc.integer({ min: 1, max: 400 }),
  channels: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer(),
  smooth: fc.boolean(),
});

describe('PDQ core vs reference', () => {
  it('gives the same 16x16 DCT and quality on random images (property)', () => {
    fc.assert(
      fc.property(image, ({ width, height, channels, seed, smooth }) => {
        const data = randomPixels(width, height, channels, seed, smooth);
        const fast = pdqFloatFromPixels(data, width, height, channels);
        const ref = referenceFor(data, width, height, channels);
        expect(fast.quality).toBe(ref.quality);
        expect(Array.from(fast.dct)).toEqual(Array.from(ref.dct));
      }),
      { numRuns: 60 },
    );
  });

  it.each([
    [1031, 769, 3], // windows 9 and 7, rows % 4 == 1
    [130, 258, 4], // rows % 4 == 2, alpha
    [64, 64, 3], // the unblurred 64x64 path
    [64, 67, 1], // rows % 4 == 3, grey
    [5, 5, 2], // smallest hashable
    [2000, 40, 3], // wide and short: fewer rows than output cells
    [20000, 5, 3], // extreme aspect ratios: one-pixel-wide windows on one side, 157 on the other
    [5, 20000, 4],
  ])('matches on %ix%i with %i channels', (width, height, channels) => {
    const data = randomPixels(width, height, channels, width * 31 + height, false);
    const fast = pdqFloatFromPixels(data, width, height, channels);
    const ref = referenceFor(data, width, height, channels);
    expect(Array.from(fast.dct)).toEqual(Array.from(ref.dct));
    expect(fast.quality).toBe(ref.quality);
  });

  it('blurs a 64x64 image on the dihedral path, as the reference does', () => {
    const data = randomPixels(64, 64, 3, 7, false);
    const blurred = pdqFloatFromPixels(data, 64, 64, 3, false);
    const copied = pdqFloatFromPixels(data, 64, 64, 3, true);
    expect(Array.from(blurred.dct)).toEqual(Array.from(referenceFor(data, 64, 64, 3, false).dct));
    expect(Array.from(blurred.dct)).not.toEqual(Array.from(copied.dct));
  });

  it('hashes images under 5 px on a side to zeros with quality 0', () => {
    const r = pdqFromPixels({ width: 4, height: 100, channels: 3, data: new Uint8Array(1200) }, { dihedral: true });
    expect(r).toEqual({ hash: '0'.repeat(64), quality: 0, dihedral: new Array(8).fill('0'.repeat(64)) });
  });

  it('uses the grey value directly as luma, not 0.299g + 0.587g + 0.114g', () => {
    const grey = Uint8Array.from({ length: 256 }, (_, v) => v);
    const rgb = new Uint8Array(256 * 3);
    for (let v = 0; v < 256; v++) rgb.fill(v, v * 3, v * 3 + 3);
    const fromGrey = new Float32Array(256);
    const fromRgb = new Float32Array(256);
    lumaFromPixels(grey, 256, 1, 1, fromGrey);
    lumaFromPixels(rgb, 256, 1, 3, fromRgb);
    expect(Array.from(fromGrey)).toEqual(Array.from(grey));
    // In float32 the weighted sum of equal channels is not always the value itself.
    expect(Array.from(fromRgb).some((y, v) => y !== v)).toBe(true);
  });

  it('computes the window as ceil(dim / 128)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), (d) => jaroszWindow(d) === Math.ceil(d / 128)));
  });
});

describe('median threshold', () => {
  it('the sorted lower median equals Torben selection, and exactly 128 - ties bits are strictly above it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
          minLength: 256,
          maxLength: 256,
        }),
        (values) => {
          const dct = Float32Array.from(values);
          const median = Float32Array.from(dct).sort()[127];
          expect(torbenMedian(dct) === median).toBe(true); // -0 and 0 both threshold alike
          const bytes = dctToHashBytes(dct);
          let ones = 0;
          for (const b of bytes) for (let k = 0; k < 8; k++) ones += (b >> k) & 1;
          expect(ones).toBe(dct.filter((v) => v > (median as number)).length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
