/**
 * Synthetic LoRAs and checkpoints for the weight-fingerprint tests (seeded random numbers only:
 * no real model): SD 1.5's layer shapes, factors with a decaying spectrum (as trained LoRAs
 * have), written as safetensors (fp32/fp16/bf16, kohya / diffusers / PEFT key names) or as a
 * PyTorch zip checkpoint (data.pkl + stored storages, the layout torch.save writes), and the
 * linear algebra the tests need (R·R⁻¹ refactorisation, rank resizing by SVD, merging).
 */
import { storedZip } from '../../src/demo/archives.js';

/** A seeded uniform generator in [0, 1) (xorshift128+-like, 32-bit). */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 1;
  let b = (seed * 2654435761) >>> 0 || 2;
  return () => {
    let t = a ^ (a << 11);
    a = b;
    b = (b ^ (b >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    t = b;
    return t / 4294967296;
  };
}

/** Approximately normal numbers (sum of 4 uniforms, centred, unit variance). */
export function normal(next: () => number): () => number {
  return () => (next() + next() + next() + next() - 2) * Math.sqrt(3);
}

/** One SD 1.5 layer a LoRA targets: diffusers module path (dots), output and input widths. */
export interface LayerShape {
  component: 'unet' | 'te';
  path: string;
  /** ldm (original checkpoint) name of the weight. */
  ldm: string;
  out: number;
  in: number;
}

const UNET_BLOCKS: { diffusers: string; ldm: string; dim: number }[] = [];
for (const [i, dim] of [320, 640, 1280].entries()) {
  for (const j of [0, 1]) {
    UNET_BLOCKS.push({ diffusers: `down_blocks.${i}.attentions.${j}`, ldm: `input_blocks.${3 * i + j + 1}.1`, dim });
  }
}
UNET_BLOCKS.push({ diffusers: 'mid_block.attentions.0', ldm: 'middle_block.1', dim: 1280 });
for (const [i, dim] of [1280, 640, 320].entries()) {
  for (const j of [0, 1, 2]) {
    UNET_BLOCKS.push({
      diffusers: `up_blocks.${i + 1}.attentions.${j}`,
      ldm: `output_blocks.${3 * (i + 1) + j}.1`,
      dim,
    });
  }
}

/** SD 1.5's LoRA-targeted layers (kohya's default set: 192 UNet + 72 text-encoder layers). */
export function sd15Layers(filter: (l: LayerShape) => boolean = () => true): LayerShape[] {
  const out: LayerShape[] = [];
  for (const b of UNET_BLOCKS) {
    const d = b.dim;
    const t = 'transformer_blocks.0';
    const sub: [string, number, number][] = [
      ['proj_in', d, d],
      [`${t}.attn1.to_q`, d, d],
      [`${t}.attn1.to_k`, d, d],
      [`${t}.attn1.to_v`, d, d],
      [`${t}.attn1.to_out.0`, d, d],
      [`${t}.attn2.to_q`, d, d],
      [`${t}.attn2.to_k`, d, 768],
      [`${t}.attn2.to_v`, d, 768],
      [`${t}.attn2.to_out.0`, d, d],
      [`${t}.ff.net.0.proj`, 8 * d, d],
      [`${t}.ff.net.2`, d, 4 * d],
      ['proj_out', d, d],
    ];
    for (const [p, o, i] of sub) {
      out.push({
        component: 'unet',
        path: `${b.diffusers}.${p}`,
        ldm: `model.diffusion_model.${b.ldm}.${p}`,
        out: o,
        in: i,
      });
    }
  }
  for (let n = 0; n < 12; n++) {
    const base = `text_model.encoder.layers.${n}`;
    const sub: [string, number, number][] = [
      ['self_attn.q_proj', 768, 768],
      ['self_attn.k_proj', 768, 768],
      ['self_attn.v_proj', 768, 768],
      ['self_attn.out_proj', 768, 768],
      ['mlp.fc1', 3072, 768],
      ['mlp.fc2', 768, 3072],
    ];
    for (const [p, o, i] of sub) {
      out.push({
        component: 'te',
        path: `${base}.${p}`,
        ldm: `cond_stage_model.transformer.${base}.${p}`,
        out: o,
        in: i,
      });
    }
  }
  return out.filter(filter);
}

/** One LoRA layer: up [out, r], down [r, in], alpha. Row-major Float64Arrays. */
export interface LoraLayer {
  shape: LayerShape;
  rank: number;
  up: Float64Array;
  down: Float64Array;
  alpha: number;
}

/** A random LoRA: factors with singular values decaying by `decay` per rank (trained LoRAs do). */
export function randomLora(layers: LayerShape[], rank: number, seed: number, decay = 0.7, fast = false): LoraLayer[] {
  const u = rng(seed);
  // `fast`: centred uniform numbers (a quarter of the generator calls; the fingerprint does not care).
  const n = fast ? () => (u() - 0.5) * 3.4641 : normal(u);
  return layers.map((shape) => {
    const up = new Float64Array(shape.out * rank);
    const down = new Float64Array(rank * shape.in);
    for (let i = 0; i < shape.out; i++) for (let q = 0; q < rank; q++) up[i * rank + q] = n() * 0.01 * decay ** q;
    for (let i = 0; i < down.length; i++) down[i] = n() * 0.05;
    return { shape, rank, up, down, alpha: rank / 2 };
  });
}

export type Naming = 'kohya' | 'diffusers' | 'peft' | 'processor';

function names(l: LayerShape, naming: Naming): { up: string; down: string; alpha?: string } {
  if (naming === 'kohya') {
    const m = `lora_${l.component === 'unet' ? 'unet' : 'te'}_${l.path.replace(/\./g, '_')}`;
    return { up: `${m}.lora_up.weight`, down: `${m}.lora_down.weight`, alpha: `${m}.alpha` };
  }
  if (naming === 'diffusers') {
    const m = `${l.component === 'unet' ? 'unet' : 'text_encoder'}.${l.path}`;
    return { up: `${m}.lora.up.weight`, down: `${m}.lora.down.weight` };
  }
  if (naming === 'processor' && l.component === 'unet') {
    const m = l.path.replace(/\.(to_[qkv]|to_out\.0)$/, (_, p: string) => `.processor.${p.replace('.0', '')}_lora`);
    if (m !== l.path) return { up: `${m}.up.weight`, down: `${m}.down.weight` };
  }
  const m = l.component === 'unet' ? `base_model.model.${l.path}` : `text_encoder.${l.path}`;
  return { up: `${m}.lora_B.weight`, down: `${m}.lora_A.weight` };
}

export type Dtype = 'F32' | 'F16' | 'BF16';

const conv = new Float32Array(1);
const convU = new Uint32Array(conv.buffer);

function f32ToF16(x: number): number {
  conv[0] = x;
  const u = convU[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) !== 0 || h & 1)) h++;
    return sign | h;
  }
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || h & 1)) h++;
  return h;
}

/** Encodes numbers in a dtype (round to nearest even, as torch does). */
export function encode(values: ArrayLike<number>, dtype: Dtype): Buffer {
  if (dtype === 'F32') return Buffer.from(Float32Array.from(values).buffer);
  const out = Buffer.alloc(values.length * 2);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'F16') out.writeUInt16LE(f32ToF16(values[i] as number), i * 2);
    else {
      f[0] = values[i] as number;
      const x = u[0] as number;
      out.writeUInt16LE(((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff, i * 2);
    }
  }
  return out;
}

export interface NamedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Buffer;
}

/** A LoRA's tensors in a naming and dtype (PEFT files carry no alpha: scale 1 changes no bit). */
export function loraTensors(lora: LoraLayer[], naming: Naming, dtype: Dtype = 'F32'): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const l of lora) {
    const n = names(l.shape, naming);
    out.push({ name: n.down, dtype, shape: [l.rank, l.shape.in], data: encode(l.down, dtype) });
    out.push({ name: n.up, dtype, shape: [l.shape.out, l.rank], data: encode(l.up, dtype) });
    if (n.alpha) out.push({ name: n.alpha, dtype, shape: [], data: encode([l.alpha], dtype) });
  }
  return out;
}

/** A safetensors file of tensors (header sorted by name, as safetensors writes it). */
export function safetensorsFile(tensors: NamedTensor[], metadata?: Record<string, string>): Buffer {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of sorted) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...sorted.map((t) => t.data)]);
}

const STORAGE: Record<Dtype, string> = { F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage' };

function binunicode(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('X'), n, b]);
}

function binint(n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0x4a;
  b.writeInt32LE(n, 1);
  return b;
}

function intTuple(xs: number[]): Buffer {
  return Buffer.concat([Buffer.from('('), ...xs.map(binint), Buffer.from('t')]);
}

/**
 * A PyTorch zip checkpoint (`torch.save(state_dict)` layout: `archive/data.pkl`, protocol 2,
 * `_rebuild_tensor_v2` over persistent-id storages, and `archive/data/<key>` stored entries).
 * `wrap` nests the dict under `state_dict` like Lightning checkpoints.
 */
export function torchCheckpoint(tensors: NamedTensor[], wrap = false): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 2])];
  if (wrap) parts.push(Buffer.from('}'), binunicode('state_dict'));
  parts.push(Buffer.from('ccollections\nOrderedDict\n)R('));
  const storages: { name: string; bytes: Uint8Array }[] = [];
  for (const [i, t] of tensors.entries()) {
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, x) => a * x, 1));
    const numel = t.shape.reduce((a, x) => a * x, 1);
    parts.push(
      binunicode(t.name),
      Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n('),
      Buffer.from('('),
      binunicode('storage'),
      Buffer.from(`ctorch\n${STORAGE[t.dtype]}\n`),
      binunicode(String(i)),
      binunicode('cpu'),
      binint(numel),
      Buffer.from('tQ'),
      binint(0),
      intTuple(t.shape),
      intTuple(stride),
      Buffer.from([0x89]),
      Buffer.from('ccollections\nOrderedDict\n)R'),
      Buffer.from('tR'),
    );
    storages.push({ name: `archive/data/${i}`, bytes: t.data });
  }
  parts.push(Buffer.from('u'));
  if (wrap) parts.push(Buffer.from('s'));
  parts.push(Buffer.from('.'));
  return storedZip([
    { name: 'archive/data.pkl', bytes: Buffer.concat(parts) },
    ...storages,
    { name: 'archive/version', bytes: Buffer.from('3\n') },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Linear algebra on small factors.

/** Inverse of an r x r matrix (Gauss-Jordan with partial pivoting). */
export function inverse(m: Float64Array, r: number): Float64Array {
  const a = Float64Array.from(m);
  const inv = new Float64Array(r * r);
  for (let i = 0; i < r; i++) inv[i * r + i] = 1;
  for (let c = 0; c < r; c++) {
    let p = c;
    for (let i = c + 1; i < r; i++) if (Math.abs(a[i * r + c] as number) > Math.abs(a[p * r + c] as number)) p = i;
    for (let k = 0; k < r; k++) {
      [a[c * r + k], a[p * r + k]] = [a[p * r + k] as number, a[c * r + k] as number];
      [inv[c * r + k], inv[p * r + k]] = [inv[p * r + k] as number, inv[c * r + k] as number];
    }
    const d = a[c * r + c] as number;
    for (let k = 0; k < r; k++) {
      a[c * r + k] = (a[c * r + k] as number) / d;
      inv[c * r + k] = (inv[c * r + k] as number) / d;
    }
    for (let i = 0; i < r; i++) {
      if (i === c) continue;
      const f = a[i * r + c] as number;
      for (let k = 0; k < r; k++) {
        a[i * r + k] = (a[i * r + k] as number) - f * (a[c * r + k] as number);
        inv[i * r + k] = (inv[i * r + k] as number) - f * (inv[c * r + k] as number);
      }
    }
  }
  return inv;
}

/** a [n, k] x b [k, m]. */
export function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < k; q++) {
      const x = a[i * k + q] as number;
      if (x === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] as number) + x * (b[q * m + j] as number);
    }
  }
  return out;
}

/** The same update refactored: up·R and R⁻¹·down for a random well-conditioned R. */
export function refactor(lora: LoraLayer[], seed: number): LoraLayer[] {
  const n = normal(rng(seed));
  return lora.map((l) => {
    const r = l.rank;
    const R = new Float64Array(r * r);
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) R[i * r + j] = (i === j ? 2 : 0) + 0.5 * n();
    return {
      ...l,
      up: matmul(l.up, R, l.shape.out, r, r),
      down: matmul(inverse(R, r), l.down, r, r, l.shape.in),
    };
  });
}

/** Thin QR by modified Gram-Schmidt: a [n, r] → q [n, r], upper-triangular rr [r, r]. */
function qr(a: Float64Array, n: number, r: number): { q: Float64Array; rr: Float64Array } {
  const q = Float64Array.from(a);
  const rr = new Float64Array(r * r);
  for (let j = 0; j < r; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += (q[k * r + i] as number) * (q[k * r + j] as number);
      rr[i * r + j] = dot;
      for (let k = 0; k < n; k++) q[k * r + j] = (q[k * r + j] as number) - dot * (q[k * r + i] as number);
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += (q[k * r + j] as number) ** 2;
    norm = Math.sqrt(norm);
    rr[j * r + j] = norm;
    for (let k = 0; k < n; k++) q[k * r + j] = (q[k * r + j] as number) / (norm || 1);
  }
  return { q, rr };
}

/** SVD of a small r x r matrix by one-sided Jacobi: m = u·diag(s)·vᵀ, s descending. */
function smallSvd(m: Float64Array, r: number): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(r * r);
  for (let i = 0; i < r; i++) v[i * r + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < r; p++) {
      for (let q = p + 1; q < r; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < r; k++) {
          const x = a[k * r + p] as number;
          const y = a[k * r + q] as number;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta || 1));
        if (Math.abs(gamma) < 1e-300) continue;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < r; k++) {
          const x = a[k * r + p] as number;
          const y = a[k * r + q] as number;
          a[k * r + p] = c * x - s * y;
          a[k * r + q] = s * x + c * y;
          const vx = v[k * r + p] as number;
          const vy = v[k * r + q] as number;
          v[k * r + p] = c * vx - s * vy;
          v[k * r + q] = s * vx + c * vy;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const s = new Float64Array(r);
  for (let j = 0; j < r; j++) {
    let n = 0;
    for (let k = 0; k < r; k++) n += (a[k * r + j] as number) ** 2;
    s[j] = Math.sqrt(n);
  }
  const order = [...s.keys()].sort((x, y) => (s[y] as number) - (s[x] as number));
  const u = new Float64Array(r * r);
  const vs = new Float64Array(r * r);
  const ss = new Float64Array(r);
  for (const [jj, j] of order.entries()) {
    ss[jj] = s[j] as number;
    for (let k = 0; k < r; k++) {
      u[k * r + jj] = (a[k * r + j] as number) / ((s[j] as number) || 1);
      vs[k * r + jj] = v[k * r + j] as number;
    }
  }
  return { u, s: ss, v: vs };
}

/**
 * Rank resizing by SVD, as resize tools do (the update's best rank-k approximation; computed
 * through QR of the factors, which is the same SVD): up' = U_k·sqrt(S_k), down' = sqrt(S_k)·V_kᵀ.
 * Alpha becomes k (scale 1 on the new factors; the old scale folded in).
 */
export function resizeRank(lora: LoraLayer[], k: number): LoraLayer[] {
  return lora.map((l) => {
    const r = l.rank;
    const scale = l.alpha / r;
    const { q: qu, rr: ru } = qr(l.up, l.shape.out, r);
    // downᵀ [in, r]
    const dt = new Float64Array(l.shape.in * r);
    for (let i = 0; i < r; i++)
      for (let j = 0; j < l.shape.in; j++) dt[j * r + i] = l.down[i * l.shape.in + j] as number;
    const { q: qd, rr: rd } = qr(dt, l.shape.in, r);
    // ΔW = qu · (ru · rdᵀ) · qdᵀ
    const rdt = new Float64Array(r * r);
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) rdt[i * r + j] = rd[j * r + i] as number;
    const core = matmul(ru, rdt, r, r, r);
    const { u, s, v } = smallSvd(core, r);
    const up = new Float64Array(l.shape.out * k);
    const down = new Float64Array(k * l.shape.in);
    const uu = matmul(qu, u, l.shape.out, r, r);
    const vv = matmul(qd, v, l.shape.in, r, r);
    for (let j = 0; j < k; j++) {
      const w = Math.sqrt((s[j] as number) * scale);
      for (let i = 0; i < l.shape.out; i++) up[i * k + j] = (uu[i * r + j] as number) * w;
      for (let i = 0; i < l.shape.in; i++) down[j * l.shape.in + i] = (vv[i * r + j] as number) * w;
    }
    return { ...l, rank: k, up, down, alpha: k };
  });
}

/** ΔW of a layer, dense [out, in], scale alpha/rank included. */
export function deltaOf(l: LoraLayer): Float64Array {
  const d = matmul(l.up, l.down, l.shape.out, l.rank, l.shape.in);
  const s = l.alpha / l.rank;
  for (let i = 0; i < d.length; i++) d[i] = (d[i] as number) * s;
  return d;
}

/** Random base weights for layers (ldm names), plus untouched conv layers, as checkpoint tensors. */
export function baseWeights(
  layers: LayerShape[],
  seed: number,
): Map<string, { shape: number[]; values: Float64Array }> {
  const n = normal(rng(seed));
  const out = new Map<string, { shape: number[]; values: Float64Array }>();
  for (const l of layers) {
    const values = new Float64Array(l.out * l.in);
    for (let i = 0; i < values.length; i++) values[i] = n() * 0.02;
    // ldm proj_in/proj_out are 1x1 convolutions in SD 1.x.
    const shape = /proj_(in|out)$/.test(l.ldm) ? [l.out, l.in, 1, 1] : [l.out, l.in];
    out.set(`${l.ldm}.weight`, { shape, values });
  }
  for (const name of [
    'model.diffusion_model.input_blocks.1.0.in_layers.2',
    'model.diffusion_model.input_blocks.2.0.out_layers.3',
  ]) {
    const values = new Float64Array(320 * 320 * 9);
    for (let i = 0; i < values.length; i++) values[i] = n() * 0.02;
    out.set(`${name}.weight`, { shape: [320, 320, 3, 3], values });
  }
  return out;
}

/** Checkpoint tensors from weights (a dtype for all). */
export function checkpointTensors(
  weights: Map<string, { shape: number[]; values: Float64Array }>,
  dtype: Dtype = 'F16',
): NamedTensor[] {
  return [...weights].map(([name, w]) => ({ name, dtype, shape: w.shape, data: encode(w.values, dtype) }));
}

/** W' = W + s·ΔW for the LoRA's layers. */
export function merge(
  weights: Map<string, { shape: number[]; values: Float64Array }>,
  lora: LoraLayer[],
  strength: number,
): Map<string, { shape: number[]; values: Float64Array }> {
  const out = new Map(weights);
  for (const l of lora) {
    const key = `${l.shape.ldm}.weight`;
    const w = weights.get(key);
    if (!w) continue;
    const d = deltaOf(l);
    const values = Float64Array.from(w.values);
    for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + strength * (d[i] as number);
    out.set(key, { shape: w.shape, values });
  }
  return out;
}
