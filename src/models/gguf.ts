/**
 * @module models/gguf
 * GGUF (llama.cpp and friends): `GGUF`, a version (1-3), tensor and key counts, typed metadata
 * key/value pairs, tensor infos (name, dimensions, ggml type, offset), then the aligned data
 * section. Counts and lengths come from the file, so each is checked against the bytes that
 * remain before anything is looped over or kept: a forged count cannot make the parser spin or
 * allocate. Big arrays (tokenizer vocabularies) are walked and summarised, not kept.
 */
import { WardError } from '../errors.js';
import { setOwn } from './json.js';
import type { ModelLimits } from './limits.js';
import { type ByteSource, Cursor, decodeUtf8 } from './source.js';

export interface GgufTensor {
  name: string;
  shape: number[];
  /** ggml type id (0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 12 Q4_K, 30 BF16...). */
  type: number;
  /** Relative to the data section. */
  offset: number;
}

export interface GgufInfo {
  version: number;
  /** Metadata: scalars as numbers/booleans/strings; long arrays as `{type, itemType, length}`. */
  metadata: Record<string, unknown>;
  tensors: GgufTensor[];
  alignment: number;
  dataOffset: number;
  issues: string[];
}

const MAGIC = 0x46554747; // "GGUF" little-endian
/** Array elements kept in the metadata (longer arrays are summarised). */
const KEEP_ARRAY = 16;
const MAX_ARRAY_NESTING = 8;

/** Bytes per element of the fixed-size value types (8 string, 9 array: variable). */
const VALUE_BYTES: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const VALUE_TYPE_NAMES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
];

/** [elements per block, bytes per block] of ggml types whose layout is certain; others are not size-checked. */
const GGML_BLOCKS: Readonly<Record<number, [number, number]>> = {
  0: [1, 4], // F32
  1: [1, 2], // F16
  2: [32, 18], // Q4_0
  3: [32, 20], // Q4_1
  6: [32, 22], // Q5_0
  7: [32, 24], // Q5_1
  8: [32, 34], // Q8_0
  10: [256, 84], // Q2_K
  11: [256, 110], // Q3_K
  12: [256, 144], // Q4_K
  13: [256, 176], // Q5_K
  14: [256, 210], // Q6_K
  15: [256, 292], // Q8_K
  24: [1, 1], // I8
  25: [1, 2], // I16
  26: [1, 4], // I32
  27: [1, 8], // I64
  28: [1, 8], // F64
  30: [1, 2], // BF16
};

export function sniffGguf(head: Uint8Array): boolean {
  return head.length >= 8 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

function corrupt(message: string, offset?: number): WardError {
  return new WardError('WARD_ERR_MODEL_CORRUPT', message, offset === undefined ? {} : { offset });
}

export function readGguf(src: ByteSource, limits: ModelLimits): GgufInfo {
  const cur = new Cursor(src, 0, 'GGUF file');
  if (cur.u32() !== MAGIC) throw corrupt('Not a GGUF file (no GGUF magic)');
  const version = cur.u32();
  if (version < 1 || version > 3) {
    throw new WardError(
      'WARD_ERR_MODEL_UNSUPPORTED',
      version > 0xffff ? 'Big-endian GGUF is not supported' : `GGUF version ${version} is not supported`,
    );
  }
  const v1 = version === 1;
  const count = (): number => (v1 ? cur.u32() : cur.u64());
  const tensorCount = count();
  const keyCount = count();
  if (keyCount > limits.maxGgufKeys) {
    throw new WardError('WARD_ERR_MODEL_LIMIT', `GGUF has ${keyCount} metadata keys, over ${limits.maxGgufKeys}`, {
      limit: limits.maxGgufKeys,
      actual: keyCount,
    });
  }
  if (tensorCount > limits.maxTensors) {
    throw new WardError('WARD_ERR_MODEL_LIMIT', `GGUF lists ${tensorCount} tensors, over ${limits.maxTensors}`, {
      limit: limits.maxTensors,
      actual: tensorCount,
    });
  }
  // Each key/value takes at least 12 bytes (v1: 8), each tensor info at least 24.
  if (keyCount * (v1 ? 8 : 12) + tensorCount * (v1 ? 16 : 24) > cur.remaining) {
    throw corrupt(`GGUF declares ${keyCount} keys and ${tensorCount} tensors: more than the file holds`);
  }
  const issues: string[] = [];
  const stringLength = (): number => {
    const n = v1 ? cur.u32() : cur.u64();
    if (n > cur.remaining) throw corrupt(`GGUF string of ${n} bytes runs past the end`, cur.pos);
    return n;
  };
  const readString = (): string | { skipped: number } => {
    const n = stringLength();
    if (n > limits.maxStringBytes) {
      cur.skip(n);
      return { skipped: n };
    }
    return decodeUtf8(cur.bytes(n));
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case 0:
        return cur.u8();
      case 1: {
        const b = cur.u8();
        return b >= 128 ? b - 256 : b;
      }
      case 2:
        return cur.u16();
      case 3: {
        const v = cur.u16();
        return v >= 32768 ? v - 65536 : v;
      }
      case 4:
        return cur.u32();
      case 5:
        return cur.i32();
      case 6:
        return cur.f32();
      case 7:
        return cur.u8() !== 0;
      case 10:
        return cur.u64();
      case 11:
        return cur.i64();
      case 12:
        return cur.f64();
      default:
        throw corrupt(`Unknown GGUF value type ${type}`, cur.pos);
    }
  };
  const value = (type: number, nesting: number): unknown => {
    if (type === 8) {
      const s = readString();
      return typeof s === 'string' ? s : `<string of ${s.skipped} bytes>`;
    }
    if (type !== 9) return scalar(type);
    if (nesting >= MAX_ARRAY_NESTING) throw corrupt('GGUF arrays nested too deep', cur.pos);
    const itemType = cur.u32();
    const n = v1 ? cur.u32() : cur.u64();
    const fixed = VALUE_BYTES[itemType];
    const minBytes = fixed ?? (itemType === 8 ? (v1 ? 4 : 8) : 12);
    if (!Number.isFinite(n) || n * minBytes > cur.remaining) {
      throw corrupt(`GGUF array of ${n} elements runs past the end`, cur.pos);
    }
    if (itemType !== 8 && itemType !== 9 && fixed === undefined)
      throw corrupt(`Unknown GGUF value type ${itemType}`, cur.pos);
    if (n <= KEEP_ARRAY) {
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) items.push(value(itemType, nesting + 1));
      return items;
    }
    if (fixed !== undefined) cur.skip(n * fixed);
    else for (let i = 0; i < n; i++) value(itemType, nesting + 1);
    return { type: 'array', itemType: VALUE_TYPE_NAMES[itemType], length: n };
  };
  const metadata: Record<string, unknown> = {};
  for (let i = 0; i < keyCount; i++) {
    const key = readString();
    const type = cur.u32();
    const v = value(type, 0);
    if (typeof key === 'string') setOwn(metadata, key, v);
  }
  const tensors: GgufTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = readString();
    const dims = cur.u32();
    if (dims > 8) throw corrupt(`GGUF tensor with ${dims} dimensions`, cur.pos);
    const shape: number[] = [];
    for (let d = 0; d < dims; d++) shape.push(cur.u64());
    const type = cur.u32();
    const offset = cur.u64();
    tensors.push({ name: typeof name === 'string' ? name : `<name of ${name.skipped} bytes>`, shape, type, offset });
  }
  const align = metadata['general.alignment'];
  const alignment = typeof align === 'number' && Number.isInteger(align) && align > 0 && align <= 1 << 20 ? align : 32;
  const dataOffset = Math.ceil(cur.pos / alignment) * alignment;
  if (dataOffset > src.size && tensorCount > 0) throw corrupt('GGUF data section starts past the end of the file');
  const dataBytes = src.size - dataOffset;
  const ranges: [number, number, string][] = [];
  for (const t of tensors) {
    if (!Number.isFinite(t.offset) || t.offset > dataBytes) {
      throw corrupt(`GGUF tensor ${JSON.stringify(t.name.slice(0, 80))} starts past the end of the data section`);
    }
    if (t.offset % alignment !== 0 && issues.length < 20) {
      issues.push(`tensor ${JSON.stringify(t.name.slice(0, 80))} is not aligned to ${alignment}`);
    }
    const block = GGML_BLOCKS[t.type];
    if (block) {
      const elements = t.shape.reduce((a, d) => a * d, 1);
      const bytes = Math.ceil(elements / block[0]) * block[1];
      if (!Number.isFinite(bytes) || t.offset + bytes > dataBytes) {
        throw corrupt(`GGUF tensor ${JSON.stringify(t.name.slice(0, 80))} runs past the end of the data section`);
      }
      ranges.push([t.offset, t.offset + bytes, t.name]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    const [start, , name] = ranges[i] as [number, number, string];
    const prev = ranges[i - 1] as [number, number, string];
    if (start < prev[1]) {
      throw corrupt(
        `GGUF tensors ${JSON.stringify(prev[2].slice(0, 80))} and ${JSON.stringify(name.slice(0, 80))} overlap`,
      );
    }
  }
  return { version, metadata, tensors, alignment, dataOffset, issues };
}
