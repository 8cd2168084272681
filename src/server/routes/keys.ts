/**
 * @module server/routes/keys
 * API keys (admin): list, create (the key is in that response only), revoke.
 */
import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import { ROLES, type Role } from '../../store/service.js';
import { createKey } from '../auth.js';
import { addRoute, type RoutesOptions } from '../context.js';
import { ok } from '../http.js';
import { ADMIN, int, obj, str } from './schemas.js';

/** API keys (admin). */
export async function keyRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store } = ctx;
  route(
    {
      method: 'GET',
      url: '/v1/keys',
      summary: 'API keys (ids, roles, names; never the keys)',
      tags: ['keys'],
      roles: ADMIN,
      accepts: [],
      response: { 200: obj({ keys: { type: 'array', items: { type: 'object' } } }) },
    },
    async () => ok({ keys: (await store.listKeys()).map(({ hash: _h, ...k }) => k) }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create an API key; the key is in this response only',
      tags: ['keys'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj(
        {
          role: { enum: ROLES },
          name: str(200),
          rateLimit: { type: 'number', minimum: 0 },
          burst: int(1, 1_000_000),
          childSafety: {
            type: 'boolean',
            description: 'The child-safety data permission: evidence media, prompts, report contents',
          },
        },
        ['role'],
      ),
      response: {
        201: obj({
          key: { type: 'string' },
          id: { type: 'string' },
          role: { enum: ROLES },
          name: { type: 'string' },
          childSafety: { type: 'boolean' },
        }),
      },
    },
    async (req, reply) => {
      const body = req.body as { role: Role; name?: string; rateLimit?: number; burst?: number; childSafety?: boolean };
      const made = await createKey(store, body.role, body.name ?? '', {
        rate: body.rateLimit,
        burst: body.burst,
        childSafety: body.childSafety === true,
      });
      await ctx.audit(req, 'key.create', `key:${made.record.id}`, {
        role: made.record.role,
        name: made.record.name,
        childSafety: made.record.childSafety,
      });
      void reply.status(201);
      return ok({
        key: made.key,
        id: made.record.id,
        role: made.record.role,
        name: made.record.name,
        childSafety: made.record.childSafety,
      });
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/keys/:id',
      summary: 'Revoke an API key',
      tags: ['keys'],
      roles: ADMIN,
      accepts: [],
      params: obj({ id: str(32) }, ['id']),
      response: { 200: obj({ revoked: { type: 'string' } }) },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      if (!(await store.revokeKey(id, new Date().toISOString()))) {
        throw new WardError('WARD_ERR_NOT_FOUND', 'No active key with that id');
      }
      ctx.keys.forget(id);
      ctx.onChange?.({ type: 'key-revoked', id });
      await ctx.audit(req, 'key.revoke', `key:${id}`);
      return ok({ revoked: id });
    },
  );
}
