// PDQ blur-and-decimate kernel, AssemblyScript compiled to WebAssembly (native float32 + SIMD).
// Bit-exact with Meta's C++ reference (jaroszFilterFloat + decimateFloat on float luma): every
// lane does the reference's float32 operations in the reference's order; SIMD only runs four
// independent rows (row passes) or four independent columns (column passes) side by side.
// Raw memory only (runtime stub): JS calls prepare(), copies pixels to the returned pointer,
// then calls blur(), and reads the 64x64 block at blockPtr().

const GROUP: i32 = 8; // rows per group: two v128 of four lanes, two independent add chains
const BLOCK: usize = 0; // 64*64 f32
const DCT: usize = 16384; // 16x64 f32, written once by JS (the reference's float matrix)
const DCT_T: usize = DCT + 4096; // its transpose, 64x16
const T16: usize = DCT_T + 4096; // D * block, 16x64
const OUT: usize = T16 + 4096; // 16x16 f32 result
const FIXED_END: usize = OUT + 1024;
let pixelsAt: usize = 0;
let lumaAt: usize = 0; // GROUP rows, interleaved: [c][lane], 32 bytes per column
let ringAt: usize = 0; // ringRows rows of colsPad f32, row-major
let sumsAt: usize = 0; // colsPad f32 (at least 64)
let colOutAt: usize = 0; // GROUP rows, interleaved: [c][lane], 32 bytes per column
let sumAtAt: usize = 0; // cols x 2 v128, interleaved running sums of the second row pass
let compactAt: usize = 0; // rows x 64 f32
let sampledAt: usize = 0; // 64 i32
let curCols: i32 = 0;
let curRows: i32 = 0;
let curChannels: i32 = 0;
let colsPad: i32 = 0;
let ringRows: i32 = 0;

const LR: f32 = 0.299;
const LG: f32 = 0.587;
const LB: f32 = 0.114;

function align16(x: usize): usize {
  return (x + 15) & ~(<usize>15);
}

function windowOf(dim: i32): i32 {
  return (dim + 127) / 128;
}

function decimateIndex(i: i32, dim: i32): i32 {
  return <i32>Math.floor(((<f64>i + 0.5) * <f64>dim) / 64.0);
}

/** Lays out buffers for an image; returns where the caller must copy its interleaved pixels. */
export function prepare(cols: i32, rows: i32, channels: i32): usize {
  curCols = cols;
  curRows = rows;
  curChannels = channels;
  colsPad = (cols + 3) & ~3;
  if (colsPad < 64) colsPad = 64;
  ringRows = windowOf(rows) + GROUP + 1;
  let p: usize = FIXED_END;
  pixelsAt = p;
  p = align16(p + <usize>cols * <usize>rows * <usize>channels);
  lumaAt = p;
  p += <usize>colsPad * 32;
  ringAt = p;
  p += <usize>ringRows * <usize>colsPad * 4;
  sumsAt = p;
  p += <usize>colsPad * 4;
  colOutAt = p;
  p += <usize>colsPad * 32;
  sumAtAt = p;
  p += <usize>colsPad * 32;
  compactAt = p;
  p += <usize>rows * 256;
  sampledAt = p;
  p += 256;
  const needPages = <i32>((p + 65535) >> 16);
  const have = memory.size();
  if (needPages > have) {
    if (memory.grow(needPages - have) < 0) return 0;
  }
  // Zero the work areas (not the pixels): padding lanes must hold finite values.
  memory.fill(lumaAt, 0, p - lumaAt);
  for (let j = 0; j < 64; j++) store<i32>(sampledAt + (<usize>j << 2), decimateIndex(j, cols));
  return pixelsAt;
}

export function blockPtr(): usize {
  return BLOCK;
}

export function dctMatrixPtr(): usize {
  return DCT;
}

export function outPtr(): usize {
  return OUT;
}

/** Call once after JS has written the DCT matrix (memory starts at one page, see package.json): builds its transpose. */
export function initDct(): void {
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 64; k++) store<f32>(DCT_T + ((<usize>(k * 16 + i)) << 2), load<f32>(DCT + ((<usize>(i * 64 + k)) << 2)));
  }
}

/**
 * Quality metric and 16x16 DCT of the 64x64 block, as the reference computes them. Lanes hold
 * four output columns; each lane sums its 64 products in the reference's order (k ascending).
 * Returns the quality (0-100); the coefficients are left at outPtr().
 */
export function finish(): i32 {
  let gradient: i32 = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const u = load<f32>(BLOCK + ((<usize>(i * 64 + j)) << 2));
      const v = load<f32>(BLOCK + ((<usize>((i + 1) * 64 + j)) << 2));
      gradient += abs<i32>(<i32>(((u - v) * <f32>100) / <f32>255));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const u = load<f32>(BLOCK + ((<usize>(i * 64 + j)) << 2));
      const v = load<f32>(BLOCK + ((<usize>(i * 64 + j + 1)) << 2));
      gradient += abs<i32>(<i32>(((u - v) * <f32>100) / <f32>255));
    }
  }
  // T = D * A: T[i][j] = sum_k D[i][k] * A[k][j]
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j += 4) {
      let acc = f32x4.splat(0);
      for (let k = 0; k < 64; k++) {
        const d = f32x4.splat(load<f32>(DCT + ((<usize>(i * 64 + k)) << 2)));
        acc = f32x4.add(acc, f32x4.mul(d, v128.load(BLOCK + ((<usize>(k * 64 + j)) << 2))));
      }
      v128.store(T16 + ((<usize>(i * 64 + j)) << 2), acc);
    }
  }
  // B = T * D^T: B[i][j] = sum_k T[i][k] * D[j][k]
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j += 4) {
      let acc = f32x4.splat(0);
      for (let k = 0; k < 64; k++) {
        const t = f32x4.splat(load<f32>(T16 + ((<usize>(i * 64 + k)) << 2)));
        acc = f32x4.add(acc, f32x4.mul(t, v128.load(DCT_T + ((<usize>(k * 16 + j)) << 2))));
      }
      v128.store(OUT + ((<usize>(i * 16 + j)) << 2), acc);
    }
  }
  const quality = gradient / 90;
  return quality > 100 ? 100 : quality;
}

/** Luma of `count` rows from row0 into the interleaved [c][lane] buffer (missing lanes = 0). */
function lumaGroup(row0: i32, count: i32): void {
  const cols = curCols;
  const ch = curChannels;
  for (let k = 0; k < GROUP; k++) {
    const dst = lumaAt + (<usize>k << 2);
    if (k >= count) {
      for (let c = 0; c < cols; c++) store<f32>(dst + (<usize>c << 5), 0);
      continue;
    }
    let src = pixelsAt + <usize>(row0 + k) * <usize>cols * <usize>ch;
    if (ch == 3 || ch == 4) {
      // Four pixels at a time: swizzle each channel's bytes into 32-bit lanes, convert, and do
      // (LR*R + LG*G) + LB*B per lane, the reference's order. Loads may read past the last pixel
      // (into Ward's own work area); those lanes are never stored.
      const cr = ch == 3 ? i8x16(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1) : i8x16(0, -1, -1, -1, 4, -1, -1, -1, 8, -1, -1, -1, 12, -1, -1, -1);
      const cg = ch == 3 ? i8x16(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1) : i8x16(1, -1, -1, -1, 5, -1, -1, -1, 9, -1, -1, -1, 13, -1, -1, -1);
      const cb = ch == 3 ? i8x16(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1) : i8x16(2, -1, -1, -1, 6, -1, -1, -1, 10, -1, -1, -1, 14, -1, -1, -1);
      const lr = f32x4.splat(LR);
      const lg = f32x4.splat(LG);
      const lb = f32x4.splat(LB);
      const step = <usize>ch << 2;
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        const px = v128.load(src);
        const r = f32x4.convert_i32x4_u(i8x16.swizzle(px, cr));
        const g = f32x4.convert_i32x4_u(i8x16.swizzle(px, cg));
        const b = f32x4.convert_i32x4_u(i8x16.swizzle(px, cb));
        const y = f32x4.add(f32x4.add(f32x4.mul(lr, r), f32x4.mul(lg, g)), f32x4.mul(lb, b));
        const d = dst + (<usize>c << 5);
        store<f32>(d, f32x4.extract_lane(y, 0));
        store<f32>(d + 32, f32x4.extract_lane(y, 1));
        store<f32>(d + 64, f32x4.extract_lane(y, 2));
        store<f32>(d + 96, f32x4.extract_lane(y, 3));
        src += step;
      }
      for (; c < cols; c++) {
        const y: f32 = LR * <f32>load<u8>(src) + LG * <f32>load<u8>(src + 1) + LB * <f32>load<u8>(src + 2);
        store<f32>(dst + (<usize>c << 5), y);
        src += ch;
      }
    } else if (ch >= 3) {
      for (let c = 0; c < cols; c++) {
        const y: f32 = LR * <f32>load<u8>(src) + LG * <f32>load<u8>(src + 1) + LB * <f32>load<u8>(src + 2);
        store<f32>(dst + (<usize>c << 5), y);
        src += ch;
      }
    } else {
      for (let c = 0; c < cols; c++) {
        store<f32>(dst + (<usize>c << 5), <f32>load<u8>(src));
        src += ch;
      }
    }
  }
}

/** Row box filter on 8 interleaved rows; lane k goes to ring row slot k (only lanes < count). */
function rowPass1(w: i32, r0: i32, count: i32): void {
  const cols = curCols;
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = cols - w;
  const rowBytes = <usize>colsPad * 4;
  const slot0 = ringAt + <usize>(r0 % ringRows) * rowBytes;
  // Ring slots of the 8 rows (they may wrap around the ring).
  const s1 = ringAt + <usize>((r0 + 1) % ringRows) * rowBytes;
  const s2 = ringAt + <usize>((r0 + 2) % ringRows) * rowBytes;
  const s3 = ringAt + <usize>((r0 + 3) % ringRows) * rowBytes;
  const s4 = ringAt + <usize>((r0 + 4) % ringRows) * rowBytes;
  const s5 = ringAt + <usize>((r0 + 5) % ringRows) * rowBytes;
  const s6 = ringAt + <usize>((r0 + 6) % ringRows) * rowBytes;
  const s7 = ringAt + <usize>((r0 + 7) % ringRows) * rowBytes;
  let ri: usize = lumaAt;
  let li: usize = lumaAt;
  let o: usize = 0;
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let n: i32 = 0;
  for (let i = 0; i < half - 1; i++) {
    a = f32x4.add(a, v128.load(ri));
    b = f32x4.add(b, v128.load(ri, 16));
    ri += 32;
    n++;
  }
  for (let i = 0; i < p2; i++) {
    a = f32x4.add(a, v128.load(ri));
    b = f32x4.add(b, v128.load(ri, 16));
    ri += 32;
    n++;
    const nv = f32x4.splat(<f32>n);
    scatter8(f32x4.div(a, nv), f32x4.div(b, nv), slot0 + o, s1 + o, s2 + o, s3 + o, s4 + o, s5 + o, s6 + o, s7 + o, count);
    o += 4;
  }
  const nv = f32x4.splat(<f32>n);
  for (let i = 0; i < p3; i++) {
    a = f32x4.sub(f32x4.add(a, v128.load(ri)), v128.load(li));
    b = f32x4.sub(f32x4.add(b, v128.load(ri, 16)), v128.load(li, 16));
    ri += 32;
    li += 32;
    scatter8(f32x4.div(a, nv), f32x4.div(b, nv), slot0 + o, s1 + o, s2 + o, s3 + o, s4 + o, s5 + o, s6 + o, s7 + o, count);
    o += 4;
  }
  for (let i = 0; i < half - 1; i++) {
    a = f32x4.sub(a, v128.load(li));
    b = f32x4.sub(b, v128.load(li, 16));
    li += 32;
    n--;
    const nv4 = f32x4.splat(<f32>n);
    scatter8(f32x4.div(a, nv4), f32x4.div(b, nv4), slot0 + o, s1 + o, s2 + o, s3 + o, s4 + o, s5 + o, s6 + o, s7 + o, count);
    o += 4;
  }
}

// @ts-ignore: decorator
@inline
function scatter8(
  v: v128,
  u: v128,
  p0: usize,
  p1: usize,
  p2: usize,
  p3: usize,
  p4: usize,
  p5: usize,
  p6: usize,
  p7: usize,
  count: i32,
): void {
  if (count == GROUP) {
    store<f32>(p0, f32x4.extract_lane(v, 0));
    store<f32>(p1, f32x4.extract_lane(v, 1));
    store<f32>(p2, f32x4.extract_lane(v, 2));
    store<f32>(p3, f32x4.extract_lane(v, 3));
    store<f32>(p4, f32x4.extract_lane(u, 0));
    store<f32>(p5, f32x4.extract_lane(u, 1));
    store<f32>(p6, f32x4.extract_lane(u, 2));
    store<f32>(p7, f32x4.extract_lane(u, 3));
    return;
  }
  store<f32>(p0, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p1, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(p2, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(p3, f32x4.extract_lane(v, 3));
  if (count > 4) store<f32>(p4, f32x4.extract_lane(u, 0));
  if (count > 5) store<f32>(p5, f32x4.extract_lane(u, 1));
  if (count > 6) store<f32>(p6, f32x4.extract_lane(u, 2));
  if (count > 7) store<f32>(p7, f32x4.extract_lane(u, 3));
}

/**
 * One column-pass step over all columns: sums += ring[add] (if add >= 0), then sums -= ring[sub]
 * (if sub >= 0); when emitting, sums / n goes to lane `lane` of the interleaved colOut buffer.
 */
function columnStep(add: i32, sub: i32, n: i32, emit: bool, lane: i32): void {
  const addAt = ringAt + <usize>add * <usize>colsPad * 4;
  const subAt = ringAt + <usize>sub * <usize>colsPad * 4;
  const nv = f32x4.splat(<f32>n);
  const out = colOutAt + (<usize>lane << 2);
  for (let c = 0; c < colsPad; c += 4) {
    const off = <usize>c << 2;
    let s = v128.load(sumsAt + off);
    if (add >= 0) s = f32x4.add(s, v128.load(addAt + off));
    if (sub >= 0) s = f32x4.sub(s, v128.load(subAt + off));
    v128.store(sumsAt + off, s);
    if (emit) {
      const q = f32x4.div(s, nv);
      const base = out + (<usize>c << 5);
      store<f32>(base, f32x4.extract_lane(q, 0));
      store<f32>(base + 32, f32x4.extract_lane(q, 1));
      store<f32>(base + 64, f32x4.extract_lane(q, 2));
      store<f32>(base + 96, f32x4.extract_lane(q, 3));
    }
  }
}

/** Window size at output o of a 1-D box filter of window w over `length` items. */
function windowAt(o: i32, w: i32, length: i32): i32 {
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = length - w;
  if (o < p2) return half + o;
  if (o < p2 + p3) return w;
  return w - (o - p2 - p3) - 1;
}

/** Second row pass on the 8 interleaved colOut rows; keeps the 64 sampled columns of each. */
function rowPass2(w: i32, outRow0: i32, count: i32): void {
  const cols = curCols;
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = cols - w;
  let ri: usize = colOutAt;
  let li: usize = colOutAt;
  let o: usize = sumAtAt;
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  for (let i = 0; i < half - 1; i++) {
    a = f32x4.add(a, v128.load(ri));
    b = f32x4.add(b, v128.load(ri, 16));
    ri += 32;
  }
  for (let i = 0; i < p2; i++) {
    a = f32x4.add(a, v128.load(ri));
    b = f32x4.add(b, v128.load(ri, 16));
    ri += 32;
    v128.store(o, a);
    v128.store(o, b, 16);
    o += 32;
  }
  for (let i = 0; i < p3; i++) {
    a = f32x4.sub(f32x4.add(a, v128.load(ri)), v128.load(li));
    b = f32x4.sub(f32x4.add(b, v128.load(ri, 16)), v128.load(li, 16));
    ri += 32;
    li += 32;
    v128.store(o, a);
    v128.store(o, b, 16);
    o += 32;
  }
  for (let i = 0; i < half - 1; i++) {
    a = f32x4.sub(a, v128.load(li));
    b = f32x4.sub(b, v128.load(li, 16));
    li += 32;
    v128.store(o, a);
    v128.store(o, b, 16);
    o += 32;
  }
  const base = compactAt + <usize>outRow0 * 256;
  for (let j = 0; j < 64; j++) {
    const c = load<i32>(sampledAt + (<usize>j << 2));
    const nv = f32x4.splat(<f32>windowAt(c, w, cols));
    const at = sumAtAt + (<usize>c << 5);
    const q = f32x4.div(v128.load(at), nv);
    const r = f32x4.div(v128.load(at, 16), nv);
    const d = base + (<usize>j << 2);
    scatter8(q, r, d, d + 256, d + 512, d + 768, d + 1024, d + 1280, d + 1536, d + 1792, count);
  }
}

/** Second column pass over the rows x 64 compact plane, writing the 64 sampled rows to BLOCK. */
function columnPass2(w: i32): void {
  const rows = curRows;
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = rows - w;
  memory.fill(sumsAt, 0, 256);
  let nextBlockRow = 0;
  let wantRow = decimateIndex(0, rows);
  let ri: usize = compactAt;
  let li: usize = compactAt;
  let o = 0;
  let n = 0;
  const total = (half - 1) + p2 + p3 + (half - 1);
  for (let step = 0; step < total; step++) {
    const adding = step < (half - 1) + p2 + p3;
    const subtracting = step >= (half - 1) + p2;
    if (adding && !subtracting) n++;
    if (!adding) n--;
    for (let c: usize = 0; c < 256; c += 16) {
      let s = v128.load(sumsAt + c);
      if (adding) s = f32x4.add(s, v128.load(ri + c));
      if (subtracting) s = f32x4.sub(s, v128.load(li + c));
      v128.store(sumsAt + c, s);
    }
    if (adding) ri += 256;
    if (subtracting) li += 256;
    if (step < half - 1) continue;
    // Output row o is ready; block rows sampling o take it (several when rows < 64).
    while (nextBlockRow < 64 && wantRow == o) {
      const nv = f32x4.splat(<f32>n);
      const dst = BLOCK + (<usize>nextBlockRow << 8);
      for (let c: usize = 0; c < 256; c += 16) v128.store(dst + c, f32x4.div(v128.load(sumsAt + c), nv));
      nextBlockRow++;
      if (nextBlockRow < 64) wantRow = decimateIndex(nextBlockRow, rows);
    }
    o++;
  }
}

/** Blurs and decimates the prepared image; the 64x64 float block is left at blockPtr(). */
export function blur(): void {
  const rows = curRows;
  const wr = windowOf(curCols);
  const wc = windowOf(rows);
  const halfC = (wc + 2) / 2;
  memory.fill(sumsAt, 0, <usize>colsPad * 4);
  let n = 0;
  let oi = 0;
  let pending = 0;
  for (let r0 = 0; r0 < rows; r0 += GROUP) {
    const k = min(GROUP, rows - r0);
    lumaGroup(r0, k);
    rowPass1(wr, r0, k);
    for (let ri = r0; ri < r0 + k; ri++) {
      const slot = ri % ringRows;
      let emit = true;
      if (ri >= wc) {
        columnStep(slot, (ri - wc) % ringRows, n, true, pending);
      } else {
        n++;
        emit = ri >= halfC - 1;
        columnStep(slot, -1, n, emit, pending);
      }
      if (emit) {
        oi++;
        pending++;
        if (pending == GROUP) {
          rowPass2(wr, oi - GROUP, GROUP);
          pending = 0;
        }
      }
    }
  }
  for (let li = rows - wc; oi < rows; li++) {
    n--;
    columnStep(-1, li % ringRows, n, true, pending);
    oi++;
    pending++;
    if (pending == GROUP) {
      rowPass2(wr, oi - GROUP, GROUP);
      pending = 0;
    }
  }
  if (pending > 0) rowPass2(wr, oi - pending, pending);
  columnPass2(wc);
}
