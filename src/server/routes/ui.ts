/**
 * @module server/routes/ui
 * The review UI: static HTML, script and style under /ui/ with a strict Content-Security-Policy
 * (the UI signs in with a key and uses the API).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addRoute, type RoutesOptions } from '../context.js';
import { obj } from './schemas.js';

function uiDir(): string {
  const beside = fileURLToPath(new URL('../ui/', import.meta.url));
  if (existsSync(`${beside}index.html`)) return beside;
  // Built into dist/ without the static files: use the sources'.
  return fileURLToPath(new URL('../../../src/server/ui/', import.meta.url));
}

/** The review UI (static files; it signs in with a key and uses the API). */
export async function uiRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const dir = uiDir();
  const files: Record<string, string> = {
    'index.html': 'text/html; charset=utf-8',
    'app.js': 'text/javascript; charset=utf-8',
    'app.css': 'text/css; charset=utf-8',
    'favicon.svg': 'image/svg+xml',
  };
  const cache = new Map<string, Buffer>();
  const serve = (file: string, reply: FastifyReply) => {
    let body = cache.get(file);
    if (!body) {
      body = readFileSync(`${dir}${file}`);
      cache.set(file, body);
    }
    void reply
      .type(files[file] as string)
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
      )
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    return reply.send(body);
  };
  route(
    {
      method: 'GET',
      url: '/ui',
      summary: 'The review UI',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      produces: ['text/html'],
    },
    async (_req, reply) => reply.redirect('/ui/'),
  );
  route(
    {
      method: 'GET',
      url: '/ui/',
      summary: 'The review UI',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      produces: ['text/html'],
    },
    async (_req, reply) => serve('index.html', reply),
  );
  route(
    {
      method: 'GET',
      url: '/ui/:file',
      summary: 'The review UI’s script, style and icon',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      params: obj({ file: { enum: ['app.js', 'app.css', 'index.html', 'favicon.svg'] } }, ['file']),
      produces: ['text/javascript', 'text/css', 'image/svg+xml'],
    },
    async (req: FastifyRequest, reply) => serve((req.params as { file: string }).file, reply),
  );
}
