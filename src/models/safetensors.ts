/**
 * @module models/safetensors
 * The safetensors header: 8 bytes of little-endian header length N, N bytes of JSON (tensor name
 * → {dtype, shape, data_offsets}, plus an optional `__metadata__` of string → string), then the
 * data section, tensors at offsets relative to its start. Checked like the reference loader:
 * the length fits the file and the limit, the JSON starts with `{` and parses within the depth
 * limit, offsets lie inside the data section and do not overlap. Gaps, bytes after the last
 * tensor and sizes that disagree with dtype x shape are reported as issues (the reference refuses
 * them too; a scanner reports and goes on, since hidden bytes are worth a look).
 */
import { WardError } from '../errors.js';
import { isPlainObject, parseJson, setOwn } from './json.js';
import type { ModelLimits } from './limits.js';
import { type ByteSource, decodeUtf8Strict } from './source.js';

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the data section. */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the JSON header's byte length. */
  headerBytes: number;
  /** Where the data section starts: 8 + N (AutoV3 hashes from here). */
  dataOffset: number;
  /** `__metadata__`, values as strings (non-strings are kept as their JSON text). */
  metadata: Record<string, string>;
  tensors: SafetensorsTensor[];
  issues: string[];
}

/** Bytes per element (sub-byte float formats are left out: sizes are not checked for them). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  C64: 8,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Whether the first bytes look like a safetensors file: a sane header length, then `{` and a key (the reference requires `{` first). */
export function sniffSafetensors(head: Uint8Array, fileSize?: number): boolean {
  if (head.length < 10) return false;
  const lo =
    (head[0] as number) + (head[1] as number) * 2 ** 8 + (head[2] as number) * 2 ** 16 + (head[3] as number) * 2 ** 24;
  const hi =
    (head[4] as number) | ((head[5] as number) << 8) | ((head[6] as number) << 16) | ((head[7] as number) << 24);
  if (hi !== 0 || lo < 2) return false;
  if (fileSize !== undefined && 8 + lo > fileSize) return false;
  if (head[8] !== 0x7b) return false;
  // The JSON object's first key is a string (or the object is empty).
  let i = 9;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  return i >= head.length || head[i] === 0x22 || head[i] === 0x7d;
}

function corrupt(message: string, details: Record<string, unknown> = {}): WardError {
  return new WardError('WARD_ERR_MODEL_CORRUPT', message, details);
}

/** Reads and checks the header. Throws WARD_ERR_MODEL_CORRUPT or WARD_ERR_MODEL_LIMIT. */
export function readSafetensorsHeader(src: ByteSource, limits: ModelLimits): SafetensorsHeader {
  if (src.size < 8) throw corrupt(`Truncated safetensors file: ${src.size} bytes, no header length`);
  const lenBytes = src.read(0, 8);
  const lo =
    (lenBytes[0] as number) +
    (lenBytes[1] as number) * 2 ** 8 +
    (lenBytes[2] as number) * 2 ** 16 +
    (lenBytes[3] as number) * 2 ** 24;
  const hi =
    (lenBytes[4] as number) +
    (lenBytes[5] as number) * 2 ** 8 +
    (lenBytes[6] as number) * 2 ** 16 +
    (lenBytes[7] as number) * 2 ** 24;
  const n = hi * 2 ** 32 + lo;
  if (n > limits.maxHeaderBytes) {
    throw new WardError(
      'WARD_ERR_MODEL_LIMIT',
      `Safetensors header of ${n} bytes is over the limit of ${limits.maxHeaderBytes}`,
      { limit: limits.maxHeaderBytes, actual: n },
    );
  }
  if (8 + n > src.size) {
    throw corrupt(`Safetensors header length ${n} runs past the end of the ${src.size}-byte file`, {
      actual: n,
      limit: src.size - 8,
    });
  }
  const raw = src.read(8, n);
  if (raw[0] !== 0x7b) throw corrupt('Safetensors header does not start with `{`');
  const text = decodeUtf8Strict(raw);
  if (text === undefined) throw corrupt('Safetensors header is not valid UTF-8');
  const json = parseJson(text, 'Safetensors header', limits.maxJsonDepth);
  if (!isPlainObject(json)) throw corrupt('Safetensors header is not a JSON object');
  const dataOffset = 8 + n;
  const dataBytes = src.size - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  const issues: string[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(v)) throw corrupt('`__metadata__` is not an object');
      for (const [k, mv] of Object.entries(v)) setOwn(metadata, k, typeof mv === 'string' ? mv : JSON.stringify(mv));
      continue;
    }
    if (tensors.length >= limits.maxTensors) {
      throw new WardError('WARD_ERR_MODEL_LIMIT', `Safetensors header lists more than ${limits.maxTensors} tensors`, {
        limit: limits.maxTensors,
      });
    }
    if (!isPlainObject(v)) throw corrupt(`Tensor ${JSON.stringify(name.slice(0, 80))} is not an object`);
    const { dtype, shape, data_offsets: offsets } = v;
    if (typeof dtype !== 'string') throw corrupt(`Tensor ${JSON.stringify(name.slice(0, 80))} has no dtype`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(`Tensor ${JSON.stringify(name.slice(0, 80))} has an invalid shape`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw corrupt(`Tensor ${JSON.stringify(name.slice(0, 80))} has invalid data_offsets`);
    }
    if (offsets[1] > dataBytes) {
      throw corrupt(
        `Tensor ${JSON.stringify(name.slice(0, 80))} ends at data offset ${offsets[1]}, past the ${dataBytes}-byte data section`,
        { offset: dataOffset + offsets[1] },
      );
    }
    const size = DTYPE_BYTES[dtype];
    if (size !== undefined) {
      const elements = shape.reduce((a: number, d: number) => a * d, 1);
      if (elements * size !== offsets[1] - offsets[0] && issues.length < 20) {
        issues.push(
          `tensor ${JSON.stringify(name.slice(0, 80))}: ${offsets[1] - offsets[0]} bytes for ${elements} x ${dtype}`,
        );
      }
    } else if (issues.length < 20) {
      issues.push(`tensor ${JSON.stringify(name.slice(0, 80))}: unknown dtype ${JSON.stringify(dtype.slice(0, 20))}`);
    }
    tensors.push({ name, dtype, shape: shape as number[], offsets: [offsets[0], offsets[1]] as [number, number] });
  }
  // Overlaps are corrupt; gaps and a tail nothing covers are issues.
  const sorted = [...tensors].sort((a, b) => a.offsets[0] - b.offsets[0] || a.offsets[1] - b.offsets[1]);
  let end = 0;
  let gaps = 0;
  let prev: SafetensorsTensor | undefined;
  for (const t of sorted) {
    if (t.offsets[0] < end && t.offsets[1] > t.offsets[0]) {
      throw corrupt(
        `Tensors ${JSON.stringify(prev?.name.slice(0, 80))} and ${JSON.stringify(t.name.slice(0, 80))} overlap in the data section`,
        { offset: dataOffset + t.offsets[0] },
      );
    }
    if (t.offsets[0] > end) gaps += t.offsets[0] - end;
    if (t.offsets[1] > end) {
      end = t.offsets[1];
      prev = t;
    }
  }
  if (gaps > 0) issues.push(`${gaps} bytes between tensors are not covered by any tensor`);
  if (end < dataBytes) issues.push(`${dataBytes - end} bytes after the last tensor are not covered by any tensor`);
  return { headerBytes: n, dataOffset, metadata, tensors, issues };
}
