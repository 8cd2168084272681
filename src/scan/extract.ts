/**
 * @module scan/extract
 * What a worker does with one item: MD5/SHA-1/SHA-256 of its bytes (every item, any type, so
 * exact-hash banks catch any file), then the extractors of its content type. Files that no
 * extractor needs in memory, or that are over the size limit, are digested as a stream; content
 * types whose extractors read files themselves (`extractFile`: models) get the path instead, and
 * the digests come from that same read.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WardError } from '../errors.js';
import type { Limits } from '../limits.js';
import { activeRegistry } from '../registry.js';
import { fileDigests, fileTooLarge } from '../signals/image.js';
import type { ExtractOptions, ExtractOutput, Extractor } from './plugins.js';
import { toErrorInfo } from './records.js';
import type { ContentType, Finding, ItemSignals, MediaInfo } from './types.js';

export interface ScanTask {
  /** The file to read when `bytes` is absent. */
  path?: string;
  /** The item's bytes (archive entries). */
  bytes?: Uint8Array;
  /** A label for messages. */
  name: string;
  contentType: ContentType;
  format?: string;
  size: number;
}

export interface TaskResult {
  signals: ItemSignals;
  findings: Finding[];
  media?: MediaInfo;
  /** How many extractors ran (0: the content type is not supported beyond its digests). */
  extractors: number;
  /** Why an extractor declined the item (e.g. an image format Ward recognises but cannot decode). */
  unsupported?: string;
  error?: { code: string; message: string };
}

export interface ExtractContext {
  limits: Limits;
  options: ExtractOptions;
  /** Plugin module specifiers (resolved): every worker loads them before its first task. */
  plugins?: readonly string[];
}

function digestsOf(hashes: Hash[]): { md5: string; sha1: string; sha256: string } {
  const [md5, sha1, sha256] = hashes.map((h) => h.digest('hex')) as [string, string, string];
  return { md5, sha1, sha256 };
}

const newHashes = (): Hash[] => [createHash('md5'), createHash('sha1'), createHash('sha256')];

function readError(cause: unknown, path: string): WardError {
  if (WardError.is(cause)) return cause;
  const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
}

/**
 * Starts reading a task's file when its extractors will need the bytes, so the read overlaps the
 * previous task's computing. The promise never rejects unobserved.
 */
export function prefetch(task: ScanTask, ctx: ExtractContext): Promise<Uint8Array> | undefined {
  if (task.bytes || task.path === undefined || task.size > ctx.limits.maxFileBytes) return undefined;
  const extractors = activeRegistry().extractorsFor(task.contentType);
  if (extractors.length === 0 || streamsFiles(extractors)) return undefined;
  const p = readFile(task.path);
  p.catch(() => {});
  return p;
}

/** Runs one item: never throws for a bad item (the error goes into the result). */
export async function runTask(
  task: ScanTask,
  ctx: ExtractContext,
  prefetched: Promise<Uint8Array> | undefined = prefetch(task, ctx),
): Promise<TaskResult> {
  const result: TaskResult = { signals: {}, findings: [], extractors: 0 };
  const extractors = activeRegistry().extractorsFor(task.contentType);
  try {
    let bytes = task.bytes;
    const tooBig = task.size > ctx.limits.maxFileBytes;
    if (!bytes && task.path !== undefined && streamsFiles(extractors)) {
      await runFileExtractors(task, task.path, ctx, extractors, result);
      return result;
    }
    if (!bytes && task.path !== undefined) {
      if (!prefetched) {
        Object.assign(result.signals, await fileDigests(task.path));
        if (tooBig && extractors.length > 0) throw fileTooLarge(task.size, ctx.limits);
        return result;
      }
      try {
        bytes = await prefetched;
      } catch (cause) {
        throw readError(cause, task.path);
      }
    }
    if (!bytes) throw new WardError('WARD_ERR_INTERNAL', 'A scan task has neither bytes nor a path');
    const hashes = newHashes();
    for (const h of hashes) h.update(bytes);
    Object.assign(result.signals, digestsOf(hashes));
    if (tooBig && extractors.length > 0) throw fileTooLarge(task.size, ctx.limits);
    for (const extractor of extractors) {
      const out = await extractor.extract({
        bytes,
        contentType: task.contentType,
        format: task.format,
        name: task.name,
        limits: ctx.limits,
        options: ctx.options,
      });
      merge(result, out);
    }
  } catch (cause) {
    result.error = toErrorInfo(cause);
  }
  return result;
}

function merge(result: TaskResult, out: ExtractOutput): void {
  if (out.unsupported) {
    result.unsupported = out.unsupported;
    return;
  }
  result.extractors++;
  if (out.signals) Object.assign(result.signals, out.signals);
  if (out.findings) result.findings.push(...out.findings);
  if (out.media) result.media = { ...result.media, ...out.media };
  if (out.error && !result.error) result.error = out.error;
}

/** Whether a content type's files are read by its extractors themselves (never into memory). */
function streamsFiles(extractors: readonly Extractor[]): boolean {
  return extractors.length > 0 && extractors.every((e) => e.extractFile !== undefined);
}

const DIGESTS = ['md5', 'sha1', 'sha256'] as const;

/** Streaming extractors on a file; the digests come from their read, or from one more read. */
async function runFileExtractors(
  task: ScanTask,
  path: string,
  ctx: ExtractContext,
  extractors: readonly Extractor[],
  result: TaskResult,
): Promise<void> {
  const missing = () => DIGESTS.filter((d) => typeof result.signals[d] !== 'string');
  for (const extractor of extractors) {
    try {
      const out = await (extractor.extractFile as NonNullable<Extractor['extractFile']>)({
        path,
        size: task.size,
        contentType: task.contentType,
        format: task.format,
        name: task.name,
        limits: ctx.limits,
        options: ctx.options,
        digests: missing(),
      });
      merge(result, out);
    } catch (cause) {
      result.error ??= toErrorInfo(cause);
    }
  }
  if (missing().length > 0) {
    const d = await fileDigests(path);
    for (const k of missing()) result.signals[k] = d[k];
  }
}
