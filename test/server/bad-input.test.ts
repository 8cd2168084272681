/**
 * Bad input over real sockets, on SQLite and PostgreSQL: malformed JSON, wrong content types,
 * oversized, truncated and slow uploads, unknown banks and routes, bad keys, replayed and forged
 * webhooks. Every answer is a clear 4xx in the one shape, nothing is half-written, and the
 * service stays up.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { ReplayCache, signWebhook, verifyWebhook } from '../../src/server/webhooks.js';
import { hashImage } from '../../src/signals/image.js';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS, skipUnavailable } from './stores.js';

/** Sends raw bytes, optionally pausing or half-closing, and returns what came back. */
function raw(
  port: number,
  parts: (string | Buffer | { wait: number } | 'end')[],
  timeoutMs = 5000,
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked by expect
): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const bodyText = data.slice(data.indexOf('\r\n\r\n') + 4);
      let body: unknown;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = bodyText;
      }
      resolve({ status, body, text: data });
    };
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', finish);
    socket.on('error', () => {});
    socket.on('connect', async () => {
      try {
        for (const p of parts) {
          if (p === 'end') socket.end();
          else if (typeof p === 'object' && 'wait' in p) await new Promise((r) => setTimeout(r, p.wait));
          else socket.write(p);
        }
      } catch (e) {
        reject(e);
      }
    });
  });
}

const head = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe.each(STORE_KINDS)('bad input on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  let port: number;
  let image: Buffer;
  beforeAll(async () => {
    image = await sceneImage(404);
    h = await startHarness(kind, {
      config: resolveScanConfig({ policy: { banks: { review: 'flag' } } }),
      limits: { uploadBytes: 300_000, jsonBytes: 20_000, idleMs: 400, totalMs: 4000, importBytes: 50_000 },
    });
    const url = await h.server.listen('127.0.0.1', 0);
    port = Number(new URL(url).port);
    const h1 = await hashImage(image);
    await h.call('admin', 'POST', '/v1/banks', { name: 'review' });
    await h.call('admin', 'POST', '/v1/banks/review/entries', { entries: [{ value: h1.pdq, signal: 'pdq' }] });
  });
  afterAll(async () => h?.close());

  const auth = (role: 'admin' | 'analyst' | 'submitter') => `Bearer ${h.keys[role]}`;
  const queueSize = async () => await h.opened.store.countReviews(['open', 'escalated', 'confirmed', 'dismissed']);
  const bankSize = async (name: string) => (await h.opened.store.stats(name)).entries;

  it('malformed JSON, a wrong body shape and wrong content types are 400 and 415 in the one shape', async () => {
    const bad = await h.call('admin', 'POST', '/v1/banks', '{"name": "x",', { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      ok: false,
      error: { code: 'WARD_ERR_REQUEST_INVALID', message: expect.stringMatching(/Malformed JSON/) },
    });
    const shape = await h.call('admin', 'POST', '/v1/banks', { name: 'x', extra: 1 });
    expect(shape.body.error.code).toBe('WARD_ERR_REQUEST_INVALID');
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: 'abc' })).body.error.code).toBe(
      'WARD_ERR_REQUEST_INVALID',
    );
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: ['xyz'] })).body.error.code).toBe(
      'WARD_ERR_SIGNAL_INVALID',
    );
    expect((await h.call('submitter', 'POST', '/v1/match', { hashes: ['a'.repeat(64)], signal: 'md5' })).status).toBe(
      400,
    );
    const text = await h.call('admin', 'POST', '/v1/banks', 'name=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('WARD_ERR_CONTENT_TYPE');
    expect((await h.call('submitter', 'POST', '/v1/scan', { a: 1 })).status).toBe(415);
    expect(
      (await h.call('submitter', 'POST', '/v1/scan', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }))
        .status,
    ).toBe(415);
    expect(
      (await h.call('submitter', 'POST', '/v1/hash', 'x', { 'content-type': 'multipart/form-data; boundary=zz' })).body
        .error.code,
    ).toBe('WARD_ERR_REQUEST_INVALID');
    expect((await h.call('analyst', 'GET', '/v1/reviews?limit=abc')).status).toBe(400);
    expect((await h.call('analyst', 'GET', '/v1/reviews/0')).status).toBe(400);
    expect((await h.call(null, 'GET', '/nope')).body).toEqual({
      ok: false,
      error: { code: 'WARD_ERR_NOT_FOUND', message: expect.any(String) },
    });
  });

  it('oversized uploads are 413, by Content-Length before reading and by counting while streaming', async () => {
    const before = await queueSize();
    const declared = await raw(port, [
      head('POST', '/v1/scan', {
        authorization: auth('submitter'),
        'content-type': 'image/jpeg',
        'content-length': 10_000_000,
      }),
    ]);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('WARD_ERR_LIMIT_BODY');
    const chunk = Buffer.alloc(64 * 1024, 1);
    const parts: (string | Buffer)[] = [
      head('POST', '/v1/scan', {
        authorization: auth('submitter'),
        'content-type': 'image/jpeg',
        'transfer-encoding': 'chunked',
      }),
    ];
    for (let i = 0; i < 8; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    parts.push('0\r\n\r\n');
    const streamed = await raw(port, parts);
    expect(streamed.status).toBe(413);
    const json = await h.call('admin', 'POST', '/v1/banks', { name: 'x'.repeat(30_000) });
    expect(json.status).toBe(413);
    expect(await queueSize()).toBe(before);
  });

  it('a truncated upload writes nothing (a scan queues nothing, an import applies nothing) and the service stays up', async () => {
    const before = await queueSize();
    const half = image.subarray(0, image.length >> 1);
    await raw(port, [
      head('POST', '/v1/scan', {
        authorization: auth('submitter'),
        'content-type': 'image/jpeg',
        'content-length': image.length,
      }),
      half,
      'end',
    ]);
    expect(await queueSize()).toBe(before);

    await h.call('admin', 'POST', '/v1/banks', { name: 'trunc' });
    const lines = Array.from({ length: 200 }, (_, i) => `${i.toString(16).padStart(32, '0')}\n`).join('');
    await raw(port, [
      head('POST', '/v1/banks/trunc/import', {
        authorization: auth('admin'),
        'content-type': 'text/plain',
        'content-length': lines.length * 2,
      }),
      lines,
      'end',
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await bankSize('trunc')).toBe(0);
    // A body cut off mid-chunk (chunked encoding) as well.
    await raw(port, [
      head('POST', '/v1/banks/trunc/import', {
        authorization: auth('admin'),
        'content-type': 'text/plain',
        'transfer-encoding': 'chunked',
      }),
      `${(lines.length).toString(16)}\r\n${lines.slice(0, 100)}`,
      'end',
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await bankSize('trunc')).toBe(0);
    expect((await h.call(null, 'GET', '/healthz')).status).toBe(200);
    // The same file whole imports fine: nothing was left locked or half-applied.
    const whole = await h.call('admin', 'POST', '/v1/banks/trunc/import', lines, { 'content-type': 'text/plain' });
    expect(whole.body.data.added).toBe(200);
  });

  it('slow clients get 408 in the one shape (an idle upload, an idle JSON body); nothing is written', async () => {
    const before = await queueSize();
    const slow = await raw(port, [
      head('POST', '/v1/scan', {
        authorization: auth('submitter'),
        'content-type': 'image/jpeg',
        'content-length': image.length,
      }),
      image.subarray(0, 1000),
      { wait: 1500 },
    ]);
    expect(slow.status).toBe(408);
    expect(slow.body.error.code).toBe('WARD_ERR_REQUEST_TIMEOUT');
    expect(slow.text.toLowerCase()).toContain('connection: close');
    const slowJson = await raw(port, [
      head('POST', '/v1/banks', {
        authorization: auth('admin'),
        'content-type': 'application/json',
        'content-length': 40,
      }),
      '{"name":',
      { wait: 1500 },
    ]);
    expect(slowJson.status).toBe(408);
    expect(await queueSize()).toBe(before);
    expect((await h.call(null, 'GET', '/healthz')).status).toBe(200);
  });

  it('unknown banks are 404 WARD_ERR_BANK_NOT_FOUND everywhere; a bad import line applies nothing', async () => {
    for (const [method, url] of [
      ['GET', '/v1/banks/nope'],
      ['DELETE', '/v1/banks/nope'],
      ['GET', '/v1/banks/nope/entries'],
      ['GET', '/v1/banks/nope/export'],
    ] as const) {
      const r = await h.call('admin', method, url);
      expect(r.status, url).toBe(404);
      expect(r.body.error.code, url).toBe('WARD_ERR_BANK_NOT_FOUND');
    }
    expect(
      (await h.call('admin', 'POST', '/v1/banks/nope/import', 'a\n', { 'content-type': 'text/plain' })).status,
    ).toBe(404);
    expect(
      (await h.call('admin', 'POST', '/v1/banks/nope/entries', { entries: [{ value: 'a'.repeat(32) }] })).status,
    ).toBe(404);
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'review' })).status).toBe(409);
    await h.call('admin', 'POST', '/v1/banks', { name: 'strict' });
    const bad = await h.call('admin', 'POST', '/v1/banks/strict/import', `${'a'.repeat(32)}\nnot-a-hash\n`, {
      'content-type': 'text/plain',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('WARD_ERR_BANK_IMPORT_FAILED');
    expect(await bankSize('strict')).toBe(0);
    const skip = await h.call(
      'admin',
      'POST',
      '/v1/banks/strict/import?skipInvalid=true',
      `${'a'.repeat(32)}\nnot-a-hash\n`,
      {
        'content-type': 'text/plain',
      },
    );
    expect(skip.body.data).toMatchObject({ added: 1, invalidCount: 1 });
    const big = await h.call('admin', 'POST', '/v1/banks/strict/import', `${'b'.repeat(32)}\n`.repeat(2000), {
      'content-type': 'text/plain',
    });
    expect(big.status).toBe(413);
    expect(await bankSize('strict')).toBe(1);
  });

  it('bad keys are 401 and the wrong role 403, before the body is read', async () => {
    const r = await raw(port, [
      head('POST', '/v1/scan', {
        authorization: 'Bearer nope',
        'content-type': 'image/jpeg',
        'content-length': 100_000,
      }),
    ]);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('WARD_ERR_AUTH_INVALID');
    const f = await raw(port, [
      head('POST', '/v1/banks/review/import', {
        authorization: auth('analyst'),
        'content-type': 'text/plain',
        'content-length': 100_000,
      }),
    ]);
    expect(f.status).toBe(403);
  });

  it('webhooks: signed, retried with backoff after a failure, logged; a replay, a forgery and a stale one are refused', async () => {
    const received: { headers: IncomingMessage['headers']; body: string }[] = [];
    const replays = new ReplayCache();
    let first = true;
    let secret = '';
    const verdicts: number[] = [];
    const receiver: Server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (first) {
          first = false;
          res.writeHead(500).end();
          return;
        }
        try {
          verifyWebhook({
            secret,
            body,
            signature: req.headers['ward-signature'] as string,
            deliveryId: req.headers['ward-delivery'] as string,
            replays,
          });
          verdicts.push(200);
          res.writeHead(200).end();
        } catch (e) {
          verdicts.push(409);
          res.writeHead(409, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              ok: false,
              error: { code: (e as { code: string }).code, message: (e as Error).message },
            }),
          );
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    // The egress point refuses loopback unless allow-listed: the operator's switch, used by tests.
    const allowBefore = process.env.WARD_EGRESS_ALLOW;
    process.env.WARD_EGRESS_ALLOW = '127.0.0.1';
    try {
      const made = await h.call('admin', 'POST', '/v1/webhooks', { url: hookUrl, events: ['match', 'decision'] });
      expect(made.status).toBe(201);
      secret = made.body.data.secret;
      expect((await h.call('admin', 'GET', '/v1/webhooks')).body.data.webhooks[0].secret).toBeUndefined();
      // Speed up the retry for the test: the dispatcher's backoff starts at 5 s by default.
      (h.server.context.webhooks as unknown as { options: { baseBackoffMs: number } }).options.baseBackoffMs = 100;
      const md5 = 'c'.repeat(32);
      await h.call('admin', 'POST', '/v1/banks/review/entries', { entries: [{ value: md5 }] });
      const m = await h.call('submitter', 'POST', '/v1/match', { hashes: [md5] });
      expect(m.body.data.results[0].matches).toHaveLength(1);
      const deadline = Date.now() + 8000;
      while (verdicts.length === 0 && Date.now() < deadline) {
        h.server.context.webhooks.kick();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(received.length).toBe(2);
      expect(verdicts).toEqual([200]);
      const [attempt1, attempt2] = received as [(typeof received)[0], (typeof received)[0]];
      expect(attempt2.headers['ward-delivery']).toBe(attempt1.headers['ward-delivery']);
      expect(attempt2.headers['ward-event']).toBe('match');
      expect(JSON.parse(attempt2.body)).toMatchObject({ event: 'match', data: { route: 'match' } });
      await new Promise((r) => setTimeout(r, 100));
      const log = (await h.call('admin', 'GET', '/v1/webhooks/deliveries')).body.data.deliveries;
      expect(log[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200, event: 'match' });

      // The same delivery again (a replay): refused.
      const replay = await fetch(hookUrl, {
        method: 'POST',
        headers: {
          'ward-signature': attempt2.headers['ward-signature'] as string,
          'ward-delivery': attempt2.headers['ward-delivery'] as string,
        },
        body: attempt2.body,
      });
      expect(replay.status).toBe(409);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('WARD_ERR_WEBHOOK_REPLAY');
      // A forged body, and a stale timestamp: refused.
      const forged = await fetch(hookUrl, {
        method: 'POST',
        headers: { 'ward-signature': attempt2.headers['ward-signature'] as string, 'ward-delivery': 'new-id' },
        body: attempt2.body.replace('match', 'matcH'),
      });
      expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('WARD_ERR_WEBHOOK_SIGNATURE');
      const stale = signWebhook(secret, attempt2.body, Math.floor(Date.now() / 1000) - 3600);
      expect(() => verifyWebhook({ secret, body: attempt2.body, signature: stale })).toThrow(/timestamp/);
      expect(() => verifyWebhook({ secret, body: attempt2.body, signature: undefined })).toThrow(/missing/);
    } finally {
      if (allowBefore === undefined) delete process.env.WARD_EGRESS_ALLOW;
      else process.env.WARD_EGRESS_ALLOW = allowBefore;
      await new Promise((r) => receiver.close(r));
    }
  });

  it('is still up and its audit chain intact after all of it', async () => {
    expect((await h.call(null, 'GET', '/readyz')).status).toBe(200);
    expect((await h.call('analyst', 'GET', '/v1/audit/verify')).body.data.verified).toBe(true);
  });
});
