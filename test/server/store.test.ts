/**
 * The service store contract, run against SQLite and PostgreSQL alike: banks, imports (one
 * transaction, removals logged for live indexes), API keys, the audit chain, the review queue,
 * evidence expiry and the webhook delivery log.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/chain.js';
import type { ParsedEntry, RowIssue } from '../../src/banks/types.js';
import type { ItemReport } from '../../src/scan/types.js';
import { iter, type OpenedStore, openStore, rawSql, STORE_KINDS, skipUnavailable } from './stores.js';

const md5 = (n: number) => createHash('md5').update(String(n)).digest('hex');
const pdq = (n: number) => createHash('sha256').update(`pdq${n}`).digest('hex');
const entry = (signal: string, value: string, labels: string[] = []): ParsedEntry => ({
  signal,
  value,
  labels,
  line: 1,
});
const issue: RowIssue = { line: 3, code: 'WARD_ERR_BANK_ROW_INVALID', message: 'bad' };

const report: ItemReport = {
  path: 'upload',
  contentType: 'image',
  verdict: 'flag',
  signals: { md5: md5(1) },
  matches: [],
  findings: [],
  reasons: [{ rule: 'bank-flag', message: 'x' }],
  score: 0.8,
};

describe.each(STORE_KINDS)('service store on %s', (kind) => {
  skipUnavailable(kind);
  let opened: OpenedStore | undefined;
  afterEach(async () => {
    await opened?.drop();
    opened = undefined;
  });
  const open = async () => {
    opened = await openStore(kind);
    return opened.store;
  };

  it('creates, lists and deletes banks; refuses duplicates and bad names', async () => {
    const s = await open();
    const b = await s.createBank('known', { pdqDistance: 20 });
    expect(b).toMatchObject({ name: 'known', kind: 'block', pdqDistance: 20, version: 0 });
    await s.createBank('memes', { kind: 'negative' });
    await expect(s.createBank('known')).rejects.toMatchObject({ code: 'WARD_ERR_BANK_EXISTS' });
    await expect(s.createBank('bad name')).rejects.toMatchObject({ code: 'WARD_ERR_BANK_NAME' });
    expect((await s.listBanks()).map((x) => [x.name, x.entries])).toEqual([
      ['known', 0],
      ['memes', 0],
    ]);
    expect(await s.deleteBank('memes')).toBe(true);
    expect(await s.deleteBank('memes')).toBe(false);
    expect((await s.bankHeads()).map((x) => x.name)).toEqual(['known']);
  });

  it('imports in one transaction: counts, idempotence, invalid lines apply nothing, replace logs removals', async () => {
    const s = await open();
    const bank = await s.createBank('known');
    const first = await s.importEntries(
      'known',
      iter([entry('md5', md5(1)), entry('pdq', pdq(1)), entry('md5', md5(2))]),
    );
    expect(first).toMatchObject({ applied: true, added: 3, updated: 0, unchanged: 0 });
    expect(await s.importEntries('known', iter([entry('md5', md5(1))]))).toMatchObject({ added: 0, unchanged: 1 });
    expect(await s.importEntries('known', iter([entry('md5', md5(1), ['x'])]))).toMatchObject({ updated: 1 });
    const bad = await s.importEntries('known', iter<ParsedEntry | RowIssue>([entry('md5', md5(9)), issue]));
    expect(bad).toMatchObject({ applied: false, invalidCount: 1 });
    expect((await s.stats('known')).entries).toBe(3);
    const v = (await s.getBank('known'))?.version as number;
    const replaced = await s.importEntries('known', iter([entry('md5', md5(2)), entry('sha1', 'a'.repeat(40))]), {
      replace: true,
    });
    expect(replaced).toMatchObject({ applied: true, added: 1, deleted: 2 });
    expect((await s.getBank('known'))?.version).toBeGreaterThan(v);
    const removals = await s.removalsSince(bank.id, 0, 100);
    expect(removals.map((r) => r.signal).sort()).toEqual(['md5', 'pdq']);
    expect(await s.lastRemovalSeq(bank.id)).toBe(removals[removals.length - 1]?.seq);
    const all = await s.listEntries('known', { limit: 10 });
    expect(all.map((e) => e.value)).toEqual([md5(2), 'a'.repeat(40)]);
    expect(await s.valuesPage(bank.id, 'md5', 0, 10)).toEqual([[all[0]?.id, md5(2)]]);
    const byId = await s.entriesById([all[0]?.id as number]);
    expect(byId.get(all[0]?.id as number)).toMatchObject({ bank: 'known', value: md5(2) });
    await expect(s.importEntries('nope', iter([]))).rejects.toMatchObject({ code: 'WARD_ERR_BANK_NOT_FOUND' });
  });

  it('rolls an import back when its input fails half-way (a truncated upload)', async () => {
    const s = await open();
    await s.createBank('known');
    async function* broken(): AsyncGenerator<ParsedEntry> {
      yield entry('md5', md5(1));
      throw new Error('client went away');
    }
    await expect(s.importEntries('known', broken())).rejects.toThrow();
    expect((await s.stats('known')).entries).toBe(0);
    // The store still works afterwards.
    expect(await s.importEntries('known', iter([entry('md5', md5(1))]))).toMatchObject({ added: 1 });
  });

  it('deletes entries by id, logs the removals and moves the bank version', async () => {
    const s = await open();
    const bank = await s.createBank('known');
    await s.importEntries('known', iter([entry('md5', md5(1)), entry('md5', md5(2))]));
    const [a] = await s.listEntries('known', { limit: 1 });
    const before = (await s.getBank('known'))?.version as number;
    expect(await s.deleteEntries('known', [a?.id as number, 999999])).toBe(1);
    expect((await s.getBank('known'))?.version).toBe(before + 1);
    expect((await s.removalsSince(bank.id, 0, 10)).map((r) => r.entryId)).toEqual([a?.id]);
    await expect(s.deleteEntries('nope', [1])).rejects.toMatchObject({ code: 'WARD_ERR_BANK_NOT_FOUND' });
  });

  it('keeps API keys (hashes only) and revokes them once', async () => {
    const s = await open();
    const rec = {
      id: 'abc123',
      hash: 'f'.repeat(64),
      role: 'analyst' as const,
      name: 'ana',
      rateLimit: 5,
      burst: 10,
      childSafety: true,
      createdAt: new Date().toISOString(),
      revokedAt: null,
    };
    await s.insertKey(rec);
    expect(await s.getKey('abc123')).toEqual(rec);
    expect(await s.listKeys()).toHaveLength(1);
    expect(await s.revokeKey('abc123', 'now')).toBe(true);
    expect(await s.revokeKey('abc123', 'now')).toBe(false);
    expect((await s.getKey('abc123'))?.revokedAt).toBe('now');
  });

  it('chains audit records; an edited, removed or cut-off record is detected', async () => {
    const s = await open();
    for (let i = 0; i < 5; i++)
      await s.appendAudit({ actor: 'cli', action: 'bank.create', target: `b${i}`, details: { i } });
    const all = await s.listAudit({ limit: 100 });
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await verifyAuditChain(all)).toMatchObject({ ok: true, records: 5, head: { seq: 5 } });
    expect((await s.listAudit({ beforeSeq: 3, limit: 1 }))[0]?.seq).toBe(2);
    expect((await s.listAudit({ action: 'nope', limit: 10 })).length).toBe(0);
    // Concurrent appends still make one chain.
    await Promise.all([1, 2, 3].map((i) => s.appendAudit({ actor: 'x', action: 'y', details: { i } })));
    expect(await verifyAuditChain(await s.listAudit({ limit: 100 }))).toMatchObject({ ok: true, records: 8 });
    const head = (await s.listAudit({ limit: 100 })).at(-1)?.hash as string;

    await rawSql(opened as OpenedStore, kind, 'UPDATE audit_log SET details = ? WHERE seq = 3', ['{"i":99}']);
    expect(await verifyAuditChain(await s.listAudit({ limit: 100 }))).toMatchObject({ ok: false, broken: { seq: 3 } });
    await rawSql(opened as OpenedStore, kind, 'UPDATE audit_log SET details = ? WHERE seq = 3', ['{"i":2}']);
    expect((await verifyAuditChain(await s.listAudit({ limit: 100 }))).ok).toBe(true);
    await rawSql(opened as OpenedStore, kind, 'DELETE FROM audit_log WHERE seq = 8');
    expect((await verifyAuditChain(await s.listAudit({ limit: 100 }))).ok).toBe(true);
    expect(await verifyAuditChain(await s.listAudit({ limit: 100 }), head)).toMatchObject({ ok: false });
    await rawSql(opened as OpenedStore, kind, 'DELETE FROM audit_log WHERE seq = 4');
    expect(await verifyAuditChain(await s.listAudit({ limit: 100 }))).toMatchObject({ ok: false, broken: { seq: 5 } });
  });

  it('queues review items and decides each once', async () => {
    const s = await open();
    const item = await s.insertReview({
      createdAt: new Date().toISOString(),
      status: 'open',
      verdict: 'flag',
      score: 0.8,
      source: 'scan',
      submittedBy: 'k1',
      name: 'a.jpg',
      contentType: 'image',
      report,
      evidenceId: null,
    });
    expect(item).toMatchObject({ id: expect.any(Number), status: 'open', report, decision: null });
    expect(await s.countReviews(['open'])).toBe(1);
    expect((await s.listReviews({ statuses: ['open', 'escalated'], limit: 10 })).map((r) => r.id)).toEqual([item.id]);
    const decision = { action: 'escalate' as const, note: 'second look' };
    expect(await s.decideReview(item.id, 'escalated', decision, 'k2', 'now', ['open'])).toBe(true);
    expect(await s.decideReview(item.id, 'escalated', decision, 'k2', 'now', ['open'])).toBe(false);
    expect(await s.getReview(item.id)).toMatchObject({ status: 'escalated', decision, decidedBy: 'k2' });
    expect(await s.getReview(12345)).toBeUndefined();
  });

  it('stores evidence blobs and purges them at expiry', async () => {
    const s = await open();
    const rec = (id: string, expiresAt: string) => ({
      id,
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt,
      keyId: 'k',
      mediaType: 'image/jpeg',
      size: 3,
      nonce: Buffer.alloc(12, 1),
      tag: Buffer.alloc(16, 2),
      data: Buffer.from([0, 255, 7]),
    });
    await s.putEvidence(rec('old', '2026-02-01T00:00:00.000Z'));
    await s.putEvidence(rec('new', '2027-02-01T00:00:00.000Z'));
    expect(await s.getEvidence('old')).toEqual(rec('old', '2026-02-01T00:00:00.000Z'));
    expect(await s.purgeEvidence('2026-06-01T00:00:00.000Z')).toBe(1);
    expect(await s.getEvidence('old')).toBeUndefined();
    expect(await s.getEvidence('new')).toBeDefined();
  });

  it('keeps webhooks and a delivery log; a delivery is claimed by one worker only', async () => {
    const s = await open();
    const hook = await s.insertWebhook({
      url: 'http://127.0.0.1:1/x',
      events: ['match', 'decision'],
      secret: 's',
      createdAt: 'now',
      active: true,
    });
    expect((await s.listWebhooks()).map((h) => h.events)).toEqual([['match', 'decision']]);
    const t0 = '2026-01-01T00:00:00.000Z';
    await s.enqueueDelivery({
      id: 'd1',
      webhookId: hook.id,
      event: 'match',
      payload: '{}',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: t0,
      lastStatus: null,
      lastError: null,
      createdAt: t0,
      deliveredAt: null,
    });
    expect((await s.dueDeliveries('2026-01-01T00:00:01.000Z', 10)).map((d) => d.id)).toEqual(['d1']);
    expect(await s.claimDelivery('d1', t0, '2026-01-01T00:01:00.000Z')).toBe(true);
    expect(await s.claimDelivery('d1', t0, '2026-01-01T00:01:00.000Z')).toBe(false);
    await s.updateDelivery('d1', { status: 'delivered', attempts: 1, lastStatus: 200, deliveredAt: 'later' });
    expect((await s.listDeliveries({ webhookId: hook.id, limit: 10 }))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatus: 200,
    });
    expect(await s.deleteWebhook(hook.id)).toBe(true);
    expect(await s.listWebhooks()).toEqual([]);
  });
});
