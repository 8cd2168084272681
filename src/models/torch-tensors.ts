/**
 * @module models/torch-tensors
 * Where a PyTorch zip checkpoint's tensors are, from its `data.pkl` opcodes, without unpickling:
 * a small symbolic machine builds only tuples, dicts, strings and numbers, recognises the
 * persistent ids `('storage', <torch.XStorage>, key, location, numel)` and the calls
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` (and
 * `_rebuild_parameter`, `collections.OrderedDict`) by the names of the globals they call, and
 * reads nothing else. Nothing is imported or called; any other global yields an opaque value.
 * The state dict's tensors then map to byte ranges of the stored `<archive>/data/<key>` entries
 * (element offset + strides), which models/tensorfp reads as the file streams past.
 */
import { type ByteSource, Cursor, decodeLatin1, decodeUtf8Strict } from './source.js';
import type { TensorRef } from './tensorfp.js';
import type { ZipEntry } from './zip.js';

type V =
  | { k: 'mark' }
  | { k: 'str'; s: string }
  | { k: 'int'; n: number }
  | { k: 'seq'; items: V[] }
  | { k: 'dict'; entries: [V, V][] }
  | { k: 'global'; name: string }
  | { k: 'storage'; key: string; dtype: string }
  | { k: 'tensor'; storage: { key: string; dtype: string }; offset: number; size: number[]; stride: number[] }
  | { k: 'other' };

const OTHER: V = { k: 'other' };
const MARK: V = { k: 'mark' };

const STORAGE_DTYPES: Readonly<Record<string, string>> = {
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.DoubleStorage': 'F64',
};

export interface TorchTensor {
  name: string;
  storageKey: string;
  dtype: string;
  offset: number;
  size: number[];
  stride: number[];
}

export interface TorchTensorLimits {
  /** Values on the stack and in containers (default 4,000,000). */
  maxValues: number;
}

const ELEMENT_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/**
 * The tensors of a torch.save pickle (the first pickle of `source`), named by their state-dict
 * keys (a top-level `state_dict` is entered). Stops quietly at anything it does not follow.
 */
export function torchTensors(source: ByteSource, limits: Partial<TorchTensorLimits> = {}): TorchTensor[] {
  const maxValues = limits.maxValues ?? 4_000_000;
  const cur = new Cursor(source, 0, 'pickle');
  const stack: V[] = [];
  const memo = new Map<number, V>();
  let values = 0;
  const push = (v: V) => {
    if (++values > maxValues) throw new Error('too many values');
    stack.push(v);
  };
  const pop = (): V => {
    const v = stack.pop();
    if (v === undefined || v.k === 'mark') throw new Error('underflow');
    return v;
  };
  const popMark = (): V[] => {
    const items: V[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) throw new Error('no mark');
      if (v.k === 'mark') return items.reverse();
      items.push(v);
    }
  };
  const top = (): V => {
    const v = stack[stack.length - 1];
    if (v === undefined || v.k === 'mark') throw new Error('underflow');
    return v;
  };
  const text = (n: number, utf8: boolean): V => {
    if (!Number.isFinite(n) || n < 0 || n > cur.remaining) throw new Error('length');
    if (n > 4096) {
      cur.skip(n);
      return OTHER;
    }
    const b = cur.bytes(n);
    const s = utf8 ? decodeUtf8Strict(b) : decodeLatin1(b);
    return s === undefined ? OTHER : { k: 'str', s };
  };
  const line = (): string => {
    const l = cur.line(4096);
    if (l === undefined) throw new Error('line');
    return decodeLatin1(l);
  };
  const call = (fn: V, args: V): V => {
    if (fn.k !== 'global') return OTHER;
    const a = args.k === 'seq' ? args.items : [];
    if (fn.name === 'torch._utils._rebuild_tensor_v2' || fn.name === 'torch._utils._rebuild_tensor') {
      const [st, off, size, stride] = a;
      if (st?.k !== 'storage' || off?.k !== 'int' || size?.k !== 'seq' || stride?.k !== 'seq') return OTHER;
      const ints = (s: { items: V[] }) => s.items.map((x) => (x.k === 'int' ? x.n : Number.NaN));
      return {
        k: 'tensor',
        storage: { key: st.key, dtype: st.dtype },
        offset: off.n,
        size: ints(size),
        stride: ints(stride),
      };
    }
    if (fn.name === 'torch._utils._rebuild_parameter' || fn.name === 'torch._utils._rebuild_parameter_with_state') {
      return a[0]?.k === 'tensor' ? a[0] : OTHER;
    }
    if (fn.name === 'collections.OrderedDict') return { k: 'dict', entries: [] };
    return OTHER;
  };
  let result: V | undefined;
  try {
    for (;;) {
      const op = cur.u8();
      switch (op) {
        case 0x80:
          cur.u8();
          break;
        case 0x95:
          cur.u64();
          break;
        case 0x2e:
          result = pop();
          break;
        case 0x28:
          push(MARK);
          break;
        case 0x30:
          stack.pop();
          break;
        case 0x31:
          popMark();
          break;
        case 0x32:
          push(top());
          break;
        case 0x4a:
          push({ k: 'int', n: cur.i32() });
          break;
        case 0x4b:
          push({ k: 'int', n: cur.u8() });
          break;
        case 0x4d:
          push({ k: 'int', n: cur.u16() });
          break;
        case 0x8a: {
          // LONG1: little-endian two's complement
          const n = cur.u8();
          const b = cur.bytes(n);
          let v = 0;
          for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[i] as number);
          if (n > 0 && (b[n - 1] as number) & 0x80) v -= 2 ** (8 * n);
          push(n <= 6 ? { k: 'int', n: v } : OTHER);
          break;
        }
        case 0x49: {
          const t = line().trim();
          push(/^[+-]?\d{1,15}$/.test(t) ? { k: 'int', n: Number(t) } : OTHER);
          break;
        }
        case 0x47:
          cur.skip(8);
          push(OTHER);
          break;
        case 0x4e:
        case 0x88:
        case 0x89:
        case 0x29:
          push(op === 0x29 ? { k: 'seq', items: [] } : OTHER);
          break;
        case 0x5d:
          push({ k: 'seq', items: [] });
          break;
        case 0x7d:
          push({ k: 'dict', entries: [] });
          break;
        case 0x58:
          push(text(cur.u32(), true));
          break;
        case 0x8c:
          push(text(cur.u8(), true));
          break;
        case 0x8d:
          push(text(cur.u64(), true));
          break;
        case 0x55:
          push(text(cur.u8(), false));
          break;
        case 0x54:
          push(text(cur.i32(), false));
          break;
        case 0x43:
          cur.skip(cur.u8());
          push(OTHER);
          break;
        case 0x42:
          cur.skip(cur.u32());
          push(OTHER);
          break;
        case 0x74:
        case 0x6c:
          push({ k: 'seq', items: popMark() });
          break;
        case 0x85:
          push({ k: 'seq', items: [pop()] });
          break;
        case 0x86: {
          const b = pop();
          push({ k: 'seq', items: [pop(), b] });
          break;
        }
        case 0x87: {
          const c = pop();
          const b = pop();
          push({ k: 'seq', items: [pop(), b, c] });
          break;
        }
        case 0x61: {
          const v = pop();
          const l = top();
          if (l.k === 'seq') l.items.push(v);
          break;
        }
        case 0x65: {
          const items = popMark();
          const l = top();
          if (l.k === 'seq') l.items.push(...items);
          break;
        }
        case 0x73: {
          const v = pop();
          const key = pop();
          const d = top();
          if (d.k === 'dict') d.entries.push([key, v]);
          break;
        }
        case 0x75: {
          const items = popMark();
          const d = top();
          if (d.k === 'dict')
            for (let i = 0; i + 1 < items.length; i += 2) d.entries.push([items[i] as V, items[i + 1] as V]);
          break;
        }
        case 0x64: {
          const items = popMark();
          const d: V = { k: 'dict', entries: [] };
          for (let i = 0; i + 1 < items.length; i += 2) d.entries.push([items[i] as V, items[i + 1] as V]);
          push(d);
          break;
        }
        case 0x71:
          memo.set(cur.u8(), top());
          break;
        case 0x72:
          memo.set(cur.u32(), top());
          break;
        case 0x94:
          memo.set(memo.size, top());
          break;
        case 0x68:
        case 0x6a: {
          const v = memo.get(op === 0x68 ? cur.u8() : cur.u32());
          if (!v) throw new Error('memo');
          push(v);
          break;
        }
        case 0x63: {
          const module = line();
          const name = line();
          push({ k: 'global', name: `${module}.${name}` });
          break;
        }
        case 0x93: {
          const name = pop();
          const module = pop();
          push(module.k === 'str' && name.k === 'str' ? { k: 'global', name: `${module.s}.${name.s}` } : OTHER);
          break;
        }
        case 0x51: {
          // BINPERSID: ('storage', storage type, key, location, numel)
          const pid = pop();
          const a = pid.k === 'seq' ? pid.items : [];
          const [tag, type, key] = a;
          if (tag?.k === 'str' && tag.s === 'storage' && type?.k === 'global' && key?.k === 'str') {
            push({ k: 'storage', key: key.s, dtype: STORAGE_DTYPES[type.name] ?? type.name });
          } else push(OTHER);
          break;
        }
        case 0x52: {
          const args = pop();
          push(call(pop(), args));
          break;
        }
        case 0x81: {
          pop();
          pop();
          push(OTHER);
          break;
        }
        case 0x62:
          pop();
          break;
        default:
          throw new Error('opcode');
      }
      if (result !== undefined) break;
    }
  } catch {
    // Anything not followed: what was built so far is used (nothing, usually).
  }
  const out: TorchTensor[] = [];
  const seen = new Set<V>();
  const collect = (v: V | undefined, prefix: string, depth: number) => {
    if (v?.k !== 'dict' || depth > 8 || seen.has(v)) return;
    seen.add(v);
    for (const [key, val] of v.entries) {
      if (key.k !== 'str') continue;
      if (val.k === 'tensor') {
        if (out.length < 1_000_000) {
          out.push({
            name: prefix + key.s,
            storageKey: val.storage.key,
            dtype: val.storage.dtype,
            offset: val.offset,
            size: val.size,
            stride: val.stride,
          });
        }
      } else if (val.k === 'dict') collect(val, `${prefix}${key.s}.`, depth + 1);
    }
  };
  collect(result, '', 0);
  return out.map((t) => (t.name.startsWith('state_dict.') ? { ...t, name: t.name.slice('state_dict.'.length) } : t));
}

/**
 * Locates torch tensors in their zip's storage entries (`<prefix>/data/<key>`, stored, not
 * deflated). Tensors whose storage is missing, deflated or too small, or whose sizes and strides
 * are not sane, are left out (counted in `skipped`).
 */
export function locateTorchTensors(
  tensors: readonly TorchTensor[],
  entries: readonly ZipEntry[],
  pklName: string,
): { refs: TensorRef[]; skipped: number } {
  const prefix = pklName.replace(/data\.pkl$/, '');
  const byName = new Map(entries.map((e) => [e.name, e]));
  const refs: TensorRef[] = [];
  let skipped = 0;
  for (const t of tensors) {
    const e = byName.get(`${prefix}data/${t.storageKey}`);
    const size = ELEMENT_BYTES[t.dtype];
    const ok =
      e !== undefined &&
      e.method === 0 &&
      size !== undefined &&
      t.size.length === t.stride.length &&
      Number.isSafeInteger(t.offset) &&
      t.offset >= 0 &&
      t.size.every((d) => Number.isSafeInteger(d) && d > 0 && d < 2 ** 31) &&
      t.stride.every((d) => Number.isSafeInteger(d) && d >= 0 && d < 2 ** 40);
    if (!ok) {
      skipped++;
      continue;
    }
    const entry = e as ZipEntry;
    const el = size as number;
    let last = t.offset;
    for (let d = 0; d < t.size.length; d++) last += ((t.size[d] as number) - 1) * (t.stride[d] as number);
    if ((last + 1) * el > entry.compressedSize) {
      skipped++;
      continue;
    }
    const base = entry.dataOffset + t.offset * el;
    const shape = t.size;
    const stride = t.stride;
    const contiguous = stride.every((s, d) => s === shape.slice(d + 1).reduce((a, x) => a * x, 1));
    const n = shape.reduce((a, x) => a * x, 1);
    refs.push({
      name: t.name,
      dtype: t.dtype,
      shape,
      start: base,
      // For views the range is where the elements lie; a view's range is its span, which holds them.
      end: contiguous ? base + n * el : Math.max(base + (last - t.offset + 1) * el, base + n * el),
      contiguous,
      address: contiguous
        ? (i) => base + i * el
        : (i) => {
            let off = 0;
            let rest = i;
            for (let d = shape.length - 1; d >= 0; d--) {
              const dim = shape[d] as number;
              off += (rest % dim) * (stride[d] as number);
              rest = Math.floor(rest / dim);
            }
            return base + off * el;
          },
    });
  }
  return { refs, skipped };
}
