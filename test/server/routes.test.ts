/**
 * The route plugins after the split (issue 13), on SQLite and PostgreSQL: JSON with parameters
 * in its Content-Type, and the registry in the routes (signal enums, bare hashes matched as every
 * type that claims them, confirm adding every signal the registry knows).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeRegistry } from '../../src/registry.js';
import type { ItemReport } from '../../src/scan/types.js';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS, skipUnavailable } from './stores.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(STORE_KINDS)('route plugins on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'known' })).status).toBe(201);
  });
  afterAll(async () => h?.close());

  it('takes application/json with parameters, in any case, on every JSON route', async () => {
    for (const type of [
      'application/json; charset=utf-8',
      'Application/JSON;Charset=UTF-8',
      'application/json ; x=1',
    ]) {
      const made = await h.call(
        'admin',
        'POST',
        '/v1/banks',
        { name: `b${type.length}${type[0]}` },
        { 'content-type': type },
      );
      expect(made.status, type).toBe(201);
      const m = await h.call('submitter', 'POST', '/v1/match', { hashes: ['0'.repeat(32)] }, { 'content-type': type });
      expect(m.status, type).toBe(200);
      expect(m.body.data.results[0].signal).toBe('md5');
    }
    // Still not JSON: a type that only starts like it.
    const odd = await h.call('submitter', 'POST', '/v1/match', '{"hashes":["00"]}', {
      'content-type': 'application/jsonx',
    });
    expect(odd.status).toBe(415); // not parsed as JSON (it would answer 200)
    expect(odd.body.error.code).toBe('WARD_ERR_CONTENT_TYPE');
  });

  it('serves the UI files from the ui plugin', async () => {
    const page = await h.call(null, 'GET', '/ui/');
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toMatch(/^text\/html/);
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'none'");
    for (const f of ['app.js', 'app.css']) expect((await h.call(null, 'GET', `/ui/${f}`)).status).toBe(200);
    expect((await h.call(null, 'GET', '/ui')).status).toBe(302);
  });

  it('publishes the registry’s signal types in the schemas and accepts them', async () => {
    const doc = (await h.call(null, 'GET', '/openapi.json')).body;
    const q = doc.paths['/v1/banks/{name}/entries'].get.parameters.find((p: { name: string }) => p.name === 'signal');
    expect(q.schema.enum).toEqual(activeRegistry().signalNames());
    expect(q.schema.enum).toEqual(expect.arrayContaining(['pdq', 'sha256', 'blake3', 'autov3', 'vpdq']));
  });

  it('matches a bare 64-hex hash as pdq and as every 64-hex exact type', async () => {
    const v = sha256('a benign stand-in file');
    const add = await h.call('admin', 'POST', '/v1/banks/known/entries', {
      entries: [{ value: v, signal: 'blake3', labels: ['model'] }],
    });
    expect(add.status).toBe(200);
    const r = await h.call('submitter', 'POST', '/v1/match', { hashes: [v] });
    expect(r.status).toBe(200);
    const res = r.body.data.results[0];
    expect(res.signal).toBe('pdq');
    expect(res.signals).toEqual(expect.arrayContaining(['pdq', 'sha256', 'autov3', 'blake3']));
    expect(res.matches.map((m: { signal: string }) => m.signal)).toContain('blake3');
    // With an explicit signal only that type is asked.
    const only = await h.call('submitter', 'POST', '/v1/match', { hashes: [v], signal: 'sha256' });
    expect(only.body.data.results[0].matches.filter((m: { signal: string }) => m.signal === 'blake3')).toEqual([]);
    const bad = await h.call('submitter', 'POST', '/v1/match', { hashes: [v], signal: 'nope' });
    expect(bad.status).toBe(400);
  });

  it('confirm adds every signal of the item the registry knows (vpdq, autov*, blake3 too)', async () => {
    const reg = activeRegistry();
    const vpdq = reg.requireSignalType('vpdq').examples[0] as string;
    const signals: Record<string, unknown> = {
      md5: createHash('md5').update('x').digest('hex'),
      sha256: sha256('x'),
      blake3: sha256('blake3 stand-in'),
      autov3: sha256('autov3 stand-in'),
      vpdq,
      notASignal: 'ignored',
    };
    const report = {
      path: 'stand-in',
      contentType: 'video',
      size: 1,
      verdict: 'flag',
      signals,
      matches: [],
      suppressedBy: [],
      findings: [],
      reasons: [],
    } as unknown as ItemReport;
    const item = await h.opened.store.insertReview({
      createdAt: new Date().toISOString(),
      status: 'open',
      verdict: 'flag',
      score: null,
      source: 'scan',
      submittedBy: null,
      name: 'stand-in',
      contentType: 'video',
      report,
      evidenceId: null,
    });
    const d = await h.call('analyst', 'POST', `/v1/reviews/${item.id}/decision`, { action: 'confirm', bank: 'known' });
    expect(d.status).toBe(200);
    expect([...d.body.data.decision.added].sort()).toEqual(['autov3', 'blake3', 'md5', 'sha256', 'vpdq']);
    const entries = (await h.call('analyst', 'GET', '/v1/banks/known/entries?signal=autov3')).body.data.entries;
    expect(entries.map((e: { value: string }) => e.value)).toContain(signals.autov3);
  });
});
