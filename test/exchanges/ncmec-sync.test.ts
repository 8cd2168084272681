import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ncmecConnector } from '../../src/exchanges/ncmec.js';
import { syncExchange } from '../../src/exchanges/sync.js';
import { sealSecret } from '../../src/secrets/index.js';
import type { ServiceStore } from '../../src/store/service.js';
import { type OpenedStore, openStore, STORE_KINDS, skipUnavailable } from '../server/stores.js';
import { type FakeNcmec, type FakeRecord, startFakeNcmec } from './fake-ncmec.js';

const KEY = randomBytes(32);
const NOW = new Date('2024-01-11T00:00:00Z');
const hex = (n: number) => randomBytes(n).toString('hex');

/** Synthetic records: new entries, updates (same member/id, later), deletes, a shared md5, opaque PhotoDNA, link-only TMK. */
function makeRecords(): FakeRecord[] {
  const out: FakeRecord[] = [];
  const day = 86_400_000;
  const base = Date.parse('2024-01-01T00:00:00Z');
  const at = (i: number) => new Date(base + 60_000 + ((i * 7919) % (9 * day))).toISOString();
  const shared = hex(16);
  for (let i = 0; i < 60; i++) {
    const member = String(40 + (i % 3));
    out.push({
      member,
      id: `e${i}`,
      timestamp: at(i),
      media: i % 4 === 0 ? 'video' : 'image',
      classification: i % 2 ? 'A1' : 'B2',
      fingerprints: {
        md5: i === 5 || i === 6 ? shared : hex(16).toUpperCase(),
        sha1: hex(20),
        ...(i % 3 === 0 ? { pdq: hex(32) } : {}),
        ...(i % 5 === 0 ? { pdna: `${hex(20)}...` } : {}),
        ...(i % 7 === 0 ? { 'tmk-pdqf': '' } : {}),
      },
    });
  }
  // Updates: later records of the same (member, id), some in the same window as the original.
  for (const i of [1, 2, 3, 10, 20, 30, 5]) {
    const orig = out[i] as FakeRecord;
    out.push({
      ...orig,
      timestamp: new Date(Date.parse(orig.timestamp) + (i % 2 ? 3_600_000 : 2 * day)).toISOString(),
      classification: 'A2',
      fingerprints: { md5: hex(16), sha1: (orig.fingerprints as Record<string, string>).sha1 as string },
    });
  }
  // Deletes (tombstones), one of them of an updated entry, one of an entry never seen.
  for (const i of [4, 7, 10, 6]) {
    const orig = out[i] as FakeRecord;
    out.push({
      member: orig.member,
      id: orig.id,
      media: orig.media,
      deleted: true,
      timestamp: new Date(Date.parse(orig.timestamp) + 3 * day).toISOString(),
    });
  }
  out.push({ member: '99', id: 'ghost', media: 'image', deleted: true, timestamp: at(3) });
  return out;
}

type Row = [string, string, string[], string | undefined, string | undefined];

async function dump(store: ServiceStore, bank: string): Promise<Row[]> {
  const rows = await store.listEntries(bank, { limit: 1_000_000 });
  return rows
    .map((e): Row => [e.signal, e.value, e.labels, e.source, e.sourceId])
    .sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
}

/** What the bank must hold: the newest record per (member, id); live ones' fingerprints. */
function expected(records: FakeRecord[]): Set<string> {
  const newest = new Map<string, FakeRecord>();
  for (const r of records) {
    const k = `${r.member}/${r.id}`;
    const p = newest.get(k);
    if (!p || Date.parse(r.timestamp) > Date.parse(p.timestamp)) newest.set(k, r);
  }
  const out = new Set<string>();
  for (const r of newest.values()) {
    if (r.deleted) continue;
    for (const [k, v] of Object.entries(r.fingerprints ?? {})) {
      if (v === '') continue;
      const signal = k === 'md5' || k === 'sha1' || k === 'pdq' ? k : `ncmec-${k}`;
      out.add(`${signal}:${signal.startsWith('ncmec-') ? v : v.toLowerCase()}`);
    }
  }
  return out;
}

let fake: FakeNcmec;
beforeAll(async () => {
  process.env.WARD_EGRESS_ALLOW = '127.0.0.1';
  fake = await startFakeNcmec();
  fake.records = makeRecords();
  fake.pageSize = 7;
});
afterAll(async () => {
  await fake.close();
});

describe.each(STORE_KINDS)('NCMEC sync (%s)', (kind) => {
  skipUnavailable(kind);
  let opened: OpenedStore[] = [];
  afterEach(async () => {
    fake.fault = () => undefined;
    for (const o of opened) await o.drop();
    opened = [];
  });

  async function fresh(): Promise<ServiceStore> {
    const name = 'ncmec-main';
    const o = await openStore(kind);
    opened.push(o);
    await o.store.createBank('ncmec');
    await o.store.insertExchange({
      name,
      type: 'ncmec',
      bank: 'ncmec',
      config: ncmecConnector.configure?.({
        endpoint: fake.url,
        start: '2024-01-01T00:00:00Z',
        windowSeconds: String(2 * 86_400),
        timeoutMs: '400',
      }) as Record<string, string>,
      credentials: sealSecret(JSON.stringify({ username: 'user', password: 'pass' }), KEY),
    });
    return o.store;
  }

  const sync = (store: ServiceStore, extra: Parameters<typeof syncExchange>[2] = {}) =>
    syncExchange(store, 'ncmec-main', { secretKey: KEY, now: () => NOW, ...extra });

  it('fills the bank from every window and page: updates by (member, id), deletes, opaque PhotoDNA', async () => {
    const store = await fresh();
    fake.requests.length = 0;
    const result = await sync(store);
    expect(result.error).toBeUndefined();
    expect(result.upToDate).toBe(true);
    expect(result.pages).toBeGreaterThan(10);
    // Paging was followed: several requests carry start=.
    expect(fake.requests.filter((r) => r.includes('start=')).length).toBeGreaterThan(5);
    const rows = await dump(store, 'ncmec');
    expect(new Set(rows.map((r) => `${r[0]}:${r[1]}`))).toEqual(expected(fake.records));
    expect(rows.some((r) => r[0] === 'ncmec-pdna')).toBe(true);
    expect(rows.every((r) => r[3] === 'exchange:ncmec-main')).toBe(true);
    // An updated entry carries its new classification; the shared md5 survives the delete of one sharer.
    const e1 = rows.filter((r) => r[4] === '41/e1');
    expect(e1.length).toBe(2);
    for (const r of e1) expect(r[2]).toContain('ncmec-class:A2');
    const status = await store.getExchange('ncmec-main');
    expect(status?.upToDate).toBe(true);
    expect(status?.lastError).toBeNull();
    expect(status?.added).toBe(60);
    expect(status?.deleted).toBe(4);
    // A second run fetches nothing new and changes nothing.
    const version = (await store.getBank('ncmec'))?.version;
    const again = await sync(store);
    expect(again.counts).toEqual({ fetched: 0, added: 0, updated: 0, deleted: 0 });
    expect((await store.getBank('ncmec'))?.version).toBe(version);
    // --full refetches everything and still changes nothing.
    const full = await sync(store, { full: true });
    expect(full.counts.fetched).toBe(fake.records.length);
    expect(full.counts.added + full.counts.updated + full.counts.deleted).toBe(0);
    expect(await dump(store, 'ncmec')).toEqual(rows);
  });

  it('a sync stopped at every page (crash after a commit, 500, timeout, malformed page) and rerun equals one uninterrupted sync', async () => {
    const reference = await fresh();
    expect((await sync(reference)).error).toBeUndefined();
    const want = await dump(reference, 'ncmec');
    const total = fake.requests.length; // requests of one whole sync (reference included below)
    fake.requests.length = 0;
    await sync(await fresh());
    const perSync = fake.requests.length || total;
    const faults = ['crash', '500', 'hang', 'malformed'] as const;
    for (let k = 0; k < perSync; k++) {
      const fault = faults[k % faults.length] as (typeof faults)[number];
      const store = await fresh();
      let seen = 0;
      if (fault === 'crash') {
        const r = await sync(store, {
          onPage: () => {
            if (++seen === k + 1) throw new Error('killed');
          },
        });
        expect(r.error?.message).toBe('killed');
      } else {
        let n = 0;
        fake.fault = () => (n++ === k ? fault : undefined);
        const r = await sync(store);
        // A timeout is the egress error (unreachable and timed out are not told apart).
        const code = fault === 'hang' ? 'WARD_ERR_EGRESS_FAILED' : 'WARD_ERR_EXCHANGE_FAILED';
        expect(r.error?.code).toBe(code);
        expect((await store.getExchange('ncmec-main'))?.lastError).toContain(code);
        expect((await store.getExchange('ncmec-main'))?.upToDate).toBe(false);
        fake.fault = () => undefined;
      }
      const rerun = await sync(store);
      expect(rerun.error).toBeUndefined();
      expect(await dump(store, 'ncmec')).toEqual(want);
      opened.pop()?.drop();
    }
  }, 120_000);

  it('resumes inside a window from its next link, and distrusts one older than 12 h', async () => {
    const store = await fresh();
    // Stop after the second page: the checkpoint holds a next link.
    let seen = 0;
    await sync(store, {
      onPage: () => {
        if (++seen === 2) throw new Error('stop');
      },
    });
    const cp = (await store.getExchange('ncmec-main'))?.checkpoint as { next?: { url: string } };
    expect(cp.next?.url).toMatch(/start=/);
    fake.requests.length = 0;
    await sync(store);
    expect(fake.requests[0]).toContain('start=');
    // Again, but the rerun comes 13 h later: the window restarts from its beginning.
    const late = await fresh();
    let s2 = 0;
    await sync(late, {
      onPage: () => {
        if (++s2 === 2) throw new Error('stop');
      },
    });
    fake.requests.length = 0;
    const later = new Date(NOW.getTime() + 13 * 3600_000);
    const r = await sync(late, { now: () => later });
    expect(r.error).toBeUndefined();
    expect(fake.requests[0]).not.toContain('start=');
    expect(new Set((await dump(late, 'ncmec')).map((x) => `${x[0]}:${x[1]}`))).toEqual(expected(fake.records));
  });

  it('refuses a next link issued for another window, and records why', async () => {
    const store = await fresh();
    let n = 0;
    fake.fault = () => (n++ === 0 ? 'wrong-window' : undefined);
    const r = await sync(store);
    expect(r.error?.code).toBe('WARD_ERR_EXCHANGE_FAILED');
    expect(r.error?.message).toMatch(/another time window/);
    expect((await store.getExchange('ncmec-main'))?.checkpoint).toBeUndefined();
  });

  it('wrong credentials fail with the status, nothing applied', async () => {
    const store = await fresh();
    await store.deleteExchange('ncmec-main');
    await store.insertExchange({
      name: 'ncmec-main',
      type: 'ncmec',
      bank: 'ncmec',
      config: { endpoint: fake.url, environment: 'industry', start: '2024-01-01T00:00:00Z' },
      credentials: sealSecret(JSON.stringify({ username: 'user', password: 'wrong' }), KEY),
    });
    const r = await sync(store);
    expect(r.error?.message).toMatch(/HTTP 401/);
    expect(await dump(store, 'ncmec')).toEqual([]);
  });
});
