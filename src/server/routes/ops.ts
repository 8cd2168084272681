/**
 * @module server/routes/ops
 * Operations: liveness, readiness, metrics, and the key a request was made with.
 */
import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import { ROLES } from '../../store/service.js';
import { VERSION } from '../../version.js';
import { addRoute, type RoutesOptions } from '../context.js';
import { ok } from '../http.js';
import { ANY, obj, READ } from './schemas.js';

/** Operations: liveness, readiness, metrics, the caller's key. */
export async function opsRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store, live } = ctx;
  route(
    {
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      roles: 'public',
      accepts: [],
      response: { 200: obj({ status: { const: 'ok' }, version: { type: 'string' } }) },
    },
    async () => ok({ status: 'ok', version: VERSION }),
  );

  route(
    {
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: the database answers and the banks are loaded',
      tags: ['operations'],
      roles: 'public',
      accepts: [],
      response: { 200: obj({ status: { const: 'ready' }, banks: { type: 'integer' } }) },
    },
    async () => {
      try {
        await Promise.race([
          store.ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
      } catch {
        throw new WardError('WARD_ERR_UNAVAILABLE', 'The database does not answer');
      }
      if (live.lastRefresh === 0) throw new WardError('WARD_ERR_UNAVAILABLE', 'The banks are still loading');
      return ok({ status: 'ready', banks: live.stats().length });
    },
  );

  route(
    {
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (text format 0.0.4)',
      tags: ['operations'],
      roles: ctx.publicMetrics ? 'public' : READ,
      accepts: [],
      produces: ['text/plain'],
    },
    async (_req, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return ctx.registry.text();
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/me',
      summary: 'The key this request was made with',
      tags: ['keys'],
      roles: ANY,
      accepts: [],
      response: {
        200: obj({
          keyId: { type: 'string' },
          role: { enum: ROLES },
          name: { type: 'string' },
          childSafety: { type: 'boolean' },
        }),
      },
    },
    async (req) => {
      const p = req.principal as NonNullable<typeof req.principal>;
      return ok({ keyId: p.keyId, role: p.role, name: p.name, childSafety: p.childSafety });
    },
  );
}
