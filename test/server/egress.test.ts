/**
 * The one egress point (src/net/egress.ts) against a real local HTTP server: special addresses in
 * every spelling refused, userinfo refused, names resolving inward refused, the checked address
 * used for the connection, no redirects, capped bodies, one error for refused and timed out.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEgressUrl, EgressAllowList, egressFetch, isSpecialAddress, redactUrl } from '../../src/net/egress.js';

let server: Server;
let port: number;
const local = new EgressAllowList(['127.0.0.1']);
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    if (req.url === '/big') return void res.end(Buffer.alloc(100_000, 97));
    if (req.url === '/slow') return; // never answers
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => res.end(JSON.stringify({ host: req.headers.host, body })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('egress rules', () => {
  it('classifies special addresses, IPv4 and IPv6, mapped forms included', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.5',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
    ]) {
      expect(isSpecialAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isSpecialAddress(a), a).toBe(false);
  });

  it('refuses loopback and private targets in every URL spelling, and userinfo', () => {
    const none = new EgressAllowList([]);
    for (const url of [
      'http://127.0.0.1/',
      'http://2130706433/', // decimal
      'http://0x7f000001/', // hex
      'http://0x7f.0.0.1/',
      'http://0177.0.0.1/', // octal
      'http://127.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0:8080/',
      'http://0/',
      'http://localhost/',
      'http://api.localhost/',
      'http://10.1.2.3/',
      'http://[fe80::1]/',
      'http://user:pass@example.com/',
      'http://user@example.com/',
      'ftp://example.com/',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(() => checkEgressUrl(url, none), url).toThrow(
        expect.objectContaining({ code: 'WARD_ERR_EGRESS_REFUSED' }),
      );
    }
    expect(checkEgressUrl('https://hooks.example.com/x', none).hostname).toBe('hooks.example.com');
    expect(checkEgressUrl(`http://127.0.0.1:${port}/`, local).port).toBe(String(port));
  });

  it('refuses a name that resolves to loopback (or to anything special among its answers)', async () => {
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    await expect(
      egressFetch('http://rebind.example/', { allow: new EgressAllowList([]), resolve }),
    ).rejects.toMatchObject({
      code: 'WARD_ERR_EGRESS_REFUSED',
    });
    await expect(
      egressFetch('http://inward.example/', {
        allow: new EgressAllowList([]),
        resolve: async () => [{ address: '::1', family: 6 }],
      }),
    ).rejects.toMatchObject({ code: 'WARD_ERR_EGRESS_REFUSED' });
  });

  it('connects to the address it checked, keeping the Host header (no second lookup)', async () => {
    let lookups = 0;
    const res = await egressFetch(`http://receiver.test:${port}/echo`, {
      method: 'POST',
      body: 'hello',
      allow: new EgressAllowList(['receiver.test']),
      resolve: async () => {
        lookups++;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    expect(lookups).toBe(1);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ host: `receiver.test:${port}`, body: 'hello' });
  });

  it('follows no redirect and caps the body', async () => {
    const r = await egressFetch(`http://127.0.0.1:${port}/redirect`, { allow: local });
    expect(r.status).toBe(302);
    const big = await egressFetch(`http://127.0.0.1:${port}/big`, { allow: local, maxResponseBytes: 1000 });
    expect(big.body.length).toBe(1000);
    expect(big.truncated).toBe(true);
  });

  it('says the same for a refused port and a timeout (no port scanning)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await egressFetch(`http://127.0.0.1:${closed}/`, { allow: local }).catch((e) => e);
    const slow = await egressFetch(`http://127.0.0.1:${port}/slow`, { allow: local, timeoutMs: 200 }).catch((e) => e);
    expect(refused.code).toBe('WARD_ERR_EGRESS_FAILED');
    expect(slow.code).toBe('WARD_ERR_EGRESS_FAILED');
    expect(refused.message).toBe(slow.message);
  });

  it('parses WARD_EGRESS_ALLOW and refuses bad entries', () => {
    const a = EgressAllowList.fromEnv({ WARD_EGRESS_ALLOW: ' 10.0.0.0/8, receiver.internal ,[::1]' });
    expect(a.allowsAddress('10.9.9.9')).toBe(true);
    expect(a.allowsAddress('11.0.0.1')).toBe(false);
    expect(a.allowsAddress('::1')).toBe(true);
    expect(a.allowsHost('Receiver.Internal')).toBe(true);
    expect(() => new EgressAllowList(['10.0.0.0/99'])).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_CONFIG_INVALID' }),
    );
    expect(() => new EgressAllowList(['http://x/'])).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_CONFIG_INVALID' }),
    );
  });

  it('redacts URLs for logs: no query, no userinfo, no deep path', () => {
    expect(redactUrl('https://u:p@hooks.example.com:8443/a/b/c?token=secret')).toBe(
      'https://hooks.example.com:8443/a/…',
    );
    expect(redactUrl('https://hooks.example.com/')).toBe('https://hooks.example.com/');
  });
});
