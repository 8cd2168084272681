/**
 * @module signals/pdq/reference
 * A plain, slow transcription of the PDQ reference's structure (strided 1-D box filter over full
 * buffers, full decimation). It exists only as the oracle that `core.ts` is tested against.
 * @internal
 */
import { DCT_MATRIX, decimateIndex, jaroszWindow, MIN_HASHABLE_DIM } from './core.js';

const f32 = Math.fround;

function box1D(input: Float32Array, out: Float32Array, start: number, length: number, stride: number, w: number): void {
  const half = Math.floor((w + 2) / 2);
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < half - 1; i++) {
    sum = f32(sum + input[ri]);
    n++;
    ri += stride;
  }
  for (let i = 0; i < w - half + 1; i++) {
    sum = f32(sum + input[ri]);
    n++;
    out[oi] = f32(sum / n);
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < length - w; i++) {
    sum = f32(sum + input[ri]);
    sum = f32(sum - input[li]);
    out[oi] = f32(sum / n);
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < half - 1; i++) {
    sum = f32(sum - input[li]);
    n--;
    out[oi] = f32(sum / n);
    li += stride;
    oi += stride;
  }
}

/** Reference PDQ float output: 16x16 DCT and quality. `luma` is overwritten. */
export function referencePdqFloat(
  luma: Float32Array,
  rows: number,
  cols: number,
  skipBlurAt64 = true,
): { dct: Float32Array; quality: number } {
  if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) {
    return { dct: new Float32Array(256), quality: 0 };
  }
  const block = new Float32Array(64 * 64);
  if (rows === 64 && cols === 64 && skipBlurAt64) {
    block.set(luma.subarray(0, 4096));
  } else {
    const buf2 = new Float32Array(rows * cols);
    const wr = jaroszWindow(cols);
    const wc = jaroszWindow(rows);
    for (let rep = 0; rep < 2; rep++) {
      for (let r = 0; r < rows; r++) box1D(luma, buf2, r * cols, cols, 1, wr);
      for (let c = 0; c < cols; c++) box1D(buf2, luma, c, rows, cols, wc);
    }
    for (let i = 0; i < 64; i++) {
      const ini = decimateIndex(i, rows);
      for (let j = 0; j < 64; j++) block[i * 64 + j] = luma[ini * cols + decimateIndex(j, cols)];
    }
  }
  const quality = qualityMetric(block);
  const dct = new Float32Array(256);
  dct64To16(block, new Float32Array(16 * 64), dct);
  return { dct, quality };
}

/** Torben's median selection, as the reference runs it (the oracle for the sort-based median). */
export function torbenMedian(m: Float32Array): number {
  const n = m.length;
  let min = m[0];
  let max = m[0];
  for (let i = 1; i < n; i++) {
    if (m[i] < min) min = m[i];
    if (m[i] > max) max = m[i];
  }
  const halfN = Math.floor((n + 1) / 2);
  for (;;) {
    const guess = f32(f32(min + max) / 2);
    let less = 0;
    let greater = 0;
    let equal = 0;
    let maxlt = min;
    let mingt = max;
    for (let i = 0; i < n; i++) {
      const v = m[i];
      if (v < guess) {
        less++;
        if (v > maxlt) maxlt = v;
      } else if (v > guess) {
        greater++;
        if (v < mingt) mingt = v;
      } else equal++;
    }
    if (less <= halfN && greater <= halfN) {
      if (less >= halfN) return maxlt;
      if (less + equal >= halfN) return guess;
      return mingt;
    }
    if (less > greater) max = maxlt;
    else min = mingt;
  }
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
