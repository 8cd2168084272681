/** The `file` connector (local and HTTP with ETag), and a live index following syncs without a rebuild, hits naming their exchange. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncExchange } from '../../src/exchanges/sync.js';
import { LiveIndex } from '../../src/server/live-index.js';
import { tempDir } from '../helpers/cli.js';
import { type OpenedStore, openStore, STORE_KINDS, skipUnavailable } from '../server/stores.js';

const hex = (n: number) => randomBytes(n).toString('hex');

describe.each(STORE_KINDS)('file exchange and the live index (%s)', (kind) => {
  skipUnavailable(kind);
  let opened: OpenedStore | undefined;
  afterEach(async () => {
    await opened?.drop();
    opened = undefined;
  });

  it('a local list: adds, label updates and removals reach a live index without a rebuild; hits carry provenance', async () => {
    opened = await openStore(kind);
    const s = opened.store;
    const dir = tempDir();
    const path = join(dir, 'list.csv');
    const [a, b, c] = [hex(16), hex(16), hex(16)];
    writeFileSync(path, `id,md5,labels\nA,${a},x\nB,${b},y\n`);
    await s.createBank('fl');
    await s.insertExchange({ name: 'list', type: 'file', bank: 'fl', config: { endpoint: path }, credentials: null });
    const r1 = await syncExchange(s, 'list');
    expect(r1.error).toBeUndefined();
    expect(r1.counts).toMatchObject({ added: 2, deleted: 0 });
    const live = new LiveIndex(s, { snapshotDir: null });
    await live.refresh();
    const index = live.matcher.bankIndex('fl')?.indexes.get('md5');
    const hit = (await live.match({ md5: a })).matches[0];
    expect(hit).toMatchObject({ bank: 'fl', labels: ['x'], exchange: { name: 'list', entryId: 'A' } });
    // Unchanged file: nothing fetched into the bank, its version stays.
    const v = (await s.getBank('fl'))?.version;
    expect((await syncExchange(s, 'list')).counts.added).toBe(0);
    expect((await s.getBank('fl'))?.version).toBe(v);
    // A goes, B's label changes, C comes.
    writeFileSync(path, `id,md5,labels\nB,${b},z\nC,${c},x\n`);
    const r2 = await syncExchange(s, 'list');
    expect(r2.counts).toMatchObject({ added: 1, updated: 1, deleted: 1 });
    await live.refresh();
    expect(live.matcher.bankIndex('fl')?.indexes.get('md5')).toBe(index); // followed, not rebuilt
    expect((await live.match({ md5: a })).matches).toEqual([]);
    expect((await live.match({ md5: b })).matches[0]?.labels).toEqual(['z']);
    expect((await live.match({ md5: c })).matches[0]?.exchange).toEqual({ name: 'list', entryId: 'C' });
    // An invalid line fails the sync and applies nothing.
    writeFileSync(path, `id,md5,labels\nD,${hex(16)},x\nE,nothex,y\n`);
    const r3 = await syncExchange(s, 'list');
    expect(r3.error?.code).toBe('WARD_ERR_EXCHANGE_FAILED');
    expect((await s.listEntries('fl', { limit: 10 })).length).toBe(2);
  });

  it('an HTTP list is re-read by ETag (304: nothing applied)', async () => {
    opened = await openStore(kind);
    const s = opened.store;
    let body = `${hex(16)}\n${hex(16)}\n`;
    let etag = '"v1"';
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['if-none-match'] as string | undefined);
      if (req.headers['if-none-match'] === etag) res.writeHead(304).end();
      else res.writeHead(200, { etag }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    process.env.WARD_EGRESS_ALLOW = '127.0.0.1';
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list.txt`;
      await s.createBank('hl');
      await s.insertExchange({
        name: 'h',
        type: 'file',
        bank: 'hl',
        config: { endpoint: url, signal: 'md5' },
        credentials: null,
      });
      expect((await syncExchange(s, 'h')).counts.added).toBe(2);
      const r = await syncExchange(s, 'h');
      expect(r.error).toBeUndefined();
      expect(seen).toEqual([undefined, '"v1"']);
      body = `${hex(16)}\n`;
      etag = '"v2"';
      const r2 = await syncExchange(s, 'h');
      expect(r2.counts).toMatchObject({ added: 1, deleted: 2 });
      expect((await s.getExchange('h'))?.upToDate).toBe(true);
    } finally {
      server.close();
    }
  });
});
