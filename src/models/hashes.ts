/**
 * @module models/hashes
 * A model's identity hashes, as model hubs and generation tools print them, from ONE read of the
 * file:
 *
 * - `sha256`: SHA-256 of the file (Civitai's SHA256); `autov2` is its first 10 hex digits;
 * - `autov1`: the legacy AUTOMATIC1111 "model hash": SHA-256 of the 64 KiB at offset 1 MiB,
 *   first 8 hex digits (a file under 1 MiB reads nothing there: `e3b0c442`, the hash of no bytes);
 * - `autov3`: SHA-256 of a safetensors file's data section, after the header (kohya's
 *   `sshs_model_hash`; Civitai's AutoV3, often shown as its first 12 hex digits);
 * - `blake3`: BLAKE3 of the file;
 * - `crc32`: CRC-32 of the file, in Civitai's byte order (see `civitaiCrc32Hex`).
 *
 * The file is read once, in chunks of shared memory; large files (64 MiB and more by default) are
 * hashed on two threads at once: this thread and a helper thread each run part of the hashers on
 * the same chunks (split by measured cost), while the next chunk is being read.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { WardError } from '../errors.js';
import { builtFile } from '../runtime-paths.js';
import { blake3Implementation } from './blake3.js';
import type { HashWorkerReply, HashWorkerRequest } from './hash-worker.js';
import { createHashers, type HasherKind, hasherCost } from './hashers.js';

export interface ModelHashes {
  sha256: string;
  /** First 10 hex of sha256. */
  autov2: string;
  autov1: string;
  /** Safetensors only: SHA-256 of the data section. */
  autov3?: string;
  blake3: string;
  /** Civitai's byte order (little-endian bytes as hex). */
  crc32: string;
}

/** Identity hashes plus the extra whole-file digests asked for (the scan pipeline's md5, sha1). */
export type FileDigests = ModelHashes & { md5?: string; sha1?: string };

export interface HashModelOptions {
  /** Where the safetensors data section starts (8 + header length): AutoV3 hashes from here. */
  dataOffset?: number;
  /** More whole-file digests from the same read. */
  extra?: readonly ('md5' | 'sha1')[];
  /** Use a helper thread: `auto` (default) from `PARALLEL_MIN_BYTES` on. */
  parallel?: boolean | 'auto';
  /** Bytes per read (default 4 MiB). */
  chunkBytes?: number;
  /**
   * Also called with every chunk, in order, on this thread, before the chunk's memory is reused
   * (the weight fingerprint of models/tensorfp reads the tensors it needs this way: no second read).
   */
  tap?: (chunk: Uint8Array, position: number) => void;
}

export const AUTOV1_OFFSET = 0x100000;
export const AUTOV1_LENGTH = 0x10000;
export const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;
const DEFAULT_CHUNK = 4 * 1024 * 1024;
const SLOTS = 4;

/** Collects the AutoV1 window as chunks pass. */
class AutoV1 {
  private readonly h = createHash('sha256');
  update(chunk: Uint8Array, position: number): void {
    const start = Math.max(position, AUTOV1_OFFSET);
    const end = Math.min(position + chunk.length, AUTOV1_OFFSET + AUTOV1_LENGTH);
    if (end > start) this.h.update(chunk.subarray(start - position, end - position));
  }
  hex(): string {
    return this.h.digest('hex').slice(0, 8);
  }
}

function kindsFor(options: HashModelOptions): HasherKind[] {
  return [
    'sha256',
    ...(options.dataOffset !== undefined ? (['autov3'] as const) : []),
    'blake3',
    'crc32',
    ...(options.extra ?? []),
  ];
}

function assemble(d: Partial<Record<HasherKind, string>>, autov1: string): FileDigests {
  const sha256 = d.sha256 as string;
  return {
    sha256,
    autov2: sha256.slice(0, 10),
    autov1,
    ...(d.autov3 !== undefined ? { autov3: d.autov3 } : {}),
    blake3: d.blake3 as string,
    crc32: d.crc32 as string,
    ...(d.md5 !== undefined ? { md5: d.md5 } : {}),
    ...(d.sha1 !== undefined ? { sha1: d.sha1 } : {}),
  };
}

/** The identity hashes of bytes in memory. */
export function hashModelBytes(bytes: Uint8Array, options: HashModelOptions = {}): FileDigests {
  const hashers = createHashers(kindsFor(options), options.dataOffset);
  const v1 = new AutoV1();
  hashers.update(bytes, 0);
  v1.update(bytes, 0);
  options.tap?.(bytes, 0);
  return assemble(hashers.digests(), v1.hex());
}

function readError(cause: unknown, path: string): WardError {
  if (WardError.is(cause)) return cause;
  const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
}

/** The identity hashes of a file, read once (see the module documentation). */
export async function hashModelFile(path: string, options: HashModelOptions = {}): Promise<FileDigests> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw readError(cause, path);
  }
  try {
    const size = (await fh.stat()).size;
    const chunk = options.chunkBytes ?? DEFAULT_CHUNK;
    const parallel =
      options.parallel === undefined || options.parallel === 'auto' ? size >= PARALLEL_MIN_BYTES : options.parallel;
    const script = builtFile(import.meta.url, './hash-worker.js');
    if (parallel && existsSync(script)) return await hashParallel(fh, path, script, chunk, options);
    return await hashSerial(fh, path, chunk, options);
  } finally {
    await fh.close();
  }
}

async function hashSerial(
  fh: FileHandle,
  path: string,
  chunk: number,
  options: HashModelOptions,
): Promise<FileDigests> {
  const hashers = createHashers(kindsFor(options), options.dataOffset);
  const v1 = new AutoV1();
  const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let i = 0;
  let pos = 0;
  const read = (buf: Buffer, at: number) => fh.read(buf, 0, chunk, at);
  let next = read(bufs[0] as Buffer, 0);
  try {
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const cur = (bufs[i] as Buffer).subarray(0, bytesRead);
      i ^= 1;
      next = read(bufs[i] as Buffer, pos + bytesRead);
      next.catch(() => {});
      hashers.update(cur, pos);
      v1.update(cur, pos);
      options.tap?.(cur, pos);
      pos += bytesRead;
    }
  } catch (cause) {
    throw readError(cause, path);
  }
  return assemble(hashers.digests(), v1.hex());
}

/** Splits the hashers into two groups of about equal cost; this thread also reads and coordinates. */
export function splitHashers(kinds: readonly HasherKind[]): { main: HasherKind[]; helper: HasherKind[] } {
  const portable = blake3Implementation() === 'typescript';
  const sorted = [...kinds].sort((a, b) => hasherCost(b, portable) - hasherCost(a, portable));
  const main: HasherKind[] = [];
  const helper: HasherKind[] = [];
  let mainCost = 0.15; // reading and posting chunks
  let helperCost = 0;
  for (const k of sorted) {
    if (helperCost <= mainCost) {
      helper.push(k);
      helperCost += hasherCost(k, portable);
    } else {
      main.push(k);
      mainCost += hasherCost(k, portable);
    }
  }
  return { main, helper };
}

const idle: Worker[] = [];

function acquireHelper(script: string): Worker {
  const w = idle.pop() ?? new Worker(script);
  w.ref();
  return w;
}

function releaseHelper(w: Worker): void {
  w.removeAllListeners('message');
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  w.unref();
  if (idle.length < 2) idle.push(w);
  else void w.terminate();
}

async function hashParallel(
  fh: FileHandle,
  path: string,
  script: string,
  chunk: number,
  options: HashModelOptions,
): Promise<FileDigests> {
  const { main, helper } = splitHashers(kindsFor(options));
  const hashers = createHashers(main, options.dataOffset);
  const v1 = new AutoV1();
  const shared = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(chunk));
  const views = shared.map((s) => Buffer.from(s));
  const free: number[] = shared.map((_, i) => i);
  const waiting: ((slot: number) => void)[] = [];
  let failed: ((e: unknown) => void) | undefined;
  let finished: ((d: Partial<Record<HasherKind, string>>) => void) | undefined;
  const failure = new Promise<never>((_, reject) => {
    failed = reject;
  });
  failure.catch(() => {});
  const worker = acquireHelper(script);
  let healthy = true;
  worker.on('message', (m: HashWorkerReply) => {
    if (m.type === 'slot') {
      const w = waiting.shift();
      if (w) w(m.slot);
      else free.push(m.slot);
    } else if (m.type === 'digests') finished?.(m.digests);
    else failed?.(new WardError('WARD_ERR_INTERNAL', `Model hash helper failed: ${m.message}`));
  });
  worker.on('error', (e) => {
    healthy = false;
    failed?.(new WardError('WARD_ERR_INTERNAL', `Model hash helper crashed: ${e.message}`));
  });
  worker.on('exit', () => {
    healthy = false;
    failed?.(new WardError('WARD_ERR_INTERNAL', 'Model hash helper exited'));
  });
  const post = (m: HashWorkerRequest) => worker.postMessage(m);
  const takeSlot = (): Promise<number> => {
    const s = free.shift();
    return s !== undefined ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
  };
  const readInto = async (at: number): Promise<{ slot: number; n: number }> => {
    const slot = await takeSlot();
    const { bytesRead } = await fh.read(views[slot] as Buffer, 0, chunk, at);
    return { slot, n: bytesRead };
  };
  try {
    post({ type: 'start', kinds: helper, dataOffset: options.dataOffset, slots: shared });
    let pos = 0;
    let next = readInto(0);
    for (;;) {
      let r: { slot: number; n: number };
      try {
        r = await Promise.race([next, failure]);
      } catch (cause) {
        throw readError(cause, path);
      }
      if (r.n === 0) break;
      post({ type: 'chunk', slot: r.slot, length: r.n, position: pos });
      const cur = (views[r.slot] as Buffer).subarray(0, r.n);
      next = readInto(pos + r.n);
      next.catch(() => {});
      hashers.update(cur, pos);
      v1.update(cur, pos);
      options.tap?.(cur, pos);
      pos += r.n;
    }
    const done = new Promise<Partial<Record<HasherKind, string>>>((resolve) => {
      finished = resolve;
    });
    post({ type: 'finish' });
    const theirs = await Promise.race([done, failure]);
    return assemble({ ...theirs, ...hashers.digests() }, v1.hex());
  } catch (e) {
    // Leave the helper in a clean state (or drop it).
    if (healthy) {
      const reset = new Promise<void>((resolve) => {
        finished = () => resolve();
      });
      post({ type: 'finish' });
      await Promise.race([reset, failure]).catch(() => {});
    }
    throw e;
  } finally {
    if (healthy) releaseHelper(worker);
    else void worker.terminate();
  }
}
