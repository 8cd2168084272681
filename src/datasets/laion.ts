/**
 * @module datasets/laion
 * Parquet datasets: LAION-style metadata (`URL, TEXT, WIDTH, HEIGHT, similarity, hash, punsafe,
 * pwatermark`; LAION-400M's `SAMPLE_ID, URL, TEXT, HEIGHT, WIDTH, LICENSE, NSFW, similarity`; the
 * `*-md5` collections' `md5`; img2dataset's `url, caption, key, sha256`), metadata only, and
 * Hugging Face `datasets` parquet with embedded images (`struct{bytes, path}`), read one row
 * group at a time. LAION's `hash` column is an int64 of the URL and text, not an image digest:
 * it is never matched. Nothing here fetches a URL.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { WardError } from '../errors.js';
import {
  cellHex,
  cellNumber,
  cellText,
  checkColumn,
  findColumn,
  isParquetHead,
  openParquet,
  type ParquetFile,
  readColumns,
  shardError,
} from './parquet.js';
import type { ColumnMap, DatasetReader, DatasetRow, DatasetShard, DetectInput, RowReadOptions } from './types.js';

/** Column names tried, in order, when the options do not name one (case-insensitive). */
export const DEFAULT_COLUMNS = {
  url: ['URL', 'url'],
  caption: ['TEXT', 'caption', 'text', 'alt', 'alt_text'],
  key: ['key', 'SAMPLE_ID', 'id'],
  md5: ['md5'],
  sha1: ['sha1'],
  sha256: ['sha256'],
  scores: ['punsafe', 'pwatermark', 'NSFW', 'nsfw'],
  image: ['image', 'img', 'jpg', 'png'],
} as const;

/** LAION-400M tags NSFW as text; for ordering review only. */
const NSFW_TAGS: Record<string, number> = { NSFW: 1, UNSURE: 0.5, UNLIKELY: 0 };

const HASH_LENGTH = { md5: 32, sha1: 40, sha256: 64 } as const;

interface Resolved {
  url?: string;
  caption?: string;
  key?: string;
  hashes: [keyof typeof HASH_LENGTH, string][];
  scores: string[];
  image?: string;
}

function pick(pf: ParquetFile, given: string | undefined, defaults: readonly string[]): string | undefined {
  if (given !== undefined) {
    const found = findColumn(pf, given);
    if (!found) throw shardError(`Column ${JSON.stringify(given)} (from the column options) is missing`, pf.path);
    return found;
  }
  for (const d of defaults) {
    const found = findColumn(pf, d);
    if (found) return found;
  }
  return undefined;
}

/** The struct{bytes, path} image column of a Hugging Face parquet, if any. */
export function imageColumn(pf: ParquetFile, given?: string): string | undefined {
  const isImage = (name: string) => {
    const c = pf.columns.get(name);
    return !!c && c.children.some((x) => x.name === 'bytes' && x.type === 'BYTE_ARRAY');
  };
  if (given !== undefined) {
    const found = findColumn(pf, given);
    if (!found || !isImage(found))
      throw shardError(`Column ${JSON.stringify(given)} is not an image struct{bytes, path}`, pf.path);
    return found;
  }
  for (const d of DEFAULT_COLUMNS.image) {
    const found = findColumn(pf, d);
    if (found && isImage(found)) return found;
  }
  for (const name of pf.columns.keys()) if (isImage(name)) return name;
  return undefined;
}

function resolve(pf: ParquetFile, map: ColumnMap = {}, withImage: boolean): Resolved {
  const r: Resolved = { hashes: [], scores: [] };
  r.url = pick(pf, map.url, DEFAULT_COLUMNS.url);
  r.caption = pick(pf, map.caption, DEFAULT_COLUMNS.caption);
  r.key = pick(pf, map.key, DEFAULT_COLUMNS.key);
  for (const h of ['md5', 'sha1', 'sha256'] as const) {
    const c = pick(pf, map[h], DEFAULT_COLUMNS[h]);
    if (c) r.hashes.push([h, c]);
  }
  if (map.scores) for (const s of map.scores) r.scores.push(pick(pf, s, []) as string);
  else for (const s of DEFAULT_COLUMNS.scores) if (findColumn(pf, s)) r.scores.push(findColumn(pf, s) as string);
  r.scores = [...new Set(r.scores)];
  if (withImage) r.image = imageColumn(pf, map.image);
  for (const c of [r.url, r.caption, ...r.hashes.map((h) => h[1])]) if (c) checkColumn(pf, c, 'text');
  if (r.key) {
    const t = pf.columns.get(r.key)?.element.type;
    checkColumn(pf, r.key, t === 'BYTE_ARRAY' ? 'text' : 'number');
  }
  for (const s of r.scores) checkColumn(pf, s, 'number');
  return r;
}

/** Parquet files of a dataset path (itself, or those under a directory, sorted). */
async function* parquetShards(path: string, filter?: (pf: string) => boolean): AsyncGenerator<DatasetShard> {
  const s = await statOrThrow(path);
  if (!s.isDirectory()) {
    yield { dataset: path, shard: baseName(path), path, size: s.size };
    return;
  }
  for (const file of await listFiles(path, (n) => n.endsWith('.parquet'))) {
    if (filter && !filter(file)) continue;
    const st = await stat(file);
    yield { dataset: path, shard: relative(path, file), path: file, size: st.size };
  }
}

export async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read ${JSON.stringify(path)}: ${errno}`, { path }, cause);
  }
}

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? path;
}

/** Files under a directory whose name passes `want`, recursively, sorted by relative path. */
export async function listFiles(dir: string, want: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full, depth + 1);
      else if (e.isFile() && want(e.name)) out.push(full);
    }
  };
  await walk(dir, 0);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Rows of a parquet shard, one row group at a time, within [rowStart, rowEnd). Embedded images
 * come from the image column when `withImage`.
 */
async function* parquetRows(
  shard: DatasetShard,
  options: RowReadOptions,
  withImage: boolean,
): AsyncGenerator<DatasetRow> {
  const pf = await openParquet(shard.path);
  try {
    const cols = resolve(pf, options.columns, withImage);
    if (withImage && !cols.image)
      throw shardError('No image column (struct{bytes, path}) in this parquet file', pf.path);
    if (!withImage && !cols.url && cols.hashes.length === 0 && !cols.caption)
      throw shardError('No URL, caption or hash column in this parquet file', pf.path);
    const names = [
      ...new Set(
        [cols.url, cols.caption, cols.key, cols.image, ...cols.hashes.map((h) => h[1]), ...cols.scores].filter(
          (c): c is string => c !== undefined,
        ),
      ),
    ];
    const start = Math.max(0, options.rowStart ?? 0);
    const end = Math.min(pf.rows, options.rowEnd ?? pf.rows);
    const maxImage = options.maxImageBytes ?? Number.POSITIVE_INFINITY;
    const seen = cols.key ? new Set<string>() : undefined;
    for (const g of pf.groups) {
      const from = Math.max(g.rowStart, start);
      const to = Math.min(g.rowEnd, end);
      if (from >= to) continue;
      const data = await readColumns(pf, names, from, to);
      const get = (c: string | undefined, i: number) => (c === undefined ? undefined : data.get(c)?.[i]);
      for (let i = 0; i < to - from; i++) {
        const index = from + i;
        const row: DatasetRow = { key: String(index), row: index, declared: {} };
        const issues: string[] = [];
        const keyCell = cellText(get(cols.key, i));
        if (keyCell !== undefined && keyCell !== '') {
          if (seen?.has(keyCell)) issues.push(`duplicate key ${JSON.stringify(keyCell.slice(0, 64))} in this shard`);
          else seen?.add(keyCell);
          row.key = keyCell;
        }
        const url = cellText(get(cols.url, i));
        if (url) row.url = url;
        const caption = cellText(get(cols.caption, i));
        if (caption) row.caption = caption;
        for (const [signal, col] of cols.hashes) {
          const raw = get(col, i);
          if (raw === null || raw === undefined || raw === '') continue;
          const hex = cellHex(raw, HASH_LENGTH[signal]);
          if (hex) row.declared[signal] = hex;
          else issues.push(`${col} is not a ${signal} (${HASH_LENGTH[signal]} hex)`);
        }
        for (const col of cols.scores) {
          const raw = get(col, i);
          const v = typeof raw === 'string' || raw instanceof Uint8Array ? nsfwTag(cellText(raw)) : cellNumber(raw);
          if (v !== undefined) (row.scores ??= {})[col] = v;
        }
        if (cols.image) {
          const img = get(cols.image, i) as { bytes?: unknown; path?: unknown } | null | undefined;
          const bytes = img && typeof img === 'object' ? img.bytes : undefined;
          const name = img && typeof img === 'object' ? cellText(img.path) : undefined;
          if (name) row.name = name;
          if (bytes instanceof Uint8Array && bytes.length > 0) {
            if (bytes.length > maxImage) issues.push(`the embedded image is ${bytes.length} bytes, over the limit`);
            else row.bytes = bytes;
          } else
            issues.push(`no embedded image bytes${name ? ' (the path points outside the file, never fetched)' : ''}`);
        }
        if (issues.length > 0) row.error = { code: 'WARD_ERR_DATASET_ROW', message: issues.join('; ') };
        yield row;
      }
    }
  } finally {
    await pf.file.close();
  }
}

function nsfwTag(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = NSFW_TAGS[s.trim().toUpperCase()];
  return t ?? cellNumber(s);
}

async function parquetKind(path: string): Promise<'metadata' | 'images' | 'unreadable' | undefined> {
  let pf: ParquetFile;
  try {
    pf = await openParquet(path);
  } catch {
    // A damaged footer: still a parquet file (PAR1), read as metadata so its error is reported.
    return 'unreadable';
  }
  try {
    if (imageColumn(pf)) return 'images';
    if (findColumn(pf, 'URL') || findColumn(pf, 'md5') || findColumn(pf, 'sha256')) return 'metadata';
    return undefined;
  } finally {
    await pf.file.close();
  }
}

async function detectParquet(input: DetectInput): Promise<'metadata' | 'images' | 'unreadable' | undefined> {
  if (!input.isDirectory) return isParquetHead(input.head) ? parquetKind(input.path) : undefined;
  // A directory of parquet files (no tars: those are WebDataset shards with their metadata beside).
  if (input.entries.some((e) => e.endsWith('.tar'))) return undefined;
  const top = input.entries.find((e) => e.endsWith('.parquet'));
  const first = top ? join(input.path, top) : (await listFiles(input.path, (n) => n.endsWith('.parquet')))[0];
  return first ? parquetKind(first) : undefined;
}

async function ranges(shard: DatasetShard) {
  const pf = await openParquet(shard.path);
  await pf.file.close();
  return pf.groups;
}

export const laionReader: DatasetReader = {
  name: 'laion-parquet',
  description: 'LAION-style metadata parquet (URL, caption, MD5/SHA-256 columns, punsafe): metadata only',
  detect: async (input) => {
    const kind = await detectParquet(input);
    return kind === 'metadata' ? 0.6 : kind === 'unreadable' ? 0.1 : 0;
  },
  shards: (path) => parquetShards(path),
  rows: (shard, options) => parquetRows(shard, options, false),
  ranges,
};

export const hfParquetReader: DatasetReader = {
  name: 'hf-parquet',
  description: 'Hugging Face datasets parquet with embedded images (struct{bytes, path})',
  detect: async (input) => ((await detectParquet(input)) === 'images' ? 0.8 : 0),
  shards: (path) => parquetShards(path),
  rows: (shard, options) => parquetRows(shard, options, true),
  ranges,
};
