/**
 * @module datasets/parquet
 * Parquet files through hyparquet (pure JS) and hyparquet-compressors (zstd, gzip, brotli, lz4):
 * the footer read once, then one row group at a time, only the columns asked for, byte arrays
 * left as bytes (`utf8: false`: hyparquet otherwise decodes un-annotated binary as text, which
 * corrupts embedded images). A footer that does not parse, a column of the wrong type or a
 * damaged page is a `WARD_ERR_DATASET_SHARD` for that file.
 */
import { open } from 'node:fs/promises';
import type { parquetMetadataAsync } from 'hyparquet';
import { WardError } from '../errors.js';

type FileMetaData = Awaited<ReturnType<typeof parquetMetadataAsync>>;

/** hyparquet and its compressors, loaded on first use (the registry loads readers everywhere). */
let libs: Promise<[typeof import('hyparquet'), typeof import('hyparquet-compressors')]> | undefined;
const parquetLibs = () => {
  libs ??= Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
  return libs;
};
type SchemaElement = FileMetaData['schema'][number];

export interface AsyncFileBuffer {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
  close(): Promise<void>;
}

export function shardError(message: string, path: string, cause?: unknown): WardError {
  if (WardError.is(cause) && cause.code === 'WARD_ERR_DATASET_SHARD') return cause;
  return new WardError('WARD_ERR_DATASET_SHARD', message, { path }, cause);
}

/** A file read by ranges through one open handle. */
export async function openFileBuffer(path: string): Promise<AsyncFileBuffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
  }
  const { size } = await fh.stat();
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const s = Math.max(0, Math.min(start, size));
      const e = Math.max(s, Math.min(end, size));
      const buf = new Uint8Array(new ArrayBuffer(e - s));
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, s + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return buf.buffer;
    },
    close: () => fh.close(),
  };
}

export interface ParquetFile {
  path: string;
  file: AsyncFileBuffer;
  metadata: FileMetaData;
  /** Top-level columns: name → schema element (its children for a struct). */
  columns: Map<string, { element: SchemaElement; children: SchemaElement[] }>;
  /** Row-group boundaries. */
  groups: { rowStart: number; rowEnd: number }[];
  rows: number;
}

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // PAR1

export function isParquetHead(head: Uint8Array): boolean {
  return head.length >= 4 && MAGIC.every((b, i) => head[i] === b);
}

/** Opens a parquet file and reads its footer; a bad footer is WARD_ERR_DATASET_SHARD. */
export async function openParquet(path: string): Promise<ParquetFile> {
  const file = await openFileBuffer(path);
  try {
    if (file.byteLength < 12) throw shardError('Not a parquet file: too short for a footer', path);
    const tail = new Uint8Array(await file.slice(file.byteLength - 4));
    const head = new Uint8Array(await file.slice(0, 4));
    if (!isParquetHead(head) || !isParquetHead(tail))
      throw shardError('Not a parquet file: the PAR1 magic is missing at its start or end (truncated?)', path);
    const [{ parquetMetadataAsync }] = await parquetLibs();
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (cause) {
      throw shardError(`Corrupt parquet footer: ${(cause as Error).message ?? 'unreadable'}`, path, cause);
    }
    const columns = topColumns(metadata.schema);
    const groups: { rowStart: number; rowEnd: number }[] = [];
    let at = 0;
    for (const g of metadata.row_groups) {
      const n = Number(g.num_rows);
      if (!Number.isSafeInteger(n) || n < 0)
        throw shardError('Corrupt parquet footer: a row group size is invalid', path);
      groups.push({ rowStart: at, rowEnd: at + n });
      at += n;
    }
    return { path, file, metadata, columns, groups, rows: at };
  } catch (e) {
    await file.close();
    throw e;
  }
}

function topColumns(schema: readonly SchemaElement[]): ParquetFile['columns'] {
  const out: ParquetFile['columns'] = new Map();
  // schema[0] is the root; walk its children, skipping each one's subtree.
  let i = 1;
  const skip = (at: number): number => {
    const n = schema[at]?.num_children ?? 0;
    let next = at + 1;
    for (let c = 0; c < n; c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const element = schema[i] as SchemaElement;
    const children: SchemaElement[] = [];
    const n = element.num_children ?? 0;
    let c = i + 1;
    for (let k = 0; k < n; k++) {
      if (schema[c]) children.push(schema[c] as SchemaElement);
      c = skip(c);
    }
    // A damaged footer can leave an element without a name: it names no column.
    if (typeof element.name === 'string') out.set(element.name, { element, children });
    i = skip(i);
  }
  return out;
}

/** Case-insensitive column lookup: the file's own spelling of `name`, if present. */
export function findColumn(pf: ParquetFile, name: string): string | undefined {
  if (pf.columns.has(name)) return name;
  const lower = name.toLowerCase();
  for (const k of pf.columns.keys()) if (typeof k === 'string' && k.toLowerCase() === lower) return k;
  return undefined;
}

export type ColumnKind = 'text' | 'number' | 'bytes';

/** Checks a column's physical type; a mismatch is WARD_ERR_DATASET_SHARD (wrong column types). */
export function checkColumn(pf: ParquetFile, name: string, kind: ColumnKind): void {
  const col = pf.columns.get(name);
  if (!col) throw shardError(`Column ${JSON.stringify(name)} is missing`, pf.path);
  const t = col.element.type;
  const ok =
    kind === 'number'
      ? t === 'DOUBLE' || t === 'FLOAT' || t === 'INT32' || t === 'INT64' || t === 'BYTE_ARRAY'
      : t === 'BYTE_ARRAY' || t === 'FIXED_LEN_BYTE_ARRAY';
  if (!ok || col.children.length > 0)
    throw shardError(
      `Column ${JSON.stringify(name)} has type ${t ?? 'group'}, expected ${kind === 'number' ? 'a number' : 'strings or bytes'}`,
      pf.path,
    );
}

/**
 * Reads the named columns of rows [rowStart, rowEnd) (one row group at a time is the caller's
 * choice): column name → values, aligned at rowStart. Byte arrays stay bytes unless annotated
 * as strings.
 */
export async function readColumns(
  pf: ParquetFile,
  columns: readonly string[],
  rowStart: number,
  rowEnd: number,
): Promise<Map<string, ArrayLike<unknown>>> {
  const out = new Map<string, unknown[]>();
  for (const c of columns) out.set(c, new Array(rowEnd - rowStart));
  const [{ parquetRead }, { compressors }] = await parquetLibs();
  try {
    await parquetRead({
      file: pf.file,
      metadata: pf.metadata,
      columns: [...columns],
      rowStart,
      rowEnd,
      utf8: false,
      compressors,
      onChunk: (chunk) => {
        const target = out.get(chunk.columnName);
        if (!target) return;
        const data = chunk.columnData as ArrayLike<unknown>;
        for (let i = 0; i < data.length; i++) {
          const r = chunk.rowStart + i;
          if (r >= rowStart && r < rowEnd) target[r - rowStart] = data[i];
        }
      },
    });
  } catch (cause) {
    throw shardError(
      `Cannot read rows ${rowStart}-${rowEnd - 1}: ${(cause as Error)?.message ?? 'corrupt page'}`,
      pf.path,
      cause,
    );
  }
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** A cell as text (strings as they are; bytes decoded as UTF-8; numbers and bigints printed). */
export function cellText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return decoder.decode(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** A cell as a finite number (numbers, bigints, numeric strings such as LAION-400M's NSFW tags are not). */
export function cellNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

const HEX = /^[0-9a-f]+$/;

/** A hash cell as lower-case hex of `length` characters: hex text, or raw bytes of length/2. */
export function cellHex(v: unknown, length: number): string | undefined {
  if (v instanceof Uint8Array) {
    if (v.length === length / 2) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    v = decoder.decode(v);
  }
  if (typeof v !== 'string') return undefined;
  const s = v.length === length ? v.toLowerCase() : v.trim().toLowerCase();
  return s.length === length && HEX.test(s) ? s : undefined;
}
