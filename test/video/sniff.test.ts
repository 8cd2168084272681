/** Video containers by magic bytes, and their place among the scan's sniffers. */
import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/media/sniff.js';
import { sniffContent } from '../../src/registry.js';
import { sniffVideo } from '../../src/video/sniff.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const head = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? ascii(p) : p)));
const ftyp = (brand: string, compatible = 'isom'): Uint8Array =>
  head([0, 0, 0, 0x18], 'ftyp', brand, [0, 0, 2, 0], compatible, 'mp41', [0, 0, 0, 8], 'free');

describe('sniffVideo', () => {
  it('reads ISO base media brands: videos yes, AVIF/HEIF images and audio no', () => {
    for (const brand of ['isom', 'iso5', 'mp41', 'mp42', 'avc1', 'M4V ', 'dash', 'XAVC', 'f4v '])
      expect(sniffVideo(ftyp(brand)), brand).toBe('mp4');
    expect(sniffVideo(ftyp('qt  '))).toBe('mov');
    expect(sniffVideo(ftyp('3gp4'))).toBe('3gp');
    expect(sniffVideo(ftyp('3g2a'))).toBe('3gp');
    for (const brand of ['avif', 'avis', 'heic', 'heix', 'mif1', 'msf1', 'hevc', 'M4A ', 'M4B '])
      expect(sniffVideo(ftyp(brand)), brand).toBeUndefined();
  });

  it('reads QuickTime files that predate ftyp', () => {
    expect(sniffVideo(head([0, 0, 0, 8], 'wide', [0, 0, 0x10, 0], 'mdat'))).toBe('mov');
    expect(sniffVideo(head([0, 0, 0x10, 0], 'moov'))).toBe('mov');
    expect(sniffVideo(head([0, 0, 0, 4], 'moov'))).toBeUndefined(); // a box of 4 bytes cannot be
  });

  it('reads Matroska and WebM, AVI, FLV, ASF, MPEG transport and program streams', () => {
    const ebml = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84];
    expect(sniffVideo(head(ebml, 'webm', [0x42, 0x87]))).toBe('webm');
    expect(sniffVideo(head(ebml.slice(0, 11), [0x88], 'matroska'))).toBe('mkv');
    expect(sniffVideo(head('RIFF', [1, 2, 3, 4], 'AVI LIST'))).toBe('avi');
    expect(sniffVideo(head('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBeUndefined();
    expect(sniffVideo(head('FLV', [1, 5, 0, 0, 0, 9]))).toBe('flv');
    expect(
      sniffVideo(head([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0, 0xaa, 0, 0x62, 0xce, 0x6c])),
    ).toBe('asf');
    const ts = new Uint8Array(188 * 4);
    for (let i = 0; i < 4; i++) ts[i * 188] = 0x47;
    expect(sniffVideo(ts)).toBe('mpegts');
    const m2ts = new Uint8Array(192 * 4 + 4);
    for (let i = 0; i < 4; i++) m2ts[4 + i * 192] = 0x47;
    expect(sniffVideo(m2ts)).toBe('mpegts');
    expect(sniffVideo(head([0, 0, 1, 0xba, 0x44]))).toBe('mpeg');
    expect(sniffVideo(ts.subarray(0, 300))).toBeUndefined(); // one sync byte is not enough
  });

  it('says nothing of text, images and short heads', () => {
    for (const h of [
      head('hello world, not a video'),
      head([0xff, 0xd8, 0xff, 0xe0]),
      head('\x89PNG\r\n\x1a\n'),
      head('ftyp'),
    ])
      expect(sniffVideo(h)).toBeUndefined();
  });
});

describe('the scan registry', () => {
  it('gives AVIF and HEIC to images and MP4 to videos', () => {
    expect(sniffImage(ftyp('avif'))).toBe('avif');
    expect(sniffContent(ftyp('avif'))).toEqual({ contentType: 'image', format: 'avif' });
    expect(sniffContent(ftyp('heic'))).toEqual({ contentType: 'image', format: 'heif' });
    expect(sniffContent(ftyp('mp42'))).toEqual({ contentType: 'video', format: 'mp4' });
    expect(sniffContent(head('RIFF', [1, 2, 3, 4], 'AVI LIST'))).toEqual({ contentType: 'video', format: 'avi' });
  });
});
