/**
 * Issue 14 regressions on SQLite and PostgreSQL: matching never discloses a bank (distance only
 * tightens, negative entries hidden, hits capped), webhook URLs checked by the egress point and
 * redacted in the audit log, webhook secrets sealed at rest, unreadable evidence a server error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { isSealed } from '../../src/secrets/index.js';
import { MAX_HITS_PER_RESULT } from '../../src/server/disclosure.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS } from './stores.js';

/** A PDQ-shaped hash with the given bits flipped. */
function flip(hex: string, bits: number[]): string {
  const b = Buffer.from(hex, 'hex');
  for (const i of bits) b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
  return b.toString('hex');
}
const q = createHash('sha256').update('query stand-in').digest('hex');

describe.each(STORE_KINDS)('issue 14 on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
    await h.call('admin', 'POST', '/v1/banks', { name: 'list', pdqDistance: 31 });
    await h.call('admin', 'POST', '/v1/banks', { name: 'many', pdqDistance: 31 });
    await h.call('admin', 'POST', '/v1/banks', { name: 'fp', kind: 'negative' });
    // 200 entries at distance 40 from the query (outside the bank's 31) and one at distance 5.
    const far = Array.from({ length: 200 }, (_, i) => ({
      value: flip(
        q,
        Array.from({ length: 40 }, (_, k) => (i + k * 6) % 256),
      ),
      signal: 'pdq',
      labels: ['confidential-label'],
    }));
    const add = await h.call('admin', 'POST', '/v1/banks/list/entries', {
      entries: [...far, { value: flip(q, [1, 2, 3, 4, 5]), signal: 'pdq', labels: ['near'] }],
    });
    expect(add.status).toBe(200);
    // 150 entries each within distance 1 of a second query: more than one response may carry.
    const q2 = flip(
      q,
      Array.from({ length: 100 }, (_, k) => 100 + k),
    );
    const close = Array.from({ length: 150 }, (_, i) => ({ value: flip(q2, [i]), signal: 'pdq' }));
    expect((await h.call('admin', 'POST', '/v1/banks/many/entries', { entries: close })).status).toBe(200);
  });
  afterAll(async () => h?.close());

  it('a requested distance only tightens a bank’s own (distance 256 does not dump the bank)', async () => {
    const r = await h.call('submitter', 'POST', '/v1/match', { hashes: [q], signal: 'pdq', distance: 256 });
    expect(r.status).toBe(200);
    const matches = r.body.data.results[0].matches.filter((m: { bank: string }) => m.bank === 'list');
    expect(matches).toHaveLength(1);
    expect(matches[0]).toMatchObject({ distance: 5, labels: ['near'] });
    expect(JSON.stringify(r.body)).not.toContain('confidential-label');
    expect(r.body.data.results[0].matches.every((m: { distance: number }) => m.distance <= 31)).toBe(true);
    // Tightening works: below 5 the close entry is gone too.
    const tight = await h.call('submitter', 'POST', '/v1/match', { hashes: [q], signal: 'pdq', distance: 4 });
    expect(tight.body.data.results[0].matches.filter((m: { bank: string }) => m.bank === 'list')).toEqual([]);
  });

  it('caps hits per result with a truncated flag', async () => {
    const q2 = flip(
      q,
      Array.from({ length: 100 }, (_, k) => 100 + k),
    );
    const r = await h.call('submitter', 'POST', '/v1/match', { hashes: [q2], signal: 'pdq' });
    expect(r.body.data.results[0].matches).toHaveLength(MAX_HITS_PER_RESULT);
    expect(r.body.data.results[0].truncated).toBe(true);
    expect(r.body.data.truncated).toBe(true);
  });

  it('never returns negative-bank entries to a submitter: only that a suppression happened', async () => {
    const md5 = createHash('md5').update('benign meme stand-in').digest('hex');
    await h.call('admin', 'POST', '/v1/banks/list/entries', { entries: [{ value: md5 }] });
    await h.call('admin', 'POST', '/v1/banks/fp/entries', { entries: [{ value: md5, labels: ['fp-secret-label'] }] });
    const r = await h.call('submitter', 'POST', '/v1/match', { hashes: [md5] });
    const res = r.body.data.results[0];
    expect(res.matches).toEqual([]);
    expect(res.suppressedBy).toEqual([{ bank: 'fp', signal: 'md5' }]);
    expect(JSON.stringify(r.body)).not.toContain('fp-secret-label');
  });

  it('scan reports to the caller carry suppressions, not negative entries', async () => {
    const img = await sceneImage(303);
    const hashed = await h.call('submitter', 'POST', '/v1/hash', img, { 'content-type': 'image/jpeg' });
    const sha = hashed.body.data.signals.sha256 as string;
    await h.call('admin', 'POST', '/v1/banks/list/entries', { entries: [{ value: sha, signal: 'sha256' }] });
    await h.call('admin', 'POST', '/v1/banks/fp/entries', {
      entries: [{ value: sha, signal: 'sha256', labels: ['fp-scan-label'] }],
    });
    const s = await h.call('submitter', 'POST', '/v1/scan?review=false', img, { 'content-type': 'image/jpeg' });
    expect(s.status).toBe(200);
    expect(JSON.stringify(s.body)).not.toContain('fp-scan-label');
    for (const item of s.body.data.items) {
      for (const x of item.suppressedBy ?? []) expect(Object.keys(x).sort()).toEqual(['bank', 'signal']);
    }
  });

  it('refuses webhook URLs to special addresses and with credentials; redacts URLs in the audit log', async () => {
    for (const url of [
      'http://127.0.0.1:9/',
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://0177.0.0.1/',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://localhost:8080/',
      'http://user:pass@hooks.example.com/',
    ]) {
      const r = await h.call('admin', 'POST', '/v1/webhooks', { url, events: ['match'] });
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe('WARD_ERR_EGRESS_REFUSED');
    }
    expect((await h.call('admin', 'GET', '/v1/webhooks')).body.data.webhooks).toEqual([]);
    const before = process.env.WARD_SECRET_KEY;
    process.env.WARD_SECRET_KEY = randomBytes(32).toString('hex');
    try {
      const made = await h.call('admin', 'POST', '/v1/webhooks', {
        url: 'https://hooks.example.com/ward/deep/path?token=query-secret',
        events: ['decision'],
      });
      expect(made.status).toBe(201);
      const secret = made.body.data.secret as string;
      expect(secret).toMatch(/^whsec_/);
      const stored = (await h.opened.store.listWebhooks()).find((w) => w.id === made.body.data.id);
      expect(isSealed(stored?.secret as string)).toBe(true);
      expect(stored?.secret).not.toContain(secret);
      const audit = await h.opened.store.listAudit({ action: 'webhook.create', limit: 10 });
      expect(JSON.stringify(audit)).not.toContain('query-secret');
      expect(JSON.stringify(audit)).not.toContain('deep/path');
      await h.call('admin', 'DELETE', `/v1/webhooks/${made.body.data.id}`);
    } finally {
      if (before === undefined) delete process.env.WARD_SECRET_KEY;
      else process.env.WARD_SECRET_KEY = before;
    }
  });

  it('unreadable evidence (another key) is a server-side WARD_ERR_EVIDENCE_UNREADABLE, and the item says unavailable', async () => {
    const a = new EvidenceStore(h.opened.store, { key: randomBytes(32) });
    const id = await a.put(Buffer.from('benign stand-in bytes'), 'application/octet-stream');
    const item = await h.opened.store.insertReview({
      createdAt: new Date().toISOString(),
      status: 'open',
      verdict: 'flag',
      score: null,
      source: 'scan',
      submittedBy: null,
      name: 'x',
      contentType: 'other',
      report: {
        path: 'x',
        contentType: 'other',
        size: 1,
        verdict: 'flag',
        signals: {},
        matches: [],
        findings: [],
        reasons: [],
      } as never,
      evidenceId: id,
    });
    const { createServer } = await import('../../src/server/app.js');
    const other = await createServer({
      store: h.opened.store,
      pollMs: 0,
      evidence: new EvidenceStore(h.opened.store, { key: randomBytes(32) }),
      config: resolveScanConfig({}),
    });
    try {
      const auth = { authorization: `Bearer ${h.keys.analyst}` };
      const view = await other.app.inject({ method: 'GET', url: `/v1/reviews/${item.id}`, headers: auth });
      expect(JSON.parse(view.body).data.evidence.available).toBe(false);
      const ev = await other.app.inject({ method: 'GET', url: `/v1/reviews/${item.id}/evidence`, headers: auth });
      expect(ev.statusCode).toBe(500);
      expect(JSON.parse(ev.body).error.code).toBe('WARD_ERR_EVIDENCE_UNREADABLE');
    } finally {
      await other.app.close();
    }
    expect(() => new EvidenceStore(h.opened.store, { key: Buffer.alloc(32) })).toThrow(/all zeros/);
  });
});
