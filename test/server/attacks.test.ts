/**
 * The attack suite (issue 14), readable by an outsider: every route in /openapi.json called
 * without a key, with a bad key and with each role that may not use it; injection strings in
 * every text field; SSRF forms and distance abuse are in hardening.test.ts and egress.test.ts.
 * On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS } from './stores.js';

const INJECTIONS = [
  "'; DROP TABLE banks; --",
  '" OR 1=1 --',
  '<script>alert(1)</script>',
  '=HYPERLINK("http://example.invalid","x")',
  '../../etc/passwd',
  '%00%0d%0aSet-Cookie: x=y',
  '{"$gt": ""}',
  '${jndi:ldap://example.invalid/a}',
  '\u202eevil',
];

type Route = { method: string; path: string; roles: string[] | 'public' };

describe.each(STORE_KINDS)('attacks on %s', (kind) => {
  let h: Harness;
  let routes: Route[];
  beforeAll(async () => {
    h = await startHarness(kind);
    const doc = (await h.call(null, 'GET', '/openapi.json')).body;
    routes = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const sec = op.security as unknown[] | undefined;
        const roles = (op['x-ward-roles'] as string[] | undefined) ?? (sec && sec.length === 0 ? 'public' : undefined);
        routes.push({ method: method.toUpperCase(), path, roles: roles ?? 'public' });
      }
    }
    expect(routes.length).toBeGreaterThan(25);
  });
  afterAll(async () => h?.close());

  const concrete = (p: string) => p.replace('{name}', 'known').replace('{id}', '1').replace('{file}', 'app.js');

  it('every keyed route refuses no key and a bad key (401), before reading anything', async () => {
    let keyed = 0;
    for (const r of routes) {
      const res0 = await h.call(null, r.method, concrete(r.path));
      if (res0.status !== 401) {
        // Public routes only: health, readiness, the document, the UI's files.
        expect(r.path, `${r.method} ${r.path}`).toMatch(/^\/(healthz|readyz|openapi\.json|ui)/);
        continue;
      }
      keyed++;
      expect(res0.body.error.code).toBe('WARD_ERR_AUTH_REQUIRED');
      for (const bad of [
        'Bearer nonsense',
        'Bearer ward_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        'Basic YTpi',
      ]) {
        const res = await h.server.app.inject({
          method: r.method as 'GET',
          url: concrete(r.path),
          headers: { authorization: bad },
        });
        expect(res.statusCode, `${r.method} ${r.path} ${bad}`).toBe(401);
      }
    }
    expect(keyed).toBeGreaterThan(20);
  });

  it('a submitter key reaches only submit routes and /v1/me; an analyst key no admin route', async () => {
    const submitOnly = /^\/v1\/(hash|match|scan|text|me)$/;
    const adminOnly = (r: Route) =>
      (r.method !== 'GET' && /^\/v1\/banks/.test(r.path)) || /^\/v1\/(keys|webhooks)/.test(r.path);
    for (const r of routes) {
      if ((await h.call(null, r.method, concrete(r.path))).status !== 401) continue;
      const s = await h.call('submitter', r.method, concrete(r.path));
      if (!submitOnly.test(r.path)) {
        expect(s.status, `submitter ${r.method} ${r.path}`).toBe(403);
        expect(s.body.error.code).toBe('WARD_ERR_FORBIDDEN');
      }
      if (adminOnly(r)) {
        const a = await h.call('analyst', r.method, concrete(r.path));
        expect(a.status, `analyst ${r.method} ${r.path}`).toBe(403);
      }
    }
  });

  it('injection strings in every text field are refused or stored as text, never run', async () => {
    for (const s of INJECTIONS) {
      const bank = await h.call('admin', 'POST', '/v1/banks', { name: s });
      expect([201, 400], s).toContain(bank.status);
      const entry = await h.call('admin', 'POST', '/v1/banks/known/entries', {
        entries: [{ value: 'a'.repeat(32), labels: [s], id: s }],
      });
      expect([200, 400, 404], s).toContain(entry.status);
      const m = await h.call('submitter', 'POST', '/v1/match', { hashes: [s] });
      expect(m.status, s).toBe(400);
      expect(m.body.error.code).toBe('WARD_ERR_SIGNAL_INVALID');
      const hook = await h.call('admin', 'POST', '/v1/webhooks', { url: s, events: ['match'] });
      expect(hook.status, s).toBe(400);
      const key = await h.call('admin', 'POST', '/v1/keys', { role: 'submitter', name: s });
      expect(key.status, s).toBe(201);
      await h.call('admin', 'DELETE', `/v1/keys/${key.body.data.id}`);
      const audit = await h.call('analyst', 'GET', `/v1/audit?action=${encodeURIComponent(s)}`);
      expect([200, 400], s).toContain(audit.status);
      const scan = await h.call(
        'submitter',
        'POST',
        `/v1/scan?review=false&name=${encodeURIComponent(s)}`,
        Buffer.from('plain text'),
        {
          'content-type': 'text/plain',
        },
      );
      expect(scan.status, s).toBe(200);
    }
    // Everything is still there and consistent.
    expect((await h.call('analyst', 'GET', '/v1/banks')).status).toBe(200);
    expect((await h.call('analyst', 'GET', '/v1/audit/verify')).body.data.verified).toBe(true);
    expect((await h.call(null, 'GET', '/readyz')).status).toBe(200);
  });

  it('refuses bank names that are path tricks', async () => {
    for (const name of ['.', '..', ' .. ', 'a/b', 'a\\b', 'a\nb', '']) {
      const r = await h.call('admin', 'POST', '/v1/banks', { name });
      expect(r.status, JSON.stringify(name)).toBe(400);
    }
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'fine.name-1' })).status).toBe(201);
  });

  it('oversized and malformed match requests are refused cleanly', async () => {
    const many = Array.from({ length: 1001 }, () => 'a'.repeat(32));
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: many })).status).toBe(400);
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: ['a'.repeat(32)], distance: 257 })).status).toBe(
      400,
    );
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: ['a'.repeat(32)], distance: -1 })).status).toBe(
      400,
    );
    expect(
      (await h.call('submitter', 'POST', '/v1/match', '{"hashes":', { 'content-type': 'application/json' })).status,
    ).toBe(400);
  });
});
