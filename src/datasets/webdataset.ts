/**
 * @module datasets/webdataset
 * img2dataset / WebDataset shards: `NNNNN.tar` holding `key.jpg|png|webp` + `key.txt` (caption)
 * + `key.json` (img2dataset's record: url, caption, key, status, sha256 or md5 of the original
 * download, sizes), streamed entry by entry (memory: one entry). Members of one sample are
 * adjacent and share the key (the name up to the first dot of its last part). A key seen twice in
 * a shard, a sample without its image, a `.json` record that is not JSON or is missing where the
 * shard's first sample has one: a row error. A truncated tar: a shard error after the rows before it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import tar from 'tar-stream';
import { baseName, listFiles, statOrThrow } from './laion.js';
import { cellHex, shardError } from './parquet.js';
import type { DatasetReader, DatasetRow, DatasetShard, RowReadOptions } from './types.js';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif', 'heic'];
const CAPTION_EXTENSIONS = ['txt', 'caption', 'cap'];
/** Largest sidecar read (captions and JSON records are small). */
const MAX_SIDECAR = 1 << 20;
const PROVENANCE_FIELDS = [
  'status',
  'error_message',
  'width',
  'height',
  'original_width',
  'original_height',
  'LICENSE',
  'license',
] as const;

/** `dir/000010001.jpg` → key `dir/000010001`, extension `jpg` (lower-cased). */
export function splitMember(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot < 0) return { key: name, ext: '' };
  return { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

interface Group {
  key: string;
  image?: { name: string; bytes?: Uint8Array; tooBig?: number };
  caption?: string;
  json?: Uint8Array;
  exts: Set<string>;
  issues: string[];
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function groupRow(g: Group, index: number, sidecars: Set<string> | undefined): DatasetRow {
  const row: DatasetRow = { key: g.key, row: index, declared: {} };
  const issues = [...g.issues];
  if (g.caption !== undefined) row.caption = g.caption;
  if (g.json) {
    let record: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(decoder.decode(g.json));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        record = parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!record) issues.push(`${g.key}.json is not a JSON object`);
    else {
      if (typeof record.url === 'string') row.url = record.url;
      if (row.caption === undefined && typeof record.caption === 'string') row.caption = record.caption;
      for (const [signal, length] of [
        ['md5', 32],
        ['sha1', 40],
        ['sha256', 64],
      ] as const) {
        const v = record[signal];
        if (v === undefined || v === null || v === '') continue;
        const hex = cellHex(v, length);
        if (hex) row.declared[signal] = hex;
        else issues.push(`${g.key}.json: ${signal} is not ${length} hex`);
      }
      const prov: Record<string, string | number | boolean> = {};
      for (const f of PROVENANCE_FIELDS) {
        const v = record[f];
        if (typeof v === 'number' || typeof v === 'boolean') prov[f] = v;
        else if (typeof v === 'string') prov[f] = v.slice(0, 256);
      }
      if (Object.keys(prov).length > 0) row.provenance = prov;
    }
  }
  if (!g.image) issues.push(`sample ${JSON.stringify(g.key)} has no image member`);
  else {
    row.name = g.image.name;
    if (g.image.tooBig !== undefined) issues.push(`${g.image.name} is ${g.image.tooBig} bytes, over the limit`);
    else if (g.image.bytes) row.bytes = g.image.bytes;
  }
  if (sidecars) {
    const missing = [...sidecars].filter((e) => !g.exts.has(e));
    if (missing.length > 0) issues.push(`missing sidecar ${missing.map((e) => `${g.key}.${e}`).join(', ')}`);
  }
  if (issues.length > 0) row.error = { code: 'WARD_ERR_DATASET_ROW', message: issues.join('; ') };
  return row;
}

async function readEntry(entry: AsyncIterable<Buffer>, keep: boolean, size: number): Promise<Uint8Array | undefined> {
  if (!keep) {
    for await (const _ of entry) {
      // drained, not kept
    }
    return undefined;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for await (const chunk of entry) {
    if (at + chunk.length > out.length) throw new Error('an entry is longer than its header says');
    out.set(chunk, at);
    at += chunk.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}

/** Samples of one tar, in order. */
async function* tarRows(shard: DatasetShard, options: RowReadOptions): AsyncGenerator<DatasetRow> {
  const maxImage = options.maxImageBytes ?? Number.POSITIVE_INFINITY;
  const extract = tar.extract();
  const input = createReadStream(shard.path);
  let inputError: Error | undefined;
  input.on('error', (e) => {
    inputError = e;
    extract.destroy(e);
  });
  extract.on('error', () => {}); // surfaces through the iterator below
  input.pipe(extract);
  const seen = new Set<string>();
  let group: Group | undefined;
  let index = 0;
  let sidecars: Set<string> | undefined;
  const start = options.rowStart ?? 0;
  const end = options.rowEnd ?? Number.POSITIVE_INFINITY;
  const flush = (): DatasetRow | undefined => {
    const g = group;
    group = undefined;
    if (!g) return undefined;
    // img2dataset writes a .json record for every sample: when the first has one, all should.
    const expect = sidecars;
    if (!sidecars) sidecars = new Set([...g.exts].filter((e) => e === 'json'));
    const row = groupRow(g, index++, expect && expect.size > 0 ? expect : undefined);
    return row;
  };
  try {
    for await (const entry of extract as AsyncIterable<AsyncIterable<Buffer> & { header: tar.Header }>) {
      const h = entry.header;
      // tar-stream never ends a directory's stream: it must not be read.
      if (h.type === 'directory') continue;
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        await readEntry(entry, false, 0);
        continue;
      }
      const { key, ext } = splitMember(h.name);
      if (!group || group.key !== key) {
        const row = flush();
        if (row && row.row >= start && row.row < end) yield row;
        if (index >= end) return;
        group = { key, exts: new Set(), issues: [] };
        if (seen.has(key)) group.issues.push(`duplicate key ${JSON.stringify(key)} in this shard`);
        seen.add(key);
      }
      const size = h.size ?? 0;
      const g = group;
      if (g.exts.has(ext)) g.issues.push(`two members ${key}.${ext}`);
      g.exts.add(ext);
      const wanted = index >= start;
      if (IMAGE_EXTENSIONS.includes(ext)) {
        if (g.image) {
          g.issues.push(`more than one image (${g.image.name}, ${h.name})`);
          await readEntry(entry, false, 0);
        } else if (size > maxImage) {
          g.image = { name: baseName(h.name), tooBig: size };
          await readEntry(entry, false, 0);
        } else {
          const bytes = await readEntry(entry, wanted, size);
          g.image = { name: baseName(h.name), ...(bytes ? { bytes } : {}) };
        }
      } else if (CAPTION_EXTENSIONS.includes(ext) && size <= MAX_SIDECAR) {
        const bytes = await readEntry(entry, wanted, size);
        if (bytes) g.caption = decoder.decode(bytes);
      } else if (ext === 'json' && size <= MAX_SIDECAR) {
        const bytes = await readEntry(entry, wanted, size);
        if (bytes) g.json = bytes;
      } else await readEntry(entry, false, 0);
    }
  } catch (cause) {
    throw shardError(
      `Truncated or corrupt tar after ${index} samples: ${(inputError ?? (cause as Error))?.message ?? 'unreadable'}`,
      shard.path,
      cause,
    );
  } finally {
    input.destroy();
    extract.destroy();
  }
  const row = flush();
  if (row && row.row >= start && row.row < end) yield row;
}

async function* tarShards(path: string): AsyncGenerator<DatasetShard> {
  const s = await statOrThrow(path);
  if (!s.isDirectory()) {
    yield { dataset: path, shard: baseName(path), path, size: s.size };
    return;
  }
  for (const file of await listFiles(path, (n) => n.endsWith('.tar'))) {
    const st = await stat(file);
    yield { dataset: path, shard: relative(path, file), path: file, size: st.size };
  }
}

function isTarHead(head: Uint8Array): boolean {
  // ustar magic at offset 257 ("ustar\0" POSIX, "ustar " GNU)
  return head.length >= 262 && decoder.decode(head.subarray(257, 262)) === 'ustar';
}

export const webDatasetReader: DatasetReader = {
  name: 'webdataset',
  description: 'img2dataset / WebDataset tar shards (key.jpg + key.txt + key.json): stored bytes and sidecars',
  detect: (input) => {
    if (input.isDirectory) return input.entries.some((e) => e.endsWith('.tar')) ? 0.9 : 0;
    return isTarHead(input.head) ? 0.9 : 0;
  },
  shards: tarShards,
  rows: tarRows,
};
