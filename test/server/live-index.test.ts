/**
 * The service's live index on SQLite and PostgreSQL: loaded once, then kept current from the
 * store's changes alone (new ids, logged removals), for PDQ, exact digests and vPDQ videos alike,
 * without reloading a bank.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ParsedEntry } from '../../src/banks/types.js';
import { LiveIndex } from '../../src/server/live-index.js';
import { getSignalType } from '../../src/signals/builtin.js';
import { iter, type OpenedStore, openStore, STORE_KINDS, skipUnavailable } from './stores.js';

const hex = (seed: string, bytes = 32) =>
  createHash('sha512')
    .update(seed)
    .digest('hex')
    .slice(0, bytes * 2);
const entry = (signal: string, value: string): ParsedEntry => ({ signal, value, labels: [], line: 1 });
/** A two-frame video in the store's text form. */
const video = (a: string, b: string) =>
  (getSignalType('vpdq') as NonNullable<ReturnType<typeof getSignalType>>).parse(`${a}:100:0 ${b}:100:1`);

describe.each(STORE_KINDS)('the live index on %s', (kind) => {
  skipUnavailable(kind);
  let opened: OpenedStore | undefined;
  afterEach(async () => {
    await opened?.drop();
    opened = undefined;
  });

  it('follows additions, removals, a replace and a deleted bank without reloading', async () => {
    opened = await openStore(kind);
    const s = opened.store;
    await s.createBank('b');
    const [p1, p2, m1, f1, f2] = [hex('p1'), hex('p2'), hex('m1', 16), hex('f1'), hex('f2')];
    await s.importEntries('b', iter([entry('pdq', p1), entry('md5', m1), entry('vpdq', video(f1, f2))]));
    const live = new LiveIndex(s);
    await live.refresh();
    const bank = () => live.matcher.bankIndex('b');
    const index = bank()?.indexes.get('pdq');
    const matched = async (q: Record<string, unknown>) => (await live.match(q, { includeWeak: true })).matches.length;
    expect(await matched({ pdq: p1 })).toBe(1);
    expect(await matched({ md5: m1 })).toBe(1);
    expect(
      await matched({
        vpdq: [
          { pdq: f1, quality: 100 },
          { pdq: f2, quality: 100 },
        ],
      }),
    ).toBe(1);
    expect(await matched({ pdq: p2 })).toBe(0);

    await s.importEntries('b', iter([entry('pdq', p2)]));
    await live.refresh();
    expect(bank()?.indexes.get('pdq')).toBe(index); // the same index object: updated, not rebuilt
    expect(await matched({ pdq: p2 })).toBe(1);

    const ids = (await s.listEntries('b', { limit: 10 })).filter((e) => e.signal !== 'pdq').map((e) => e.id);
    await s.deleteEntries('b', ids);
    await live.refresh();
    expect(await matched({ md5: m1 })).toBe(0);
    expect(
      await matched({
        vpdq: [
          { pdq: f1, quality: 100 },
          { pdq: f2, quality: 100 },
        ],
      }),
    ).toBe(0);
    expect(await matched({ pdq: p1 })).toBe(1);

    await s.importEntries('b', iter([entry('pdq', p2)]), { replace: true });
    await live.refresh();
    expect(bank()?.indexes.get('pdq')).toBe(index);
    expect(await matched({ pdq: p1 })).toBe(0);
    expect(await matched({ pdq: p2 })).toBe(1);
    expect(live.stats()).toEqual([expect.objectContaining({ pdq: 1, exact: 0 })]);

    await s.deleteBank('b');
    await live.refresh();
    expect(live.stats()).toEqual([]);
    expect(await matched({ pdq: p2 })).toBe(0);
  });
});
