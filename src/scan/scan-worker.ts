/**
 * @module scan/scan-worker
 * Worker thread body of the scan pipeline: runs scan tasks (digests, then extractors).
 * @internal
 */
import { workerData } from 'node:worker_threads';
import { usePlugins } from '../registry.js';
import { type ExtractContext, prefetch, runTask, type ScanTask } from './extract.js';
import { serveTasks } from './pool-worker.js';

const ctx = workerData as ExtractContext;
// The same registry as the main thread: its plugins, by their resolved specifiers. A plugin that
// fails to load fails every task with the loading error (reported per item), never silently.
const ready = usePlugins(ctx.plugins ?? []);
ready.catch(() => {});
serveTasks(
  async (task: ScanTask, started: Promise<Uint8Array> | undefined) => {
    await ready;
    return runTask(task, ctx, started);
  },
  (task) => prefetch(task, ctx),
);
