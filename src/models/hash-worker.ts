/**
 * @module models/hash-worker
 * The helper thread of models/hashes: hashes the chunks the main thread reads into shared
 * memory, with its share of the hashers, and hands each slot back when done.
 * @internal
 */
import { parentPort } from 'node:worker_threads';
import { createHashers, type HasherKind, type HasherSet } from './hashers.js';

export type HashWorkerRequest =
  | { type: 'start'; kinds: HasherKind[]; dataOffset?: number; slots: SharedArrayBuffer[] }
  | { type: 'chunk'; slot: number; length: number; position: number }
  | { type: 'finish' };

export type HashWorkerReply =
  | { type: 'slot'; slot: number }
  | { type: 'digests'; digests: Partial<Record<HasherKind, string>> }
  | { type: 'error'; message: string };

let hashers: HasherSet | undefined;
let slots: Uint8Array[] = [];

parentPort?.on('message', (msg: HashWorkerRequest) => {
  try {
    if (msg.type === 'start') {
      hashers = createHashers(msg.kinds, msg.dataOffset);
      slots = msg.slots.map((s) => new Uint8Array(s));
    } else if (msg.type === 'chunk') {
      hashers?.update((slots[msg.slot] as Uint8Array).subarray(0, msg.length), msg.position);
      parentPort?.postMessage({ type: 'slot', slot: msg.slot } satisfies HashWorkerReply);
    } else {
      const digests = hashers?.digests() ?? {};
      hashers = undefined;
      slots = [];
      parentPort?.postMessage({ type: 'digests', digests } satisfies HashWorkerReply);
    }
  } catch (e) {
    parentPort?.postMessage({
      type: 'error',
      message: e instanceof Error ? e.message : String(e),
    } satisfies HashWorkerReply);
  }
});
