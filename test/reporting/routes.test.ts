/**
 * /v1/reports on SQLite and PostgreSQL against the fake CyberTipline: build with the pre-filled
 * fields (nothing sent), submit, status with retention, legal hold (admins), the NCA export with
 * the already-reported-to-NCMEC rule and its reference; roles; no credentials in any answer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { createServer, type WardServer } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { type OpenedStore, openStore, STORE_KINDS } from '../server/stores.js';
import { FakeCyberTipline } from './fake-cybertipline.js';
import { newReview, PROFILE, sharedAvailable, XSD, XSD_SKIP } from './items.js';

if (!sharedAvailable) console.warn(XSD_SKIP);

describe.skipIf(!sharedAvailable).each(STORE_KINDS)('/v1/reports (%s)', (kind) => {
  let opened: OpenedStore;
  let server: WardServer;
  let fake: FakeCyberTipline;
  const keys: Record<string, string> = {};
  const saved: Record<string, string | undefined> = {};
  let ids: number[] = [];

  beforeAll(async () => {
    opened = await openStore(kind);
    fake = new FakeCyberTipline({ xsdPath: XSD, password: 'a-test-password' });
    const url = await fake.start();
    const env = {
      WARD_NCMEC_ENDPOINT: url,
      WARD_NCMEC_USERNAME: 'user',
      WARD_NCMEC_PASSWORD: 'a-test-password',
      WARD_NCMEC_XSD: XSD,
      WARD_EGRESS_ALLOW: '127.0.0.1',
    };
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const evidence = new EvidenceStore(opened.store, { key: randomBytes(32) });
    for (const role of ['admin', 'analyst', 'submitter'] as const)
      keys[role] = (await createKey(opened.store, role, role, { childSafety: role !== 'submitter' })).key;
    keys.restricted = (await createKey(opened.store, 'analyst', 'without child safety')).key;
    server = await createServer({ store: opened.store, evidence, pollMs: 0, rateLimit: { rate: 0, burst: 1 } });
    for (let i = 0; i < 2; i++) {
      const bytes = await sceneImage(500 + i);
      const item = await opened.store.insertReview({
        ...newReview(bytes, `s${i}.jpg`),
        evidenceId: await evidence.put(bytes, 'image/jpeg'),
      });
      await opened.store.decideReview(
        item.id,
        'confirmed',
        { action: 'confirm', bank: 'known' },
        'key:t',
        new Date().toISOString(),
        ['open'],
      );
      ids.push(item.id);
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.close();
    await fake?.stop();
    await opened?.drop();
    ids = [];
  });

  const call = async (role: string, method: string, url: string, body?: unknown) => {
    const res = await server.app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${keys[role]}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    expect(res.body).not.toContain('a-test-password');
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  it('builds with the pre-filled fields for the reviewer, sending nothing; submitters may not', async () => {
    const b = await call('analyst', 'POST', '/v1/reports/ncmec/build', {
      reviewIds: ids,
      reporter: PROFILE,
      choices: { [String(ids[0])]: { industryClassification: 'B1', annotations: ['infant'] } },
    });
    expect(b.status).toBe(200);
    expect(b.body.data.valid).toBe(true);
    expect(b.body.data.files[0].prefilled.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(b.body.data.files[0].prefilled.viewedByPerson).toBe(false);
    expect(b.body.data.files[0].fileDetailsXml).toContain('<industryClassification>B1</industryClassification>');
    expect(fake.log).toHaveLength(0);
    expect((await call('submitter', 'POST', '/v1/reports/ncmec/build', { reviewIds: ids })).status).toBe(403);
    // Report contents are child-safety data: an analyst key without the permission is refused.
    const restricted = await call('restricted', 'POST', '/v1/reports/ncmec/build', {
      reviewIds: ids,
      reporter: PROFILE,
    });
    expect(restricted.status).toBe(403);
    expect(restricted.body.error.details).toMatchObject({ permission: 'child-safety' });
    expect((await call('restricted', 'GET', '/v1/reports')).status).toBe(403);
    const bad = await call('analyst', 'POST', '/v1/reports/ncmec/build', {
      reviewIds: ids,
      reporter: { reportingPerson: {} },
    });
    expect(bad.status).toBe(400);
  });

  it('submits, shows status and retention, holds (admins only), exports for the NCA', async () => {
    const s = await call('analyst', 'POST', '/v1/reports/ncmec', { reviewIds: ids, reporter: PROFILE });
    expect(s.status).toBe(200);
    expect(s.body.data.state).toBe('finished');
    expect(fake.finished()).toHaveLength(1);
    const id = s.body.data.id;
    const again = await call('analyst', 'POST', '/v1/reports/ncmec', {
      reviewIds: [...ids].reverse(),
      reporter: PROFILE,
    });
    expect(again.body.data.id).toBe(id);
    expect(fake.finished()).toHaveLength(1);
    const list = await call('analyst', 'GET', `/v1/reports?reviewId=${ids[0]}`);
    expect(list.body.data.retention.retainUntil).toBe(s.body.data.retainUntil);
    expect((await call('analyst', 'POST', `/v1/reports/${id}/hold`, { hold: true })).status).toBe(403);
    const held = await call('admin', 'POST', `/v1/reports/${id}/hold`, { hold: true });
    expect(held.body.data.legalHold).toBe(true);
    expect((await call('analyst', 'POST', `/v1/reports/${id}/retract`)).body.error.code).toBe('WARD_ERR_REPORT_STATE');
    const nca = await call('analyst', 'POST', '/v1/reports/nca', { reviewIds: ids, reporter: PROFILE, priority: 'P1' });
    expect(nca.status).toBe(201);
    expect(nca.body.data.contents.requiredByNca).toBe(false);
    expect(nca.body.data.contents.content[0].alreadyReportedToNcmec).toBe(true);
    const ref = await call('analyst', 'POST', `/v1/reports/${nca.body.data.id}/reference`, {
      reference: 'NCA-TEST-42',
    });
    expect(ref.body.data.externalReference).toBe('NCA-TEST-42');
    const one = await call('analyst', 'GET', `/v1/reports/${id}`);
    expect(one.body.data.files.map((f: { state: string }) => f.state)).toEqual(['fileinfo', 'fileinfo']);
  });
});
