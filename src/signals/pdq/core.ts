/**
 * @module signals/pdq/core
 * The PDQ core (Meta, 2017), fast and bit-exact with the C++ reference. Every arithmetic step is
 * IEEE float32 in the reference's order; `Math.fround` after each operation reproduces it (a
 * double result of one +,-,*,/ on float operands rounds to the same float as float arithmetic).
 * `reference.ts` is the plain transcription this file is tested against.
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
export function lumaFromPixels(data: Uint8Array, width: number, height: number, channels: number, out: Float32Array): void {
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

/** Scratch buffers reused across calls, so hashing allocates nothing per image. */
export class PdqScratch {
  lumaBuf = new Float32Array(0);
  ring = new Float32Array(0);
  row = new Float32Array(0);
  colSums = new Float64Array(0);
  rowSums = new Float64Array(0);
  compact = new Float32Array(0);
  readonly block64 = new Float32Array(64 * 64);
  readonly t16x64 = new Float32Array(16 * 64);

  ensure(cols: number, rows: number): void {
    if (this.lumaBuf.length < GROUP * cols) this.lumaBuf = new Float32Array(Math.max(GROUP * cols, 64 * 64));
    const ringRows = jaroszWindow(rows) + GROUP + 1;
    if (this.ring.length < ringRows * cols) this.ring = new Float32Array(ringRows * cols);
    if (this.row.length < GROUP * cols) this.row = new Float32Array(GROUP * cols);
    const sumsLength = Math.max(cols, 64);
    if (this.colSums.length < sumsLength) this.colSums = new Float64Array(sumsLength);
    if (this.rowSums.length < GROUP * cols) this.rowSums = new Float64Array(GROUP * cols);
    if (this.compact.length < rows * 64) this.compact = new Float32Array(rows * 64);
  }
}

/** Result of the PDQ core before thresholding: 16x16 DCT coefficients and quality 0-100. */
export interface PdqFloat {
  dct: Float32Array;
  quality: number;
}

/**
 * The PDQ core on a float luma plane (row-major, rows x cols); `luma` is not modified.
 * `skipBlurAt64`: the reference's hash path copies a 64x64 input without blurring, while its
 * dihedral path blurs it; pass false to get the dihedral path's numbers.
 */
export function pdqFloatFromLuma(
  luma: Float32Array,
  rows: number,
  cols: number,
  scratch: PdqScratch = new PdqScratch(),
  skipBlurAt64 = true,
): PdqFloat {
  const source: LumaSource = (row0, count, out) => out.set(luma.subarray(row0 * cols, (row0 + count) * cols));
  return pdqFloatFromSource(source, rows, cols, scratch, skipBlurAt64);
}

/** The PDQ core on interleaved 8-bit pixels (1-4 channels), computing luma row by row. */
export function pdqFloatFromPixels(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  scratch: PdqScratch = new PdqScratch(),
  skipBlurAt64 = true,
): PdqFloat {
  const source: LumaSource = (row0, count, out) => lumaRows(data, width, channels, row0, count, out);
  return pdqFloatFromSource(source, height, width, scratch, skipBlurAt64);
}

function pdqFloatFromSource(
  source: LumaSource,
  rows: number,
  cols: number,
  scratch: PdqScratch,
  skipBlurAt64: boolean,
): PdqFloat {
  if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) return { dct: new Float32Array(256), quality: 0 };
  const block = scratch.block64;
  if (rows === 64 && cols === 64 && skipBlurAt64) {
    source(0, 64, block);
  } else {
    blurAndDecimate(source, rows, cols, scratch, block);
  }
  const quality = qualityMetric(block);
  const dct = new Float32Array(256);
  dct64To16(block, scratch.t16x64, dct);
  return { dct, quality };
}

/**
 * Two passes of (box along rows, box along columns), then sampling 64x64: equal, float for float,
 * to the reference's jaroszFilterFloat + decimateFloat, computed in one streaming sweep:
 * - each row is box-filtered as soon as it is read and kept in a ring of (window + 1) rows;
 * - the column pass keeps one running sum per column and advances one row at a time, so each
 *   column sees exactly the reference's sequence of adds and subtracts;
 * - the second row pass only keeps the 64 sampled columns, and the second column pass runs on
 *   that rows x 64 plane and only writes the 64 sampled rows.
 * Dividing by the window count is done as a multiplication by its double reciprocal: for a float
 * x and an integer n < 2^27, x/n is never within 2^-52 (relative) of a float32 rounding midpoint,
 * so rounding x * (1/n) to float32 gives the same float as the reference's division.
 */
function blurAndDecimate(
  source: LumaSource,
  rows: number,
  cols: number,
  scratch: PdqScratch,
  block: Float32Array,
): void {
  scratch.ensure(cols, rows);
  const luma = scratch.lumaBuf;
  const wr = jaroszWindow(cols);
  const wc = jaroszWindow(rows);
  const recip = new Float64Array(Math.max(wr, wc) + 1);
  for (let n = 1; n < recip.length; n++) recip[n] = 1 / n;
  const ring = scratch.ring;
  const ringRows = wc + GROUP + 1;
  const sums = scratch.colSums;
  sums.fill(0, 0, cols);
  const colOut = scratch.row;
  const sampled = new Int32Array(64);
  for (let j = 0; j < 64; j++) sampled[j] = decimateIndex(j, cols);
  const compact = scratch.compact;
  const rowSums = scratch.rowSums;
  const halfC = (wc + 2) >> 1;
  let n = 0; // current column window size
  let oi = 0; // next column-pass output row
  let pending = 0; // column-pass output rows waiting in colOut for the second row pass

  const flush = (): void => {
    if (pending === GROUP) {
      secondRowPass4(colOut, compact, (oi - GROUP) * 64, cols, wr, recip, sampled, rowSums);
    } else {
      for (let p = 0; p < pending; p++) {
        secondRowPass1(colOut, p * cols, compact, (oi - pending + p) * 64, cols, wr, recip, sampled, rowSums);
      }
    }
    pending = 0;
  };
  // Column step: fold ring row `add` (and drop ring row `sub`; -1 for none) into the sums, then
  // emit one column-pass output row when asked.
  const columnStep = (add: number, sub: number, emit: boolean): void => {
    if (!emit) {
      foldRow(sums, ring, add, cols);
      return;
    }
    columnStepEmit(sums, ring, add, sub, colOut, pending * cols, cols, recip[n]);
    oi++;
    if (++pending === GROUP) flush();
  };

  for (let r0 = 0; r0 < rows; r0 += GROUP) {
    const k = Math.min(GROUP, rows - r0);
    source(r0, k, luma);
    if (k === GROUP) {
      boxRows4(luma, 0, ring, (r0 % ringRows) * cols, ((r0 + 1) % ringRows) * cols,
        ((r0 + 2) % ringRows) * cols, ((r0 + 3) % ringRows) * cols, cols, wr, recip);
    } else {
      for (let ri = r0; ri < r0 + k; ri++) boxRow1(luma, (ri - r0) * cols, ring, (ri % ringRows) * cols, cols, wr, recip);
    }
    for (let ri = r0; ri < r0 + k; ri++) {
      const slot = (ri % ringRows) * cols;
      if (ri >= wc) {
        columnStep(slot, ((ri - wc) % ringRows) * cols, true);
      } else {
        n++;
        columnStep(slot, -1, ri >= halfC - 1);
      }
    }
  }
  for (let li = rows - wc; oi < rows; li++) {
    n--;
    columnStep(-1, (li % ringRows) * cols, true);
  }
  flush();
  boxColsSampled(compact, block, rows, wc, sums, recip);
}

/** sums[c] += ring[add + c] in float32: the column pass's phase 1 (no output yet). */
function foldRow(sums: Float64Array, ring: Float32Array, add: number, cols: number): void {
  for (let c = 0; c < cols; c++) sums[c] = f32(sums[c] + ring[add + c]);
}

/**
 * One column-pass step over all columns: add ring row `add`, then subtract ring row `sub` (either
 * may be -1), and write sum * r to `out` at `outBase`. Columns are independent, so this loop has
 * no carried dependency and runs at full width.
 */
function columnStepEmit(
  sums: Float64Array,
  ring: Float32Array,
  add: number,
  sub: number,
  out: Float32Array,
  outBase: number,
  cols: number,
  r: number,
): void {
  if (add >= 0 && sub >= 0) {
    for (let c = 0; c < cols; c++) {
      const s = f32(f32(sums[c] + ring[add + c]) - ring[sub + c]);
      sums[c] = s;
      out[outBase + c] = s * r;
    }
  } else if (add >= 0) {
    for (let c = 0; c < cols; c++) {
      const s = f32(sums[c] + ring[add + c]);
      sums[c] = s;
      out[outBase + c] = s * r;
    }
  } else {
    for (let c = 0; c < cols; c++) {
      const s = f32(sums[c] - ring[sub + c]);
      sums[c] = s;
      out[outBase + c] = s * r;
    }
  }
}

/** Rows filtered together: four independent running sums hide the add latency of each. */
const GROUP = 4;

/** One row of the box filter (reference box1DFloat with stride 1). */
function boxRow1(
  input: Float32Array,
  inBase: number,
  out: Float32Array,
  outBase: number,
  cols: number,
  w: number,
  recip: Float64Array,
): void {
  const half = (w + 2) >> 1;
  const p2 = w - half + 1;
  const p3 = cols - w;
  let ri = inBase;
  let li = inBase;
  let oi = outBase;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < half - 1; i++) {
    sum = f32(sum + input[ri++]);
    n++;
  }
  for (let i = 0; i < p2; i++) {
    sum = f32(sum + input[ri++]);
    n++;
    out[oi++] = sum * recip[n];
  }
  const r = recip[n];
  for (let i = 0; i < p3; i++) {
    sum = f32(f32(sum + input[ri++]) - input[li++]);
    out[oi++] = sum * r;
  }
  for (let i = 0; i < half - 1; i++) {
    sum = f32(sum - input[li++]);
    n--;
    out[oi++] = sum * recip[n];
  }
}

/** boxRow1 on four consecutive input rows at once, each to its own output offset. */
function boxRows4(
  input: Float32Array,
  inBase: number,
  out: Float32Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  cols: number,
  w: number,
  recip: Float64Array,
): void {
  const half = (w + 2) >> 1;
  const p2 = w - half + 1;
  const p3 = cols - w;
  const b1 = cols;
  const b2 = 2 * cols;
  const b3 = 3 * cols;
  let ri = inBase;
  let li = inBase;
  let oi = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let n = 0;
  for (let i = 0; i < half - 1; i++, ri++) {
    s0 = f32(s0 + input[ri]);
    s1 = f32(s1 + input[ri + b1]);
    s2 = f32(s2 + input[ri + b2]);
    s3 = f32(s3 + input[ri + b3]);
    n++;
  }
  for (let i = 0; i < p2; i++, ri++, oi++) {
    s0 = f32(s0 + input[ri]);
    s1 = f32(s1 + input[ri + b1]);
    s2 = f32(s2 + input[ri + b2]);
    s3 = f32(s3 + input[ri + b3]);
    n++;
    const r = recip[n];
    out[o0 + oi] = s0 * r;
    out[o1 + oi] = s1 * r;
    out[o2 + oi] = s2 * r;
    out[o3 + oi] = s3 * r;
  }
  const r = recip[n];
  for (let i = 0; i < p3; i++, ri++, li++, oi++) {
    s0 = f32(f32(s0 + input[ri]) - input[li]);
    s1 = f32(f32(s1 + input[ri + b1]) - input[li + b1]);
    s2 = f32(f32(s2 + input[ri + b2]) - input[li + b2]);
    s3 = f32(f32(s3 + input[ri + b3]) - input[li + b3]);
    out[o0 + oi] = s0 * r;
    out[o1 + oi] = s1 * r;
    out[o2 + oi] = s2 * r;
    out[o3 + oi] = s3 * r;
  }
  for (let i = 0; i < half - 1; i++, li++, oi++) {
    s0 = f32(s0 - input[li]);
    s1 = f32(s1 - input[li + b1]);
    s2 = f32(s2 - input[li + b2]);
    s3 = f32(s3 - input[li + b3]);
    n--;
    const rn = recip[n];
    out[o0 + oi] = s0 * rn;
    out[o1 + oi] = s1 * rn;
    out[o2 + oi] = s2 * rn;
    out[o3 + oi] = s3 * rn;
  }
}

/** Window size at output o of a 1-D box filter of window w over `length` items. */
function windowAt(o: number, w: number, length: number): number {
  const half = (w + 2) >> 1;
  const p2 = w - half + 1;
  const p3 = length - w;
  return o < p2 ? half + o : o < p2 + p3 ? w : w - (o - p2 - p3) - 1;
}

/**
 * The second row pass, keeping only the 64 sampled columns. The running sum still visits every
 * element so each kept value is bit-identical to the full filter's.
 */
function secondRowPass1(
  input: Float32Array,
  inBase: number,
  out: Float32Array,
  outBase: number,
  cols: number,
  w: number,
  recip: Float64Array,
  sampled: Int32Array,
  sumAt: Float64Array,
): void {
  const half = (w + 2) >> 1;
  const p2 = w - half + 1;
  const p3 = cols - w;
  let ri = inBase;
  let li = inBase;
  let oi = 0;
  let sum = 0;
  for (let i = 0; i < half - 1; i++) sum = f32(sum + input[ri++]);
  for (let i = 0; i < p2; i++) {
    sum = f32(sum + input[ri++]);
    sumAt[oi++] = sum;
  }
  for (let i = 0; i < p3; i++) {
    sum = f32(f32(sum + input[ri++]) - input[li++]);
    sumAt[oi++] = sum;
  }
  for (let i = 0; i < half - 1; i++) {
    sum = f32(sum - input[li++]);
    sumAt[oi++] = sum;
  }
  for (let j = 0; j < 64; j++) {
    const o = sampled[j];
    out[outBase + j] = sumAt[o] * recip[windowAt(o, w, cols)];
  }
}

/** secondRowPass1 on the four rows of `input` at once (rows 0..3, to four consecutive out rows). */
function secondRowPass4(
  input: Float32Array,
  out: Float32Array,
  outBase: number,
  cols: number,
  w: number,
  recip: Float64Array,
  sampled: Int32Array,
  sumAt: Float64Array,
): void {
  const half = (w + 2) >> 1;
  const p2 = w - half + 1;
  const p3 = cols - w;
  const b1 = cols;
  const b2 = 2 * cols;
  const b3 = 3 * cols;
  let ri = 0;
  let li = 0;
  let oi = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < half - 1; i++, ri++) {
    s0 = f32(s0 + input[ri]);
    s1 = f32(s1 + input[ri + b1]);
    s2 = f32(s2 + input[ri + b2]);
    s3 = f32(s3 + input[ri + b3]);
  }
  for (let i = 0; i < p2; i++, ri++, oi++) {
    s0 = f32(s0 + input[ri]);
    s1 = f32(s1 + input[ri + b1]);
    s2 = f32(s2 + input[ri + b2]);
    s3 = f32(s3 + input[ri + b3]);
    sumAt[oi] = s0;
    sumAt[oi + b1] = s1;
    sumAt[oi + b2] = s2;
    sumAt[oi + b3] = s3;
  }
  for (let i = 0; i < p3; i++, ri++, li++, oi++) {
    s0 = f32(f32(s0 + input[ri]) - input[li]);
    s1 = f32(f32(s1 + input[ri + b1]) - input[li + b1]);
    s2 = f32(f32(s2 + input[ri + b2]) - input[li + b2]);
    s3 = f32(f32(s3 + input[ri + b3]) - input[li + b3]);
    sumAt[oi] = s0;
    sumAt[oi + b1] = s1;
    sumAt[oi + b2] = s2;
    sumAt[oi + b3] = s3;
  }
  for (let i = 0; i < half - 1; i++, li++, oi++) {
    s0 = f32(s0 - input[li]);
    s1 = f32(s1 - input[li + b1]);
    s2 = f32(s2 - input[li + b2]);
    s3 = f32(s3 - input[li + b3]);
    sumAt[oi] = s0;
    sumAt[oi + b1] = s1;
    sumAt[oi + b2] = s2;
    sumAt[oi + b3] = s3;
  }
  for (let j = 0; j < 64; j++) {
    const o = sampled[j];
    const r = recip[windowAt(o, w, cols)];
    out[outBase + j] = sumAt[o] * r;
    out[outBase + 64 + j] = sumAt[o + b1] * r;
    out[outBase + 128 + j] = sumAt[o + b2] * r;
    out[outBase + 192 + j] = sumAt[o + b3] * r;
  }
}

/** Column box filter over a rows x 64 plane, writing only the 64 sampled rows into `block`. */
function boxColsSampled(
  input: Float32Array,
  block: Float32Array,
  rows: number,
  w: number,
  sums: Float64Array,
  recip: Float64Array,
): void {
  const half = (w + 2) >> 1;
  const p1 = half - 1;
  const p2 = w - half + 1;
  const p3 = rows - w;
  const p4 = half - 1;
  // Output row o feeds every block row whose sampling index is o (several when rows < 64).
  let nextBlockRow = 0;
  let wantRow = decimateIndex(0, rows);
  sums.fill(0, 0, 64);
  let ri = 0;
  let li = 0;
  let o = 0;
  let n = 0;
  const emit = (): void => {
    while (nextBlockRow < 64 && wantRow === o) {
      const bb = nextBlockRow * 64;
      const r = recip[n];
      for (let c = 0; c < 64; c++) block[bb + c] = sums[c] * r;
      nextBlockRow++;
      if (nextBlockRow < 64) wantRow = decimateIndex(nextBlockRow, rows);
    }
    o++;
  };
  for (let i = 0; i < p1; i++, ri += 64) {
    for (let c = 0; c < 64; c++) sums[c] = f32(sums[c] + input[ri + c]);
    n++;
  }
  for (let i = 0; i < p2; i++, ri += 64) {
    n++;
    for (let c = 0; c < 64; c++) sums[c] = f32(sums[c] + input[ri + c]);
    emit();
  }
  for (let i = 0; i < p3; i++, ri += 64, li += 64) {
    for (let c = 0; c < 64; c++) sums[c] = f32(f32(sums[c] + input[ri + c]) - input[li + c]);
    emit();
  }
  for (let i = 0; i < p4; i++, li += 64) {
    n--;
    for (let c = 0; c < 64; c++) sums[c] = f32(sums[c] - input[li + c]);
    emit();
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
  return q > 100 ? 100 : q;
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
