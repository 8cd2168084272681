/**
 * @module scan/hash-worker
 * Worker thread body for hashFiles: hashes the paths it is sent, one at a time.
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HashImageOptions } from '../signals/image.js';
import { hashImage } from '../signals/image.js';
import { toErrorInfo } from './hash-files.js';

const options = workerData as HashImageOptions;
const port = parentPort;
if (port) {
  let chain = Promise.resolve();
  port.on('message', (task: { id: number; path: string }) => {
    chain = chain.then(async () => {
      try {
        port.postMessage({ id: task.id, record: await hashImage(task.path, options) });
      } catch (cause) {
        port.postMessage({ id: task.id, record: { path: task.path, error: toErrorInfo(cause) } });
      }
    });
  });
}
