/**
 * @module datasets/folder
 * Image folders with caption sidecars (`a.jpg` + `a.txt` caption, optional `a.json` record as
 * img2dataset writes it), one shard per directory that holds images; and COCO JSON
 * (`images[{id, file_name, coco_url, flickr_url}]`, captions from `annotations[].caption`), one
 * shard per JSON file, its images read from the folder beside it. URLs are hashed, never fetched.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { WardError } from '../errors.js';
import { baseName, listFiles, statOrThrow } from './laion.js';
import { shardError } from './parquet.js';
import type { DatasetReader, DatasetRow, DatasetShard, RowReadOptions } from './types.js';
import { IMAGE_EXTENSIONS } from './webdataset.js';

const MAX_SIDECAR = 1 << 20;
/** COCO JSON files larger than this are not parsed (they are read whole). */
const MAX_COCO_JSON = 1 << 30;

const extOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
};
const stemOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? name : name.slice(0, dot);
};
const isImageName = (name: string) => IMAGE_EXTENSIONS.includes(extOf(name));

function rowError(message: string): { code: string; message: string } {
  return { code: 'WARD_ERR_DATASET_ROW', message };
}

async function readSmall(path: string, max: number): Promise<Uint8Array | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size > max) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readImage(path: string, max: number): Promise<{ bytes?: Uint8Array; error?: string }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return { error: `${basename(path)} is not a file` };
    if (s.size > max) return { error: `${basename(path)} is ${s.size} bytes, over the limit` };
    return { bytes: await readFile(path) };
  } catch (cause) {
    return {
      error: `image file ${JSON.stringify(basename(path))} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The url and hashes of an img2dataset-style JSON record. */
function applyRecord(row: DatasetRow, bytes: Uint8Array, name: string): string | undefined {
  let rec: unknown;
  try {
    rec = JSON.parse(decoder.decode(bytes));
  } catch {
    return `${name} is not JSON`;
  }
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return `${name} is not a JSON object`;
  const r = rec as Record<string, unknown>;
  if (typeof r.url === 'string') row.url = r.url;
  if (row.caption === undefined && typeof r.caption === 'string') row.caption = r.caption;
  for (const [signal, length] of [
    ['md5', 32],
    ['sha1', 40],
    ['sha256', 64],
  ] as const) {
    const v = r[signal];
    if (typeof v === 'string' && new RegExp(`^[0-9a-fA-F]{${length}}$`).test(v)) row.declared[signal] = v.toLowerCase();
  }
  return undefined;
}

async function* folderShards(path: string): AsyncGenerator<DatasetShard> {
  const s = await statOrThrow(path);
  if (!s.isDirectory())
    throw new WardError('WARD_ERR_DATASET_FORMAT', 'An image-folder dataset is a directory', { path });
  const dirs = new Set<string>();
  for (const f of await listFiles(path, isImageName)) dirs.add(dirname(f));
  for (const d of [...dirs].sort()) yield { dataset: path, shard: relative(path, d) || '.', path: d };
}

async function* folderRows(shard: DatasetShard, options: RowReadOptions): AsyncGenerator<DatasetRow> {
  const max = options.maxImageBytes ?? Number.POSITIVE_INFINITY;
  let names: string[];
  try {
    names = (await readdir(shard.path)).sort();
  } catch (cause) {
    throw shardError(`Cannot list the folder (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, shard.path, cause);
  }
  const present = new Set(names);
  const images = names.filter(isImageName);
  const stems = new Map<string, string>();
  const start = options.rowStart ?? 0;
  const end = Math.min(images.length, options.rowEnd ?? images.length);
  for (let i = start; i < end; i++) {
    const name = images[i] as string;
    const key = stemOf(name);
    const row: DatasetRow = { key, row: i, declared: {}, name };
    const issues: string[] = [];
    const other = stems.get(key);
    if (other !== undefined) issues.push(`${name} and ${other} share the key ${JSON.stringify(key)}`);
    stems.set(key, name);
    for (const cap of [`${key}.txt`, `${name}.txt`, `${key}.caption`])
      if (present.has(cap)) {
        const b = await readSmall(join(shard.path, cap), MAX_SIDECAR);
        if (b) row.caption = decoder.decode(b);
        break;
      }
    if (present.has(`${key}.json`)) {
      const b = await readSmall(join(shard.path, `${key}.json`), MAX_SIDECAR);
      const issue = b ? applyRecord(row, b, `${key}.json`) : `${key}.json cannot be read`;
      if (issue) issues.push(issue);
    }
    const img = await readImage(join(shard.path, name), max);
    if (img.bytes) row.bytes = img.bytes;
    if (img.error) issues.push(img.error);
    if (issues.length > 0) row.error = rowError(issues.join('; '));
    yield row;
  }
}

/** A folder's digest: its names, sizes and modification times (contents are hashed per row). */
async function folderDigest(shard: DatasetShard): Promise<string> {
  const h = createHash('sha256');
  for (const name of (await readdir(shard.path)).sort()) {
    const s = await stat(join(shard.path, name));
    h.update(`${name}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return `listing-sha256:${h.digest('hex')}`;
}

export const imageFolderReader: DatasetReader = {
  name: 'image-folder',
  description: 'A folder of images with caption sidecars (a.jpg + a.txt, optional a.json)',
  detect: async (input) => {
    if (!input.isDirectory) return 0;
    if (input.entries.some(isImageName)) return 0.3;
    return (await listFiles(input.path, isImageName)).length > 0 ? 0.2 : 0;
  },
  shards: folderShards,
  rows: folderRows,
  digest: folderDigest,
};

// ---------------------------------------------------------------------------------------------
// COCO

interface CocoImage {
  id?: unknown;
  file_name?: unknown;
  coco_url?: unknown;
  flickr_url?: unknown;
  url?: unknown;
}

function looksCoco(head: Uint8Array): boolean {
  const t = decoder.decode(head);
  return /^\s*\{/.test(t) && t.includes('"images"');
}

/** COCO files of a directory: `*.json` at its top level and in `annotations/` (not sidecars deeper down). */
async function cocoJsonFiles(dir: string): Promise<string[]> {
  const candidates: string[] = [];
  for (const sub of ['', 'annotations']) {
    let names: string[];
    try {
      names = (await readdir(join(dir, sub))).sort();
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.json')) candidates.push(join(dir, sub, n));
  }
  const out: string[] = [];
  // An image folder's sidecars are JSON too: look at a bounded number of heads.
  for (const f of candidates.slice(0, 64)) {
    let head: Uint8Array;
    try {
      head = await readHead(f, 1 << 16);
    } catch {
      continue;
    }
    if (looksCoco(head.subarray(0, 4096)) && decoder.decode(head).includes('"file_name"')) out.push(f);
  }
  return out;
}

async function* cocoShards(path: string): AsyncGenerator<DatasetShard> {
  const s = await statOrThrow(path);
  const files = s.isDirectory() ? await cocoJsonFiles(path) : [path];
  for (const f of files) {
    const st = await stat(f);
    yield {
      dataset: path,
      shard: s.isDirectory() ? relative(path, f) : baseName(f),
      path: f,
      size: st.size,
      details: { root: s.isDirectory() ? path : dirname(path) },
    };
  }
}

/** Where the images of a COCO file are: beside it, in images/, or in the split folder (val2017). */
function imageDirs(json: string, root: string): string[] {
  const dir = dirname(json);
  const stem = stemOf(basename(json));
  const split = stem.includes('_') ? stem.slice(stem.lastIndexOf('_') + 1) : stem;
  const parent = dirname(dir);
  return [
    dir,
    join(dir, 'images'),
    join(dir, split),
    join(parent, split),
    join(parent, 'images'),
    root,
    join(root, 'images'),
  ];
}

async function* cocoRows(shard: DatasetShard, options: RowReadOptions): AsyncGenerator<DatasetRow> {
  const max = options.maxImageBytes ?? Number.POSITIVE_INFINITY;
  const s = await stat(shard.path);
  if (s.size > MAX_COCO_JSON) throw shardError(`COCO JSON of ${s.size} bytes is over the 1 GiB limit`, shard.path);
  let doc: { images?: unknown; annotations?: unknown };
  try {
    doc = JSON.parse(await readFile(shard.path, 'utf8'));
  } catch (cause) {
    throw shardError(`Not COCO JSON: ${(cause as Error).message}`, shard.path, cause);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.images))
    throw shardError('Not COCO JSON: no "images" array', shard.path);
  const images = doc.images as CocoImage[];
  const captions = new Map<string, string[]>();
  if (Array.isArray(doc.annotations))
    for (const a of doc.annotations as { image_id?: unknown; caption?: unknown }[]) {
      if (a && typeof a.caption === 'string' && (typeof a.image_id === 'number' || typeof a.image_id === 'string')) {
        const k = String(a.image_id);
        const list = captions.get(k) ?? [];
        list.push(a.caption);
        captions.set(k, list);
      }
    }
  const root = typeof shard.details?.root === 'string' ? shard.details.root : dirname(shard.path);
  const firstName = images.find((i) => typeof i?.file_name === 'string')?.file_name as string | undefined;
  const dirs = imageDirs(shard.path, root);
  const base = (firstName && dirs.find((d) => existsSync(join(d, firstName)))) || dirname(shard.path);
  const seen = new Set<string>();
  const start = options.rowStart ?? 0;
  const end = Math.min(images.length, options.rowEnd ?? images.length);
  for (let i = start; i < end; i++) {
    const img = images[i];
    const issues: string[] = [];
    const id = img && (typeof img.id === 'number' || typeof img.id === 'string') ? String(img.id) : undefined;
    const row: DatasetRow = { key: id ?? String(i), row: i, declared: {} };
    if (id === undefined) issues.push('image record without an id');
    else if (seen.has(id)) issues.push(`duplicate image id ${JSON.stringify(id)}`);
    if (id !== undefined) seen.add(id);
    const url = [img?.coco_url, img?.flickr_url, img?.url].find((u): u is string => typeof u === 'string' && u !== '');
    if (url) row.url = url;
    const caps = id !== undefined ? captions.get(id) : undefined;
    if (caps) row.caption = caps.join('\n\n');
    const fileName = typeof img?.file_name === 'string' ? img.file_name : undefined;
    if (!fileName) issues.push('image record without a file_name');
    else if (fileName.split(/[\\/]/).includes('..') || fileName.startsWith('/'))
      issues.push(`file_name ${JSON.stringify(fileName.slice(0, 128))} leaves the dataset folder: not read`);
    else {
      row.name = fileName;
      const r = await readImage(join(base, fileName), max);
      if (r.bytes) row.bytes = r.bytes;
      if (r.error) issues.push(r.error);
    }
    if (issues.length > 0) row.error = rowError(issues.join('; '));
    yield row;
  }
}

export const cocoReader: DatasetReader = {
  name: 'coco',
  description: 'COCO JSON (images[], captions in annotations[]) and the image folder beside it',
  detect: async (input) => {
    if (!input.isDirectory) return looksCoco(input.head) ? 0.9 : 0;
    if (!input.entries.some((e) => e.endsWith('.json') || e === 'annotations')) return 0;
    return (await cocoJsonFiles(input.path)).length > 0 ? 0.7 : 0;
  },
  shards: cocoShards,
  rows: cocoRows,
};
