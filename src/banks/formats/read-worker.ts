/**
 * @module banks/formats/read-worker
 * Parses a bank file on a worker thread, so parsing overlaps with the store's writes on the main
 * thread. Batches flow with credits: at most CREDITS batches are in flight, which keeps memory
 * bounded. A batch crosses threads as one JSON string (an EntryBatch), not as an array of
 * objects: copying millions of small objects between threads cost the main thread more than the
 * database writes did.
 */
import { createReadStream } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WardError } from '../../errors.js';
import { activeRegistry, usePlugins } from '../../registry.js';
import { builtFile } from '../../runtime-paths.js';
import { decodeLabels, encodeLabels } from '../labels.js';
import type { EntryBatch, ParsedEntry, ReadBankFileOptions, RowIssue } from '../types.js';
import { readBankFile } from './read.js';

const BATCH = 8192;
const CREDITS = 4;

type Message = EntryBatch | { kind: 'done' } | { kind: 'error'; code: string; message: string };

/** A staged row: signal, value, encoded labels, source id (or null), line. */
type Row = [string, string, string, string | null, number];

/**
 * readBankFile on a file path, parsed on a worker thread, as batches (what `ward bank import`
 * hands to the store). Same entries and errors as readBankFile.
 */
export async function* readBankFileBatchesInWorker(
  path: string,
  options: ReadBankFileOptions = {},
): AsyncGenerator<EntryBatch> {
  // The worker parses with the same registry (plugin signal types included).
  const plugins = activeRegistry().specifiers;
  const worker = new Worker(builtFile(import.meta.url, './read-worker.js'), { workerData: { path, options, plugins } });
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
      yield m;
    }
  } finally {
    await worker.terminate();
  }
}

/** readBankFile on a file path, parsed on a worker thread. Same items, in order, same errors. */
export async function* readBankFileInWorker(
  path: string,
  options: ReadBankFileOptions = {},
): AsyncGenerator<ParsedEntry | RowIssue> {
  for await (const batch of readBankFileBatchesInWorker(path, options)) yield* unbatch(batch);
}

/** The entries and issues of a batch, back in file order. */
export function unbatch(batch: EntryBatch): (ParsedEntry | RowIssue)[] {
  const out: (ParsedEntry | RowIssue)[] = [];
  const { issues } = batch;
  let i = 0;
  for (const [signal, value, labels, sourceId, line] of JSON.parse(batch.rows) as Row[]) {
    while (i < issues.length && (issues[i] as RowIssue).line < line) out.push(issues[i++] as RowIssue);
    out.push({ signal, value, labels: decodeLabels(labels), ...(sourceId === null ? {} : { sourceId }), line });
  }
  while (i < issues.length) out.push(issues[i++] as RowIssue);
  return out;
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
  const { path, options, plugins } = workerData as {
    path: string;
    options: ReadBankFileOptions;
    plugins?: readonly string[];
  };
  let credits = CREDITS;
  let resume: (() => void) | undefined;
  port.on('message', () => {
    credits++;
    resume?.();
    resume = undefined;
  });
  const send = async (rows: Row[], issues: RowIssue[]): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => (resume = resolve));
    credits--;
    port.postMessage({ kind: 'batch', rows: JSON.stringify(rows), count: rows.length, issues } satisfies Message);
  };
  (async () => {
    let rows: Row[] = [];
    let issues: RowIssue[] = [];
    try {
      await usePlugins(plugins ?? []);
      for await (const item of readBankFile(createReadStream(path), options)) {
        if ('code' in item) issues.push(item);
        else rows.push([item.signal, item.value, encodeLabels(item.labels), item.sourceId ?? null, item.line]);
        if (rows.length + issues.length === BATCH) {
          await send(rows, issues);
          rows = [];
          issues = [];
        }
      }
      if (rows.length + issues.length > 0) await send(rows, issues);
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
