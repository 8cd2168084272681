/**
 * @module models/tensorfp
 * A model's weight fingerprint (`tensorfp`): which weights a file holds, as bits that survive
 * re-saving. Per layer (canonical identity: models/tensorfp-names), the update an adapter applies
 * (LoRA ΔW = up·down·alpha/rank, LoHa, LoKr, LyCORIS full diffs) or a checkpoint's weight
 * matrix W is projected 64 times: a generator seeded by the layer id (key and shape) picks 64 rows
 * and 64 columns, and projection k is uᵀ·X·v over the k-th 8 x 8 block of that grid (u, v sparse
 * random-sign vectors; the 64 blocks are disjoint); its bit is the projection's sign. A projection is linear, so:
 *
 * - the same ΔW gives the same bits whatever its dtype (up to rounding of near-zero sums), its
 *   key names, its factorisation (up·R, R⁻¹·down), its container (safetensors, PyTorch zip);
 * - a scaled update (alpha, merge strength s > 0) gives the same bits;
 * - a checkpoint's delta from its base, (W + s·ΔW) − W = s·ΔW, gives the LoRA's bits: the base's
 *   projections (a `.tfb` file Ward writes from the base model) are subtracted from the
 *   checkpoint's;
 * - a nearby update (rank resized by SVD, noise, a few fine-tuning steps) flips few bits: two
 *   projections of matrices with correlation ρ differ in sign with probability arccos(ρ)/π.
 *
 * Only the sampled rows and columns are needed: uᵀ·(up·down)·v = (uᵀ·up)·(down·v), so the
 * fingerprint reads 64 rows of `up` and 64 columns of `down` (or 4096 entries of a checkpoint
 * tensor) as the file streams past for the identity hashes (models/hashes `tap`): no
 * second read, no whole tensor in memory.
 *
 * Value: `tfp1.` + base64url of: version byte 1, bytes per layer (8), u32 delta-layer count,
 * u32 weight-layer count, then per layer (u32 id, 8 bytes of bits), each section sorted by id.
 * Delta layers (`d`): adapter updates and checkpoint-minus-base; weight layers (`w`): a
 * checkpoint's own weights. Distance: normalised Hamming distance over the layers both values
 * hold in the delta section when they share at least `TFP_MIN_LAYERS`, else over the weight
 * section, multiplied by `TFP_WEIGHTS_SCALE` (weights of derivatives of one base model are close:
 * only a much smaller distance means the same checkpoint), capped at 1; 1 when fewer than
 * `TFP_MIN_LAYERS` layers are shared.
 */
import { WardError } from '../errors.js';
import { canonicalLayer, fnv1a32, type LayerRole, layerId } from './tensorfp-names.js';

/** Projections (bits) per layer. */
export const TFP_BITS = 64;
/** Entries summed per projection. */
export const TFP_GROUP = 64;
export const TFP_SAMPLES = TFP_BITS * TFP_GROUP;
const BYTES_PER_LAYER = TFP_BITS / 8;
export const TFP_PREFIX = 'tfp1.';
/** Layers two values must share before their distance means anything. */
export const TFP_MIN_LAYERS = 4;
/** Default match threshold (normalised Hamming distance, delta section). */
export const TFP_THRESHOLD = 0.3;
/** Weight-section distances are multiplied by this (the weights threshold is TFP_THRESHOLD / 200). */
export const TFP_WEIGHTS_SCALE = 200;
/** Values gathered for one file at most (4-byte floats): beyond, layers are skipped. */
export const TFP_MAX_GATHER = 32 * 1024 * 1024;
/** Factor rank (LoRA, LoHa) beyond which a layer is skipped. */
const MAX_RANK = 4096;
/** Layers smaller than this (entries of the update) are not fingerprinted. */
const MIN_ENTRIES = 256;
/** Layers in one value at most (parse guard). */
const MAX_LAYERS = 1_000_000;

const ELEMENT_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** One tensor of a file, located: what the fingerprint needs to read its elements. */
export interface TensorRef {
  name: string;
  dtype: string;
  shape: readonly number[];
  /**
   * Absolute file offset of logical (row-major) element `e`. Contiguous tensors: `start + e·size`;
   * PyTorch views: through their strides.
   */
  address(e: number): number;
  /** Byte range the tensor's elements occupy (for contiguous ones, exactly its bytes). */
  start: number;
  end: number;
  /** Elements are packed in order from `start` (`address(e) = start + e·size`): the fast path. */
  contiguous?: boolean;
}

/** A contiguous tensor at `start` (safetensors). */
export function contiguousTensor(name: string, dtype: string, shape: readonly number[], start: number): TensorRef {
  const size = ELEMENT_BYTES[dtype] ?? 1;
  const n = shape.reduce((a, d) => a * d, 1);
  return { name, dtype, shape, start, end: start + n * size, address: (e) => start + e * size, contiguous: true };
}

/** Decodes IEEE half floats (a 64 K table). */
const HALF = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] =
      e === 0
        ? s * f * 2 ** -24
        : e === 31
          ? f
            ? Number.NaN
            : s * Number.POSITIVE_INFINITY
          : s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return t;
})();

const scratch = new ArrayBuffer(8);
const scratchF32 = new Float32Array(scratch, 0, 1);
const scratchU32 = new Uint32Array(scratch, 0, 1);
const scratchF64 = new Float64Array(scratch, 0, 1);
const scratchU8 = new Uint8Array(scratch);

const DTYPE_CODE: Readonly<Record<string, number>> = { F16: 0, BF16: 1, F32: 2, F64: 3 };

function decode(code: number, b: Uint8Array, i: number): number {
  switch (code) {
    case 0:
      return HALF[(b[i] as number) | ((b[i + 1] as number) << 8)] as number;
    case 1:
      scratchU32[0] = (((b[i] as number) << 16) | ((b[i + 1] as number) << 24)) >>> 0;
      return scratchF32[0] as number;
    case 2:
      scratchU32[0] =
        ((b[i] as number) |
          ((b[i + 1] as number) << 8) |
          ((b[i + 2] as number) << 16) |
          ((b[i + 3] as number) << 24)) >>>
        0;
      return scratchF32[0] as number;
    default:
      for (let k = 0; k < 8; k++) scratchU8[k] = b[i + k] as number;
      return scratchF64[0] as number;
  }
}

/** splitmix32: the projection generator. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * The fixed sample grid of a layer: 64 rows and 64 columns (fan-in indices) drawn by the layer's
 * generator, and 128 signs (64 for the rows, 64 for the columns: see `project`). A grid keeps
 * reading cheap: an adapter needs 64 rows of `up` and 64 columns of `down`, whatever its size.
 */
export interface Samples {
  rowPick: Float64Array;
  colPick: Float64Array;
  signs: Int8Array;
}

/** Rows and columns sampled per layer. */
export const TFP_GRID = 64;

/** The fixed sample grid of layer `id` with `rows` x `fanIn` entries. */
export function layerSamples(id: number, rows: number, fanIn: number): Samples {
  const next = generator(fnv1a32(`tfp1:${id}`));
  const rowPick = new Float64Array(TFP_GRID);
  const colPick = new Float64Array(TFP_GRID);
  for (let a = 0; a < TFP_GRID; a++) {
    rowPick[a] = Math.floor((next() / 2 ** 32) * rows);
    colPick[a] = Math.floor(((next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53) * fanIn);
  }
  const signs = new Int8Array(2 * TFP_GRID);
  for (let w = 0; w < (2 * TFP_GRID) / 32; w++) {
    const bits = next();
    for (let b = 0; b < 32; b++) signs[w * 32 + b] = (bits >>> b) & 1 ? 1 : -1;
  }
  return { rowPick, colPick, signs };
}

/**
 * The 64 projections of a layer's grid values (cell a·64+b), times `scale`. The grid's 64 rows
 * and 64 columns are cut into 8 blocks of 8; projection k = 8A + B is uᵀ·X·v over block (A, B):
 * Σ_i Σ_j s[A,i]·t[B,j]·X[8A+i, 8B+j], with row signs s = signs[0..63] and column signs
 * t = signs[64..127]. The blocks are disjoint, so the 64 projections use disjoint entries; for an
 * adapter, projection k is (s-combination of 8 rows of `up`)·(t-combination of 8 columns of `down`).
 */
function project(values: Float64Array, signs: Int8Array, scale: number): Float64Array {
  const sums = new Float64Array(TFP_BITS);
  for (let k = 0; k < TFP_BITS; k++) {
    const A = k >> 3;
    const B = k & 7;
    let acc = 0;
    for (let i = 0; i < 8; i++) {
      let row = 0;
      const base = (8 * A + i) * TFP_GRID + 8 * B;
      for (let j = 0; j < 8; j++) row += (signs[64 + 8 * B + j] as number) * (values[base + j] as number);
      acc += (signs[8 * A + i] as number) * row;
    }
    sums[k] = acc * scale;
  }
  return sums;
}

/** The same projections of up·down without forming the grid: 8 + 8 combinations, 64 dot products. */
function projectFactored(
  uv: Float32Array,
  dv: Float32Array,
  r: number,
  nc: number,
  ra: Int32Array,
  cb: Int32Array,
  signs: Int8Array,
  scale: number,
): Float64Array {
  const u = new Float64Array(8 * r);
  const d = new Float64Array(8 * r);
  for (let A = 0; A < 8; A++) {
    for (let i = 0; i < 8; i++) {
      const sgn = signs[8 * A + i] as number;
      const base = (ra[8 * A + i] as number) * r;
      for (let q = 0; q < r; q++) u[A * r + q] = (u[A * r + q] as number) + sgn * (uv[base + q] as number);
    }
  }
  for (let q = 0; q < r; q++) {
    const row = q * nc;
    for (let B = 0; B < 8; B++) {
      let acc = 0;
      for (let j = 0; j < 8; j++)
        acc += (signs[64 + 8 * B + j] as number) * (dv[row + (cb[8 * B + j] as number)] as number);
      d[B * r + q] = acc;
    }
  }
  const sums = new Float64Array(TFP_BITS);
  for (let k = 0; k < TFP_BITS; k++) {
    const uo = (k >> 3) * r;
    const dox = (k & 7) * r;
    let acc = 0;
    for (let q = 0; q < r; q++) acc += (u[uo + q] as number) * (d[dox + q] as number);
    sums[k] = acc * scale;
  }
  return sums;
}

/** Where each grid row and column lands among the sorted unique picks. */
function gridRanks(s: Samples): { R: Float64Array; C: Float64Array; ra: Int32Array; cb: Int32Array } {
  const R = unique(s.rowPick);
  const C = unique(s.colPick);
  const ra = new Int32Array(TFP_GRID);
  const cb = new Int32Array(TFP_GRID);
  for (let a = 0; a < TFP_GRID; a++) {
    ra[a] = rank(R, s.rowPick[a] as number);
    cb[a] = rank(C, s.colPick[a] as number);
  }
  return { R, C, ra, cb };
}

/** Grid values of a product (rows of a [·, r] at R) x (columns of b [r, ·] at C). */
function gridProduct(
  av: Float32Array,
  bv: Float32Array,
  r: number,
  nc: number,
  ra: Int32Array,
  cb: Int32Array,
): Float64Array {
  const v = new Float64Array(TFP_SAMPLES);
  for (let a = 0; a < TFP_GRID; a++) {
    const ui = (ra[a] as number) * r;
    for (let b = 0; b < TFP_GRID; b++) {
      const cj = cb[b] as number;
      let acc = 0;
      for (let q = 0; q < r; q++) acc += (av[ui + q] as number) * (bv[q * nc + cj] as number);
      v[a * TFP_GRID + b] = acc;
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Gathering the elements a fingerprint needs while the file streams past.

/** Sorted unique logical element indices of one tensor, and where their values land. */
class Request {
  values: Float32Array;
  private addrs: Float64Array;
  private order: Int32Array;
  private next = 0;
  private partial: Uint8Array | undefined;
  private partialHave = 0;
  readonly size: number;
  private readonly code: number;
  /** Elements are in address order (slot = position in the walk). */
  private direct = false;
  private count = 0;
  readonly first: number;
  readonly last: number;

  /** `elements`: logical element indices; `owned`: the caller gives the array up (it becomes the addresses). */
  constructor(
    readonly tensor: TensorRef,
    elements: Float64Array,
    owned = false,
  ) {
    this.size = ELEMENT_BYTES[tensor.dtype] as number;
    this.values = new Float32Array(elements.length);
    this.code = DTYPE_CODE[tensor.dtype] as number;
    const n = elements.length;
    const addrs = owned && tensor.contiguous ? elements : new Float64Array(n);
    let sorted = true;
    if (tensor.contiguous) {
      const { start } = tensor;
      const size = this.size;
      let prev = -1;
      for (let i = 0; i < n; i++) {
        const a = start + (elements[i] as number) * size;
        addrs[i] = a;
        if (a < prev) sorted = false;
        prev = a;
      }
    } else {
      for (let i = 0; i < n; i++) {
        addrs[i] = tensor.address(elements[i] as number);
        if (i > 0 && (addrs[i] as number) < (addrs[i - 1] as number)) sorted = false;
      }
    }
    let order = new Int32Array(0);
    if (!sorted) {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => (addrs[a] as number) - (addrs[b] as number));
    }
    this.direct = sorted;
    this.order = order;
    this.count = n;
    this.addrs = addrs;
    const firstSlot = sorted ? 0 : (order[0] as number);
    const lastSlot = sorted ? n - 1 : (order[n - 1] as number);
    this.first = n > 0 ? (addrs[firstSlot] as number) : tensor.start;
    this.last = n > 0 ? (addrs[lastSlot] as number) + this.size : tensor.start;
  }

  get done(): boolean {
    return this.next >= this.count;
  }

  /** Drops the gathered values (after the layer is computed). */
  release(): void {
    this.values = new Float32Array(0);
    this.addrs = new Float64Array(0);
    this.order = new Int32Array(0);
    this.count = 0;
    this.next = 0;
  }

  /** Consumes the requested elements inside [position, position + chunk.length). */
  feed(chunk: Uint8Array, position: number): void {
    const end = position + chunk.length;
    const { order, addrs, size, count } = this;
    const direct = this.direct;
    while (this.next < count) {
      const slot = direct ? this.next : (order[this.next] as number);
      const a = addrs[slot] as number;
      if (this.partial) {
        // An element split across chunks: its first bytes came with the previous one.
        const take = Math.min(size - this.partialHave, chunk.length);
        this.partial.set(chunk.subarray(0, take), this.partialHave);
        this.partialHave += take;
        if (this.partialHave < size) return;
        this.values[slot] = decode(this.code, this.partial, 0);
        this.partial = undefined;
        this.next++;
        continue;
      }
      if (a >= end) return;
      if (a < position) {
        // Already passed (a chunk began inside the tensor before we were asked): never happens
        // with a reader that starts at 0; skip rather than read garbage.
        this.next++;
        continue;
      }
      if (a + size <= end) {
        this.values[slot] = decode(this.code, chunk, a - position);
        this.next++;
        continue;
      }
      this.partial = new Uint8Array(size);
      this.partial.set(chunk.subarray(a - position));
      this.partialHave = end - a;
      return;
    }
  }
}

/** Sorted unique values of `xs` (as element indices). */
function unique(xs: Float64Array): Float64Array {
  const s = Float64Array.from(xs).sort();
  let n = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) s[n++] = s[i] as number;
  return s.slice(0, n);
}

/** Index of `x` in the sorted `xs` (present). */
function rank(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Factor {
  req: Request;
  /** Value of factor entry (row, col) (a binary search for sampled rows/cols: use `base`/`stride` in loops). */
  at(row: number, col: number): number;
}

/**
 * A factor matrix [rows, cols] (flattened trailing dims) of which only `neededRows` (all columns)
 * or `neededCols` (all rows) are read.
 */
function factorRequest(
  t: TensorRef,
  rows: number,
  cols: number,
  need: { rows?: Float64Array; cols?: Float64Array },
  transposed = false,
): Factor {
  // Logical element (r, c) of the factor; stored as [rows, cols], or [cols, rows] when transposed.
  const el = (r: number, c: number): number => (transposed ? c * rows + r : r * cols + c);
  if (need.rows) {
    const R = need.rows;
    const idx = new Float64Array(R.length * cols);
    let n = 0;
    for (let i = 0; i < R.length; i++) for (let c = 0; c < cols; c++) idx[n++] = el(R[i] as number, c);
    const req = new Request(t, idx, true);
    return { req, at: (r, c) => req.values[rank(R, r) * cols + c] as number };
  }
  const C = need.cols as Float64Array;
  const idx = new Float64Array(C.length * rows);
  let n = 0;
  for (let r = 0; r < rows; r++) for (let j = 0; j < C.length; j++) idx[n++] = el(r, C[j] as number);
  const req = new Request(t, idx, true);
  return { req, at: (r, c) => req.values[r * C.length + rank(C, c)] as number };
}

function fullRequest(t: TensorRef, rows: number, cols: number): Factor {
  const idx = new Float64Array(rows * cols);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const req = new Request(t, idx, true);
  return { req, at: (r, c) => req.values[r * cols + c] as number };
}

/** A layer waiting for its tensors; computes its projections when they are all read. */
interface PendingLayer {
  key: string;
  id: number;
  domain: 'd' | 'w';
  requests: Request[];
  compute(): Float64Array;
}

export interface LayerProjection {
  key: string;
  id: number;
  domain: 'd' | 'w';
  sums: Float64Array;
}

export interface FingerprintResult {
  /** The `tensorfp` value (absent when no layer could be fingerprinted). */
  value?: string;
  kind: 'adapter' | 'weights';
  /** Layers in the value: delta section (adapter updates, checkpoint minus base) and weights. */
  layers: { delta: number; weights: number };
  /** The base whose projections were subtracted (its label), when one fit. */
  base?: string;
  /** Layers left out and why (at most 20 reasons, with a count). */
  skipped?: string[];
  /** The projections (for writing a base file). */
  projections: LayerProjection[];
}

/** A base model's projections (`.tfb`): layer id → the 64 projections of its weights. */
export interface TensorBase {
  label: string;
  layers: Map<number, Float64Array>;
}

export interface FingerprintOptions {
  /** Base models to subtract from a checkpoint's weights (the one sharing most layers is used). */
  bases?: readonly TensorBase[];
  /** Cap on gathered values (default TFP_MAX_GATHER). */
  maxGather?: number;
}

function dims(shape: readonly number[]): { rows: number; fanIn: number } {
  const rows = shape[0] ?? 1;
  const fanIn = shape.slice(1).reduce((a, d) => a * d, 1);
  return { rows, fanIn };
}

function validTensor(t: TensorRef): string | undefined {
  const size = ELEMENT_BYTES[t.dtype];
  if (size === undefined) return `dtype ${t.dtype.slice(0, 16)}`;
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d > 0 && d < 2 ** 31)) return 'shape';
  const n = t.shape.reduce((a, d) => a * d, 1);
  // The bytes must hold dtype x shape (a header may claim a huge shape over a few bytes).
  if (!Number.isSafeInteger(n * size) || t.end - t.start < n * size) return 'size';
  return undefined;
}

/**
 * Plans a file's fingerprint from its located tensors; feed it the file's bytes in order
 * (`update(chunk, position)` from position 0, contiguous) and `finish()`.
 */
export class TensorFingerprinter {
  private readonly layers: PendingLayer[] = [];
  private readonly requests: Request[] = [];
  private readonly owner = new Map<Request, PendingLayer>();
  private readonly remaining = new Map<PendingLayer, number>();
  private readonly projections: LayerProjection[] = [];
  private readonly skipped = new Map<string, number>();
  private active: Request[] = [];
  private nextRequest = 0;
  private gathered = 0;
  readonly kind: 'adapter' | 'weights';

  constructor(
    tensors: readonly TensorRef[],
    private readonly options: FingerprintOptions = {},
  ) {
    const groups = new Map<string, Map<LayerRole, TensorRef>>();
    let adapterParts = 0;
    for (const t of tensors) {
      const c = canonicalLayer(t.name);
      if (!c) continue;
      let g = groups.get(c.key);
      if (!g) {
        g = new Map();
        groups.set(c.key, g);
      }
      g.set(c.role, t);
      if (c.role !== 'weight') adapterParts++;
    }
    this.kind = adapterParts > 0 ? 'adapter' : 'weights';
    for (const [key, parts] of groups) {
      try {
        this.plan(key, parts);
      } catch (e) {
        if (!(e instanceof SkipLayer)) throw e;
        this.skip(e.message);
      }
    }
    for (const l of this.layers) {
      this.remaining.set(l, l.requests.length);
      for (const r of l.requests) {
        this.owner.set(r, l);
        this.requests.push(r);
      }
    }
    this.requests.sort((a, b) => a.first - b.first);
  }

  private skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  private budget(n: number): void {
    this.gathered += n;
    if (this.gathered > (this.options.maxGather ?? TFP_MAX_GATHER)) {
      this.gathered -= n;
      throw new SkipLayer('over the gather budget (WARD_ERR_MODEL_LIMIT)');
    }
  }

  private add(layer: PendingLayer): void {
    if (layer.requests.length === 0) {
      this.finishLayer(layer);
      return;
    }
    this.layers.push(layer);
  }

  private plan(key: string, parts: Map<LayerRole, TensorRef>): void {
    if (parts.has('unsupported')) throw new SkipLayer('unsupported adapter part (Tucker core, LoRA mid)');
    for (const t of parts.values()) {
      const bad = validTensor(t);
      if (bad) throw new SkipLayer(`unreadable tensor (${bad})`);
    }
    const alphaRef = parts.get('alpha');
    const alpha =
      alphaRef && alphaRef.shape.reduce((a, d) => a * d, 1) === 1
        ? new Request(alphaRef, Float64Array.of(0))
        : undefined;
    const alphaOf = (rank: number): number => {
      if (!alpha) return 1;
      const a = alpha.values[0] as number;
      return Number.isFinite(a) ? a / rank : 0;
    };
    const up = parts.get('up');
    const down = parts.get('down');
    if (this.kind === 'weights') {
      const w = parts.get('weight');
      if (!w || w.shape.length < 2) return;
      this.planDense(key, w, 'w');
      return;
    }
    const diff = parts.get('diff');
    if (diff && diff.shape.length >= 2) {
      this.planDense(key, diff, 'd');
      return;
    }
    if (up && down) {
      if (up.shape.length < 2 || down.shape.length < 2) throw new SkipLayer('LoRA factors that are not matrices');
      const u = dims(up.shape);
      const d = dims(down.shape);
      let rows: number;
      let fanIn: number;
      let r: number;
      let transposed = false;
      if (u.fanIn === d.rows) {
        rows = u.rows;
        r = u.fanIn;
        fanIn = d.fanIn;
      } else if (up.shape.length === 2 && down.shape.length === 2 && u.rows === d.fanIn) {
        // Stored transposed (A as [in, r], B as [r, out]).
        rows = u.fanIn;
        r = u.rows;
        fanIn = d.rows;
        transposed = true;
      } else throw new SkipLayer('LoRA factors whose shapes do not chain');
      if (r > MAX_RANK) throw new SkipLayer('rank over 4096');
      if (rows * fanIn < MIN_ENTRIES) throw new SkipLayer('layer too small');
      const id = layerId(key, rows, fanIn);
      const s = layerSamples(id, rows, fanIn);
      const { R, C, ra, cb } = gridRanks(s);
      this.budget((R.length + C.length) * r);
      const fu = factorRequest(up, rows, r, { rows: R }, transposed);
      const fd = factorRequest(down, r, fanIn, { cols: C }, transposed);
      this.add({
        key,
        id,
        domain: 'd',
        requests: [fu.req, fd.req, ...(alpha ? [alpha] : [])],
        compute: () => projectFactored(fu.req.values, fd.req.values, r, C.length, ra, cb, s.signs, alphaOf(r)),
      });
      return;
    }
    const h = ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b'].map((k) => parts.get(k as LayerRole));
    if (h.every((t) => t !== undefined)) {
      const [a1, b1, a2, b2] = h as TensorRef[];
      const da1 = dims(a1.shape);
      const db1 = dims(b1.shape);
      const da2 = dims(a2.shape);
      const db2 = dims(b2.shape);
      if (da1.fanIn !== db1.rows || da2.fanIn !== db2.rows || da1.rows !== da2.rows || db1.fanIn !== db2.fanIn)
        throw new SkipLayer('LoHa factors whose shapes do not chain');
      const rows = da1.rows;
      const fanIn = db1.fanIn;
      if (da1.fanIn > MAX_RANK || da2.fanIn > MAX_RANK) throw new SkipLayer('rank over 4096');
      if (rows * fanIn < MIN_ENTRIES) throw new SkipLayer('layer too small');
      const id = layerId(key, rows, fanIn);
      const s = layerSamples(id, rows, fanIn);
      const { R, C, ra, cb } = gridRanks(s);
      this.budget((R.length + C.length) * (da1.fanIn + da2.fanIn));
      const f = [
        factorRequest(a1, rows, da1.fanIn, { rows: R }),
        factorRequest(b1, da1.fanIn, fanIn, { cols: C }),
        factorRequest(a2, rows, da2.fanIn, { rows: R }),
        factorRequest(b2, da2.fanIn, fanIn, { cols: C }),
      ] as const;
      this.add({
        key,
        id,
        domain: 'd',
        requests: [...f.map((x) => x.req), ...(alpha ? [alpha] : [])],
        compute: () => {
          const x = gridProduct(f[0].req.values, f[1].req.values, da1.fanIn, C.length, ra, cb);
          const y = gridProduct(f[2].req.values, f[3].req.values, da2.fanIn, C.length, ra, cb);
          const v = new Float64Array(TFP_SAMPLES);
          for (let k = 0; k < TFP_SAMPLES; k++) v[k] = (x[k] as number) * (y[k] as number);
          return project(v, s.signs, alphaOf(da1.fanIn));
        },
      });
      return;
    }
    const w1 = parts.get('lokr_w1');
    const w1a = parts.get('lokr_w1_a');
    const w1b = parts.get('lokr_w1_b');
    const w2 = parts.get('lokr_w2');
    const w2a = parts.get('lokr_w2_a');
    const w2b = parts.get('lokr_w2_b');
    if ((w1 || (w1a && w1b)) && (w2 || (w2a && w2b))) {
      this.planLokr(key, { w1, w1a, w1b, w2, w2a, w2b }, alpha);
      return;
    }
    if (parts.has('weight') && parts.size === 1) return; // a plain weight in an adapter file (trained norms...)
    throw new SkipLayer('incomplete adapter layer');
  }

  private planDense(key: string, w: TensorRef, domain: 'd' | 'w'): void {
    const { rows, fanIn } = dims(w.shape);
    if (rows * fanIn < MIN_ENTRIES) return;
    const id = layerId(key, rows, fanIn);
    const s = layerSamples(id, rows, fanIn);
    const el = new Float64Array(TFP_SAMPLES);
    for (let a = 0; a < TFP_GRID; a++) {
      for (let b = 0; b < TFP_GRID; b++)
        el[a * TFP_GRID + b] = (s.rowPick[a] as number) * fanIn + (s.colPick[b] as number);
    }
    const idx = unique(el);
    this.budget(idx.length);
    const req = new Request(w, idx);
    this.add({
      key,
      id,
      domain,
      requests: [req],
      compute: () => {
        const v = new Float64Array(TFP_SAMPLES);
        for (let k = 0; k < TFP_SAMPLES; k++) v[k] = req.values[rank(idx, el[k] as number)] as number;
        return project(v, s.signs, 1);
      },
    });
  }

  private planLokr(
    key: string,
    p: Partial<Record<'w1' | 'w1a' | 'w1b' | 'w2' | 'w2a' | 'w2b', TensorRef>>,
    alpha: Request | undefined,
  ): void {
    const mat = (full: TensorRef | undefined, a: TensorRef | undefined, b: TensorRef | undefined) => {
      if (full) {
        const d = dims(full.shape);
        if (full.shape.length < 2) throw new SkipLayer('LoKr factor that is not a matrix');
        this.budget(d.rows * d.fanIn);
        const f = fullRequest(full, d.rows, d.fanIn);
        return { rows: d.rows, inner: full.shape[1] as number, cols: d.fanIn, reqs: [f.req], at: f.at, rank: 0 };
      }
      const da = dims((a as TensorRef).shape);
      const db = dims((b as TensorRef).shape);
      if (da.fanIn !== db.rows || da.fanIn > MAX_RANK) throw new SkipLayer('LoKr factors whose shapes do not chain');
      this.budget(da.rows * da.fanIn + db.rows * db.fanIn);
      const fa = fullRequest(a as TensorRef, da.rows, da.fanIn);
      const fb = fullRequest(b as TensorRef, db.rows, db.fanIn);
      const r = da.fanIn;
      return {
        rows: da.rows,
        inner: ((b as TensorRef).shape[1] ?? 1) as number,
        cols: db.fanIn,
        reqs: [fa.req, fb.req],
        rank: r,
        at: (i: number, j: number) => {
          let acc = 0;
          for (let q = 0; q < r; q++) acc += fa.at(i, q) * fb.at(q, j);
          return acc;
        },
      };
    };
    const m1 = mat(p.w1, p.w1a, p.w1b);
    const m2 = mat(p.w2, p.w2a, p.w2b);
    // w2's columns: d input channels x kernel positions.
    const khkw = m2.cols / m2.inner;
    if (m1.cols !== m1.inner || !Number.isInteger(khkw)) throw new SkipLayer('LoKr factors whose shapes do not chain');
    const rows = m1.rows * m2.rows;
    const fanIn = m1.cols * m2.cols;
    if (rows * fanIn < MIN_ENTRIES) throw new SkipLayer('layer too small');
    const id = layerId(key, rows, fanIn);
    const s = layerSamples(id, rows, fanIn);
    const c = m2.rows;
    const d = m2.inner;
    const dim = m2.rank || m1.rank || 1;
    this.add({
      key,
      id,
      domain: 'd',
      requests: [...m1.reqs, ...m2.reqs, ...(alpha ? [alpha] : [])],
      compute: () => {
        const v = new Float64Array(TFP_SAMPLES);
        for (let k = 0; k < TFP_SAMPLES; k++) {
          const i = s.rowPick[k >> 6] as number;
          const j = s.colPick[k & 63] as number;
          const ci = Math.floor(j / khkw);
          const pos = j - ci * khkw;
          const ci1 = Math.floor(ci / d);
          const ci2 = ci - ci1 * d;
          v[k] = m1.at(Math.floor(i / c), ci1) * m2.at(i % c, ci2 * khkw + pos);
        }
        const a = alpha ? (alpha.values[0] as number) : dim;
        return project(v, s.signs, Number.isFinite(a) ? a / dim : 0);
      },
    });
  }

  private finishLayer(l: PendingLayer): void {
    const sums = l.compute();
    this.projections.push({ key: l.key, id: l.id, domain: l.domain, sums });
    // Free the gathered values.
    for (const r of l.requests) {
      this.owner.delete(r);
      r.release();
    }
    l.requests = [];
  }

  /** Feeds the file's bytes at `position` (called in order, from 0, without gaps). */
  update(chunk: Uint8Array, position: number): void {
    const end = position + chunk.length;
    while (this.nextRequest < this.requests.length && (this.requests[this.nextRequest] as Request).first < end) {
      this.active.push(this.requests[this.nextRequest++] as Request);
    }
    if (this.active.length === 0) return;
    let finished = false;
    for (const r of this.active) {
      r.feed(chunk, position);
      if (r.done) {
        finished = true;
        const l = this.owner.get(r);
        if (l) {
          const left = (this.remaining.get(l) as number) - 1;
          this.remaining.set(l, left);
          if (left === 0) this.finishLayer(l);
        }
      }
    }
    if (finished) this.active = this.active.filter((r) => !r.done);
  }

  /** The fingerprint of what was fed. Layers whose bytes never came (a truncated file) are skipped. */
  finish(): FingerprintResult {
    for (const left of this.remaining.values()) if (left > 0) this.skip('bytes missing (truncated file)');
    this.remaining.clear();
    const entries: { id: number; domain: 'd' | 'w'; sums: Float64Array }[] = [];
    let zero = 0;
    for (const p of this.projections) {
      if (p.sums.every((x) => x === 0) || !p.sums.every(Number.isFinite)) {
        zero++;
        continue;
      }
      entries.push(p);
    }
    if (zero > 0) this.skipped.set('zero or non-finite update', zero);
    let base: TensorBase | undefined;
    if (this.kind === 'weights' && this.options.bases && this.options.bases.length > 0) {
      let best = 0;
      for (const b of this.options.bases) {
        let n = 0;
        for (const e of entries) if (b.layers.has(e.id)) n++;
        if (n > best) {
          best = n;
          base = b;
        }
      }
      if (best < TFP_MIN_LAYERS) base = undefined;
      if (base) {
        for (const e of [...entries]) {
          const b = base.layers.get(e.id);
          if (!b) continue;
          const delta = new Float64Array(TFP_BITS);
          let any = false;
          for (let k = 0; k < TFP_BITS; k++) {
            delta[k] = (e.sums[k] as number) - (b[k] as number);
            if (delta[k] !== 0) any = true;
          }
          if (any) entries.push({ id: e.id, domain: 'd', sums: delta });
        }
      }
    }
    const d = entries.filter((e) => e.domain === 'd');
    const w = entries.filter((e) => e.domain === 'w');
    const skipped = [...this.skipped].slice(0, 20).map(([reason, n]) => `${n} layer${n === 1 ? '' : 's'}: ${reason}`);
    return {
      ...(entries.length > 0 ? { value: encodeFingerprint(d, w) } : {}),
      kind: this.kind,
      layers: { delta: d.length, weights: w.length },
      ...(base ? { base: base.label } : {}),
      ...(skipped.length > 0 ? { skipped } : {}),
      projections: this.projections.filter((p) => entries.includes(p)),
    };
  }
}

class SkipLayer extends Error {}

// ---------------------------------------------------------------------------------------------
// The value: encoding, parsing, comparing.

export interface ParsedFingerprint {
  delta: { ids: Uint32Array; bits: Uint8Array };
  weights: { ids: Uint32Array; bits: Uint8Array };
}

function sectionBytes(list: { id: number; sums: Float64Array }[]): { ids: Uint32Array; bits: Uint8Array } {
  const sorted = [...list].sort((a, b) => a.id - b.id);
  const ids = new Uint32Array(sorted.length);
  const bits = new Uint8Array(sorted.length * BYTES_PER_LAYER);
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i] as { id: number; sums: Float64Array };
    // Two layers of one file with the same id (a hash collision or a duplicate key): keep the first.
    if (n > 0 && ids[n - 1] === e.id) continue;
    ids[n] = e.id;
    for (let k = 0; k < TFP_BITS; k++)
      if ((e.sums[k] as number) > 0) bits[n * BYTES_PER_LAYER + (k >> 3)]! |= 1 << (k & 7);
    n++;
  }
  return { ids: ids.slice(0, n), bits: bits.slice(0, n * BYTES_PER_LAYER) };
}

export function encodeFingerprint(
  delta: { id: number; sums: Float64Array }[],
  weights: { id: number; sums: Float64Array }[],
): string {
  return formatFingerprint({ delta: sectionBytes(delta), weights: sectionBytes(weights) });
}

export function formatFingerprint(fp: ParsedFingerprint): string {
  const nd = fp.delta.ids.length;
  const nw = fp.weights.ids.length;
  const out = Buffer.alloc(10 + (nd + nw) * (4 + BYTES_PER_LAYER));
  out[0] = 1;
  out[1] = BYTES_PER_LAYER;
  out.writeUInt32LE(nd, 2);
  out.writeUInt32LE(nw, 6);
  let o = 10;
  for (const s of [fp.delta, fp.weights]) {
    for (let i = 0; i < s.ids.length; i++) {
      out.writeUInt32LE(s.ids[i] as number, o);
      out.set(s.bits.subarray(i * BYTES_PER_LAYER, (i + 1) * BYTES_PER_LAYER), o + 4);
      o += 4 + BYTES_PER_LAYER;
    }
  }
  return TFP_PREFIX + out.toString('base64url');
}

function invalid(message: string): WardError {
  return new WardError('WARD_ERR_SIGNAL_INVALID', `Invalid tensorfp value: ${message}`, {
    expected: 'tfp1. followed by base64url (see docs/models.md)',
  });
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Parses a `tensorfp` value. Throws WARD_ERR_SIGNAL_INVALID. */
export function parseFingerprint(value: string): ParsedFingerprint {
  if (typeof value !== 'string') throw invalid('not a string');
  const v = value.trim();
  if (!v.startsWith(TFP_PREFIX)) throw invalid('it does not start with tfp1.');
  const body = v.slice(TFP_PREFIX.length);
  // (MAX_LAYERS x 12 bytes, base64: 4/3) bounds the text before decoding.
  if (body.length > Math.ceil(((10 + MAX_LAYERS * 12) * 4) / 3) || !B64URL.test(body)) throw invalid('not base64url');
  if (body.length % 4 === 1) throw invalid('truncated base64url');
  const b = Buffer.from(body, 'base64url');
  if (b.length < 10) throw invalid('too short');
  if (b[0] !== 1) throw invalid(`unknown version ${b[0]}`);
  if (b[1] !== BYTES_PER_LAYER) throw invalid(`${b[1]} bytes per layer (expected ${BYTES_PER_LAYER})`);
  const nd = b.readUInt32LE(2);
  const nw = b.readUInt32LE(6);
  if (nd + nw > MAX_LAYERS || b.length !== 10 + (nd + nw) * (4 + BYTES_PER_LAYER))
    throw invalid('its layer counts disagree with its length');
  let o = 10;
  const section = (n: number) => {
    const ids = new Uint32Array(n);
    const bits = new Uint8Array(n * BYTES_PER_LAYER);
    for (let i = 0; i < n; i++) {
      ids[i] = b.readUInt32LE(o);
      if (i > 0 && (ids[i] as number) <= (ids[i - 1] as number)) throw invalid('layer ids not in increasing order');
      bits.set(b.subarray(o + 4, o + 4 + BYTES_PER_LAYER), i * BYTES_PER_LAYER);
      o += 4 + BYTES_PER_LAYER;
    }
    return { ids, bits };
  };
  const delta = section(nd);
  const weights = section(nw);
  return { delta, weights };
}

const POPCOUNT = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = (i & 1) + (t[i >> 1] as number);
  return t;
})();

export interface FingerprintComparison {
  match: boolean;
  /** The distance a threshold applies to (see the module documentation). */
  distance: number;
  /** Which section was compared: `delta`, `weights`, or `none` (too few shared layers). */
  domain: 'delta' | 'weights' | 'none';
  /** Layers both values hold in that section. */
  layersCompared: number;
  /** Normalised Hamming distance over those layers (before scaling). */
  hamming: number;
}

function overlap(
  a: { ids: Uint32Array; bits: Uint8Array },
  b: { ids: Uint32Array; bits: Uint8Array },
): { layers: number; differing: number } {
  let i = 0;
  let j = 0;
  let layers = 0;
  let differing = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i] as number;
    const y = b.ids[j] as number;
    if (x < y) i++;
    else if (x > y) j++;
    else {
      layers++;
      for (let k = 0; k < BYTES_PER_LAYER; k++) {
        differing += POPCOUNT[
          (a.bits[i * BYTES_PER_LAYER + k] as number) ^ (b.bits[j * BYTES_PER_LAYER + k] as number)
        ] as number;
      }
      i++;
      j++;
    }
  }
  return { layers, differing };
}

/** Compares two parsed fingerprints (threshold: TFP_THRESHOLD unless given). */
export function compareParsed(
  a: ParsedFingerprint,
  b: ParsedFingerprint,
  threshold = TFP_THRESHOLD,
  minLayers = TFP_MIN_LAYERS,
): FingerprintComparison {
  const d = overlap(a.delta, b.delta);
  if (d.layers >= minLayers) {
    const hamming = d.differing / (d.layers * TFP_BITS);
    return { match: hamming <= threshold, distance: hamming, domain: 'delta', layersCompared: d.layers, hamming };
  }
  const w = overlap(a.weights, b.weights);
  if (w.layers >= minLayers) {
    const hamming = w.differing / (w.layers * TFP_BITS);
    const distance = Math.min(1, hamming * TFP_WEIGHTS_SCALE);
    return { match: distance <= threshold, distance, domain: 'weights', layersCompared: w.layers, hamming };
  }
  return { match: false, distance: 1, domain: 'none', layersCompared: Math.max(d.layers, w.layers), hamming: 1 };
}

export function compareFingerprints(a: string, b: string, threshold = TFP_THRESHOLD): FingerprintComparison {
  return compareParsed(parseFingerprint(a), parseFingerprint(b), threshold);
}

// ---------------------------------------------------------------------------------------------
// Base model files (.tfb): the projections of a base model's weights.

const TFB_MAGIC = Buffer.from('WARDTFB1', 'latin1');

/** A `.tfb` file's bytes from a checkpoint's weight projections. */
export function encodeBase(projections: readonly LayerProjection[]): Buffer {
  const list = projections.filter((p) => p.domain === 'w').sort((a, b) => a.id - b.id);
  const unique = list.filter((p, i) => i === 0 || (list[i - 1] as LayerProjection).id !== p.id);
  const out = Buffer.alloc(16 + unique.length * (4 + 8 * TFP_BITS));
  TFB_MAGIC.copy(out, 0);
  out.writeUInt32LE(TFP_BITS, 8);
  out.writeUInt32LE(unique.length, 12);
  let o = 16;
  for (const p of unique) {
    out.writeUInt32LE(p.id, o);
    o += 4;
    for (let k = 0; k < TFP_BITS; k++, o += 8) out.writeDoubleLE(p.sums[k] as number, o);
  }
  return out;
}

/** Parses a `.tfb` file. Throws WARD_ERR_MODEL_CORRUPT when it is not one. */
export function decodeBase(bytes: Uint8Array, label: string): TensorBase {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) =>
    new WardError('WARD_ERR_MODEL_CORRUPT', `Not a Ward base fingerprint file (.tfb): ${why}`, { path: label });
  if (b.length < 16 || !b.subarray(0, 8).equals(TFB_MAGIC)) throw bad('no WARDTFB1 magic');
  if (b.readUInt32LE(8) !== TFP_BITS) throw bad(`${b.readUInt32LE(8)} projections per layer (expected ${TFP_BITS})`);
  const n = b.readUInt32LE(12);
  if (n > MAX_LAYERS || b.length !== 16 + n * (4 + 8 * TFP_BITS)) throw bad('its layer count disagrees with its size');
  const layers = new Map<number, Float64Array>();
  let o = 16;
  for (let i = 0; i < n; i++) {
    const id = b.readUInt32LE(o);
    o += 4;
    const sums = new Float64Array(TFP_BITS);
    for (let k = 0; k < TFP_BITS; k++, o += 8) {
      const x = b.readDoubleLE(o);
      if (!Number.isFinite(x)) throw bad('a projection is not finite');
      sums[k] = x;
    }
    layers.set(id, sums);
  }
  return { label, layers };
}
