/**
 * @module scan/hash-files
 * Hashes many files, in order, on a pool of worker threads (one per core by default). A file that
 * fails becomes an error record and the rest go on.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { invalidParameter, WardError } from '../errors.js';
import { type Limits, resolveLimits } from '../limits.js';
import { type WalkEntry, walkInputs } from '../media/walk.js';
import { builtFile } from '../runtime-paths.js';
import { type HashImageOptions, hashImageBytes, type ImageHashes } from '../signals/image.js';
import type { PdqProfile } from '../signals/pdq/hash.js';
import type { VideoHashOptions } from '../video/hash.js';
import { type FileToHash, hashVideoFile, readForHash, type VideoHashes } from '../video/record.js';

export interface ErrorRecord {
  path: string;
  error: { code: string; message: string };
}
export type HashRecord = ImageHashes | VideoHashes | ErrorRecord;

export interface HashFilesOptions {
  profile?: PdqProfile;
  dihedral?: boolean;
  limits?: Partial<Limits>;
  /** Worker threads; default: all cores. 1 hashes in this thread. */
  jobs?: number;
  /** Videos (vPDQ): sampling, frame size and per-video limits. */
  video?: VideoHashOptions;
}

/** What a hashing thread is given: image options, and video options for the videos among the files. */
export type HashOptions = HashImageOptions & { video?: VideoHashOptions };

/** Hashes what readForHash read: an image's bytes, or a video file through ffmpeg. @internal */
export async function hashFileToHash(
  input: FileToHash,
  path: string,
  options: HashOptions,
  limits: Limits,
): Promise<ImageHashes | VideoHashes> {
  if ('video' in input) return hashVideoFile(path, input.video, { maxPixels: limits.maxPixels, ...options.video });
  return hashImageBytes(input.bytes, path, options, limits);
}

export function isErrorRecord(r: HashRecord): r is ErrorRecord {
  return 'error' in r;
}

/** Turns any failure into the `{code, message}` of an error record. */
export function toErrorInfo(cause: unknown): { code: string; message: string } {
  if (WardError.is(cause)) return { code: cause.code, message: cause.message };
  return { code: 'WARD_ERR_INTERNAL', message: 'Internal error while hashing (this is a bug, please report it)' };
}

/**
 * Expands `inputs` (files and directories) and yields one record per file, in input order.
 * @example for await (const r of hashFiles(['photos/'])) console.log(r.path, 'pdq' in r ? r.pdq : r.error.code);
 */
export async function* hashFiles(
  inputs: readonly string[],
  options: HashFilesOptions = {},
): AsyncGenerator<HashRecord> {
  const jobs = options.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw invalidParameter('jobs', 'a positive integer', jobs);
  const hashOptions: HashOptions = {
    profile: options.profile,
    dihedral: options.dihedral,
    limits: options.limits,
    ...(options.video ? { video: options.video } : {}),
  };
  const walker = walkInputs(inputs);
  // Look ahead a little: starting threads costs ~100 ms, more than hashing one image.
  const ahead: WalkEntry[] = [];
  let walking = true;
  while (walking && ahead.length < jobs * 4) {
    const r = await walker.next();
    if (r.done) walking = false;
    else ahead.push(r.value);
  }
  const files = ahead.filter((e) => !('error' in e)).length;
  if (jobs === 1 || (!walking && files < 2)) {
    yield* hashInProcess(prepend(ahead, walking ? walker : undefined), hashOptions);
    return;
  }
  yield* hashOnPool(prepend(ahead, walking ? walker : undefined), hashOptions, walking ? jobs : Math.min(jobs, files));
}

async function* prepend<T>(first: T[], rest: AsyncIterator<T> | undefined): AsyncGenerator<T> {
  yield* first;
  if (!rest) return;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

/** One file at a time in this thread; the next file is read while the current one is hashed. */
async function* hashInProcess(entries: AsyncIterable<WalkEntry>, options: HashOptions): AsyncGenerator<HashRecord> {
  const limits = resolveLimits(options.limits);
  const start = (entry: WalkEntry) => {
    if ('error' in entry) return { entry, bytes: undefined };
    const bytes = readForHash(entry.path, limits);
    bytes.catch(() => {}); // awaited below, in order
    return { entry, bytes };
  };
  let pending: ReturnType<typeof start> | undefined;
  for await (const entry of entries) {
    const next = start(entry);
    if (pending) yield await finish(pending.entry, pending.bytes, options, limits);
    pending = next;
  }
  if (pending) yield await finish(pending.entry, pending.bytes, options, limits);
}

async function finish(
  entry: WalkEntry,
  bytes: Promise<FileToHash> | undefined,
  options: HashOptions,
  limits: Limits,
): Promise<HashRecord> {
  if ('error' in entry) return entry;
  try {
    return await hashFileToHash(await (bytes as Promise<FileToHash>), entry.path, options, limits);
  } catch (cause) {
    return { path: entry.path, error: toErrorInfo(cause) };
  }
}

interface Task {
  id: number;
  path: string;
}

async function* hashOnPool(
  walker: AsyncIterator<WalkEntry>,
  options: HashOptions,
  jobs: number,
): AsyncGenerator<HashRecord> {
  const workerFile = builtFile(import.meta.url, './hash-worker.js');
  const workers: Worker[] = [];
  const done = new Map<number, HashRecord>();
  const queue: Task[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const inFlight = new Map<Worker, number>();
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pump = (worker: Worker): void => {
    // Two tasks per worker: one running, one waiting, so a worker never idles on a round trip.
    while ((inFlight.get(worker) ?? 0) < 2 && queue.length > 0) {
      const task = queue.shift() as Task;
      inFlight.set(worker, (inFlight.get(worker) ?? 0) + 1);
      worker.postMessage(task);
    }
  };
  for (let i = 0; i < jobs; i++) {
    const worker = new Worker(workerFile, { workerData: options });
    worker.on('message', (msg: { id: number; record: HashRecord }) => {
      done.set(msg.id, msg.record);
      inFlight.set(worker, (inFlight.get(worker) ?? 1) - 1);
      pump(worker);
      notify();
    });
    worker.on('error', (err) => {
      failure = err;
      notify();
    });
    workers.push(worker);
    inFlight.set(worker, 0);
  }
  try {
    let next = 0; // next id to yield
    let total = 0; // ids handed out
    let walking = true;
    while (walking || next < total) {
      // Keep the queue topped up without expanding huge directory trees all at once.
      while (walking && queue.length < jobs * 4) {
        const r = await walker.next();
        if (r.done) {
          walking = false;
          break;
        }
        const id = total++;
        if ('error' in r.value) done.set(id, r.value);
        else queue.push({ id, path: r.value.path });
      }
      for (const w of workers) pump(w);
      while (done.has(next)) {
        const record = done.get(next) as HashRecord;
        done.delete(next++);
        yield record;
      }
      if (failure) throw new WardError('WARD_ERR_INTERNAL', 'A hashing worker failed', {}, failure);
      if (next < total && !done.has(next)) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
