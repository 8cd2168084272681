/**
 * Dataset fixtures built in the tests: parquet written with hyparquet-writer, tar shards,
 * benign generated scenes, and a stand-in bank (rows placed in it as if they were known
 * material). Captions that must be screened are built from the lexicon data files
 * (test/text/terms.ts), never written here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Matcher } from '../../src/match/matcher.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { term } from '../text/terms.js';

export type Column = Parameters<typeof parquetWriteBuffer>[0]['columnData'][number];

export function writeParquet(
  path: string,
  columnData: Column[],
  options: { rowGroupSize?: number; schema?: Parameters<typeof parquetWriteBuffer>[0]['schema'] } = {},
): void {
  mkdirSync(dirname(path), { recursive: true });
  const buf = parquetWriteBuffer({ columnData, ...options });
  writeFileSync(path, new Uint8Array(buf));
}

/** A caption the screener blocks: a minor indicator with a sexual term (from the lexicon data). */
export function blockedCaption(): string {
  return `photo of a ${term('en', 'minor')} ${term('en', 'sexual')}`;
}

export async function* iter<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

export interface BankSpec {
  name: string;
  kind?: 'block' | 'negative';
  entries: { signal: string; value: string }[];
}

/** An in-memory store with the banks, and a matcher over them as `ward scan` opens it. */
export async function bankMatcher(banks: BankSpec[]): Promise<{ store: SqliteStore; matcher: Matcher }> {
  const store = SqliteStore.open(':memory:');
  for (const b of banks) {
    store.createBank(b.name, b.kind ? { kind: b.kind } : {});
    await store.importEntries(
      b.name,
      iter(b.entries.map((e, i) => ({ signal: e.signal, value: e.value, labels: ['stand-in'], line: i + 1 }))),
    );
  }
  return { store, matcher: Matcher.open(store, { snapshotDir: null }) };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
