/**
 * @module scan/scan-worker
 * Worker thread body of the scan pipeline: runs scan tasks (digests, then extractors).
 * @internal
 */
import { workerData } from 'node:worker_threads';
import { type ExtractContext, prefetch, runTask, type ScanTask } from './extract.js';
import { serveTasks } from './pool-worker.js';

const ctx = workerData as ExtractContext;
serveTasks(
  (task: ScanTask, started: Promise<Uint8Array> | undefined) => runTask(task, ctx, started),
  (task) => prefetch(task, ctx),
);
