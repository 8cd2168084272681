/**
 * CyberTipline submission as a durable state machine, on SQLite and PostgreSQL, against the
 * local fake CyberTipline: the whole sequence, an injected error at every step in both error
 * transports (rerun resumes, one report), lost answers (the abandoned report is retracted),
 * auto-deletion (re-opened, audited), retraction, and one report per set of items.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { EgressAllowList, egressFetch } from '../../src/net/egress.js';
import { parseReporterProfile } from '../../src/reporting/ncmec/builder.js';
import { NcmecClient } from '../../src/reporting/ncmec/client.js';
import {
  createNcmecReport,
  retractNcmecReport,
  runNcmecReport,
  type SubmitContext,
} from '../../src/reporting/ncmec/submit.js';
import { setLegalHold } from '../../src/reporting/preservation.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { type OpenedStore, openStore, rawSql, STORE_KINDS } from '../server/stores.js';
import { type Call, FakeCyberTipline } from './fake-cybertipline.js';
import { newReview, PROFILE, sharedAvailable, XSD, XSD_SKIP } from './items.js';

if (!sharedAvailable) console.warn(XSD_SKIP);

const allow = EgressAllowList.fromEnv({ WARD_EGRESS_ALLOW: '127.0.0.1' });
const profile = parseReporterProfile(PROFILE);

describe.skipIf(!sharedAvailable).each(STORE_KINDS)('CyberTipline submission (%s)', (kind) => {
  let opened: OpenedStore;
  let fake: FakeCyberTipline;
  let evidence: EvidenceStore;
  let clock = Date.now();
  let ids: number[];

  beforeAll(async () => {
    opened = await openStore(kind);
    evidence = new EvidenceStore(opened.store, { key: randomBytes(32) });
  });
  afterAll(async () => opened.drop());

  beforeEach(async () => {
    clock = Date.now();
    fake = new FakeCyberTipline({ xsdPath: XSD, now: () => clock });
    await fake.start();
    ids = [];
    for (let i = 0; i < 2; i++) {
      const bytes = await sceneImage(100 + i + Math.floor(Math.random() * 1e6));
      const item = await opened.store.insertReview({
        ...newReview(bytes, `scene-${i}.jpg`),
        evidenceId: await evidence.put(bytes, 'image/jpeg'),
      });
      await opened.store.decideReview(
        item.id,
        'confirmed',
        { action: 'confirm', bank: 'known', labels: ['A1'] },
        'key:t',
        new Date().toISOString(),
        ['open'],
      );
      ids.push(item.id);
    }
  });
  afterEach(async () => fake.stop());

  const ctx = (password = 'pass'): SubmitContext => ({
    store: opened.store,
    actor: 'cli',
    now: () => new Date(clock),
    xsdPath: XSD,
    client: new NcmecClient({
      endpoint: fake.url,
      credentials: { username: 'user', password },
      fetch: (url, init) => egressFetch(url, { ...init, allow }),
    }),
    readBytes: async (item) => {
      const e = item.evidenceId ? await evidence.get(item.evidenceId) : undefined;
      if (!e) throw new Error('no evidence');
      return e.bytes;
    },
  });

  const expectOneFinishedWithEveryFile = async (reportId: number) => {
    const finished = fake.finished();
    expect(finished).toHaveLength(1);
    const f = finished[0];
    expect(f?.files).toHaveLength(ids.length);
    expect(f?.files.every((x) => x.details !== undefined)).toBe(true);
    const r = await opened.store.getReport(reportId);
    expect(r?.state).toBe('finished');
    expect(r?.remoteId).toBe(String(f?.id));
    const files = await opened.store.reportFiles(reportId);
    expect(files.map((x) => x.fileId).sort()).toEqual(f?.files.map((x) => x.fileId).sort());
    // The report's contents as sent are preserved with it.
    for (const x of files) expect(x.details).toContain(`<fileId>${x.fileId}</fileId>`);
  };

  it('runs draft → submitted → uploaded → fileinfo → finished, audited, retained 365 days', async () => {
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    expect(rec.state).toBe('draft');
    expect(Date.parse(rec.retainUntil) - clock).toBeGreaterThanOrEqual(365 * 86_400_000 - 1000);
    const again = await createNcmecReport(c, [...ids].reverse(), { profile });
    expect(again.id).toBe(rec.id);
    const done = await runNcmecReport(c, rec.id);
    expect(done.state).toBe('finished');
    await expectOneFinishedWithEveryFile(rec.id);
    const actions = (await opened.store.listAudit({ limit: 1000 }))
      .filter((a) => a.target === `report:${rec.id}`)
      .map((a) => a.action);
    const submitAudit = (await opened.store.listAudit({ limit: 1000, action: 'report.submit' })).find(
      (a) => a.target === `report:${rec.id}`,
    );
    expect(fake.log.map((l) => l.requestId)).toContain(submitAudit?.details.requestId);
    expect(actions).toEqual([
      'report.create',
      'report.submit',
      'report.upload',
      'report.fileinfo',
      'report.upload',
      'report.fileinfo',
      'report.finish',
    ]);
    const ev = await opened.store.getEvidence((await opened.store.getReview(ids[0] as number))?.evidenceId as string);
    expect(Date.parse(ev?.expiresAt as string)).toBeGreaterThanOrEqual(Date.parse(rec.retainUntil));
    // Finished: cannot be retracted.
    await expect(retractNcmecReport(c, rec.id)).rejects.toMatchObject({ code: 'WARD_ERR_REPORT_STATE' });
    // Legal hold overrides the purge job; releasing it is audited and the purge applies again.
    const evId = (await opened.store.getReview(ids[0] as number))?.evidenceId as string;
    await setLegalHold({ store: opened.store, actor: 'cli' }, rec.id, true);
    await rawSql(opened, kind, 'UPDATE evidence SET expires_at = ? WHERE id = ?', ['2000-01-01T00:00:00.000Z', evId]);
    await opened.store.purgeEvidence(new Date().toISOString());
    expect(await opened.store.getEvidence(evId)).toBeDefined();
    await setLegalHold({ store: opened.store, actor: 'cli' }, rec.id, false);
    await opened.store.purgeEvidence(new Date().toISOString());
    expect(await opened.store.getEvidence(evId)).toBeUndefined();
    const holds = (await opened.store.listAudit({ limit: 1000 }))
      .filter((a) => a.target === `report:${rec.id}`)
      .map((a) => a.action);
    expect(holds.slice(-2)).toEqual(['report.hold', 'report.hold-release']);
  });

  for (const transport of ['http200', 'http400'] as const) {
    for (const call of ['submit', 'upload', 'fileinfo', 'finish'] as Call[]) {
      for (const nth of call === 'submit' || call === 'finish' ? [1] : [1, 2]) {
        it(`an error answer at ${call} #${nth} (${transport}) stops the run; a rerun resumes and finishes one report`, async () => {
          fake.transport = transport;
          fake.inject({ call, action: 'error', code: 1000, nth });
          const c = ctx();
          const rec = await createNcmecReport(c, ids, { profile });
          await expect(runNcmecReport(c, rec.id)).rejects.toMatchObject({
            code: 'WARD_ERR_REPORT_REJECTED',
            details: { responseCode: 1000, httpStatus: transport === 'http400' ? 400 : 200 },
          });
          const mid = await opened.store.getReport(rec.id);
          expect(mid?.inflight).toBeNull();
          expect(mid?.lastError).toMatch(/Request-ID [0-9a-f]{16}/);
          await runNcmecReport(c, rec.id);
          await expectOneFinishedWithEveryFile(rec.id);
          expect(fake.reports.size).toBe(1);
        });
      }
    }
  }

  it('a lost answer at upload: the abandoned report is retracted and a new one finished with exactly our files', async () => {
    fake.inject({ call: 'upload', action: 'drop', nth: 2 });
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    await expect(runNcmecReport(c, rec.id)).rejects.toMatchObject({ code: 'WARD_ERR_EGRESS_FAILED' });
    expect((await opened.store.getReport(rec.id))?.inflight).toMatch(/^upload:/);
    await runNcmecReport(c, rec.id);
    await expectOneFinishedWithEveryFile(rec.id);
    expect([...fake.reports.values()].map((r) => r.state).sort()).toEqual(['finished', 'retracted']);
    const r = await opened.store.getReport(rec.id);
    expect(r?.history.map((h) => h.ended)).toEqual(['retracted']);
  });

  it('a lost answer at finish: finish is sent again (5102 means it was finished)', async () => {
    fake.inject({ call: 'finish', action: 'drop' });
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    await expect(runNcmecReport(c, rec.id)).rejects.toMatchObject({ code: 'WARD_ERR_EGRESS_FAILED' });
    await runNcmecReport(c, rec.id);
    await expectOneFinishedWithEveryFile(rec.id);
    expect(fake.reports.size).toBe(1);
  });

  it('an expired report (1 h after the last change) is re-opened cleanly and the audit log says so', async () => {
    fake.inject({ call: 'fileinfo', action: 'error', code: 1000, nth: 1 });
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    await expect(runNcmecReport(c, rec.id)).rejects.toThrow();
    clock += 25 * 3_600_000;
    await runNcmecReport(c, rec.id);
    await expectOneFinishedWithEveryFile(rec.id);
    const audit = (await opened.store.listAudit({ limit: 1000, action: 'report.expired' })).filter(
      (a) => a.target === `report:${rec.id}`,
    );
    expect(audit).toHaveLength(1);
    expect((await opened.store.getReport(rec.id))?.history.map((h) => h.ended)).toEqual(['expired']);
  });

  it('a 5001 from NCMEC (deleted there before Ward knew) re-opens the report too', async () => {
    fake.inject({ call: 'upload', action: 'error', code: 1000, nth: 1 });
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    await expect(runNcmecReport(c, rec.id)).rejects.toThrow();
    fake.reports.clear();
    await runNcmecReport(c, rec.id);
    await expectOneFinishedWithEveryFile(rec.id);
  });

  it('retracts an open report; bad credentials are WARD_ERR_REPORT_REJECTED with 2000', async () => {
    fake.inject({ call: 'upload', action: 'error', code: 1110 });
    const c = ctx();
    const rec = await createNcmecReport(c, ids, { profile });
    await expect(runNcmecReport(c, rec.id)).rejects.toThrow();
    const r = await retractNcmecReport(c, rec.id);
    expect(r.state).toBe('retracted');
    expect([...fake.reports.values()][0]?.state).toBe('retracted');
    expect((await runNcmecReport(c, rec.id)).state).toBe('retracted');
    const bad = ctx('wrong');
    await expect(bad.client.status()).rejects.toMatchObject({ details: { responseCode: 2000, httpStatus: 401 } });
  });

  it('refuses unconfirmed items and reports failing the rules, sending nothing', async () => {
    const c = ctx();
    const open = await opened.store.insertReview(newReview(Buffer.from('x'), 'x.jpg'));
    await expect(createNcmecReport(c, [open.id], { profile })).rejects.toMatchObject({ code: 'WARD_ERR_REPORT_STATE' });
    await expect(createNcmecReport(c, ids, { profile, batched: true })).rejects.toMatchObject({
      code: 'WARD_ERR_REPORT_INVALID',
    });
    expect(fake.log).toHaveLength(0);
  });
});

describe.skipIf(!sharedAvailable)('the fake CyberTipline answers as documented', () => {
  it('4100 for schema and rule violations, 5002 unknown file, 5101/5102 on ended reports, 5001 unknown', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { NCMEC_DIR } = await import('./items.js');
    const fake = new FakeCyberTipline({ xsdPath: XSD, transport: 'http200' });
    const url = await fake.start();
    try {
      const client = new NcmecClient({
        endpoint: url,
        credentials: { username: 'user', password: 'pass' },
        fetch: (u, init) => egressFetch(u, { ...init, allow }),
      });
      const read = (f: string) => readFileSync(join(NCMEC_DIR, f), 'utf8');
      await expect(client.submit(read('cybertipline-tools/report-4.xml'))).rejects.toMatchObject({
        details: { responseCode: 4100, httpStatus: 200 },
      });
      const id = await client.submit(read('doc-examples/01-submit-request-report.xml'));
      const up = await client.upload(id, 'a.jpg', Buffer.from('benign stand-in bytes'));
      const withIds = (f: string) =>
        read(f)
          .replace(/<reportId>\d+<\/reportId>/, `<reportId>${id}</reportId>`)
          .replace(/<fileId>[^<]+<\/fileId>/, `<fileId>${up.fileId}</fileId>`);
      // Passes the schema, breaks a rule (Supplemental Reported with potentialMeme).
      await expect(client.fileinfo(withIds('cybertipline-tools/fileDetails-2.xml'))).rejects.toMatchObject({
        details: { responseCode: 4100 },
      });
      await expect(
        client.fileinfo(withIds('doc-examples/04-fileinfo-request-fileDetails.xml').replace(up.fileId, 'f'.repeat(32))),
      ).rejects.toMatchObject({ details: { responseCode: 5002 } });
      await client.fileinfo(withIds('doc-examples/04-fileinfo-request-fileDetails.xml'));
      expect(await client.finish(id)).toEqual([up.fileId]);
      await expect(client.retract(id)).rejects.toMatchObject({ details: { responseCode: 5102 } });
      const other = await client.submit(read('doc-examples/01-submit-request-report.xml'));
      await client.retract(other);
      await expect(client.upload(other, 'b.jpg', Buffer.from('x'))).rejects.toMatchObject({
        details: { responseCode: 5101 },
      });
      await expect(client.finish('999999')).rejects.toMatchObject({ details: { responseCode: 5001 } });
      expect(fake.log.every((l) => /^[0-9a-f]{16}$/.test(l.requestId))).toBe(true);
    } finally {
      await fake.stop();
    }
  });
});
