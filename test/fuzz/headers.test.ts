/**
 * Property tests for the byte-level parsers that run before the decoder: magic-byte sniffing and
 * the JPEG/PNG colour peek. Random and mutated bytes must never throw, and on real files the peek
 * must agree with libvips.
 */
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { peekColour } from '../../src/media/image-header.js';
import { sniffImage } from '../../src/media/sniff.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 300);

describe('sniff and colour peek', () => {
  it('never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const format = sniffImage(bytes);
        for (const f of ['jpeg', 'png', 'webp', 'gif'] as const) peekColour(bytes, f);
        return format === undefined || typeof format === 'string';
      }),
      { numRuns: RUNS },
    );
  });

  it('never throw on mutated real headers, and stay within their answers', async () => {
    const jpeg = await sceneImage(31);
    const png = await sceneImage(32, 'png');
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 700 }), value: fc.integer({ min: 0, max: 255 }) }), {
          maxLength: 8,
        }),
        fc.integer({ min: 0, max: 800 }),
        async (isJpeg, flips, cut) => {
          const bytes = Buffer.from((isJpeg ? jpeg : png).subarray(0, cut));
          for (const f of flips) if (f.at < bytes.length) bytes[f.at] = f.value;
          const answer = peekColour(bytes, isJpeg ? 'jpeg' : 'png');
          expect([undefined, 'grey', 'colour']).toContain(answer);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('agrees with libvips on grey, grey+alpha, RGB, RGBA and palette files', async () => {
    const base = sharp(await sceneImage(33, 'png', 64, 48));
    const cases: [Buffer, 'jpeg' | 'png', 'grey' | 'colour'][] = [
      [await base.clone().toColourspace('b-w').png().toBuffer(), 'png', 'grey'],
      [await base.clone().toColourspace('b-w').ensureAlpha().png().toBuffer(), 'png', 'grey'],
      [await base.clone().removeAlpha().png().toBuffer(), 'png', 'colour'],
      [await base.clone().ensureAlpha().png().toBuffer(), 'png', 'colour'],
      [await base.clone().png({ palette: true }).toBuffer(), 'png', 'colour'],
      [await base.clone().toColourspace('b-w').jpeg().toBuffer(), 'jpeg', 'grey'],
      [await base.clone().jpeg({ progressive: true }).toBuffer(), 'jpeg', 'colour'],
      [await base.clone().toColourspace('cmyk').jpeg().toBuffer(), 'jpeg', 'colour'],
    ];
    for (const [bytes, format, want] of cases) {
      expect(sniffImage(bytes)).toBe(format);
      expect(peekColour(bytes, format)).toBe(want);
      const space = (await sharp(bytes).metadata()).space;
      expect(space === 'b-w' || space === 'grey16' ? 'grey' : 'colour').toBe(want);
    }
  });
});
