/**
 * @module scan/scan-worker
 * Worker thread body of the scan pipeline: runs its tasks (scan tasks: digests, then extractors;
 * hash tasks: `ward hash`'s records) on the same task path as this thread does (scan/tasks).
 * @internal
 */
import { workerData } from 'node:worker_threads';
import type { ExtractContext } from './extract.js';
import { serveTasks } from './pool-worker.js';
import { type PoolTask, runAnyTask, type Started, startTask } from './tasks.js';

const ctx = workerData as ExtractContext;
// The same registry as the main thread: its plugins, by their resolved specifiers. A plugin that
// fails to load fails every task with the loading error (reported per item), never silently.
// Loaded on the first scan task: hash tasks (`ward hash`) need no registry.
let ready: Promise<unknown> | undefined;
serveTasks(
  async (task: PoolTask, started: Started) => {
    if (!('kind' in task && task.kind === 'hash')) {
      ready ??= import('../registry.js').then((r) => r.usePlugins(ctx.plugins ?? []));
      await ready;
    }
    return runAnyTask(task, ctx, started);
  },
  (task) => startTask(task, ctx),
);
