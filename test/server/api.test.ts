/**
 * The service end to end through HTTP (fastify's inject), on SQLite and on PostgreSQL: banks,
 * live index updates without a restart, hash/match/scan, the review queue and its decisions,
 * audit, evidence, roles and rate limits, the OpenAPI document.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage, variant } from '../../src/demo/images.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { hashImage } from '../../src/signals/image.js';
import { type Harness, startHarness } from './harness.js';
import { iter, rawSql, STORE_KINDS, skipUnavailable } from './stores.js';

let image: Buffer;
let near: Buffer;
let other: Buffer;
beforeAll(async () => {
  image = await sceneImage(101);
  near = await variant(image, 'resized');
  other = await sceneImage(202);
});

describe.each(STORE_KINDS)('the service on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind, {
      // A list whose matches need a human: its matches are flags (they enter the review queue).
      config: resolveScanConfig({ policy: { banks: { unverified: 'flag' } } }),
      evidence: undefined,
    });
  });
  afterAll(async () => h?.close());

  it('answers health, readiness and an OpenAPI 3.1 document built from the routes', async () => {
    expect((await h.call(null, 'GET', '/healthz')).body).toMatchObject({ ok: true, data: { status: 'ok' } });
    expect((await h.call(null, 'GET', '/readyz')).body).toMatchObject({ ok: true, data: { status: 'ready' } });
    const doc = (await h.call(null, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/v1/hash',
      '/v1/match',
      '/v1/scan',
      '/v1/text',
      '/v1/banks',
      '/v1/banks/{name}/import',
      '/v1/reviews/{id}/decision',
      '/v1/audit/verify',
      '/metrics',
      '/healthz',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/v1/match'].post.requestBody.content['application/json'].schema.required).toEqual(['hashes']);
    expect(doc.paths['/v1/banks'].post['x-ward-roles']).toEqual(['admin']);
    expect(doc.paths['/v1/banks/{name}'].get.parameters[0]).toMatchObject({ name: 'name', in: 'path', required: true });
    // Every route needs a key, but these few.
    const open: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security: unknown[] }>>)) {
      for (const [method, op] of Object.entries(ops)) if (op.security.length === 0) open.push(`${method} ${path}`);
    }
    expect(open.sort()).toEqual([
      'get /healthz',
      'get /openapi.json',
      'get /readyz',
      'get /ui',
      'get /ui/',
      'get /ui/{file}',
    ]);
  });

  it('creates a bank, imports a streamed file, and matches without a restart; entry changes apply live', async () => {
    const h1 = await hashImage(image);
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'known' })).status).toBe(201);
    const file = `${JSON.stringify({ signal: 'pdq', value: h1.pdq, labels: ['stand-in'] })}\n${JSON.stringify({ value: h1.md5 })}\n`;
    const imported = await h.call('admin', 'POST', '/v1/banks/known/import', file, {
      'content-type': 'application/x-ndjson',
    });
    expect(imported.body).toMatchObject({ ok: true, data: { added: 2, invalidCount: 0 } });

    const byHash = await h.call('submitter', 'POST', '/v1/match', { hashes: [h1.pdq, h1.md5, 'f'.repeat(40)] });
    expect(byHash.status).toBe(200);
    const [pdqResult, md5Result, none] = byHash.body.data.results;
    expect(pdqResult).toMatchObject({ signal: 'pdq', matches: [{ bank: 'known', distance: 0, labels: ['stand-in'] }] });
    expect(md5Result).toMatchObject({ signal: 'md5', matches: [{ bank: 'known', signal: 'md5' }] });
    expect(none.matches).toEqual([]);

    const byUpload = await h.call('submitter', 'POST', '/v1/match', near, { 'content-type': 'image/jpeg' });
    expect(byUpload.body.data.results[0].matches[0]).toMatchObject({ bank: 'known', signal: 'pdq' });
    expect(byUpload.body.data.results[0].matches[0].distance).toBeGreaterThan(0);

    const entries = (await h.call('analyst', 'GET', '/v1/banks/known/entries?limit=10')).body.data.entries;
    expect(entries.map((e: { signal: string }) => e.signal).sort()).toEqual(['md5', 'pdq']);
    const pdqEntry = entries.find((e: { signal: string }) => e.signal === 'pdq');
    expect((await h.call('admin', 'DELETE', `/v1/banks/known/entries/${pdqEntry.id}`)).status).toBe(200);
    expect((await h.call('admin', 'DELETE', `/v1/banks/known/entries/${pdqEntry.id}`)).body.error.code).toBe(
      'WARD_ERR_NOT_FOUND',
    );
    const after = await h.call('submitter', 'POST', '/v1/match', { hashes: [h1.pdq] });
    expect(after.body.data.results[0].matches).toEqual([]);

    const added = await h.call('admin', 'POST', '/v1/banks/known/entries', {
      entries: [{ value: h1.pdq, signal: 'pdq', labels: ['again'] }],
    });
    expect(added.body.data.added).toBe(1);
    const again = await h.call('submitter', 'POST', '/v1/match', { hashes: [h1.pdq] });
    expect(again.body.data.results[0].matches[0].labels).toEqual(['again']);

    const exported = await h.call('analyst', 'GET', '/v1/banks/known/export?format=csv');
    expect(exported.headers['content-type']).toMatch(/^text\/csv/);
    expect(exported.raw.toString()).toContain(h1.md5);
  });

  it('picks up bank changes made by another process (polling bank versions)', async () => {
    const md5 = createHash('md5').update('elsewhere').digest('hex');
    await h.call('admin', 'POST', '/v1/banks', { name: 'elsewhere' });
    await h.opened.store.importEntries('elsewhere', iter([{ signal: 'md5', value: md5, labels: [], line: 1 }]));
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: [md5] })).body.data.results[0].matches).toEqual(
      [],
    );
    await h.server.context.live.refresh(); // what the poll timer does
    const r = await h.call('submitter', 'POST', '/v1/match', { hashes: [md5] });
    expect(r.body.data.results[0].matches[0]).toMatchObject({ bank: 'elsewhere' });
    await h.opened.store.deleteBank('elsewhere');
    await h.server.context.live.refresh();
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: [md5] })).body.data.results[0].matches).toEqual(
      [],
    );
  });

  it('hashes an upload as `ward hash` does', async () => {
    const r = await h.call('submitter', 'POST', '/v1/hash', image, { 'content-type': 'application/octet-stream' });
    const expected = await hashImage(image);
    expect(r.body.data).toMatchObject({
      contentType: 'image',
      format: 'jpeg',
      signals: { pdq: expected.pdq, quality: expected.quality, md5: expected.md5, sha256: expected.sha256 },
    });
    // multipart/form-data too
    const boundary = 'XwardX';
    const form = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      image,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const m = await h.call('submitter', 'POST', '/v1/hash', form, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    });
    expect(m.body.data.signals.md5).toBe(expected.md5);
  });

  it('scans an upload: flagged items enter the queue; confirm adds the signals to a bank; the audit log shows it', async () => {
    const image = await sceneImage(303);
    const near = await variant(image, 'resized');
    const h1 = await hashImage(image);
    await h.call('admin', 'POST', '/v1/banks', { name: 'unverified' });
    await h.call('admin', 'POST', '/v1/banks', { name: 'confirmed' });
    await h.call('admin', 'POST', '/v1/banks', { name: 'memes', kind: 'negative' });
    await h.call('admin', 'POST', '/v1/banks/unverified/entries', { entries: [{ value: h1.pdq, signal: 'pdq' }] });
    const scanned = await h.call('submitter', 'POST', '/v1/scan?name=photo.jpg', near, {
      'content-type': 'image/jpeg',
    });
    expect(scanned.status).toBe(200);
    expect(scanned.body.data.verdict).toBe('flag');
    const [item] = scanned.body.data.items;
    expect(item).toMatchObject({
      path: 'photo.jpg',
      contentType: 'image',
      verdict: 'flag',
      reasons: [{ rule: 'bank-flag' }],
    });
    const reviewId = scanned.body.data.reviews[0].id;

    const queue = await h.call('analyst', 'GET', '/v1/reviews');
    expect(queue.body.data.items.map((i: { id: number }) => i.id)).toContain(reviewId);
    const one = await h.call('analyst', 'GET', `/v1/reviews/${reviewId}`);
    expect(one.body.data).toMatchObject({ status: 'open', evidence: { available: false } });
    expect(one.body.data.evidence.reason).toMatch(/evidence store is disabled/);
    expect((await h.call('analyst', 'GET', `/v1/reviews/${reviewId}/evidence`)).status).toBe(404);

    // Wrong bank kinds and unknown banks are refused without deciding anything.
    expect(
      (await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, { action: 'confirm', bank: 'memes' }))
        .status,
    ).toBe(409);
    expect(
      (await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, { action: 'confirm', bank: 'nope' })).body
        .error.code,
    ).toBe('WARD_ERR_BANK_NOT_FOUND');
    expect((await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, { action: 'confirm' })).status).toBe(
      400,
    );

    const decided = await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, {
      action: 'confirm',
      bank: 'confirmed',
      labels: ['reviewed'],
      note: 'matches the list',
    });
    expect(decided.body.data).toMatchObject({
      status: 'confirmed',
      decision: { action: 'confirm', bank: 'confirmed' },
    });
    expect(decided.body.data.decision.added).toEqual(['pdq', 'md5', 'sha1', 'sha256']);
    expect((await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, { action: 'dismiss' })).status).toBe(
      409,
    );

    const entries = (await h.call('analyst', 'GET', '/v1/banks/confirmed/entries')).body.data.entries;
    expect(entries.map((e: { value: string }) => e.value)).toContain(item.signals.pdq);
    // Now the same upload is known material: it matches the confirmed bank.
    const rescan = await h.call('submitter', 'POST', '/v1/scan', near, { 'content-type': 'image/jpeg' });
    expect(rescan.body.data.verdict).toBe('match');

    const audit = (await h.call('analyst', 'GET', '/v1/audit?action=review.decision')).body.data.records;
    expect(audit.at(-1)).toMatchObject({
      action: 'review.decision',
      target: `review:${reviewId}`,
      details: { action: 'confirm', bank: 'confirmed' },
    });
    expect((await h.call('analyst', 'GET', '/v1/audit/verify')).body.data).toMatchObject({ verified: true });

    // Dismiss into the negative bank, escalate.
    const second = await h.call('submitter', 'POST', '/v1/scan', await variant(image, 'brightened'), {
      'content-type': 'image/jpeg',
    });
    const id2 = second.body.data.reviews[0]?.id;
    if (id2 !== undefined) {
      expect(
        (await h.call('analyst', 'POST', `/v1/reviews/${id2}/decision`, { action: 'escalate' })).body.data.status,
      ).toBe('escalated');
      const dismissed = await h.call('analyst', 'POST', `/v1/reviews/${id2}/decision`, {
        action: 'dismiss',
        bank: 'memes',
      });
      expect(dismissed.body.data).toMatchObject({ status: 'dismissed', decision: { bank: 'memes' } });
    }
  });

  it('scans an archive upload: one report per item, as ward scan', async () => {
    const { storedZip } = await import('../../src/demo/archives.js');
    const zip = storedZip([
      { name: 'a.jpg', bytes: image },
      { name: 'b.jpg', bytes: other },
    ]);
    const r = await h.call('submitter', 'POST', '/v1/scan?name=bundle.zip&review=false', zip, {
      'content-type': 'application/zip',
    });
    expect(
      r.body.data.items.map((i: { archivePath?: string; contentType: string }) => [
        i.archivePath ?? null,
        i.contentType,
      ]),
    ).toEqual([
      [null, 'archive'],
      ['a.jpg', 'image'],
      ['b.jpg', 'image'],
    ]);
    expect(r.body.data.reviews).toEqual([]);
  });

  it('enforces roles, bad keys, revoked keys and per-key rate limits in the one shape', async () => {
    const noKey = await h.call(null, 'GET', '/v1/banks');
    expect(noKey.status).toBe(401);
    expect(noKey.body).toEqual({ ok: false, error: { code: 'WARD_ERR_AUTH_REQUIRED', message: expect.any(String) } });
    const badKey = await h.call(null, 'GET', '/v1/banks', undefined, {
      authorization: 'Bearer ward_aaaaaaaaaaaa_' + 'x'.repeat(43),
    });
    expect(badKey.body.error.code).toBe('WARD_ERR_AUTH_INVALID');
    expect((await h.call(null, 'GET', '/v1/banks', undefined, { authorization: 'Basic abc' })).status).toBe(401);
    expect((await h.call('submitter', 'GET', '/v1/banks')).body.error.code).toBe('WARD_ERR_FORBIDDEN');
    expect((await h.call('submitter', 'GET', '/v1/reviews')).status).toBe(403);
    expect((await h.call('analyst', 'POST', '/v1/banks', { name: 'x' })).status).toBe(403);
    expect((await h.call('analyst', 'POST', '/v1/keys', { role: 'admin' })).status).toBe(403);
    expect((await h.call('analyst', 'POST', '/v1/scan', image)).status).toBe(403);
    expect((await h.call('submitter', 'GET', '/metrics')).status).toBe(403);
    expect((await h.call('analyst', 'GET', '/metrics')).raw.toString()).toMatch(/^# HELP ward_http_requests_total/m);

    const made = await h.call('admin', 'POST', '/v1/keys', {
      role: 'submitter',
      name: 'limited',
      rateLimit: 1,
      burst: 2,
    });
    expect(made.status).toBe(201);
    const limited = made.body.data.key as string;
    const auth = { authorization: `Bearer ${limited}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await h.call(null, 'POST', '/v1/match', { hashes: ['a'.repeat(32)] }, auth)).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    const limitedRes = await h.call(null, 'POST', '/v1/match', { hashes: ['a'.repeat(32)] }, auth);
    expect(limitedRes.status).toBe(429);
    expect(limitedRes.body.error.code).toBe('WARD_ERR_RATE_LIMITED');
    expect(Number(limitedRes.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    expect((await h.call('admin', 'DELETE', `/v1/keys/${made.body.data.id}`)).status).toBe(200);
    expect((await h.call(null, 'GET', '/v1/me', undefined, auth)).body.error.code).toBe('WARD_ERR_AUTH_INVALID');
    const keys = (await h.call('admin', 'GET', '/v1/keys')).body.data.keys;
    expect(keys.every((k: Record<string, unknown>) => !('hash' in k))).toBe(true);
  });

  it('answers /v1/text with the screening result, or 501 until text screening is in the build', async () => {
    const r = await h.call('submitter', 'POST', '/v1/text', { text: 'a photo of a mountain lake', context: 'caption' });
    if (r.status === 501) expect(r.body.error.code).toBe('WARD_ERR_NOT_IMPLEMENTED');
    else expect(r.body).toMatchObject({ ok: true, data: { verdict: 'allow', context: 'caption' } });
  });
});

describe.each(STORE_KINDS)('the evidence store on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  let evidence: EvidenceStore;
  beforeAll(async () => {
    h = await startHarness(kind, { config: resolveScanConfig({ policy: { banks: { unverified: 'flag' } } }) });
  });
  afterAll(async () => h?.close());

  it('keeps flagged uploads encrypted, serves them to analysts (audited), and purges them after retention', async () => {
    // A server with the evidence store on, over the same database.
    const { createServer } = await import('../../src/server/app.js');
    evidence = new EvidenceStore(h.opened.store, { key: Buffer.alloc(32, 7), retentionDays: 365 });
    const server = await createServer({
      store: h.opened.store,
      pollMs: 0,
      evidence,
      config: resolveScanConfig({ policy: { banks: { unverified: 'flag' } } }),
    });
    try {
      const auth = (role: 'admin' | 'analyst' | 'submitter') => ({ authorization: `Bearer ${h.keys[role]}` });
      const h1 = await hashImage(image);
      await server.app.inject({
        method: 'POST',
        url: '/v1/banks',
        headers: auth('admin'),
        payload: { name: 'unverified' },
      });
      await server.app.inject({
        method: 'POST',
        url: '/v1/banks/unverified/entries',
        headers: auth('admin'),
        payload: { entries: [{ value: h1.pdq, signal: 'pdq' }] },
      });
      const scanned = await server.app.inject({
        method: 'POST',
        url: '/v1/scan',
        headers: { ...auth('submitter'), 'content-type': 'image/jpeg' },
        payload: near,
      });
      const id = scanned.json().data.reviews[0].id;
      const item = (
        await server.app.inject({ method: 'GET', url: `/v1/reviews/${id}`, headers: auth('analyst') })
      ).json();
      expect(item.data.evidence).toEqual({ available: true });
      const got = await server.app.inject({
        method: 'GET',
        url: `/v1/reviews/${id}/evidence`,
        headers: auth('analyst'),
      });
      expect(got.statusCode).toBe(200);
      expect(got.headers['content-type']).toBe('image/jpeg');
      expect(Buffer.compare(got.rawPayload, near)).toBe(0);
      expect(
        (await server.app.inject({ method: 'GET', url: `/v1/reviews/${id}/evidence`, headers: auth('submitter') }))
          .statusCode,
      ).toBe(403);
      const views = await h.opened.store.listAudit({ action: 'evidence.view', limit: 10 });
      expect(views).toHaveLength(1);

      // At rest it is ciphertext, bound to its id.
      const review = await h.opened.store.getReview(id);
      const rec = await h.opened.store.getEvidence(review?.evidenceId as string);
      expect(rec?.data.length).toBe(near.length);
      expect(rec?.data.equals(near)).toBe(false);
      expect(rec?.data.includes(near.subarray(0, 64))).toBe(false);

      // Tampering with the ciphertext is detected.
      await rawSql(h.opened, kind, 'UPDATE evidence SET nonce = ? WHERE id = ?', [Buffer.alloc(12, 9), rec?.id]);
      await expect(evidence.get(rec?.id as string)).rejects.toMatchObject({ code: 'WARD_ERR_EVIDENCE_UNREADABLE' });

      // The purge job deletes what is past its retention, and nothing else.
      const keep = await evidence.put(Buffer.from('fresh'), 'application/octet-stream');
      const old = await evidence.put(
        Buffer.from('old'),
        'application/octet-stream',
        new Date(Date.now() - 366 * 86_400_000),
      );
      expect(await evidence.purge()).toBe(1);
      expect(await evidence.get(old)).toBeUndefined();
      expect((await evidence.get(keep))?.bytes.toString()).toBe('fresh');
      expect(await evidence.purge(new Date(Date.now() + 400 * 86_400_000))).toBeGreaterThanOrEqual(2);
      const gone = await server.app.inject({
        method: 'GET',
        url: `/v1/reviews/${id}/evidence`,
        headers: auth('analyst'),
      });
      expect(gone.statusCode).toBe(404);
    } finally {
      await server.close();
    }
  });
});
