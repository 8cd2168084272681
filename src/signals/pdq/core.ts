/**
 * @module signals/pdq/core
 * The PDQ core (Meta, 2017), fast and bit-exact with the C++ reference. Every arithmetic step is
 * IEEE float32 in the reference's order; `Math.fround` after each operation reproduces it (a
 * double result of one +,-,*,/ on float operands rounds to the same float as float arithmetic).
 * `reference.ts` is the plain transcription this file is tested against.
 */

import { blurAndDecimate } from './kernel.js';

const f32 = Math.fround;

/** Luma coefficients as the reference's `const float` (rounded to float32). */
export const LUMA_R = f32(0.299);
export const LUMA_G = f32(0.587);
export const LUMA_B = f32(0.114);

/** Images smaller than this on either side hash to all zeros, quality 0 (reference behaviour). */
export const MIN_HASHABLE_DIM = 5;

/** The 16x64 DCT-II basis, rows 1..16 (DC skipped), as the reference builds it. */
export const DCT_MATRIX: Float32Array = (() => {
  const m = new Float32Array(16 * 64);
  // The reference stores the scale as float, then multiplies it by a double cosine.
  const scale = f32(Math.sqrt(2.0 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      m[i * 64 + j] = scale * Math.cos((Math.PI / 2.0 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return m;
})();

/** Window of the two-pass box ("Jarosz") filter: ceil(dim / 128). */
export function jaroszWindow(dim: number): number {
  return Math.floor((dim + 2 * 64 - 1) / (2 * 64));
}

/** Source index sampled for output cell `i` of 64 (centres, not corners). */
export function decimateIndex(i: number, dim: number): number {
  return Math.floor(((i + 0.5) * dim) / 64);
}

/**
 * Fills `out` with `count` rows of PDQ luma, starting at row `row0`, from interleaved 8-bit pixels.
 * One or two channels (grey, grey + alpha): the grey value is used directly, as the reference does.
 * Three or more: 0.299 R + 0.587 G + 0.114 B in float32; alpha is dropped, not composited.
 */
export function lumaRows(
  data: Uint8Array,
  cols: number,
  channels: number,
  row0: number,
  count: number,
  out: Float32Array,
): void {
  const n = cols * count;
  const start = row0 * cols * channels;
  if (channels < 3) {
    for (let p = 0, s = start; p < n; p++, s += channels) out[p] = data[s];
    return;
  }
  const tr = LUMA_TABLE_R;
  const tg = LUMA_TABLE_G;
  const tb = LUMA_TABLE_B;
  // Each product is already float32 (tables); the store rounds the last sum.
  if (channels === 3) {
    for (let p = 0, s = start; p < n; p++, s += 3) out[p] = f32(tr[data[s]] + tg[data[s + 1]]) + tb[data[s + 2]];
    return;
  }
  for (let p = 0, s = start; p < n; p++, s += channels) out[p] = f32(tr[data[s]] + tg[data[s + 1]]) + tb[data[s + 2]];
}

/** The whole luma plane (rows x cols) of interleaved 8-bit pixels. */
export function lumaFromPixels(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  out: Float32Array,
): void {
  lumaRows(data, width, channels, 0, height, out);
}

/** Where the core reads its luma: a callback filling `count` rows from `row0` (row-major). */
export type LumaSource = (row0: number, count: number, out: Float32Array) => void;

/** coefficient * v rounded to float32, for v in 0..255 (the reference's per-channel products). */
function lumaTable(coefficient: number): Float64Array {
  const t = new Float64Array(256);
  for (let v = 0; v < 256; v++) t[v] = f32(coefficient * v);
  return t;
}
const LUMA_TABLE_R = lumaTable(LUMA_R);
const LUMA_TABLE_G = lumaTable(LUMA_G);
const LUMA_TABLE_B = lumaTable(LUMA_B);

/** Result of the PDQ core before thresholding: 16x16 DCT coefficients and quality 0-100. */
export interface PdqFloat {
  dct: Float32Array;
  quality: number;
}

/**
 * The PDQ core on interleaved 8-bit pixels (1-4 channels, row-major).
 * `skipBlurAt64`: the reference's hash path copies a 64x64 input without blurring, while its
 * dihedral path blurs it; pass false to get the dihedral path's numbers.
 */
export function pdqFloatFromPixels(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  skipBlurAt64 = true,
): PdqFloat {
  if (height < MIN_HASHABLE_DIM || width < MIN_HASHABLE_DIM) return { dct: new Float32Array(256), quality: 0 };
  const block = new Float32Array(64 * 64);
  if (height === 64 && width === 64 && skipBlurAt64) {
    lumaRows(data, 64, channels, 0, 64, block);
  } else {
    blurAndDecimate(data, width, height, channels, block);
  }
  const quality = qualityMetric(block);
  const dct = new Float32Array(256);
  dct64To16(block, new Float32Array(16 * 64), dct);
  return { dct, quality };
}

/** Image-domain quality: count of significant gradients in the 64x64 block, scaled to 0-100. */
export function qualityMetric(block: Float32Array): number {
  let gradientSum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = Math.trunc(f32(f32(f32(block[i * 64 + j] - block[(i + 1) * 64 + j]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = Math.trunc(f32(f32(f32(block[i * 64 + j] - block[i * 64 + j + 1]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  const q = Math.trunc(gradientSum / 90);
  return Math.min(q, 100);
}

/** B = D A D^T keeping coefficients 1..16 in each direction; sums in the reference's order. */
export function dct64To16(a: Float32Array, t: Float32Array, out: Float32Array): void {
  const d = DCT_MATRIX;
  for (let i = 0; i < 16; i++) {
    const di = i * 64;
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f32(s + f32(d[di + k] * a[k * 64 + j]));
      t[di + j] = s;
    }
  }
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      const ti = i * 64;
      const dj = j * 64;
      for (let k = 0; k < 64; k++) s = f32(s + f32(t[ti + k] * d[dj + k]));
      out[i * 16 + j] = s;
    }
  }
}

/**
 * Thresholds 256 coefficients at their lower median (Torben's selection picks the 128th smallest)
 * with a strict `>`. Bit k = i*16+j; the returned 32 bytes are big-endian, so hex of them equals
 * the reference's hex (its 16-bit words printed from word 15 down to word 0).
 */
export function dctToHashBytes(dct: Float32Array): Uint8Array {
  const sorted = Float32Array.from(dct).sort();
  const median = sorted[127];
  const out = new Uint8Array(32);
  for (let k = 0; k < 256; k++) {
    if (dct[k] > median) out[31 - (k >> 3)] |= 1 << (k & 7);
  }
  return out;
}
