/**
 * @module signals/pdq/core
 * The PDQ core (Meta, 2017), fast and bit-exact with the C++ reference. Every arithmetic step is
 * IEEE float32 in the reference's order; `Math.fround` after each operation reproduces it (a
 * double result of one +,-,*,/ on float operands rounds to the same float as float arithmetic).
 * The heavy part runs in WebAssembly (kernel.ts); `reference.ts` is the plain transcription
 * both are tested against.
 */

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

/** coefficient * v rounded to float32, for v in 0..255 (the reference's per-channel products). */
function lumaTable(coefficient: number): Float64Array {
  const t = new Float64Array(256);
  for (let v = 0; v < 256; v++) t[v] = f32(coefficient * v);
  return t;
}
const LUMA_TABLE_R = lumaTable(LUMA_R);
const LUMA_TABLE_G = lumaTable(LUMA_G);
const LUMA_TABLE_B = lumaTable(LUMA_B);

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
