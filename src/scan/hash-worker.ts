/**
 * @module scan/hash-worker
 * Worker thread body for hashFiles: hashes the paths it is sent, in order, reading the next file
 * while the current one is being hashed.
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { resolveLimits } from '../limits.js';
import { readForHash } from '../video/record.js';
import { type HashOptions, hashFileToHash, toErrorInfo } from './hash-files.js';

const options = workerData as HashOptions;
const limits = resolveLimits(options.limits);
const port = parentPort;
if (port) {
  let chain = Promise.resolve();
  port.on('message', (task: { id: number; path: string }) => {
    const bytes = readForHash(task.path, limits);
    bytes.catch(() => {}); // handled below, in order
    chain = chain.then(async () => {
      try {
        port.postMessage({ id: task.id, record: await hashFileToHash(await bytes, task.path, options, limits) });
      } catch (cause) {
        port.postMessage({ id: task.id, record: { path: task.path, error: toErrorInfo(cause) } });
      }
    });
  });
}
