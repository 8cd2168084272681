/**
 * @module scan/hash-files
 * Hashes many files, in order (`ward hash`, `ward match <files>`): the scan pipeline's loop
 * (scan/window: the same window, task runner and worker threads as `scan()`), with hash tasks,
 * whose records are `ward hash`'s. A file that fails becomes an error record and the rest go on.
 */
import { availableParallelism } from 'node:os';
import { invalidParameter } from '../errors.js';
import { type Limits, resolveLimits } from '../limits.js';
import { type WalkEntry, walkInputs } from '../media/walk.js';
import type { PdqProfile } from '../signals/pdq/hash.js';
import type { VideoHashOptions } from '../video/hash.js';
import type { ExtractContext } from './extract.js';
import type { HashOptions, HashRecord } from './records.js';
import type { HashTask } from './tasks.js';
import { readAhead, runnerFor, type Slot, TASKS_PER_JOB, windowed } from './window.js';

export {
  type ErrorRecord,
  type HashOptions,
  type HashRecord,
  hashFileToHash,
  isErrorRecord,
  toErrorInfo,
} from './records.js';

export interface HashFilesOptions {
  profile?: PdqProfile;
  dihedral?: boolean;
  limits?: Partial<Limits>;
  /** Worker threads; default: all cores. 1 hashes in this thread. */
  jobs?: number;
  /** Videos (vPDQ): sampling, frame size and per-video limits. */
  video?: VideoHashOptions;
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
  const limits = resolveLimits(options.limits);
  const hashOptions: HashOptions = {
    profile: options.profile,
    dihedral: options.dihedral,
    limits: options.limits,
    ...(options.video ? { video: options.video } : {}),
  };
  const source = walkInputs(inputs);
  const count = jobs * TASKS_PER_JOB;
  // Look ahead before starting threads: they cost more to start than one image takes to hash.
  const { ahead, more } = await readAhead(source, count);
  const tasks = ahead.filter((e) => !('error' in e)).length;
  // Hash tasks need no extractors and no plugins (their records are PDQ, vPDQ and the digests).
  const ctx: ExtractContext = { limits, options: {} };
  const runner = runnerFor(ctx, jobs, tasks, more);
  const start = (entry: WalkEntry): Slot<WalkEntry, HashRecord> => {
    if ('error' in entry) return { item: entry, bytes: 0 };
    const task: HashTask = { kind: 'hash', path: entry.path, options: hashOptions, limits };
    return { item: entry, result: runner.run(task) as Promise<HashRecord>, bytes: 0 };
  };
  try {
    for await (const { item, result } of windowed(source, start, { count, bytes: Infinity }, ahead, more))
      yield 'error' in item ? item : (result as HashRecord);
  } finally {
    await source.return?.(undefined);
    await runner.close();
  }
}
