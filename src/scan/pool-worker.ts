/**
 * @module scan/pool-worker
 * The worker side of WorkerPool: answers `{id, task}` messages with `{id, result}`, one at a
 * time in arrival order.
 * @internal
 */
import { parentPort } from 'node:worker_threads';

/**
 * `start` runs as soon as a task arrives (e.g. to begin reading its file while the previous task
 * is still computing); `fn` then runs in order with what `start` returned.
 */
export function serveTasks<T, R, S = undefined>(fn: (task: T, started: S) => Promise<R>, start?: (task: T) => S): void {
  const port = parentPort;
  if (!port) return;
  let chain = Promise.resolve();
  port.on('message', (msg: { id: number; task: T }) => {
    const started = start ? start(msg.task) : (undefined as S);
    chain = chain.then(async () => {
      try {
        port.postMessage({ id: msg.id, result: await fn(msg.task, started) });
      } catch (cause) {
        port.postMessage({ id: msg.id, error: { message: cause instanceof Error ? cause.name : 'error' } });
      }
    });
  });
}
