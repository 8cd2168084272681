// PDQ blur-and-decimate kernel, AssemblyScript compiled to WebAssembly (native float32 + SIMD).
// Bit-exact with Meta's C++ reference (jaroszFilterFloat + decimateFloat on float luma): every
// lane does the reference's float32 operations in the reference's order; SIMD only runs four
// independent rows (row passes) or four independent columns (column passes) side by side.
// Raw memory only (runtime stub): JS calls prepare(), copies pixels to the returned pointer,
// then calls blur(), and reads the 64x64 block at blockPtr().

const GROUP: i32 = 4;
const BLOCK: usize = 0; // 64*64 f32
let pixelsAt: usize = 0;
let lumaAt: usize = 0; // GROUP rows, interleaved: [c][lane]
let ringAt: usize = 0; // ringRows rows of colsPad f32, row-major
let sumsAt: usize = 0; // colsPad f32 (at least 64)
let colOutAt: usize = 0; // GROUP rows, interleaved: [c][lane]
let sumAtAt: usize = 0; // cols v128, interleaved running sums of the second row pass
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
  let p: usize = BLOCK + 64 * 64 * 4;
  pixelsAt = p;
  p = align16(p + <usize>cols * <usize>rows * <usize>channels);
  lumaAt = p;
  p += <usize>colsPad * 16;
  ringAt = p;
  p += <usize>ringRows * <usize>colsPad * 4;
  sumsAt = p;
  p += <usize>colsPad * 4;
  colOutAt = p;
  p += <usize>colsPad * 16;
  sumAtAt = p;
  p += <usize>colsPad * 16;
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

/** Luma of `count` rows from row0 into the interleaved [c][lane] buffer (missing lanes = 0). */
function lumaGroup(row0: i32, count: i32): void {
  const cols = curCols;
  const ch = curChannels;
  for (let k = 0; k < GROUP; k++) {
    const dst = lumaAt + (<usize>k << 2);
    if (k >= count) {
      for (let c = 0; c < cols; c++) store<f32>(dst + (<usize>c << 4), 0);
      continue;
    }
    let src = pixelsAt + <usize>(row0 + k) * <usize>cols * <usize>ch;
    if (ch >= 3) {
      for (let c = 0; c < cols; c++) {
        const y: f32 = LR * <f32>load<u8>(src) + LG * <f32>load<u8>(src + 1) + LB * <f32>load<u8>(src + 2);
        store<f32>(dst + (<usize>c << 4), y);
        src += ch;
      }
    } else {
      for (let c = 0; c < cols; c++) {
        store<f32>(dst + (<usize>c << 4), <f32>load<u8>(src));
        src += ch;
      }
    }
  }
}

/** Row box filter on 4 interleaved rows; lane k goes to ring row slot[k] (only lanes < count). */
function rowPass1(w: i32, s0: usize, s1: usize, s2: usize, s3: usize, count: i32): void {
  const cols = curCols;
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = cols - w;
  let ri: usize = lumaAt;
  let li: usize = lumaAt;
  let o: usize = 0;
  let sum = f32x4.splat(0);
  let n: i32 = 0;
  for (let i = 0; i < half - 1; i++) {
    sum = f32x4.add(sum, v128.load(ri));
    ri += 16;
    n++;
  }
  for (let i = 0; i < p2; i++) {
    sum = f32x4.add(sum, v128.load(ri));
    ri += 16;
    n++;
    scatter4(f32x4.div(sum, f32x4.splat(<f32>n)), s0 + o, s1 + o, s2 + o, s3 + o, count);
    o += 4;
  }
  const nv = f32x4.splat(<f32>n);
  for (let i = 0; i < p3; i++) {
    sum = f32x4.sub(f32x4.add(sum, v128.load(ri)), v128.load(li));
    ri += 16;
    li += 16;
    scatter4(f32x4.div(sum, nv), s0 + o, s1 + o, s2 + o, s3 + o, count);
    o += 4;
  }
  for (let i = 0; i < half - 1; i++) {
    sum = f32x4.sub(sum, v128.load(li));
    li += 16;
    n--;
    scatter4(f32x4.div(sum, f32x4.splat(<f32>n)), s0 + o, s1 + o, s2 + o, s3 + o, count);
    o += 4;
  }
}

// @ts-ignore: decorator
@inline
function scatter4(v: v128, a: usize, b: usize, c: usize, d: usize, count: i32): void {
  store<f32>(a, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(b, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(c, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(d, f32x4.extract_lane(v, 3));
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
      const base = out + (<usize>c << 4);
      store<f32>(base, f32x4.extract_lane(q, 0));
      store<f32>(base + 16, f32x4.extract_lane(q, 1));
      store<f32>(base + 32, f32x4.extract_lane(q, 2));
      store<f32>(base + 48, f32x4.extract_lane(q, 3));
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

/** Second row pass on the 4 interleaved colOut rows; keeps the 64 sampled columns of each. */
function rowPass2(w: i32, outRow0: i32, count: i32): void {
  const cols = curCols;
  const half = (w + 2) / 2;
  const p2 = w - half + 1;
  const p3 = cols - w;
  let ri: usize = colOutAt;
  let li: usize = colOutAt;
  let o: usize = sumAtAt;
  let sum = f32x4.splat(0);
  for (let i = 0; i < half - 1; i++) {
    sum = f32x4.add(sum, v128.load(ri));
    ri += 16;
  }
  for (let i = 0; i < p2; i++) {
    sum = f32x4.add(sum, v128.load(ri));
    ri += 16;
    v128.store(o, sum);
    o += 16;
  }
  for (let i = 0; i < p3; i++) {
    sum = f32x4.sub(f32x4.add(sum, v128.load(ri)), v128.load(li));
    ri += 16;
    li += 16;
    v128.store(o, sum);
    o += 16;
  }
  for (let i = 0; i < half - 1; i++) {
    sum = f32x4.sub(sum, v128.load(li));
    li += 16;
    v128.store(o, sum);
    o += 16;
  }
  const base = compactAt + <usize>outRow0 * 256;
  for (let j = 0; j < 64; j++) {
    const c = load<i32>(sampledAt + (<usize>j << 2));
    const q = f32x4.div(v128.load(sumAtAt + (<usize>c << 4)), f32x4.splat(<f32>windowAt(c, w, cols)));
    const at = base + (<usize>j << 2);
    scatter4(q, at, at + 256, at + 512, at + 768, count);
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
  const rowBytes = <usize>colsPad * 4;
  memory.fill(sumsAt, 0, rowBytes);
  let n = 0;
  let oi = 0;
  let pending = 0;
  for (let r0 = 0; r0 < rows; r0 += GROUP) {
    const k = min(GROUP, rows - r0);
    lumaGroup(r0, k);
    rowPass1(
      wr,
      ringAt + <usize>(r0 % ringRows) * rowBytes,
      ringAt + <usize>((r0 + 1) % ringRows) * rowBytes,
      ringAt + <usize>((r0 + 2) % ringRows) * rowBytes,
      ringAt + <usize>((r0 + 3) % ringRows) * rowBytes,
      k,
    );
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
