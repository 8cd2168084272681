/**
 * @module scan/items
 * Expands scan inputs into items, in a stable order: files as given, directories recursively
 * (media/walk), archives opened as streams (zip, tar, gzip; 7z and RAR through 7-Zip in
 * WebAssembly; never unpacked to disk) with their entries following them, nested archives up to
 * `limits.archive.maxDepth` levels. Content type comes from the first bytes (scan/plugins),
 * never from the name.
 */
import { open } from 'node:fs/promises';
import { type ArchiveFormat, readArchive } from '../media/archive.js';
import { walkInputs } from '../media/walk.js';
import { sniffContent } from '../registry.js';
import { cryptoDigests } from '../signals/image.js';
import type { ScanLimits } from './config.js';
import { SNIFF_BYTES } from './plugins.js';
import type { ContentType, Finding } from './types.js';

/** One thing to report on. */
export interface SourceItem {
  kind: 'item';
  /** Unique within a scan: the path, plus `\0` and the archive path inside it. */
  key: string;
  path: string;
  archivePath?: string;
  contentType: ContentType;
  format?: string;
  size?: number;
  /** The bytes, for archive entries (files are read by the worker). */
  bytes?: Uint8Array;
  /** Digests computed here (in-memory nested archives, which the main thread needs anyway). */
  digests?: { md5: string; sha1: string; sha256: string };
  findings: Finding[];
  /** Known before any work: unreadable input, an archive entry over a limit, too deep. */
  error?: { code: string; message: string };
  /** No work to do (empty file, or an error known up front). */
  done?: boolean;
}

/** Emitted after the last entry of an archive (the checkpoint marks the whole archive done). */
export interface ContainerEnd {
  kind: 'container-end';
  key: string;
}

export interface ExpandOptions {
  limits: ScanLimits;
  /** Items already reported (a resumed scan): not yielded. */
  skipItem?: (key: string) => boolean;
  /** Archives whose entries were all reported: not opened. */
  skipContainer?: (key: string) => boolean;
}

export function itemKey(path: string, archivePath?: string): string {
  return archivePath === undefined ? path : `${path}\0${archivePath}`;
}

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** An entry (or a whole archive) that only a password would open: reported, never guessed at. */
function encryptedFinding(name: string): Finding {
  return {
    type: 'archive.encrypted',
    severity: 'low',
    message: 'Archive entry is encrypted: its content was not read (no password is tried)',
    source: 'archive',
    data: { name },
  };
}

/** Names that would escape a directory if an unpacker wrote them: reported, never used. */
function unsafeNameFinding(name: string): Finding {
  return {
    type: 'archive.unsafe-name',
    severity: 'low',
    message: 'Archive entry name is absolute or climbs out of the archive (path traversal)',
    source: 'archive',
    data: { name },
  };
}

export async function* expandInputs(
  inputs: Iterable<string> | AsyncIterable<string>,
  options: ExpandOptions,
): AsyncGenerator<SourceItem | ContainerEnd> {
  for await (const entry of walkInputs(inputs)) {
    const key = itemKey(entry.path);
    if ('error' in entry) {
      if (!options.skipItem?.(key))
        yield {
          kind: 'item',
          key,
          path: entry.path,
          contentType: 'other',
          findings: [],
          error: entry.error,
          done: true,
        };
      continue;
    }
    let head: Uint8Array;
    try {
      head = await readHead(entry.path);
    } catch (cause) {
      const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
      if (!options.skipItem?.(key)) {
        const error = { code: 'WARD_ERR_INPUT_NOT_FOUND', message: `Cannot read file: ${errno}` };
        yield { kind: 'item', key, path: entry.path, contentType: 'other', findings: [], error, done: true };
      }
      continue;
    }
    const size = entry.size ?? head.length;
    const { contentType, format } =
      size === 0 ? { contentType: 'other' as const, format: undefined } : sniffContent(head);
    const item: SourceItem = {
      kind: 'item',
      key,
      path: entry.path,
      contentType,
      format,
      size,
      findings: [],
      done: size === 0,
    };
    if (contentType !== 'archive') {
      if (!options.skipItem?.(key)) yield item;
      continue;
    }
    yield* container(item, { path: entry.path }, 1, options);
  }
}

/**
 * One input held in memory (an upload to the service): its item, and for an archive its entries
 * (recursively) and end marker, exactly as expandInputs gives them for a file. `name` labels it.
 */
export async function* expandBytes(
  name: string,
  bytes: Uint8Array,
  options: ExpandOptions,
): AsyncGenerator<SourceItem | ContainerEnd> {
  const size = bytes.length;
  const sniffed = size === 0 ? { contentType: 'other' as const } : sniffContent(bytes.subarray(0, SNIFF_BYTES));
  const item: SourceItem = {
    kind: 'item',
    key: itemKey(name),
    path: name,
    contentType: sniffed.contentType,
    format: 'format' in sniffed ? sniffed.format : undefined,
    size,
    bytes,
    findings: [],
    done: size === 0,
  };
  if (item.contentType !== 'archive') {
    yield item;
    return;
  }
  // As for an archive inside an archive: digested here, its entries follow.
  item.digests = cryptoDigests(bytes);
  item.done = true;
  yield* container(item, { bytes }, 1, options);
}

/** An archive item, then its entries (recursively), then its end marker. */
async function* container(
  item: SourceItem,
  source: { path: string } | { bytes: Uint8Array },
  depth: number,
  options: ExpandOptions,
): AsyncGenerator<SourceItem | ContainerEnd> {
  if (options.skipContainer?.(item.key)) return;
  const limits = options.limits.archive;
  if (depth > limits.maxDepth) {
    item.error = {
      code: 'WARD_ERR_LIMIT_ARCHIVE',
      message: `Archive nested more than ${limits.maxDepth} levels deep: not opened`,
    };
    if (!options.skipItem?.(item.key)) yield item;
    return;
  }
  if (!options.skipItem?.(item.key)) yield { ...item, bytes: undefined };
  // Zips may repeat a name; a repeat is reported as `name#<index>` so every item has its own key.
  const seen = new Set<string>();
  for await (const entry of readArchive(source, item.format as ArchiveFormat, limits)) {
    const name = seen.has(entry.name) ? `${entry.name}#${entry.index}` : entry.name;
    seen.add(name);
    const archivePath = item.archivePath === undefined ? name : `${item.archivePath}!/${name}`;
    const key = itemKey(item.path, archivePath);
    const findings = entry.unsafeName ? [unsafeNameFinding(entry.name)] : [];
    if ('error' in entry) {
      if (entry.encrypted) findings.push(encryptedFinding(entry.name));
      if (!options.skipItem?.(key))
        yield {
          kind: 'item',
          key,
          path: item.path,
          archivePath,
          contentType: 'other',
          findings,
          error: entry.error,
          done: true,
        };
      continue;
    }
    const bytes = entry.bytes;
    const sniffed =
      bytes.length === 0 ? { contentType: 'other' as const } : sniffContent(bytes.subarray(0, SNIFF_BYTES));
    const child: SourceItem = {
      kind: 'item',
      key,
      path: item.path,
      archivePath,
      contentType: sniffed.contentType,
      format: 'format' in sniffed ? sniffed.format : undefined,
      size: bytes.length,
      bytes,
      findings,
      done: bytes.length === 0,
    };
    if (child.contentType === 'archive') {
      child.digests = cryptoDigests(bytes);
      child.done = true;
      yield* container(child, { bytes }, depth + 1, options);
    } else if (!options.skipItem?.(key)) {
      yield child;
    }
  }
  yield { kind: 'container-end', key: item.key };
}
