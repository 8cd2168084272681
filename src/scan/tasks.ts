/**
 * @module scan/tasks
 * The one task path of the scan pipeline's runners (this thread, or scan-worker.ts on worker
 * threads): a scan task (digests, then the content type's extractors: scan/extract) or a hash
 * task (`ward hash`'s record for one file: PDQ or vPDQ and the digests, scan/records). Both
 * start reading their file as soon as they are queued, so the read overlaps the previous task.
 * The scan side (extract.js, the registry and every extractor) is imported on the first scan
 * task, so `ward hash` never loads it.
 * @internal
 */
import type { Limits } from '../limits.js';
import { type FileToHash, readForHash } from '../video/record.js';
import type { ExtractContext, ScanTask, TaskResult } from './extract.js';
import { type HashOptions, type HashRecord, hashFileToHash, toErrorInfo } from './records.js';

/** `ward hash`'s work on one file: its hash record. */
export interface HashTask {
  kind: 'hash';
  path: string;
  options: HashOptions;
  limits: Limits;
}

export type PoolTask = ScanTask | HashTask;
/** A hash task's record, or a scan task's result. */
export type PoolResult<T extends PoolTask> = T extends HashTask ? HashRecord : TaskResult;

const isHashTask = (task: PoolTask): task is HashTask => 'kind' in task && task.kind === 'hash';

type ExtractModule = typeof import('./extract.js');
let extractModule: Promise<ExtractModule> | undefined;

/** What startTask began: a scan task's prefetch (once extract.js is loaded), or a hash task's read. */
export type Started = Promise<{ extract: ExtractModule; read: Promise<Uint8Array> | undefined }> | Promise<FileToHash>;

/** Starts a task's read (never rejects unobserved). */
export function startTask(task: PoolTask, ctx: ExtractContext): Started {
  if (!isHashTask(task)) {
    extractModule ??= import('./extract.js');
    const p = extractModule.then((extract) => ({ extract, read: extract.prefetch(task, ctx) }));
    p.catch(() => {});
    return p;
  }
  const p = readForHash(task.path, task.limits);
  p.catch(() => {});
  return p;
}

/** Runs a task with what startTask began; never throws for a bad item (it becomes an error). */
export async function runAnyTask(
  task: PoolTask,
  ctx: ExtractContext,
  started: Started = startTask(task, ctx),
): Promise<TaskResult | HashRecord> {
  if (!isHashTask(task)) {
    const { extract, read } = await (started as Promise<{
      extract: ExtractModule;
      read: Promise<Uint8Array> | undefined;
    }>);
    return extract.runTask(task, ctx, read);
  }
  try {
    const input = await (started as Promise<FileToHash>);
    return await hashFileToHash(input, task.path, task.options, task.limits);
  } catch (cause) {
    return { path: task.path, error: toErrorInfo(cause) };
  }
}
