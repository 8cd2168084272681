/**
 * Model files built from scratch for tests (benign bytes only): safetensors with any header,
 * GGUF with typed metadata and tensor infos, pickles assembled opcode by opcode (never loaded by
 * anything: Ward only walks them), and folders of diffusers and PEFT layouts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TensorSpec {
  name: string;
  dtype?: string;
  shape: number[];
  /** Bytes of data (default: zeros of dtype x shape). */
  bytes?: number;
  /** Explicit data_offsets (default: packed in order). */
  offsets?: [number, number];
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, U8: 1, I64: 8 };

/** A safetensors file: 8-byte length, JSON header (optionally padded), data. */
export function safetensorsOf(
  tensors: TensorSpec[],
  metadata?: Record<string, string>,
  opts: { pad?: number; extraData?: number; seed?: number } = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = t.bytes ?? (DTYPE_BYTES[t.dtype ?? 'F32'] ?? 4) * t.shape.reduce((a, b) => a * b, 1);
    const offsets = t.offsets ?? [offset, offset + n];
    header[t.name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: offsets };
    offset = Math.max(offset, offsets[1]);
  }
  const json = Buffer.from(JSON.stringify(header) + ' '.repeat(opts.pad ?? 0), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.alloc(offset + (opts.extraData ?? 0));
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7 + (opts.seed ?? 0)) & 0xff;
  return Buffer.concat([len, json, data]);
}

/** A safetensors file whose header is `raw` exactly (declared length may lie). */
export function rawSafetensors(raw: string | Buffer, declared?: number, data = Buffer.alloc(0)): Buffer {
  const json = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(declared ?? json.length));
  return Buffer.concat([len, json, data]);
}

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'u64'; value: number }
  | { type: 'array-string'; value: string[] }
  | { type: 'array-i32'; value: number[] };

export interface GgufSpec {
  version?: number;
  kv: [string, GgufValue][];
  tensors?: { name: string; shape: number[]; type: number; offset: number }[];
  alignment?: number;
  dataBytes?: number;
  /** Override the counts written in the header. */
  tensorCount?: number;
  keyCount?: number;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function gstr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(b.length), b]);
}

function gvalue(v: GgufValue): Buffer {
  switch (v.type) {
    case 'u32':
      return Buffer.concat([u32(4), u32(v.value)]);
    case 'i32': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v.value);
      return Buffer.concat([u32(5), b]);
    }
    case 'f32': {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v.value);
      return Buffer.concat([u32(6), b]);
    }
    case 'bool':
      return Buffer.concat([u32(7), Buffer.from([v.value ? 1 : 0])]);
    case 'string':
      return Buffer.concat([u32(8), gstr(v.value)]);
    case 'u64':
      return Buffer.concat([u32(10), u64(v.value)]);
    case 'array-string':
      return Buffer.concat([u32(9), u32(8), u64(v.value.length), ...v.value.map(gstr)]);
    case 'array-i32':
      return Buffer.concat([
        u32(9),
        u32(5),
        u64(v.value.length),
        ...v.value.map((x) => {
          const b = Buffer.alloc(4);
          b.writeInt32LE(x);
          return b;
        }),
      ]);
  }
}

/** A GGUF v3 (or v2) file. */
export function ggufOf(spec: GgufSpec): Buffer {
  const tensors = spec.tensors ?? [];
  const parts: Buffer[] = [
    Buffer.from('GGUF'),
    u32(spec.version ?? 3),
    u64(spec.tensorCount ?? tensors.length),
    u64(spec.keyCount ?? spec.kv.length),
  ];
  for (const [k, v] of spec.kv) parts.push(gstr(k), gvalue(v));
  for (const t of tensors) {
    parts.push(gstr(t.name), u32(t.shape.length), ...t.shape.map((d) => u64(d)), u32(t.type), u64(t.offset));
  }
  let head = Buffer.concat(parts);
  const align = spec.alignment ?? 32;
  const padded = Math.ceil(head.length / align) * align;
  head = Buffer.concat([head, Buffer.alloc(padded - head.length)]);
  return Buffer.concat([head, Buffer.alloc(spec.dataBytes ?? 0, 1)]);
}

/** Pickle bytes from opcode pieces: strings are latin-1, numbers single bytes. */
export function pk(...parts: (string | number | Uint8Array)[]): Buffer {
  return Buffer.concat(
    parts.map((p) =>
      typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p),
    ),
  );
}

/** SHORT_BINUNICODE. */
export function sbu(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
}

/** A protocol 2 pickle of a state dict the way torch.save writes it (benign globals only). */
export function torchStateDictPickle(keys: string[]): Buffer {
  const items: Buffer[] = [];
  for (const [i, k] of keys.entries()) {
    items.push(
      pk('X', u32(Buffer.byteLength(k)), k),
      pk('ctorch._utils\n_rebuild_tensor_v2\n'),
      pk(
        '(',
        '(',
        'X',
        u32(7),
        'storage',
        'ctorch\nFloatStorage\n',
        'X',
        u32(String(i).length),
        String(i),
        'X',
        u32(3),
        'cpu',
        'K',
        4,
        't',
        'Q',
      ),
      pk('K', 0, 'K', 4, 0x85, 'K', 1, 0x85, 0x89, 'ccollections\nOrderedDict\n', ')', 'R', 't', 'R'),
    );
  }
  return pk(0x80, 2, 'ccollections\nOrderedDict\n', ')', 'R', '(', ...items, 'u', '.');
}

/** A diffusers pipeline folder: model_index.json, unet/ with a config and weights. */
export function writeDiffusersFolder(dir: string, pipeline = 'StableDiffusionPipeline', crossAttention = 768): void {
  mkdirSync(join(dir, 'unet'), { recursive: true });
  mkdirSync(join(dir, 'vae'), { recursive: true });
  writeFileSync(
    join(dir, 'model_index.json'),
    JSON.stringify({
      _class_name: pipeline,
      _diffusers_version: '0.30.0',
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
      scheduler: ['diffusers', 'PNDMScheduler'],
    }),
  );
  writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify({ cross_attention_dim: crossAttention }));
  writeFileSync(
    join(dir, 'unet', 'diffusion_pytorch_model.safetensors'),
    safetensorsOf([
      { name: 'down_blocks.0.resnets.0.conv1.weight', shape: [4, 4] },
      { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight', shape: [2, crossAttention] },
    ]),
  );
  writeFileSync(
    join(dir, 'vae', 'diffusion_pytorch_model.safetensors'),
    safetensorsOf([
      { name: 'encoder.down_blocks.0.resnets.0.conv1.weight', shape: [2, 2] },
      { name: 'decoder.up_blocks.0.resnets.0.conv1.weight', shape: [2, 2] },
    ]),
  );
}
