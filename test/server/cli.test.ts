/**
 * `ward serve`, `ward keys` and `ward audit` as commands (the built bin/ward.js), on SQLite and
 * PostgreSQL: a key printed once and stored as a hash, the service answering with it and
 * stopping gracefully on SIGTERM, and `ward audit verify` catching an edited row.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { type OpenedStore, openStore, rawSql, STORE_KINDS, skipUnavailable } from './stores.js';

function ward(
  args: string[],
  env: Record<string, string>,
): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'ward.js'), ...args], {
    env: { ...process.env, DATABASE_URL: '', WARD_DB: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, child };
}

describe.each(STORE_KINDS)('ward serve, keys and audit on %s', (kind) => {
  skipUnavailable(kind);
  let opened: OpenedStore | undefined;
  afterEach(async () => {
    await opened?.drop();
    opened = undefined;
  });

  it('creates keys (printed once, stored hashed), serves with them, stops on SIGTERM, verifies the audit log', async () => {
    opened = await openStore(kind);
    const { env, args } = opened;
    const created = await ward(['keys', 'create', '--role', 'admin', '--name', 'ops', ...args], env).done;
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^ward_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/shown only this once/);
    const stored = await opened.store.listKeys();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(key.split('_')[2]);

    const listed = await ward(['keys', 'list', '--format', 'ndjson', ...args], env).done;
    expect(JSON.parse(listed.stdout)).toMatchObject({ role: 'admin', name: 'ops', revokedAt: null });
    expect((await ward(['keys', 'create', '--role', 'root', ...args], env).done).code).toBe(3);

    const server = ward(['serve', '--port', '0', ...args], env);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.child.stdout?.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/\S+)$/m.exec(out);
        if (m) resolve(m[1] as string);
      });
      server.child.on('close', () => reject(new Error('ward serve exited')));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(await me.json()).toMatchObject({ ok: true, data: { role: 'admin', name: 'ops' } });
    const created2 = await fetch(`${url}/v1/banks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from-api' }),
    });
    expect(created2.status).toBe(201);
    server.child.kill('SIGTERM');
    const stopped = await server.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/SIGTERM[\s\S]*stopped/);

    const id = stored[0]?.id as string;
    expect((await ward(['keys', 'revoke', id, ...args], env).done).stdout).toContain(`revoked key ${id}`);

    const ok = await ward(['audit', 'verify', ...args], env).done;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit log verified: 3 record\(s\), head 3 [0-9a-f]{64}/);
    const listedAudit = await ward(['audit', 'list', '--format', 'ndjson', ...args], env).done;
    expect(
      listedAudit.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).action),
    ).toEqual(['key.create', 'bank.create', 'key.revoke']);

    await rawSql(opened, kind, 'UPDATE audit_log SET actor = ? WHERE seq = 2', ['key:someone-else']);
    const broken = await ward(['audit', 'verify', ...args], env).done;
    expect(broken.code).toBe(2);
    expect(broken.stdout).toMatch(/BROKEN at record 2/);
    expect(broken.stderr).toContain('WARD_ERR_AUDIT_TAMPERED');
  });

  it('ward audit migrate-key, head and verify --head: a keyed chain, a signed head, truncation caught', async () => {
    opened = await openStore(kind);
    const { args } = opened;
    const plain = { ...opened.env, WARD_AUDIT_KEY: '' };
    expect((await ward(['keys', 'create', '--role', 'admin', ...args], plain).done).code).toBe(0);
    const env = { ...opened.env, WARD_AUDIT_KEY: randomBytes(32).toString('hex') };
    // No keyed record yet: head refuses until the explicit migration.
    expect((await ward(['audit', 'head', ...args], env).done).code).toBe(3);
    expect((await ward(['audit', 'migrate-key', ...args], env).done).code).toBe(0);
    expect((await ward(['keys', 'create', '--role', 'analyst', ...args], env).done).code).toBe(0);
    const head = (await ward(['audit', 'head', ...args], env).done).stdout.trim();
    expect(head).toMatch(/^3\.[0-9a-f]{64}\.[0-9a-f]{64}$/);
    const ok = await ward(['audit', 'verify', '--head', head, ...args], env).done;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('(2 keyed, 1 unkeyed before them)');
    await rawSql(opened, kind, 'DELETE FROM audit_log WHERE seq = 3');
    const cut = await ward(['audit', 'verify', '--head', head, ...args], env).done;
    expect(cut.code).toBe(2);
    expect(cut.stdout).toMatch(/cut off/);
    const other = { ...env, WARD_AUDIT_KEY: randomBytes(32).toString('hex') };
    expect((await ward(['audit', 'verify', '--head', head, ...args], other).done).code).toBe(2);
  });

  it('serves from several processes (--workers 2); a bank change through one reaches the other at once', async () => {
    opened = await openStore(kind);
    const { env, args } = opened;
    const key = (await ward(['keys', 'create', '--role', 'admin', ...args], env).done).stdout.trim();
    // Polling is off: only the cluster's own message can bring the other process up to date.
    const server = ward(['serve', '--port', '0', '--workers', '2', ...args], { ...env, WARD_BANK_POLL_MS: '0' });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.child.stdout?.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/\S+)$/m.exec(out);
        if (m) resolve(m[1] as string);
      });
      server.child.on('close', () => reject(new Error('ward serve exited')));
    });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          connection: 'close', // a new connection each time: the primary spreads them over the processes
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as { ok: boolean; data: { results: { matches: unknown[] }[] } };
    };
    const md5 = 'e'.repeat(32);
    await call('POST', '/v1/banks', { name: 'shared' });
    await call('POST', '/v1/banks/shared/entries', { entries: [{ value: md5 }] });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 6; i++) {
      const r = await call('POST', '/v1/match', { hashes: [md5] });
      expect(r.data.results[0]?.matches).toHaveLength(1);
    }
    server.child.kill('SIGTERM');
    const stopped = await server.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/2 server processes[\s\S]*stopped/);
  });
});
