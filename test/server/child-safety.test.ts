/**
 * The child-safety data permission (issue 14), on SQLite and PostgreSQL: it is stored with the
 * key (migration 3) and granted only at creation (API and CLI); a key without it gets 403 on
 * evidence and on reveal and sees prompts redacted; with it, every view and every reveal is an
 * audit record queryable per review item (`/v1/audit?action=evidence.reveal&target=review:<id>`).
 * The image is a benign synthetic scene with a benign generation prompt in its PNG metadata.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { createServer, type WardServer } from '../../src/server/app.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { REDACTED } from '../../src/server/review.js';
import { hashImage } from '../../src/signals/image.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { tEXt, withChunks } from '../provenance/build.js';
import { type Harness, startHarness } from './harness.js';
import { openStore, STORE_KINDS, skipUnavailable } from './stores.js';

/** The built CLI (npm run build). */
function ward(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'ward.js'), ...args], {
    env: { ...process.env, DATABASE_URL: '', WARD_DB: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked by expect
type Json = any;

const PROMPT = 'a watercolor lighthouse on a cliff at dusk, gulls';
const config = resolveScanConfig({ policy: { banks: { unverified: 'flag' } } });

describe.each(STORE_KINDS)('the child-safety data permission on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  let server: WardServer;
  let id: number;

  const call = async (key: string, method: string, url: string, body?: unknown) => {
    const res = await server.app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined
          ? {}
          : Buffer.isBuffer(body)
            ? { 'content-type': 'image/png' }
            : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    let parsed: Json;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, raw: res.rawPayload };
  };

  beforeAll(async () => {
    h = await startHarness(kind, { config });
    server = await createServer({
      store: h.opened.store,
      config,
      pollMs: 0,
      rateLimit: { rate: 0, burst: 1 },
      evidence: new EvidenceStore(h.opened.store, { key: Buffer.alloc(32, 5) }),
    });
    const png = await sharp(await sceneImage(717))
      .png()
      .toBuffer();
    const upload = withChunks(png, [
      tEXt('parameters', `${PROMPT}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, Seed: 7, Size: 64x64`),
    ]);
    await call(h.keys.admin, 'POST', '/v1/banks', { name: 'unverified' });
    await call(h.keys.admin, 'POST', '/v1/banks/unverified/entries', {
      entries: [{ value: (await hashImage(png)).pdq, signal: 'pdq' }],
    });
    const scanned = await call(h.keys.submitter, 'POST', '/v1/scan?name=scene.png', upload);
    expect(scanned.status).toBe(200);
    expect(scanned.body.data.verdict).toBe('flag');
    id = scanned.body.data.reviews[0].id;
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  it('is stored with the key: /v1/me and the key list say who holds it; the keys route grants it', async () => {
    expect((await call(h.keys.analyst, 'GET', '/v1/me')).body.data.childSafety).toBe(true);
    expect((await call(h.keys.restricted, 'GET', '/v1/me')).body.data.childSafety).toBe(false);
    const made = await call(h.keys.admin, 'POST', '/v1/keys', { role: 'analyst', name: 'cs', childSafety: true });
    expect(made.status).toBe(201);
    expect(made.body.data.childSafety).toBe(true);
    const plain = await call(h.keys.admin, 'POST', '/v1/keys', { role: 'analyst', name: 'plain' });
    expect(plain.body.data.childSafety).toBe(false);
    const stored = await h.opened.store.getKey(made.body.data.id);
    expect(stored?.childSafety).toBe(true);
    expect((await h.opened.store.getKey(plain.body.data.id))?.childSafety).toBe(false);
    expect((await call(made.body.data.key, 'GET', '/v1/me')).body.data.childSafety).toBe(true);
    const listed = (await call(h.keys.admin, 'GET', '/v1/keys')).body.data.keys;
    expect(listed.find((k: Json) => k.id === plain.body.data.id).childSafety).toBe(false);
    // The grant is audited with the key.
    const audit = (await call(h.keys.admin, 'GET', `/v1/audit?action=key.create&target=key:${made.body.data.id}`)).body
      .data.records;
    expect(audit).toHaveLength(1);
    expect(audit[0].details.childSafety).toBe(true);
  });

  it('without it: 403 on evidence and reveal, prompts redacted, no evidence offered, nothing audited', async () => {
    const before = (await call(h.keys.admin, 'GET', `/v1/audit?target=review:${id}&limit=1000`)).body.data.records
      .length;
    const ev = await call(h.keys.restricted, 'GET', `/v1/reviews/${id}/evidence`);
    expect(ev.status).toBe(403);
    expect(ev.body.error.code).toBe('WARD_ERR_FORBIDDEN');
    expect(ev.raw.includes(Buffer.from(PROMPT))).toBe(false);
    const rev = await call(h.keys.restricted, 'POST', `/v1/reviews/${id}/evidence/reveal`, {});
    expect(rev.status).toBe(403);
    // Neither is it a role's right: an admin key without the permission is refused too.
    const admin = await call(h.keys.admin, 'POST', '/v1/keys', { role: 'admin', name: 'plain admin' });
    expect((await call(admin.body.data.key, 'GET', `/v1/reviews/${id}/evidence`)).status).toBe(403);

    const item = await call(h.keys.restricted, 'GET', `/v1/reviews/${id}`);
    expect(item.status).toBe(200);
    expect(item.body.data.redacted).toBe(true);
    expect(item.body.data.evidence.available).toBe(false);
    expect(item.body.data.evidence.reason).toMatch(/child-safety/);
    expect(JSON.stringify(item.body.data)).not.toContain('lighthouse');
    expect(JSON.stringify(item.body.data)).toContain(REDACTED);
    const list = await call(h.keys.restricted, 'GET', '/v1/reviews?status=all');
    expect(JSON.stringify(list.body.data)).not.toContain('lighthouse');
    const after = (await call(h.keys.admin, 'GET', `/v1/audit?target=review:${id}&limit=1000`)).body.data.records;
    expect(after.length).toBe(before);
  });

  it('with it: prompts shown, and every view and every reveal is an audit record per review item', async () => {
    const item = await call(h.keys.analyst, 'GET', `/v1/reviews/${id}`);
    expect(item.body.data.redacted).toBe(false);
    expect(item.body.data.evidence.available).toBe(true);
    expect(JSON.stringify(item.body.data.report)).toContain('lighthouse');

    for (let i = 0; i < 2; i++) {
      const ev = await call(h.keys.analyst, 'GET', `/v1/reviews/${id}/evidence`);
      expect(ev.status).toBe(200);
      expect(ev.raw.subarray(1, 4).toString('latin1')).toBe('PNG');
    }
    for (const ms of [10_000, 2500]) {
      const r = await call(h.keys.analyst, 'POST', `/v1/reviews/${id}/evidence/reveal`, { ms });
      expect(r.status).toBe(200);
      expect(r.body.data.revealed).toBe(id);
    }
    const views = (await call(h.keys.analyst, 'GET', `/v1/audit?action=evidence.view&target=review:${id}`)).body.data
      .records;
    const reveals = (await call(h.keys.analyst, 'GET', `/v1/audit?action=evidence.reveal&target=review:${id}`)).body
      .data.records;
    expect(views).toHaveLength(2);
    expect(reveals).toHaveLength(2);
    const me = (await call(h.keys.analyst, 'GET', '/v1/me')).body.data.keyId;
    expect(reveals.map((r: Json) => r.actor)).toEqual([`key:${me}`, `key:${me}`]);
    expect(reveals.map((r: Json) => r.details.ms)).toEqual([10_000, 2500]);
    // Another item's records are not mixed in.
    expect((await call(h.keys.analyst, 'GET', `/v1/audit?target=review:${id + 1000}`)).body.data.records).toEqual([]);
    // A reveal of an item with no kept copy is refused (and not audited).
    expect((await call(h.keys.analyst, 'POST', `/v1/reviews/${id + 1000}/evidence/reveal`, {})).status).toBe(404);
    // The chain still verifies.
    expect((await call(h.keys.analyst, 'GET', '/v1/audit/verify')).body.data.verified).toBe(true);
  });

  it('ward keys create --child-safety grants it (stored with the key); without the flag the key has none', async () => {
    const opened = await openStore(kind);
    try {
      const { env, args } = opened;
      const withIt = await ward(
        ['keys', 'create', '--role', 'analyst', '--child-safety', '--format', 'json', ...args],
        env,
      );
      expect(withIt.code).toBe(0);
      const made = JSON.parse(withIt.stdout);
      expect(made.childSafety).toBe(true);
      const without = JSON.parse(
        (await ward(['keys', 'create', '--role', 'admin', '--format', 'json', ...args], env)).stdout,
      );
      expect(without.childSafety).toBe(false);
      expect((await opened.store.getKey(made.id))?.childSafety).toBe(true);
      expect((await opened.store.getKey(without.id))?.childSafety).toBe(false);
      const listed = (await ward(['keys', 'list', '--format', 'ndjson', ...args], env)).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(listed.find((k) => k.id === made.id).childSafety).toBe(true);
    } finally {
      await opened.drop();
    }
  });
});
