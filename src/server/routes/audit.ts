/**
 * @module server/routes/audit
 * The audit log (analysts): records, and verification of the chain.
 */
import type { FastifyInstance } from 'fastify';
import { verifyStoreAudit } from '../../audit/log.js';
import { addRoute, type RoutesOptions } from '../context.js';
import { ok } from '../http.js';
import { int, obj, READ, str } from './schemas.js';

/** The audit log: records and verification. */
export async function auditRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store } = ctx;
  route(
    {
      method: 'GET',
      url: '/v1/audit',
      summary: 'Audit records, oldest first (order=desc: newest first; page with after/before)',
      tags: ['audit'],
      roles: READ,
      accepts: [],
      querystring: obj({
        after: int(0, Number.MAX_SAFE_INTEGER),
        before: int(1, Number.MAX_SAFE_INTEGER),
        limit: int(1, 1000, { default: 100 }),
        action: str(100),
        target: str(200, { description: 'Only records about this target, e.g. `review:12`' }),
        order: { enum: ['asc', 'desc'], description: 'desc: newest first' },
      }),
      response: { 200: obj({ records: { type: 'array', items: { type: 'object' } } }) },
    },
    async (req) => {
      const q = req.query as {
        after?: number;
        before?: number;
        limit?: number;
        action?: string;
        target?: string;
        order?: string;
      };
      return ok({
        records: await store.listAudit({
          ...(q.after !== undefined ? { afterSeq: q.after } : {}),
          ...(q.before !== undefined ? { beforeSeq: q.before } : {}),
          limit: q.limit ?? 100,
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.target !== undefined ? { target: q.target } : {}),
          ...(q.order === 'desc' ? { newestFirst: true } : {}),
        }),
      });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/audit/verify',
      summary: 'Verify the audit log’s hash chain',
      description: 'With `head` (a hash noted earlier), also detects records cut off the end.',
      tags: ['audit'],
      roles: READ,
      accepts: [],
      querystring: obj({
        head: str(160, {
          pattern: '^([0-9a-f]{64}|[0-9]{1,15}\\.[0-9a-f]{64}\\.[0-9a-f]{64})$',
          description: 'A head hash noted earlier, or a signed head from `ward audit head`',
        }),
      }),
      response: {
        200: obj({
          verified: { type: 'boolean' },
          records: { type: 'integer' },
          head: { type: 'object' },
          broken: { type: 'object' },
          keyed: { type: 'integer' },
          unkeyed: { type: 'integer' },
        }),
      },
    },
    async (req) => {
      const r = await verifyStoreAudit(store, (req.query as { head?: string }).head);
      const { ok: verified, ...rest } = r;
      return ok({ verified, ...rest });
    },
  );
}
