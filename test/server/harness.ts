/** A service on a test database (SQLite or PostgreSQL), with one key per role. */
import type { InjectOptions } from 'fastify';
import { createServer, type ServerOptions, type WardServer } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth.js';
import { type OpenedStore, openStore, type StoreKind } from './stores.js';

export interface Harness {
  kind: StoreKind;
  opened: OpenedStore;
  server: WardServer;
  /** admin and analyst hold the child-safety data permission; restricted is an analyst without it. */
  keys: { admin: string; analyst: string; submitter: string; restricted: string };
  /** A request with a role's key; JSON bodies are sent as JSON. */
  call(
    role: 'admin' | 'analyst' | 'submitter' | 'restricted' | null,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked by expect
  ): Promise<{ status: number; body: any; headers: Record<string, unknown>; raw: Buffer }>;
  close(): Promise<void>;
}

export async function startHarness(kind: StoreKind, options: Partial<ServerOptions> = {}): Promise<Harness> {
  const opened = await openStore(kind);
  const keys = {
    admin: (await createKey(opened.store, 'admin', 'test admin', { childSafety: true })).key,
    analyst: (await createKey(opened.store, 'analyst', 'test analyst', { childSafety: true })).key,
    submitter: (await createKey(opened.store, 'submitter', 'test submitter')).key,
    restricted: (await createKey(opened.store, 'analyst', 'test analyst without child safety')).key,
  };
  const server = await createServer({ store: opened.store, pollMs: 0, rateLimit: { rate: 0, burst: 1 }, ...options });
  return {
    kind,
    opened,
    server,
    keys,
    async call(role, method, url, body, headers = {}) {
      const opts: InjectOptions = { method: method as 'GET', url, headers: { ...headers } };
      if (role) (opts.headers as Record<string, string>).authorization = `Bearer ${keys[role]}`;
      if (body !== undefined) {
        if (Buffer.isBuffer(body) || typeof body === 'string') {
          opts.payload = body;
          (opts.headers as Record<string, string>)['content-type'] ??= 'application/octet-stream';
        } else {
          opts.payload = JSON.stringify(body);
          (opts.headers as Record<string, string>)['content-type'] ??= 'application/json';
        }
      }
      const res = await server.app.inject(opts);
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        parsed = res.body;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers, raw: res.rawPayload };
    },
    async close() {
      await server.close();
      await opened.drop();
    },
  };
}
