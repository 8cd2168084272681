/**
 * Issue 14: the keyed audit chain on SQLite and PostgreSQL. With WARD_AUDIT_KEY, records are
 * HMAC-chained; a writer of the database without the key cannot rewrite and rehash; a signed head
 * catches truncation and a rewrite back to unkeyed records; unkeyed records are accepted only
 * before the first keyed one (the explicit migration).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditHash, auditKeyFromEnv, signAuditHead } from '../../src/audit/chain.js';
import { auditRecords, verifyStoreAudit } from '../../src/audit/log.js';
import { type OpenedStore, openStore, rawSql, STORE_KINDS } from './stores.js';

const before = process.env.WARD_AUDIT_KEY;
afterAll(() => {
  if (before === undefined) delete process.env.WARD_AUDIT_KEY;
  else process.env.WARD_AUDIT_KEY = before;
});

describe.each(STORE_KINDS)('keyed audit chain on %s', (kind) => {
  let s: OpenedStore;
  const key = randomBytes(32);
  beforeAll(async () => {
    delete process.env.WARD_AUDIT_KEY;
    s = await openStore(kind);
    for (const n of [1, 2])
      await s.store.appendAudit({ actor: 'cli', action: 'legacy', target: `t${n}`, details: { n } });
    process.env.WARD_AUDIT_KEY = key.toString('hex');
    await s.store.appendAudit({ actor: 'cli', action: 'audit.keyed', target: 'audit_log', details: {} });
    for (const n of [3, 4])
      await s.store.appendAudit({ actor: 'cli', action: 'keyed', target: `t${n}`, details: { n } });
  });
  afterEach(() => {
    process.env.WARD_AUDIT_KEY = key.toString('hex');
  });
  afterAll(async () => s?.drop());

  it('verifies a migrated chain: unkeyed records, then keyed ones', async () => {
    const r = await verifyStoreAudit(s.store);
    expect(r).toMatchObject({ ok: true, records: 5, keyed: 3, unkeyed: 2 });
    const signed = signAuditHead(r.head as { seq: number; hash: string }, key);
    expect((await verifyStoreAudit(s.store, signed)).ok).toBe(true);
    // The head from another key, or altered, does not verify.
    expect(
      (await verifyStoreAudit(s.store, signAuditHead(r.head as { seq: number; hash: string }, randomBytes(32)))).ok,
    ).toBe(false);
  });

  it('catches a rewrite by someone without the key, truncation, and a rewrite back to unkeyed', async () => {
    const r0 = await verifyStoreAudit(s.store);
    const signed = signAuditHead(r0.head as { seq: number; hash: string }, key);
    const records = [];
    for await (const r of auditRecords(s.store)) records.push(r);
    // Rewrite record 4 and rehash it and the rest as an attacker can: unkeyed SHA-256.
    let prev = (records[2] as { hash: string }).hash;
    for (const r of records.slice(3)) {
      const details = r.seq === 4 ? { n: 999 } : r.details;
      const hash = auditHash(prev, { ...r, details });
      await rawSql(s, kind, 'UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
        JSON.stringify(details),
        prev,
        hash,
        r.seq,
      ]);
      prev = hash;
    }
    const bad = await verifyStoreAudit(s.store);
    expect(bad.ok).toBe(false);
    expect(bad.broken).toMatchObject({ seq: 4 });
    expect(bad.broken?.reason).toMatch(/unkeyed record after keyed/);
    // Rewriting the whole log unkeyed passes a plain verify, but not the signed head.
    prev = '0'.repeat(64);
    for (const r of records) {
      const hash = auditHash(prev, r);
      await rawSql(s, kind, 'UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
        JSON.stringify(r.details),
        prev,
        hash,
        r.seq,
      ]);
      prev = hash;
    }
    expect((await verifyStoreAudit(s.store, signed)).ok).toBe(false);
    // Truncation: the record the signed head names is gone.
    await rawSql(s, kind, 'DELETE FROM audit_log WHERE seq = ?', [5]);
    const cut = await verifyStoreAudit(s.store, signed);
    expect(cut.ok).toBe(false);
  });

  it('refuses an all-zero audit key', () => {
    expect(() => auditKeyFromEnv({ WARD_AUDIT_KEY: '0'.repeat(64) })).toThrow(/all zeros/);
  });
});
