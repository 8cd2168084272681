/**
 * @module banks/formats/read-worker
 * Parses a bank file on a worker thread, so parsing overlaps with the store's writes on the main
 * thread (an import of 10 million lines spends a fifth of its time parsing). Batches flow with
 * credits: at most CREDITS batches are in flight, which keeps memory bounded.
 */
import { createReadStream } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WardError } from '../../errors.js';
import { builtFile } from '../../runtime-paths.js';
import type { ParsedEntry, ReadBankFileOptions, RowIssue } from '../types.js';
import { readBankFile } from './read.js';

const BATCH = 4096;
const CREDITS = 4;

type Message =
  | { kind: 'batch'; items: (ParsedEntry | RowIssue)[] }
  | { kind: 'done' }
  | { kind: 'error'; code: string; message: string };

/** readBankFile on a file path, parsed on a worker thread. Same items, same errors. */
export async function* readBankFileInWorker(
  path: string,
  options: ReadBankFileOptions = {},
): AsyncGenerator<ParsedEntry | RowIssue> {
  const worker = new Worker(builtFile(import.meta.url, './read-worker.js'), { workerData: { path, options } });
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  const push = (m: Message): void => {
    queue.push(m);
    wake?.();
    wake = undefined;
  };
  worker.on('message', push);
  worker.on('error', (e) => push({ kind: 'error', code: 'WARD_ERR_INTERNAL', message: e.message }));
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const m = queue.shift() as Message;
      if (m.kind === 'done') return;
      if (m.kind === 'error') {
        const code = m.code in WARD_CODES ? (m.code as keyof typeof WARD_CODES) : 'WARD_ERR_INTERNAL';
        throw new WardError(code, m.message);
      }
      worker.postMessage('credit');
      yield* m.items;
    }
  } finally {
    await worker.terminate();
  }
}

// Codes a parse can end with (anything else is reported as internal).
const WARD_CODES = {
  WARD_ERR_BANK_FORMAT: true,
  WARD_ERR_CONFIG_INVALID: true,
  WARD_ERR_INPUT_NOT_FOUND: true,
  WARD_ERR_INTERNAL: true,
} as const;

if (!isMainThread && parentPort && (workerData as { path?: string } | undefined)?.path) {
  const port = parentPort;
  const { path, options } = workerData as { path: string; options: ReadBankFileOptions };
  let credits = CREDITS;
  let resume: (() => void) | undefined;
  port.on('message', () => {
    credits++;
    resume?.();
    resume = undefined;
  });
  const send = async (items: (ParsedEntry | RowIssue)[]): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => (resume = resolve));
    credits--;
    port.postMessage({ kind: 'batch', items } satisfies Message);
  };
  (async () => {
    let batch: (ParsedEntry | RowIssue)[] = [];
    try {
      for await (const item of readBankFile(createReadStream(path), options)) {
        batch.push(item);
        if (batch.length === BATCH) {
          await send(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await send(batch);
      port.postMessage({ kind: 'done' } satisfies Message);
    } catch (e) {
      const code = WardError.is(e)
        ? e.code
        : (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'WARD_ERR_INPUT_NOT_FOUND'
          : 'WARD_ERR_INTERNAL';
      const message =
        WardError.is(e) || code !== 'WARD_ERR_INTERNAL' ? (e as Error).message : 'Internal error while parsing';
      port.postMessage({ kind: 'error', code, message } satisfies Message);
    }
  })();
}
