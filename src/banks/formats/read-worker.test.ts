/** The worker-thread reader yields exactly what the in-thread reader yields, errors included. */
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../errors.js';
import { readBankFile } from './read.js';
import { readBankFileBatchesInWorker, readBankFileInWorker } from './read-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-read-worker-'));

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function codeOf(it: AsyncIterable<unknown>): Promise<string> {
  try {
    await all(it);
    return 'ok';
  } catch (e) {
    return WardError.is(e) ? e.code : String(e);
  }
}

describe('readBankFileInWorker', () => {
  it('gives the same entries and row issues, in order, across many batches', async () => {
    const lines = ['signal,value,labels,id'];
    for (let i = 0; i < 20_000; i++) {
      const hex = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(4);
      lines.push(i % 997 === 0 ? `md5,not-hex-${i},x,${i}` : `md5,${hex},a;b,${i}`);
    }
    const file = join(dir, 'many.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const inThread = await all(readBankFile(createReadStream(file)));
    const inWorker = await all(readBankFileInWorker(file));
    expect(inWorker).toEqual(inThread);
    expect(inWorker.filter((x) => 'code' in x).length).toBe(21);
  });

  it('hands over batches whose counts match their rows, with issues in file order', async () => {
    let rows = 0;
    const issueLines: number[] = [];
    for await (const batch of readBankFileBatchesInWorker(join(dir, 'many.csv'))) {
      expect(batch.kind).toBe('batch');
      expect((JSON.parse(batch.rows) as unknown[]).length).toBe(batch.count);
      rows += batch.count;
      issueLines.push(...batch.issues.map((i) => i.line));
    }
    expect(rows).toBe(20_000 - 21);
    expect(issueLines).toEqual([...issueLines].sort((a, b) => a - b));
    expect(issueLines).toHaveLength(21);
  });

  it('passes on whole-file errors with their codes', async () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    expect(await codeOf(readBankFileInWorker(empty))).toBe('WARD_ERR_BANK_FORMAT');
    expect(await codeOf(readBankFileInWorker(join(dir, 'missing.csv')))).toBe('WARD_ERR_INPUT_NOT_FOUND');
    const csv = join(dir, 'one.csv');
    writeFileSync(csv, 'value\nd41d8cd98f00b204e9800998ecf8427e\n');
    expect(await codeOf(readBankFileInWorker(csv, { signal: 'nope' }))).toBe('WARD_ERR_CONFIG_INVALID');
  });

  it('stops the worker when the reader is abandoned early', async () => {
    const file = join(dir, 'many.csv');
    let n = 0;
    for await (const _ of readBankFileInWorker(file)) if (++n === 10) break;
    expect(n).toBe(10);
  });
});
