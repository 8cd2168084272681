/**
 * @module scan/window
 * The one scan loop. `scan()`, `scanBytes()` and `hashFiles()` (so `ward scan`, `ward hash`,
 * `ward match` and the service's `/v1/scan` and `/v1/hash`) run their items through here: a
 * window of tasks in flight, bounded by count and by bytes held in memory, started in input order
 * and read ahead of the one being reported, over one TaskRunner (this thread, or worker threads
 * running scan-worker.ts). Results come out in input order.
 * @internal
 */
import { builtFile } from '../runtime-paths.js';
import type { ExtractContext, TaskResult } from './extract.js';
import { InProcessRunner, type TaskRunner, WorkerPool } from './pool.js';
import type { HashRecord } from './records.js';
import { type PoolTask, runAnyTask, startTask } from './tasks.js';

/** Runs scan tasks and hash tasks alike. */
export type AnyRunner = TaskRunner<PoolTask, TaskResult | HashRecord>;

/** How far ahead of the reported item tasks are started. */
export interface WindowBounds {
  /** Tasks in flight (started, not yet yielded). */
  count: number;
  /** Bytes held in flight (items whose bytes are in memory: archive entries, uploads). */
  bytes: number;
}

/** One window slot: the item, its task's result (none when there was nothing to run) and its bytes. */
export interface Slot<S, R> {
  item: S;
  result?: Promise<R>;
  bytes: number;
}

/** Tasks in flight per worker: enough that none idles while the head of the window is awaited. */
export const TASKS_PER_JOB = 4;

/** Reads up to `n` items ahead (to choose between this thread and a pool before starting one). */
export async function readAhead<S>(source: AsyncIterator<S>, n: number): Promise<{ ahead: S[]; more: boolean }> {
  const ahead: S[] = [];
  while (ahead.length < n) {
    const r = await source.next();
    if (r.done) return { ahead, more: false };
    ahead.push(r.value);
  }
  return { ahead, more: true };
}

/**
 * The windowed loop: `start` turns an item into a slot (starting its task on the runner); the
 * loop keeps the window full and yields slots' items and results in input order. `ahead` are
 * items already read from `source` (readAhead); `more` says whether the source has more.
 */
export async function* windowed<S, R>(
  source: AsyncIterator<S>,
  start: (item: S) => Slot<S, R>,
  bounds: WindowBounds,
  ahead: readonly S[] = [],
  more = true,
): AsyncGenerator<{ item: S; result: R | undefined }> {
  const window: Slot<S, R>[] = [];
  let bytesInFlight = 0;
  const push = (s: S) => {
    const slot = start(s);
    slot.result?.catch(() => {}); // awaited in order below
    bytesInFlight += slot.bytes;
    window.push(slot);
  };
  for (const s of ahead) push(s);
  while (more || window.length > 0) {
    while (more && window.length < bounds.count && bytesInFlight <= bounds.bytes) {
      const r = await source.next();
      if (r.done) more = false;
      else push(r.value);
    }
    const head = window.shift();
    if (!head) continue;
    const result = head.result ? await head.result : undefined;
    bytesInFlight -= head.bytes;
    yield { item: head.item, result };
  }
}

/** One task at a time in this thread, the next file read while this one computes (a fair `--jobs 1`). */
export function inProcessRunner(ctx: ExtractContext): AnyRunner {
  let chain: Promise<unknown> = Promise.resolve();
  return new InProcessRunner((task: PoolTask) => {
    const started = startTask(task, ctx);
    const run = chain.then(() => runAnyTask(task, ctx, started));
    chain = run.catch(() => {});
    return run;
  });
}

/** `jobs` worker threads running scan-worker.ts (the same task path as inProcessRunner). */
export function workerRunner(ctx: ExtractContext, jobs: number): AnyRunner {
  return new WorkerPool(builtFile(import.meta.url, './scan-worker.js'), ctx, jobs);
}

/**
 * The runner for a run of `tasks` known tasks (`more`: and maybe more): this thread for one job or
 * a single task (a worker costs more to start than one image takes to hash), else a pool of
 * `jobs` workers, or fewer when fewer tasks are known and the source is exhausted.
 */
export function runnerFor(ctx: ExtractContext, jobs: number, tasks: number, more: boolean): AnyRunner {
  if (jobs === 1 || (!more && tasks < 2)) return inProcessRunner(ctx);
  return workerRunner(ctx, more ? jobs : Math.min(jobs, tasks));
}
